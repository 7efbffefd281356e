/**
 * The worker-thread vision path (VisionPool) against the in-process reference `visionModel` it
 * parallelises. The workers run the kernels the CLI installs on that backend by default (per-head
 * attention on wasm, the linear layout policy), the in-process side the reference kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { disposeVisionOutput, visionModel, type VisionTaps } from '../../src/clip/vision';
import { LazyVisionPool, planCrops, sharedStoredTensors, VisionPool } from '../../src/accel/vision_pool';
import { isWeightSource } from '../../src/core/weights';
import { StoredWeights } from '../../src/io/stored';
import { chooseAccelerations } from '../../src/accel';
import { installedKernels, REFERENCE_CHOICE } from '../../src/accel/kernels';
import { imageFeatures, type ClipModel } from '../../src/clip/model';
import { HeroError } from '../../src/core/errors';
import { leaveBackend, modelDir, POOL_BACKENDS, useBackend } from '../util/fixtures';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';
import { loadClipModel, disposeClipModel } from '../../src/clip/load';

describe('sharedStoredTensors', () => {
  it("hands on the loader's SharedArrayBuffer bytes as they are, and copies other bytes once into a shared buffer", () => {
    const sab = new Uint8Array(new SharedArrayBuffer(16)).fill(7);
    const plain = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const g = new StoredWeights('g', new Map([
      ['a.weight', { dtype: 'F32' as const, shape: [2, 2], bytes: Buffer.from(sab.buffer, 0, 16) }],
      ['b.weight', { dtype: 'F16' as const, shape: [4], bytes: plain }],
    ]));
    const [a, b] = sharedStoredTensors(g);
    expect(a.bytes?.buffer).toBe(sab.buffer);
    expect([a.path, a.dtype, a.shape]).toEqual(['a.weight', 'F32', [2, 2]]);
    expect(b.bytes?.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(b.bytes?.buffer).not.toBe(plain.buffer);
    expect(Array.from(b.bytes ?? [])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(isWeightSource(g)).toBe(true);
  });
});

describe('planCrops', () => {
  it('gives every worker the same work: ⌊P/W⌋ whole crops in order, and contiguous rows of the P mod W crops left over, covering each once', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 600 }), (P, W, T) => {
      const { whole, shared, rows } = planCrops(P, W, T);
      const n = whole.length;
      expect(rows.length).toBe(n);
      expect(n).toBe(P % W === 0 ? Math.min(W, P) : Math.min(W, T));
      // whole crops: contiguous from 0, the same count each, then the shared ones to P
      whole.forEach(([a, b], w) => { expect(b - a).toBe(whole[0][1] - whole[0][0]); expect(a).toBe(w === 0 ? 0 : whole[w - 1][1]); });
      expect(shared[0]).toBe(whole[n - 1][1]);
      expect(shared[1]).toBe(P);
      expect(shared[1] - shared[0]).toBe(P - n * Math.floor(P / n));
      if (shared[1] > shared[0]) {
        // rows: contiguous from 0 to T, none empty, sizes within one (worker 0 holds the CLS row)
        rows.forEach(([a, b], w) => { expect(b).toBeGreaterThan(a); expect(a).toBe(w === 0 ? 0 : rows[w - 1][1]); });
        expect(rows[n - 1][1]).toBe(T);
        const sizes = rows.map(([a, b]) => b - a);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      } else {
        expect(rows.every(([a, b]) => a === 0 && b === 0)).toBe(true);
      }
    }));
  });

  it('5 crops of ViT-L/14-336 over 2 workers: 2 whole crops and half of the fifth crop\'s 577 rows each', () => {
    expect(planCrops(5, 2, 577)).toEqual({ whole: [[0, 2], [2, 4]], shared: [4, 5], rows: [[0, 288], [288, 577]] });
  });

  it('without shareRows: min(W, P) contiguous ranges of whole crops whose sizes differ by at most one, nothing shared', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 600 }), (P, W, T) => {
      const { whole: r, shared, rows } = planCrops(P, W, T, false);
      expect(r.length).toBe(Math.min(P, W));
      expect(r[0][0]).toBe(0);
      expect(r[r.length - 1][1]).toBe(P);
      r.forEach(([a, b], i) => { expect(b).toBeGreaterThan(a); if (i) expect(a).toBe(r[i - 1][1]); });
      const sizes = r.map(([a, b]) => b - a);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(shared).toEqual([P, P]);
      expect(rows.every(([a, b]) => a === 0 && b === 0)).toBe(true);
    }));
    expect(planCrops(5, 2, 577, false).whole).toEqual([[0, 2], [2, 5]]);
  });
});

// VisionPool runs on wasm and cpu only; with neither in $HERO_LVLM_TEST_BACKENDS the block is reported as skipped.
(POOL_BACKENDS.length ? describe.each([...POOL_BACKENDS]) : describe.skip.each(['wasm']))('VisionPool = visionModel on the same crops (%s backend)', (backend) => {
  let m: ClipModel;
  let pool: VisionPool;
  beforeAll(async () => {
    await useBackend(backend, { syncReads: true }); // VisionPool copies to its workers with dataSync (wasm/cpu only, by design)
    m = loadClipModel(modelDir('clip-tiny'));
    expect(installedKernels()).toEqual(REFERENCE_CHOICE); // the in-process side is the reference
    pool = VisionPool.start(m.params.vision_model, m.vision, 2, chooseAccelerations(backend).kernels);
  });
  afterAll(async () => {
    await pool.close();
    disposeClipModel(m);
    await leaveBackend();
  });
  const dispose = disposeVisionOutput;

  it.each([1, 3, 5])('%i crop(s): every tapped output, and nothing untapped', (P) => {
    const S = m.vision.image_size, L = m.vision.num_hidden_layers;
    const px = tf.randomNormal([P, 3, S, S], 0, 1, 'float32', P) as tf.Tensor4D;
    const taps: VisionTaps = { hiddenStates: [0, L], attentions: [1], queryKey: [0], clsAttention: 'all' };
    const seen: number[] = [];
    const plain = visionModel(m.params.vision_model, px, m.vision, taps);
    const fast = pool.encode(px, taps, (done, total) => { expect(total).toBe(L); seen.push(done); });
    for (const f of ['hiddenStates', 'attentions', 'queries', 'keys', 'clsAttention'] as const) {
      expect(fast[f].map((t) => t !== undefined)).toEqual(plain[f].map((t) => t !== undefined));
      plain[f].forEach((t, i) => { if (t) expectClose(fast[f][i]!, t, TOL.sameMath, `${f}[${i}]`); });
    }
    expectClose(fast.lastHiddenState, plain.lastHiddenState, TOL.sameMath, 'last_hidden_state');
    expectClose(fast.pooled, plain.pooled, TOL.sameMath, 'pooled');
    expect(seen.every((d, i) => d >= 0 && d <= L && (i === 0 || d >= seen[i - 1]))).toBe(true);
    dispose(plain);
    dispose(fast);
    px.dispose();
  });

  it.each([true, false])('3 workers, shareRows %s: 4 and 5 crops (one whole crop each and one or two crops shared by rows; or whole crops 1 + 1 + 2, 1 + 2 + 2) = visionModel', async (shareRows) => {
    const p3 = VisionPool.start(m.params.vision_model, m.vision, 3, chooseAccelerations(backend).kernels, { shareRows });
    try {
      for (const P of [4, 5]) {
        const S = m.vision.image_size, L = m.vision.num_hidden_layers;
        const px = tf.randomNormal([P, 3, S, S], 0, 1, 'float32', 20 + P) as tf.Tensor4D;
        const taps: VisionTaps = { hiddenStates: 'all', attentions: [0, L - 1], queryKey: [1], clsAttention: [0, 1] };
        const plain = visionModel(m.params.vision_model, px, m.vision, taps);
        const fast = p3.encode(px, taps);
        for (const f of ['hiddenStates', 'attentions', 'queries', 'keys', 'clsAttention'] as const) {
          expect(fast[f].map((t) => t !== undefined)).toEqual(plain[f].map((t) => t !== undefined));
          plain[f].forEach((t, i) => { if (t) expectClose(fast[f][i]!, t, TOL.sameMath, `${P} crops: ${f}[${i}]`); });
        }
        expectClose(fast.lastHiddenState, plain.lastHiddenState, TOL.sameMath, `${P} crops: last_hidden_state`);
        expectClose(fast.pooled, plain.pooled, TOL.sameMath, `${P} crops: pooled`);
        disposeVisionOutput(plain);
        disposeVisionOutput(fast);
        px.dispose();
      }
    } finally {
      await p3.close();
    }
  });

  it("every worker installed the kernels the CLI chooses on this backend", () => {
    expect(pool.workerKernels).toEqual([0, 1].map(() => chooseAccelerations(backend).kernels));
  });

  it("a worker's error comes back as a HeroError naming the worker", () => {
    const px = tf.zeros([2, 3, 7, 7]) as tf.Tensor4D;
    expect(() => pool.encode(px)).toThrow(HeroError);
    expect(() => pool.encode(px)).toThrow(/vision worker 0: .*pixel_values/);
    px.dispose();
    // one crop: both workers take rows of it, and neither waits for the other's keys after the error
    const one = tf.zeros([1, 3, 7, 7]) as tf.Tensor4D;
    expect(() => pool.encode(one)).toThrow(/vision worker 0: .*pixel_values/);
    one.dispose();
  });

  it.each(['streamed', 'disk', 'background'] as const)('a pool over %s weights (stored bytes shared with the workers, read by each from the file, or still arriving) computes what a pool over the same weights resident computes, bit for bit', async (residency) => {
    // 'background': streamed, the bytes read slowly on a background thread (io/background_read.ts) while the pool starts and encodes
    const streamed = residency === 'background'
      ? loadClipModel(modelDir('clip-tiny'), 'streamed', undefined, { backgroundReads: true, backgroundDelayMs: 5, backgroundMinBytes: 0 })
      : loadClipModel(modelDir('clip-tiny'), residency);
    const layers = streamed.params.vision_model.encoder.layers;
    expect(layers.length).toBeGreaterThan(0);
    if (residency === 'background') {
      const t = [...(layers[layers.length - 1] as unknown as StoredWeights<unknown>).tensors.values()][0];
      expect(Atomics.load(t.arrival!.progress, 0)).toBeLessThanOrEqual(t.arrival!.seq); // the last layer's bytes come after the pool starts
    }
    expect(layers.every((l) => l instanceof StoredWeights)).toBe(true);
    if (residency === 'disk') expect(layers.every((l) => (l as unknown as StoredWeights<unknown>).hostBytes === 0)).toBe(true);
    const sp = VisionPool.start(streamed.params.vision_model, streamed.vision, 2, chooseAccelerations(backend).kernels);
    const S = m.vision.image_size, L = m.vision.num_hidden_layers;
    const px = tf.randomNormal([3, 3, S, S], 0, 1, 'float32', 11) as tf.Tensor4D;
    const taps: VisionTaps = { hiddenStates: [0, L], attentions: [1], queryKey: [0], clsAttention: 'all' };
    try {
      const a = pool.encode(px, taps), b = sp.encode(px, taps);
      const pairs: Array<[string, tf.Tensor | undefined, tf.Tensor | undefined]> = [['last_hidden_state', a.lastHiddenState, b.lastHiddenState], ['pooled', a.pooled, b.pooled]];
      for (const f of ['hiddenStates', 'attentions', 'queries', 'keys', 'clsAttention'] as const) a[f].forEach((t, i) => pairs.push([`${f}[${i}]`, t, b[f][i]]));
      for (const [name, x, y] of pairs) {
        expect([name, y !== undefined]).toEqual([name, x !== undefined]);
        if (x) expect([name, Array.from(y!.dataSync())]).toEqual([name, Array.from(x.dataSync())]);
      }
      disposeVisionOutput(a);
      disposeVisionOutput(b);
    } finally {
      px.dispose();
      await sp.close();
      disposeClipModel(streamed);
    }
  });

  it("LazyVisionPool starts its workers on the first encode (HERO's CLIP pass: get_image_features through them equals the in-process one) and refuses to encode once closed", async () => {
    let starts = 0;
    const lazy = new LazyVisionPool(() => { starts++; return VisionPool.start(m.params.vision_model, m.vision, 2, chooseAccelerations(backend).kernels); });
    const S = m.vision.image_size;
    const px = tf.randomNormal([4, 3, S, S], 0, 1, 'float32', 21) as tf.Tensor4D;
    try {
      expect([starts, lazy.started]).toEqual([0, false]);
      const fast = imageFeatures(m, px, lazy), plain = imageFeatures(m, px);                // [K, Dp]
      expect([starts, lazy.started]).toEqual([1, true]);
      expectClose(fast, plain, TOL.sameMath, 'image_embeds');
      imageFeatures(m, px, lazy).dispose();
      expect(starts).toBe(1);
      tf.dispose([fast, plain]);
    } finally {
      await lazy.close();
    }
    expect(() => lazy.encode(px)).toThrow(/the pool is closed/);
    px.dispose();
  });

  it('rejects a worker count that is not a positive integer', () => {
    for (const w of [0, -1, 1.5, NaN]) expect(() => VisionPool.start(m.params.vision_model, m.vision, w)).toThrow(/vision workers/);
  });
});
