import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { attend, attentionImpl, attentionProbs, causalMask, MASK_MIN, setAttentionImpl } from '../../src/nn/attention';
import { GOLDEN_BACKENDS, useBackend } from '../util/fixtures';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

const qk = fc.record({ T: fc.integer({ min: 1, max: 9 }), seed: fc.integer({ min: 1, max: 1e6 }), c: fc.double({ min: -50, max: 50, noNaN: true }) });

describe('NN-softmax Attn-1 · attention probabilities', () => {
  it('rows sum to 1 and adding a per-row constant to the scores changes nothing', () => {
    fc.assert(fc.property(qk, ({ T, seed, c }) => tf.tidy(() => {
      const q = tf.randomNormal([1, 2, T, 4], 0, 2, 'float32', seed) as tf.Tensor4D;
      const k = tf.randomNormal([1, 2, T, 4], 0, 2, 'float32', seed + 1) as tf.Tensor4D;
      const p = attentionProbs(q, k, 0.5);
      expectClose(tf.sum(p, -1), tf.ones([1, 2, T]), TOL.primitive, 'row sums');
      // softmax(z + c) = softmax(z): add c through an all-c additive mask
      expectClose(attentionProbs(q, k, 0.5, { mask: tf.fill([T, T], c) }), p, TOL.primitive, 'shifted');
      // scaling q first or the product is the same function
      expectClose(attentionProbs(q, k, 0.5, { scaleQueryFirst: true }), p, TOL.primitive, 'scale order');
    })));
  });
});

describe('Attn-2 · causal mask', () => {
  it('blocks exactly the future keys, with cached positions always visible', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 5 }), (T, past) => tf.tidy(() => {
      const m = causalMask(T, past).arraySync() as number[][];
      m.forEach((row, i) => row.forEach((v, j) => expect(v).toBe(j <= past + i ? 0 : MASK_MIN)));
    })));
  });

  it('perturbing keys/values after position t leaves the outputs at positions ≤ t unchanged', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 1e6 }), (T, seed) => tf.tidy(() => {
      const t = Math.floor(T / 2);
      const q = tf.randomNormal([1, 1, T, 4], 0, 1, 'float32', seed) as tf.Tensor4D;
      const k = tf.randomNormal([1, 1, T, 4], 0, 1, 'float32', seed + 1) as tf.Tensor4D;
      const v = tf.randomNormal([1, 1, T, 4], 0, 1, 'float32', seed + 2) as tf.Tensor4D;
      const noise = tf.concat([tf.zeros([1, 1, t + 1, 4]), tf.randomNormal([1, 1, T - t - 1, 4], 0, 5, 'float32', seed + 3)], 2);
      const out = tf.matMul(attentionProbs(q, k, 0.5, { mask: causalMask(T) }), v);
      const out2 = tf.matMul(attentionProbs(q, tf.add(k, noise) as tf.Tensor4D, 0.5, { mask: causalMask(T) }), tf.add(v, noise));
      expectClose(tf.slice(out2, [0, 0, 0, 0], [1, 1, t + 1, 4]), tf.slice(out, [0, 0, 0, 0], [1, 1, t + 1, 4]), TOL.primitive, 'prefix outputs');
    })));
  });
});

describe.each(GOLDEN_BACKENDS)('Attn-1 · attend: the per-head fast path equals the batched path (%s backend)', (backend) => {
  beforeAll(async () => { await useBackend(backend); });
  afterAll(async () => { setAttentionImpl('auto'); await useBackend('cpu'); });

  const shapes = fc.record({
    B: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 4 }), Tq: fc.integer({ min: 1, max: 7 }),
    Tk: fc.integer({ min: 1, max: 7 }), Dh: fc.integer({ min: 1, max: 6 }), seed: fc.integer({ min: 1, max: 1e6 }),
    mask: fc.constantFrom('none', '2d', 'per-batch', 'per-head', 'shared4d'), scaleQueryFirst: fc.boolean(),
  });
  it('outputs and probabilities agree for any shape, mask layout and scale order', () => {
    fc.assert(fc.property(shapes, ({ B, H, Tq, Tk, Dh, seed, mask, scaleQueryFirst }) => tf.tidy(() => {
      const q = tf.randomNormal([B, H, Tq, Dh], 0, 2, 'float32', seed) as tf.Tensor4D;
      const k = tf.randomNormal([B, H, Tk, Dh], 0, 2, 'float32', seed + 1) as tf.Tensor4D;
      const v = tf.randomNormal([B, H, Tk, Dh], 0, 2, 'float32', seed + 2) as tf.Tensor4D;
      // masks with a blocked position (MASK_MIN) and finite offsets, in every layout `attend` accepts
      const raw = (shape: number[]): tf.Tensor => tf.where(tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed + 3), 0.2),
        tf.fill(shape, MASK_MIN), tf.randomNormal(shape, 0, 1, 'float32', seed + 4));
      const m = { none: undefined, '2d': raw([Tq, Tk]), 'per-batch': raw([B, 1, Tq, Tk]), 'per-head': raw([B, H, Tq, Tk]), shared4d: raw([1, 1, Tq, Tk]) }[mask];
      const opts = { mask: m, scaleQueryFirst, keepProbs: true };
      const plain = attend(q, k, v, 0.37, { ...opts, impl: 'batched' });
      const fast = attend(q, k, v, 0.37, { ...opts, impl: 'per-head' });
      expectClose(fast.out, plain.out, TOL.sameMath, 'out');
      expectClose(fast.probs!, plain.probs!, TOL.sameMath, 'probs');
      // the batched path is the reference definition: softmax(q kᵀ·scale + mask) v
      expectClose(plain.out, tf.matMul(attentionProbs(q, k, 0.37, opts), v), TOL.sameMath, 'definition');
    })), { numRuns: 40 });
  });

  it('the per-head path materialises the probabilities only when asked', () => tf.tidy(() => {
    const q = tf.randomNormal([1, 2, 3, 4], 0, 1, 'float32', 9) as tf.Tensor4D;
    expect(attend(q, q, q, 0.5, { impl: 'per-head' }).probs).toBeUndefined();
    expect(attend(q, q, q, 0.5, { impl: 'per-head', keepProbs: true }).probs!.shape).toEqual([1, 2, 3, 3]);
  }));

  it("'auto' picks per-head on wasm only, and an explicit setting wins", () => {
    setAttentionImpl('auto');
    expect(attentionImpl()).toBe(backend === 'wasm' ? 'per-head' : 'batched');
    setAttentionImpl('batched');
    expect(attentionImpl()).toBe('batched');
    setAttentionImpl('auto');
  });
});
