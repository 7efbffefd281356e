/**
 * `npm run bench [-- --suite vision,hero,decoder,memory] [--runs N] [--backends wasm,cpu] [--no-peer]
 *                  [--vision-workers W] [--plain] [--attention auto|per-head|batched] [--charts-only]`
 *
 * Measures, on this machine, what HERO saves and costs, and how the tfjs implementation compares with
 * PyTorch on the same computation (bench/peer/peer.py, same weights and inputs through a safetensors file).
 * Random weights at real sizes are generated here (seeded); nothing is downloaded. Every figure is the
 * median [min, max] of --runs runs after one warm-up. Writes bench/results/<suite>.json and the charts
 * drawn from them (bench/charts.ts; `--charts-only` redraws them without running anything). Never part of
 * `npm test`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/backend';
import { clipVisionKeys, disposeVisionOutput, visionModel, type ClipVisionParams, type VisionOutput } from '../src/clip/vision';
import { installAccelerations, installedKernels, VisionPool, type AttentionKernel } from '../src/accel';
import { clipTextConfig } from '../src/clip/config';
import { clipTextKeys, textModel, type ClipTextParams } from '../src/clip/text';
import { llamaConfig } from '../src/llama/config';
import { llamaKeys, llamaForward, type LlamaParams } from '../src/llama/decoder';
import { KvCache } from '../src/llama/kv_cache';
import { disposeTree } from '../src/io/checkpoint';
import { randomParams, VIT_L_336, VIT_L_HERO_TAPS } from '../src/weights/random_params';
import { writeSafetensors, type TensorToWrite } from '../src/io/safetensors';
import { applyHero, heroDefaults } from '../src/hero/index';
import { prefillFlops } from '../src/flops/flops';
import { presetDims } from '../src/flops/presets';
import { loadLlavaNext, disposeLlavaNext, disposeVisualContext } from '../src/llava/model';
import { loadClipModel, disposeClipModel } from '../src/clip/model';
import { readImage } from '../src/io/image';
import { runPipeline } from '../src/pipeline';
import type { VisualContext } from '../src/llava/pruning';
import { writeBenchCharts } from './charts';

const ROOT = path.join(__dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-bench-'));

interface Stat { median: number; min: number; max: number; runs: number }

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const SUITES = arg('suite', 'vision,hero,decoder,memory').split(',');
const RUNS = Number(arg('runs', '3'));
const BACKENDS = arg('backends', 'wasm').split(',') as BackendName[];
const PEER = !process.argv.includes('--no-peer');
/** Worker threads for the vision tower (VisionPool); 0 = in-process. Default: one per core. */
const VISION_WORKERS = Number(arg('vision-workers', String(os.cpus().length)));
/** Also time the in-process vision path once (the plain path the pool parallelises). */
const PLAIN = process.argv.includes('--plain');
/** Attention kernel (src/accel/index.ts); 'auto' = per-head on wasm, the reference batched elsewhere. */
const ATTENTION = arg('attention', 'auto') as AttentionKernel | 'auto';
/** Only redraw the charts from the JSON already in bench/results/ (no benchmark runs). */
const CHARTS_ONLY = process.argv.includes('--charts-only');

function stat(ts: number[]): Stat {
  const s = [...ts].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], runs: s.length };
}
async function timeIt(fn: () => void, runs = RUNS, warmup = 1): Promise<Stat> {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  return stat(ts);
}
const fmt = (s: Stat): string => `${s.median.toFixed(0)} ms [${s.min.toFixed(0)}, ${s.max.toFixed(0)}]`;
function save(suite: string, data: unknown): void {
  fs.mkdirSync(RESULTS, { recursive: true });
  // A forced attention implementation is a side experiment: its results do not replace the default ones.
  const name = ATTENTION === 'auto' ? suite : `${suite}_attention-${ATTENTION}`;
  const meta = { suite: name, date: new Date().toISOString(), machine: `${os.cpus().length}× ${os.cpus()[0]?.model}`, runs: RUNS, attention: installedKernels().attention };
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), `${JSON.stringify({ ...meta, ...data as object }, null, 2)}\n`);
}

function peer(suite: 'vision' | 'decoder', file: string, a: Record<string, unknown>): Record<string, unknown> | string {
  if (!PEER) return 'skipped (--no-peer)';
  const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'bench', 'peer', 'peer.py'), suite, file, JSON.stringify(a)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `PyTorch peer unavailable: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// ---------------------------------------------------------------------------------------------------------

const VIT_L = VIT_L_336;
const HERO_TAPS = VIT_L_HERO_TAPS;

async function visionSuite(backend: BackendName, shared: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { tree, host } = randomParams<{ vision_model: ClipVisionParams }>(clipVisionKeys(VIT_L, 'vision_model.'), 7);
  const px = tf.randomNormal([5, 3, 336, 336], 0, 1, 'float32', 11) as tf.Tensor4D;
  const t0 = performance.now();
  const pool = VISION_WORKERS > 0 ? VisionPool.start(tree.vision_model, VIT_L, VISION_WORKERS) : undefined;
  const poolStartMs = performance.now() - t0;
  const encode = (x: tf.Tensor4D, taps = HERO_TAPS) => (pool ? pool.encode(x, taps) : visionModel(tree.vision_model, x, VIT_L, taps));
  const run = (): void => { const o = encode(px); o.lastHiddenState.dataSync(); disposeVisionOutput(o); };
  const how = pool ? `${pool.size} worker threads` : 'in-process';
  const t = await timeIt(run);
  let plain: Stat | undefined;
  if (PLAIN && pool) plain = await timeIt(() => { const o = visionModel(tree.vision_model, px, VIT_L, HERO_TAPS); o.lastHiddenState.dataSync(); disposeVisionOutput(o); }, 1, 0);
  // Keep one output as HERO's input for the hero suite.
  const o = encode(px);
  const ctx: VisualContext = {
    hiddenStates: o.hiddenStates, attentions: o.attentions, queries: [], keys: [],
    projected: tf.randomNormal([5, 576, 64], 0, 1, 'float32', 3) as tf.Tensor3D, imageNewline: tf.zeros([64]) as tf.Tensor1D,
    imageSize: [480, 640], grid: [2, 2], patchGrid: 24, featureLayer: 23,
  };
  tf.dispose([o.pooled, o.lastHiddenState]);
  shared.ctx = ctx;
  shared.visionMs = t.median;
  shared.visionParams = tree;
  shared.encode = encode;
  shared.pool = pool;
  console.log(`vision  ViT-L/14-336 × 5 crops, 24 layers, HERO taps (${backend}, ${how}): ${fmt(t)}` +
    (pool ? ` (pool start-up, once: ${poolStartMs.toFixed(0)} ms)` : ''));
  if (plain) console.log(`        in-process (one thread), 1 run: ${fmt(plain)} → pool speedup ${(plain.median / t.median).toFixed(2)}×`);
  let peerRes: unknown = 'not run';
  if (backend === BACKENDS[0]) {
    const file = path.join(TMP, 'vision.safetensors');
    const strip: Record<string, TensorToWrite> = {};
    for (const [k, v] of Object.entries(host)) strip[k.replace(/^vision_model\./, '')] = v;
    strip.__input__ = { dtype: 'F32', shape: px.shape, data: px.dataSync() as Float32Array };
    writeSafetensors(file, strip);
    peerRes = peer('vision', file, { layers: 24, heads: 16, taps: HERO_TAPS.attentions, threads: [1, 2], runs: RUNS, warmup: 1 });
    fs.rmSync(file);
    if (typeof peerRes === 'object') {
      const p = peerRes as Record<string, Stat>;
      console.log(`        PyTorch ${(peerRes as { torch: string }).torch}: 1 thread ${fmt(p.threads_1)}, 2 threads ${fmt(p.threads_2)}; tfjs/torch = ${(t.median / p.threads_1.median).toFixed(2)} (1 thread), ${(t.median / p.threads_2.median).toFixed(2)} (2 threads)`);
    } else console.log(`        ${peerRes}`);
  }
  px.dispose();
  const p1 = typeof peerRes === 'object' ? (peerRes as Record<string, Stat>) : undefined;
  return {
    backend, path: how, tfjs_ms: t, pool_start_ms: pool ? poolStartMs : undefined, in_process_ms: plain, peer: peerRes,
    tfjs_over_torch_1_thread: p1 && t.median / p1.threads_1.median, tfjs_over_torch_2_threads: p1 && t.median / p1.threads_2.median,
  };
}

async function heroSuite(backend: BackendName, shared: Record<string, unknown>): Promise<Record<string, unknown>> {
  const ctx = shared.ctx as VisualContext;
  const clip = { tileImageEmbeds: tf.randomNormal([4, 768], 0, 1, 'float32', 5) as tf.Tensor2D, textEmbed: tf.randomNormal([768], 0, 1, 'float32', 6) as tf.Tensor1D };
  const opts = { ...heroDefaults(24, 'code'), ratio: 0.2 };
  const sel = await timeIt(() => {
    const r = applyHero(ctx, clip, opts);
    r.features.dataSync();
    r.features.dispose();
    Object.values(r.tensors).forEach((t) => t.tensor.dispose());
  });
  // The extra CLIP passes of HERO-2: K = 4 tiles through a second ViT-L/14-336 (same cost per crop as the
  // LLaVA tower) and one pass of CLIP's text tower (12 layers × 768, 77 positions at most; here 16 tokens).
  const encode = shared.encode as (x: tf.Tensor4D, taps: object) => VisionOutput;
  const tiles = tf.randomNormal([4, 3, 336, 336], 0, 1, 'float32', 12) as tf.Tensor4D;
  const tileT = await timeIt(() => { const o = encode(tiles, {}); o.pooled.dataSync(); disposeVisionOutput(o); }, 1, 0);
  tiles.dispose();
  // CLIP ViT-L/14-336's text tower (12 layers × 768, 12 heads, vocabulary 49408) on a 77-token prompt (the most it takes).
  const tcfg = clipTextConfig({ hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12, projection_dim: 768 });
  const text = randomParams<{ text_model: ClipTextParams }>(clipTextKeys(tcfg, 'text_model.'), 31).tree;
  const ids = [[tcfg.bos_token_id, ...Array.from({ length: 75 }, (_, i) => 1000 + i), tcfg.eos_token_id]];
  const textT = await timeIt(() => { const o = textModel(text.text_model, ids, tcfg); o.pooled.dataSync(); tf.dispose([o.pooled, o.lastHiddenState]); });
  disposeTree(text);
  const visionMs = shared.visionMs as number;
  const clipMs = tileT.median + textT.median;
  console.log(`hero    selection step (${backend}): ${fmt(sel)} = ${((100 * sel.median) / visionMs).toFixed(3)} % of vision`);
  console.log(`        extra CLIP passes: 4 tiles × ViT-L ${fmt(tileT)} + text tower (77 tokens) ${fmt(textT)} = ${((100 * clipMs) / visionMs).toFixed(1)} % of vision`);
  tf.dispose([clip.tileImageEmbeds, clip.textEmbed]);
  return {
    backend, selection_ms: sel, selection_pct_of_vision: (100 * sel.median) / visionMs, clip_tile_passes_ms: tileT, clip_text_pass_ms: textT,
    clip_pct_of_vision: (100 * clipMs) / visionMs, vision_ms: visionMs,
  };
}

async function decoderSuite(backend: BackendName): Promise<Record<string, unknown>> {
  const LAYERS = Number(arg('decoder-layers', '1'));
  const CHUNK = Number(arg('prefill-chunk', '512'));
  // Vicuna-7B width, LAYERS layers (32 do not fit a 4 GiB wasm heap in fp32), a 32-token head.
  const cfg = llamaConfig({ hidden_size: 4096, intermediate_size: 11008, num_attention_heads: 32, num_key_value_heads: 32, num_hidden_layers: LAYERS, vocab_size: 32, max_position_embeddings: 4096, rms_norm_eps: 1e-5 });
  const { tree, host } = randomParams<LlamaParams>(llamaKeys(cfg, ''), 21);
  const counts = [{ r: 1.0, n: 2673 }, { r: 0.4, n: 1105 }, { r: 0.2, n: 583 }]; // paper Table 4 token counts
  const dims = presetDims('vicuna-7b');
  const rows: Record<string, unknown>[] = [];
  const inputs: Record<string, TensorToWrite> = {};
  for (const { r, n } of counts) {
    const x = tf.randomNormal([n, 4096], 0, 1, 'float32', n) as tf.Tensor2D;
    inputs[`__input__${n}`] = { dtype: 'F32', shape: [n, 4096], data: x.dataSync() as Float32Array };
    // Prefill in chunks of CHUNK positions through the KV cache (same FLOPs; the full [32, n, n] score
    // tensor of a 2673-token prompt does not fit the wasm heap next to the weights).
    const prefillInto = (cache: KvCache): void => {
      for (let s0 = 0; s0 < n; s0 += CHUNK) {
        const xs = tf.slice(x, [s0, 0], [Math.min(CHUNK, n - s0), -1]);
        llamaForward(tree, xs, cfg, { cache, lastOnly: true }).logits.dispose();
        xs.dispose();
      }
    };
    const prefill = await timeIt(() => { const c = new KvCache(LAYERS); prefillInto(c); c.dispose(); }, Math.max(1, RUNS - 1));
    // Per-token decode after a prefill of n positions (KV cache kept in place across steps).
    const cache = new KvCache(LAYERS);
    prefillInto(cache);
    const one = tf.randomNormal([1, 4096], 0, 1, 'float32', 1) as tf.Tensor2D;
    const decode = await timeIt(() => { llamaForward(tree, one, cfg, { cache, lastOnly: true }).logits.dispose(); }, 4, 1);
    cache.dispose(); one.dispose(); x.dispose();
    rows.push({ ratio: r, tokens: n, prefill_ms: prefill, decode_ms_per_token: decode, analytic_tflops_32_layers: prefillFlops(n, dims) / 1e12, prefill_ms_extrapolated_32_layers: (prefill.median * 32) / LAYERS });
    console.log(`decoder Vicuna-7B width, ${LAYERS} layer(s), ${n} tokens (r = ${r}) (${backend}): prefill ${fmt(prefill)}, decode ${fmt(decode)}/token`);
  }
  const full = rows[0] as { prefill_ms: Stat; tokens: number }, r02 = rows[2] as { prefill_ms: Stat; tokens: number };
  const measured = full.prefill_ms.median / r02.prefill_ms.median;
  const analytic = prefillFlops(full.tokens, dims) / prefillFlops(r02.tokens, dims);
  console.log(`        speedup at r = 0.2: measured ${measured.toFixed(2)}×, analytic FLOPs ratio ${analytic.toFixed(2)}× → ${((100 * measured) / analytic).toFixed(0)} % of analytic`);
  let peerRes: unknown = 'not run';
  if (backend === BACKENDS[0]) {
    const file = path.join(TMP, 'decoder.safetensors');
    const w: Record<string, TensorToWrite> = { ...inputs };
    for (const [k, v] of Object.entries(host)) if (k.startsWith('model.layers.0.')) w[k.replace('model.layers.0.', '')] = v;
    writeSafetensors(file, w);
    peerRes = peer('decoder', file, { tokens: counts.map((c) => c.n), layers: LAYERS, heads: 32, head_dim: 128, threads: [1, 2], runs: Math.max(1, RUNS - 1), warmup: 1 });
    fs.rmSync(file);
    if (typeof peerRes === 'object') {
      const p = peerRes as Record<string, Record<string, Stat>>;
      for (const { n } of counts) console.log(`        PyTorch prefill ${n}: 1 thread ${fmt(p.threads_1[String(n)])}, 2 threads ${fmt(p.threads_2[String(n)])}`);
    } else console.log(`        ${peerRes}`);
  }
  disposeTree(tree);
  return { backend, layers: LAYERS, rows, measured_speedup_r02: measured, analytic_ratio_r02: analytic, fraction_of_analytic: measured / analytic, peer: peerRes };
}

async function memorySuite(backend: BackendName): Promise<Record<string, unknown>> {
  // 20 consecutive runs of the whole pipeline (HERO) on the golden tiny LLaVA-NeXT + CLIP.
  const fx = path.join(ROOT, 'spec', 'fixtures');
  const model = loadLlavaNext(path.join(fx, 'models', 'llava-next-tiny'));
  const clip = loadClipModel(path.join(fx, 'models', 'clip-tiny'));
  const image = await readImage(path.join(fx, 'images', 'square_h70_w80.png'));
  const method = { name: 'hero' as const, options: { ...heroDefaults(24, 'code'), ratio: 0.5, lowLayers: [0, 1], highLayers: [2] }, clip, clipTextIds: [998, 320, 1, 655, 87, 410, 12, 999] };
  const tensors: number[] = [], rss: number[] = [], rawRss: number[] = [], heapUsed: number[] = [];
  let peak = 0;
  for (let i = 0; i < 20; i++) {
    runPipeline(model, { image, inputIds: [1, 5, 1000, 7, 9], method, maxNewTokens: 4 });
    tensors.push(tf.memory().numTensors);
    rawRss.push(process.memoryUsage().rss);
    // Collect JS garbage first when node runs with --expose-gc (npm run bench does): the per-head attention
    // path creates ~10⁴ small tensor objects per run, and V8 is free to leave them uncollected for a while,
    // which reads as RSS growth without anything being retained.
    (globalThis as { gc?: () => void }).gc?.();
    rss.push(process.memoryUsage().rss);
    heapUsed.push(process.memoryUsage().heapUsed);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  disposeClipModel(clip);
  disposeLlavaNext(model);
  const growth = (rss[19] - rss[1]) / rss[1];
  console.log(`memory  20 pipeline runs (${backend}): tensors after each run ${[...new Set(tensors)].join('/')} (identical: ${new Set(tensors).size === 1}); RSS run 2 → 20: ${(rss[1] / 2 ** 20).toFixed(0)} → ${(rss[19] / 2 ** 20).toFixed(0)} MiB (${(100 * growth).toFixed(2)} %); peak ${(peak / 2 ** 20).toFixed(0)} MiB`);
  const gcNote = (globalThis as { gc?: unknown }).gc ? 'after a forced GC' : 'no --expose-gc: without a forced GC';
  console.log(`        (RSS ${gcNote}; before it: ${(rawRss[1] / 2 ** 20).toFixed(0)} → ${(rawRss[19] / 2 ** 20).toFixed(0)} MiB; V8 heap used ${(heapUsed[1] / 2 ** 20).toFixed(0)} → ${(heapUsed[19] / 2 ** 20).toFixed(0)} MiB)`);
  return {
    backend, tensors_after_each_run: tensors, identical: new Set(tensors).size === 1, rss_bytes: rss, rss_measured: gcNote,
    rss_growth_run2_to_20: growth, rss_before_gc_bytes: rawRss, v8_heap_used_bytes: heapUsed, peak_rss_bytes: peak,
  };
}

(async () => {
  if (CHARTS_ONLY) {
    fs.rmSync(TMP, { recursive: true, force: true });
    for (const f of await writeBenchCharts(RESULTS, BACKENDS[0])) console.log(`wrote ${path.relative(ROOT, f)}`);
    return;
  }
  for (const backend of BACKENDS) {
    await initBackend(backend);
    const accel = installAccelerations(backend, { attention: ATTENTION });
    console.log(`== backend ${backend}, attention ${accel.kernels.attention} ==`);
    const shared: Record<string, unknown> = {};
    if (SUITES.includes('vision') || SUITES.includes('hero')) save(`vision_${backend}`, await visionSuite(backend, shared));
    if (SUITES.includes('hero')) save(`hero_${backend}`, await heroSuite(backend, shared));
    if (shared.pool) await (shared.pool as VisionPool).close();
    if (shared.visionParams) disposeTree(shared.visionParams);
    if (shared.ctx) disposeVisualContext(shared.ctx as VisualContext);
    if (SUITES.includes('decoder')) save(`decoder_${backend}`, await decoderSuite(backend));
    if (SUITES.includes('memory')) save(`memory_${backend}`, await memorySuite(backend));
  }
  fs.rmSync(TMP, { recursive: true, force: true });
  // The charts are drawn from the JSON just written (bench/charts.ts), like --charts-only does.
  for (const f of await writeBenchCharts(RESULTS, BACKENDS[0])) console.log(`wrote ${path.relative(ROOT, f)}`);
})().catch((e) => { console.error(e); process.exit(1); });
