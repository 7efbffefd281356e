/**
 * Weight streaming (io/stored.ts, io/loader.ts residencies 'streamed' and 'disk'): the golden models re-stored
 * as f32, f16 and bf16 shards (two files and an index, as the hub has them) load resident, streamed and on
 * disk; the streamed and disk models compute exactly what the resident one computes — every trace tensor of
 * a full pipeline run and the generated ids, bit for bit — because widening f16/bf16 to fp32 is exact and a
 * positioned read returns the same bytes. A file changed under a disk-backed model is one error line. cpu and wasm.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { isWeightSource, weightBytes } from '../../src/core/weights';
import { encodeFloats, SafetensorsFile, safetensorsHeader, type DType } from '../../src/io/safetensors';
import { flattenTree } from '../../src/io/checkpoint';
import { closeStoredFiles, StoredWeights } from '../../src/io/stored';
import { HeroError } from '../../src/core/errors';
import { disposeLlavaNext, loadLlavaNext } from '../../src/llava/load';
import { loadLlama } from '../../src/llama/load';
import { disposeClipModel, loadClipModel } from '../../src/clip/load';
import { visionModel, disposeVisionOutput } from '../../src/clip/vision';
import { runPipeline } from '../../src/pipeline';
import { embedTokens, llamaForward } from '../../src/llama/decoder';
import { readImage } from '../../src/io/image';
import { tidyAsync } from '../../src/core/scope';
import { GOLDEN_BACKENDS, imagePath, leaveBackend, loadCase, modelDir, useBackend } from '../util/fixtures';
import { HERO_CASES, heroCaseInputs } from '../util/golden_traces';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-stored-'));
afterAll(() => { closeStoredFiles(); fs.rmSync(tmp, { recursive: true, force: true }); });

/**
 * A copy of a fixture model directory whose weights are stored as `dtype` in two shards with
 * model.safetensors.index.json (every other file copied as is).
 */
function restore(model: string, dtype: 'F32' | 'F16' | 'BF16'): string {
  const src = modelDir(model), out = path.join(tmp, `${model}-${dtype}`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(out);
  for (const f of fs.readdirSync(src)) if (f !== 'model.safetensors') fs.copyFileSync(path.join(src, f), path.join(out, f));
  const st = SafetensorsFile.open(path.join(src, 'model.safetensors'));
  const names = st.names();
  const weightMap: Record<string, string> = {};
  try {
    [names.slice(0, names.length >> 1), names.slice(names.length >> 1)].forEach((part, s) => {
      const file = `model-0000${s + 1}-of-00002.safetensors`;
      const data = part.map((n) => {
        const info = st.info(n);
        const dt: DType = ['F32', 'F16', 'BF16'].includes(info.dtype) ? dtype : info.dtype;
        return { name: n, dtype: dt, shape: info.shape, bytes: dt === info.dtype ? st.readBytes(n) : encodeFloats(st.readFloat32(n), dt as 'F32' | 'F16' | 'BF16') };
      });
      const header = safetensorsHeader(data.map((d) => ({ name: d.name, dtype: d.dtype, shape: d.shape, bytes: d.bytes.length })));
      fs.writeFileSync(path.join(out, file), Buffer.concat([header, ...data.map((d) => d.bytes)]));
      for (const n of part) weightMap[n] = file;
    });
  } finally {
    st.close();
  }
  fs.writeFileSync(path.join(out, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return out;
}

const DTYPES = ['F32', 'F16', 'BF16'] as const;

describe('io/stored · StoredWeights', () => {
  it('materialises the very fp32 values the resident loader reads, per dtype; counts host and fp32 bytes', async () => {
    await useBackend('cpu');
    for (const dtype of DTYPES) {
      const dir = restore('llama-tiny', dtype);
      const res = loadLlama(dir), str = loadLlama(dir, 'streamed');
      const layer = str.params.model.layers[1];
      expect(isWeightSource(layer)).toBe(true);
      const w = (layer as StoredWeights<unknown>).materialise();
      const want = flattenTree(res.params.model.layers[1]);
      const got = flattenTree(w);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, t] of want) expect(Array.from(await got.get(k)!.data())).toEqual(Array.from(await t.data()));
      const numel = [...want.values()].reduce((a, t) => a + t.size, 0);
      expect((layer as StoredWeights<unknown>).fp32Bytes).toBe(4 * numel);
      expect((layer as StoredWeights<unknown>).hostBytes).toBe((dtype === 'F32' ? 4 : 2) * numel);
      tf.dispose([...got.values(), ...flattenTree(res.params).values(), ...flattenTree(str.params).values()]);
      // Streamed: only the final norm is resident; resident: nothing is streamed.
      expect(weightBytes(str.params).resident).toBe(4 * str.config.hidden_size);
      expect(weightBytes(res.params).streamedHost).toBe(0);
    }
  });

  it('on disk: the same values read from the files when used; nothing on the host but where the bytes are', async () => {
    await useBackend('cpu');
    for (const dtype of DTYPES) {
      const dir = restore('llama-tiny', dtype);
      const str = loadLlama(dir, 'streamed'), dsk = loadLlama(dir, 'disk');
      const a = str.params.model.layers[1] as StoredWeights<unknown>, b = dsk.params.model.layers[1] as StoredWeights<unknown>;
      expect(b).toBeInstanceOf(StoredWeights);
      expect(b.hostBytes).toBe(0);
      expect(b.diskBytes).toBe(a.hostBytes);
      for (const t of b.tensors.values()) expect(t.bytes).toBeUndefined();
      const wa = flattenTree(a.materialise()), wb = flattenTree(b.materialise());
      for (const [k, t] of wa) expect(Array.from(await wb.get(k)!.data())).toEqual(Array.from(await t.data()));
      expect(weightBytes(dsk.params)).toEqual({ ...weightBytes(str.params), streamedHost: 0, onDisk: weightBytes(str.params).streamedHost,
        largestOnDisk: Math.max(...weightLeavesOf(str.params).map((x) => x.hostBytes)) });
      tf.dispose([...wa.values(), ...wb.values(), ...flattenTree(str.params).values(), ...flattenTree(dsk.params).values()]);
    }
  });

  it('an embedding lookup reads only the rows it needs (StoredWeights.rows): the resident gather\'s values, per dtype, in memory and on disk', async () => {
    await useBackend('cpu');
    const ids = [5, 0, 5, 17, 1];                               // repeated and out of order
    for (const dtype of DTYPES) {
      const dir = restore('llama-tiny', dtype);
      const res = loadLlama(dir);
      const r = embedTokens(res.params, ids);
      const want = Array.from(await r.data());
      r.dispose();
      for (const residency of ['streamed', 'disk'] as const) {
        const str = loadLlama(dir, residency);
        const table = str.params.model.embed_tokens as StoredWeights<unknown>;
        expect(table).toBeInstanceOf(StoredWeights);
        const whole = jest.spyOn(table, 'materialise');
        const got = embedTokens(str.params, ids);
        expect(got.shape).toEqual([ids.length, str.config.hidden_size]);
        expect(Array.from(await got.data())).toEqual(want);
        expect(whole).not.toHaveBeenCalled();
        expect(() => table.rows('weight', [str.config.vocab_size])).toThrow(/outside/);
        got.dispose();
        tf.dispose([...flattenTree(str.params).values()]);
      }
      tf.dispose([...flattenTree(res.params).values()]);
    }
  });

  it('bytes read in the background: a file changed before its read is one HeroError at the use that waits for it, not garbage', async () => {
    await useBackend('cpu');
    const copy = path.join(tmp, 'llama-tiny-F16-background');
    fs.cpSync(restore('llama-tiny', 'F16'), copy, { recursive: true });
    const m = loadLlama(copy, 'streamed', { backgroundReads: true, backgroundDelayMs: 200, backgroundMinBytes: 0 });
    const layer = m.params.model.layers[1] as StoredWeights<unknown>;
    const t = [...layer.tensors.values()][0];
    expect(t.arrival).toBeDefined();
    const later = new Date(fs.statSync(t.arrival!.file).mtimeMs + 5000);
    fs.utimesSync(t.arrival!.file, later, later);                    // before the first read (200 ms in)
    let msg = '';
    try { tf.dispose(leafTensorsOf(layer.materialise())); } catch (e) { msg = (e as Error).message; }
    expect(msg.startsWith(`${t.arrival!.file}: reading the weights failed: changed on disk while the weights were being read`)).toBe(true);
    expect(msg).not.toMatch(/\n/);
    expect(() => layer.materialise()).toThrow(HeroError);              // and every later use of bytes not read:
    expect(() => (m.params.lm_head as unknown as StoredWeights<unknown>).materialise()).toThrow(/reading the weights failed/); // the last group read
    tf.dispose([...flattenTree(m.params).values()]);
  });

  it('a file changed under a disk-backed model (size or modification time) is one HeroError naming it, not garbage', async () => {
    await useBackend('cpu');
    const dir = restore('llama-tiny', 'F16');
    const copy = path.join(tmp, 'llama-tiny-F16-changed');
    fs.cpSync(dir, copy, { recursive: true });
    const m = loadLlama(copy, 'disk');
    const layer = m.params.model.layers[0] as StoredWeights<unknown>;
    const file = [...layer.tensors.values()][0].disk!.file;
    tf.dispose(leafTensorsOf(layer.materialise())); // reads fine as loaded
    const later = new Date(fs.statSync(file).mtimeMs + 5000);
    fs.utimesSync(file, later, later); // same bytes, another modification time
    expect(() => layer.materialise()).toThrow(HeroError);
    let msg = '';
    try { layer.materialise(); } catch (e) { msg = (e as Error).message; }
    expect(msg.startsWith(`${file}: changed on disk while the run was reading weights from it`)).toBe(true);
    expect(msg).not.toMatch(/\n/); // one line
    fs.appendFileSync(file, Buffer.alloc(8)); // and another size
    expect(() => layer.materialise()).toThrow(/changed on disk .*size \d+ → \d+ bytes/);
    tf.dispose(flattenTree(m.params).size ? [...flattenTree(m.params).values()] : []);
  });
});

/** The weight sources of a params tree. */
function weightLeavesOf(tree: unknown): StoredWeights<unknown>[] {
  const out: StoredWeights<unknown>[] = [];
  const walk = (x: unknown): void => {
    if (x instanceof StoredWeights) out.push(x);
    else if (x && typeof x === 'object' && !(x instanceof tf.Tensor)) Object.values(x).forEach(walk);
  };
  walk(tree);
  return out;
}

/** Every tensor of a materialised group. */
function leafTensorsOf(tree: unknown): tf.Tensor[] {
  return [...flattenTree(tree as Parameters<typeof flattenTree>[0]).values()];
}

describe.each(GOLDEN_BACKENDS)('streamed = resident, exactly, on the golden models (%s backend)', (backend) => {
  beforeAll(async () => { await useBackend(backend); });
  afterAll(async () => { await leaveBackend(); });

  it.each(DTYPES)('llava-next-tiny in %s shards: every trace tensor and the generated ids of a HERO run, streamed (read at load or in the background) and on disk', async (dtype) => {
    const dir = restore('llava-next-tiny', dtype), clipDir = restore('clip-tiny', dtype);
    const gc = loadCase(HERO_CASES()[0]);
    const { legacyIds, clipIds, image, opts } = heroCaseInputs(gc);
    const img = await readImage(imagePath(image));
    const run = async (residency: 'resident' | 'streamed' | 'disk' | 'background'): ReturnType<typeof runPipeline> => {
      // 'background': streamed, every tensor's bytes read on a background thread, slowly (io/background_read.ts)
      const m = residency === 'background' ? loadLlavaNext(dir, undefined, 'streamed', { backgroundReads: true, backgroundDelayMs: 2, backgroundMinBytes: 0 })
        : loadLlavaNext(dir, undefined, residency);
      const clip = loadClipModel(clipDir, residency === 'background' ? 'streamed' : residency);
      if (residency === 'background') {
        const t = [...(m.params.language_model.lm_head as unknown as StoredWeights<unknown>).tensors.values()][0];
        expect(Atomics.load(t.arrival!.progress, 0)).toBeLessThanOrEqual(t.arrival!.seq); // the run starts before the lm_head is read
      }
      try {
        if (residency !== 'resident') {
          expect(isWeightSource(m.params.language_model.model.layers[0])).toBe(true);
          expect(isWeightSource(m.params.vision_tower.vision_model.encoder.layers[0])).toBe(true);
          expect(isWeightSource(clip.params.vision_model.encoder.layers[0])).toBe(true);
        }
        return await runPipeline(m, { image: img, inputIds: legacyIds, method: { name: 'hero', options: opts, clip, clipTextIds: clipIds }, maxNewTokens: 3, trace: true });
      } finally {
        disposeLlavaNext(m);
        disposeClipModel(clip);
      }
    };
    const a = await run('resident');
    for (const b of [await run('streamed'), await run('disk'), await run('background')]) {
      expect(b.newIds).toEqual(a.newIds);
      expect([...b.trace.keys()]).toEqual([...a.trace.keys()]);
      for (const [k, t] of a.trace) {
        const u = b.trace.get(k)!;
        expect(u.shape).toEqual(t.shape);
        if (!Array.from(u.data as ArrayLike<number>).every((x, i) => Object.is(x, (t.data as ArrayLike<number>)[i]))) throw new Error(`${k} differs`);
      }
    }
  });

  it.each(DTYPES)('clip-tiny in %s shards: vision tower outputs and taps', async (dtype) => {
    const dir = restore('clip-tiny', dtype);
    const a = loadClipModel(dir), b = loadClipModel(dir, 'streamed');
    try {
      const v = a.vision;
      const px = tf.randomUniform([2, v.num_channels, v.image_size, v.image_size], -1, 1, 'float32', 7) as tf.Tensor4D;
      const taps = { hiddenStates: 'all' as const, attentions: 'all' as const };
      const oa = visionModel(a.params.vision_model, px, v, taps), ob = visionModel(b.params.vision_model, px, v, taps);
      expect(Array.from(await ob.lastHiddenState.data())).toEqual(Array.from(await oa.lastHiddenState.data()));
      for (const [i, h] of oa.hiddenStates!.entries()) expect(Array.from(await ob.hiddenStates![i]!.data())).toEqual(Array.from(await h!.data()));
      for (const [i, p] of oa.attentions!.entries()) expect(Array.from(await ob.attentions![i]!.data())).toEqual(Array.from(await p!.data()));
      disposeVisionOutput(oa);
      disposeVisionOutput(ob);
      px.dispose();
    } finally {
      disposeClipModel(a);
      disposeClipModel(b);
    }
  });

  it('llama-tiny in bf16 shards: the logits of a forward call, streamed = resident', async () => {
    const dir = restore('llama-tiny', 'BF16');
    const a = loadLlama(dir), b = loadLlama(dir, 'streamed');
    const f = async (p: typeof a.params): Promise<number[]> => tidyAsync(async () => Array.from(await (await llamaForward(p, embedTokens(p, [1, 5, 7, 9]), a.config)).logits.data()));
    expect(await f(b.params)).toEqual(await f(a.params));
    tf.dispose([...flattenTree(a.params).values(), ...flattenTree(b.params).values()]);
  });
});
