/**
 * `node --expose-gc -r ./src/cli/register-ts.js bench/decode_floor.ts --model DIR [--weights streamed|disk] [--steps 8] [--prefill 16] [--decoder-workers N] [--accel auto|blas|wasm] [--json FILE]`
 *
 * The per-token decode of a LLaVA-NeXT checkpoint's decoder (e.g. the llava-v1.6-vicuna-7b shapes from
 * `hero-lvlm random-weights`, or its width in 2 layers with `--layers 2`) as `hero-lvlm run` holds it — the
 * weights streamed (or on disk), the decoder workers at their default for this model and machine
 * (src/runtime/workers.ts) unless --decoder-workers says — beside the floor: one read of the same stored bytes
 * on this machine (each tensor's bytes copied, or read from the file, 256 KiB at a time into one buffer: what
 * accel/rows.ts does before any arithmetic), per decoder layer and for the lm_head. Each step is split by
 * the forward's onLayer callbacks into its layers and what follows them (the final norm and the lm_head); the
 * lm_head's one-row product alone on this thread (accel/rows.ts rowProduct) is printed beside. Random inputs_embeds (the step's products do not depend on the values). Median
 * [min, max] over --steps decode steps after a --prefill-token prefill and one warm-up step; the load average
 * before and after (the machine may be shared: say so beside the figures). Not part of `npm test` or `npm run bench`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { parseFlags, type FlagSpecs } from '../src/cli/args';
import { openRuntime } from '../src/runtime';
import { byteReader, StoredWeights, type StoredTensor } from '../src/io/stored';
import { CHUNK_BYTES, rowProduct, rowsKernel, storedMatrix, type RowsDType } from '../src/accel/rows';
import type { Weights } from '../src/core/weights';

const FLAGS: FlagSpecs = {
  model: { type: 'string', arg: 'DIR', help: 'a llava-hf LLaVA-NeXT checkpoint directory (required)' },
  weights: { type: 'string', arg: 'streamed|disk', default: 'streamed', help: 'how the layers are held (as run --weights)' },
  steps: { type: 'int', arg: 'N', default: 8, help: 'timed decode steps' },
  prefill: { type: 'int', arg: 'T', default: 16, help: 'positions in the cache before the first step' },
  'decoder-workers': { type: 'int', arg: 'N', help: 'decoder worker threads (default: the runtime default for this model and machine)' },
  accel: { type: 'string', arg: 'MODE', default: 'auto', help: 'auto | blas | wasm (as run --accel; decode steps of streamed layers use accel/rows.ts either way)' },
  json: { type: 'string', arg: 'FILE', help: 'also write the figures as JSON' },
};

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const stats = (xs: number[]): { median: number; min: number; max: number } => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const ms = (s: { median: number; min: number; max: number }): string => `${s.median.toFixed(1)} ms [${s.min.toFixed(1)}, ${s.max.toFixed(1)}]`;
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** The stored tensors of a streamed group (none when it is resident). */
function storedTensors(w: Weights<unknown>): StoredTensor[] {
  return w instanceof StoredWeights ? [...(w.tensors as ReadonlyMap<string, StoredTensor>).values()] : [];
}

/** One read of the tensors' stored bytes, CHUNK_BYTES at a time into one buffer, ms. */
function readOnce(ts: readonly StoredTensor[], buf: Uint8Array): number {
  const t0 = performance.now();
  for (const t of ts) {
    const read = byteReader(t), n = t.bytes ? t.bytes.length : t.disk!.end - t.disk!.begin;
    for (let o = 0; o < n; o += buf.length) read(o, Math.min(n, o + buf.length), buf.subarray(0, Math.min(buf.length, n - o)), 0);
  }
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), FLAGS, 'bench/decode_floor.ts');
  const model = f.model as string | undefined;
  if (!model) throw new Error('--model DIR is required');
  const weights = f.weights as 'streamed' | 'disk', steps = f.steps as number, P = f.prefill as number;
  const log: string[] = [];
  const loadBefore = load();
  const rt = await openRuntime({
    backend: 'wasm', accel: f.accel as 'auto', modelDir: model, visionWorkers: 1, // the vision tower is not used here
    decoderWorkers: f['decoder-workers'] as number | undefined,
    residency: { weights, promptTokens: P, maxNewTokens: steps + 2 }, method: { name: 'none', options: {} },
    log: (s) => { log.push(s); console.log(s); },
  });
  const lm = rt.model.params.language_model, cfg = rt.model.config.text_config, L = cfg.num_hidden_layers, D = cfg.hidden_size;
  try {
    // The decode steps, as greedyDecode runs them (one row of inputs_embeds each, the cache kept).
    const cache = rt.decoder.newCache(L);
    const x = tf.randomNormal([P, D], 0, 1, 'float32', 1) as tf.Tensor2D;
    (await rt.decoder.forward(lm, x, cfg, { cache, lastOnly: true })).logits.dispose();
    x.dispose();
    // Per step: the time of each layer (onLayer's timestamps) and of what follows them (final norm + lm_head).
    const layerMs: number[] = [], tailMs: number[] = [];
    const step = async (i: number, keep: boolean): Promise<number> => {
      const one = tf.randomNormal([1, D], 0, 1, 'float32', 100 + i) as tf.Tensor2D;
      const marks: number[] = [];
      const t0 = performance.now();
      const { logits } = await rt.decoder.forward(lm, one, cfg, { cache, lastOnly: true, onLayer: () => { marks.push(performance.now()); } });
      logits.dataSync();
      const t1 = performance.now();
      tf.dispose([one, logits]);
      if (keep && marks.length === L) {
        marks.forEach((m, l) => layerMs.push(m - (l ? marks[l - 1] : t0)));
        tailMs.push(t1 - marks[L - 1]);
      }
      return t1 - t0;
    };
    await step(-1, false); // warm-up
    const stepMs: number[] = [];
    for (let i = 0; i < steps; i++) stepMs.push(await step(i, true));
    cache.dispose();
    // The lm_head's one-row product alone, on this thread (the pool's main thread runs it so).
    const head = storedTensors(lm.lm_head as Weights<unknown>);
    const headMs: number[] = [];
    if (head.length === 1 && ['F16', 'BF16', 'F32'].includes(head[0].dtype)) {
      const h = head[0], m = storedMatrix(byteReader(h), h.dtype as RowsDType, h.shape), xr = new Float32Array(D).map((_, i) => Math.sin(i));
      rowProduct(m, xr, 1);
      for (let i = 0; i < Math.max(3, Math.min(steps, 5)); i++) { const t0 = performance.now(); rowProduct(m, xr, 1); headMs.push(performance.now() - t0); }
    }
    // The floor: one read of the same bytes, per layer and for the lm_head.
    const buf = new Uint8Array(CHUNK_BYTES);
    const layers = (lm.model.layers as Array<Weights<unknown>>).map(storedTensors);
    const bytesOf = (ts: readonly StoredTensor[]): number => ts.reduce((a, t) => a + (t.bytes ? t.bytes.length : t.disk!.end - t.disk!.begin), 0);
    readOnce(layers[0], buf);
    const layerFloor: number[] = [];
    for (let r = 0; r < 3; r++) layerFloor.push(readOnce(layers[r % L], buf));
    const headFloor: number[] = [];
    for (let r = 0; r < 3; r++) headFloor.push(readOnce(head, buf));
    const s = stats(stepMs), lf = stats(layerFloor), hf = stats(headFloor), hm = headMs.length ? stats(headMs) : undefined;
    const floorMs = L * lf.median + hf.median;
    const lm_ = stats(layerMs), tail = stats(tailMs);
    const gb = (b: number, t: number): string => `${(b / 1e9 / (t / 1000)).toFixed(2)} GB/s`;
    const result = {
      model, weights, cpu: `${os.cpus().length}× ${os.cpus()[0]?.model}`, rows_kernel: rowsKernel(), log,
      layers: L, layer_stored_bytes: bytesOf(layers[0]), lm_head_stored_bytes: bytesOf(head),
      decode_ms: s, layer_ms: lm_, lm_head_in_step_ms: tail, lm_head_rows_one_thread_ms: hm ?? null,
      floor_layer_ms: lf, floor_lm_head_ms: hf, floor_ms: floorMs, decode_over_floor: s.median / floorMs,
      load_average_before: loadBefore, load_average_after: load(),
    };
    console.log(`decode per token (${weights}, ${L} layers + lm_head): ${ms(s)}; floor (one read of the same ${((L * result.layer_stored_bytes + result.lm_head_stored_bytes) / 2 ** 30).toFixed(2)} GiB): ${floorMs.toFixed(1)} ms → ${(s.median / floorMs).toFixed(2)}× the floor`);
    console.log(`  per layer: ${ms(lm_)} (${gb(result.layer_stored_bytes, lm_.median)}) vs floor ${ms(lf)} (${gb(result.layer_stored_bytes, lf.median)}) → ${(lm_.median / lf.median).toFixed(2)}×`);
    console.log(`  lm_head (with the final norm, after the last layer): ${ms(tail)} (${gb(result.lm_head_stored_bytes, tail.median)}) vs floor ${ms(hf)} (${gb(result.lm_head_stored_bytes, hf.median)}) → ${(tail.median / hf.median).toFixed(2)}×`);
    if (hm) console.log(`  lm_head's one-row product alone on one thread (accel/rows.ts ${rowsKernel()}): ${ms(hm)} (${gb(result.lm_head_stored_bytes, hm.median)})`);
    console.log(`  load average before ${loadBefore}, after ${result.load_average_after} on ${os.cpus().length} cores`);
    if (f.json) fs.writeFileSync(f.json as string, JSON.stringify(result, null, 2) + '\n');
  } finally {
    await rt.close();
  }
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exitCode = 1; });
