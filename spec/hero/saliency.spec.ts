import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { clsSimilarity, saliency, clipSimilarity, relevance } from '../../src/hero';
import { expectClose } from '../util/close';
import { TOL, type Tol } from '../util/tolerances';

/** Softmax of x/τ with |x/τ| ≤ 200: fp32 rounding of the logits moves outputs by ≲ 200·2⁻²³ relative. */
const SOFTMAX_SHIFT: Tol = { atol: 1e-4, rtol: 0, why: 'fp32 logits x/τ up to 200 in magnitude; shift by c/τ re-rounds them' };

const sims = fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 });
const tau = fc.double({ min: 0.01, max: 1, noNaN: true });
const shift = fc.double({ min: -1, max: 1, noNaN: true });

describe.each([['HERO-1 · saliency', saliency], ['HERO-2 · relevance', relevance]] as const)('%s', (_, fn) => {
  it('sums to 1 and is invariant to adding a constant to the similarities', () => {
    fc.assert(fc.property(sims, tau, shift, (x, t, c) => tf.tidy(() => {
      const s = fn(tf.tensor1d(x), t);
      expect(Math.abs(tf.sum(s).dataSync()[0] - 1)).toBeLessThan(1e-5);
      expect(s.dataSync().every((v) => v >= 0)).toBe(true);
      expectClose(fn(tf.tensor1d(x.map((v) => v + c)), t), s, SOFTMAX_SHIFT, 'shifted');
    })), { numRuns: 50 });
  });
});

describe('HERO-1 · clsSimilarity', () => {
  it('is the cosine of each tile CLS with the thumbnail CLS (float64 reference), scale-invariant', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 1e6 }), fc.double({ min: 0.1, max: 10, noNaN: true }), (P, T, Dv, seed, scale) => tf.tidy(() => {
        const h = tf.randomNormal([P, T, Dv], 0, 1, 'float32', seed) as tf.Tensor3D;
        const v = h.arraySync();
        const cos = (a: number[], b: number[]): number => {
          const dot = a.reduce((s, x, i) => s + x * b[i], 0);
          const n = (u: number[]): number => Math.max(Math.sqrt(u.reduce((s, x) => s + x * x, 0)), 1e-12);
          return dot / (n(a) * n(b));
        };
        const ref = Array.from({ length: P - 1 }, (_, k) => cos(v[k + 1][0], v[0][0]));
        expectClose(clsSimilarity(h), ref, TOL.primitive, 'cls similarity');
        expectClose(clsSimilarity(tf.mul(h, scale) as tf.Tensor3D), ref, TOL.primitive, 'scaled');
      })), { numRuns: 30 });
  });

  it('a zero CLS gives similarity 0, not NaN (F.normalize eps)', () => tf.tidy(() => {
    const h = tf.concat([tf.ones([1, 2, 3]), tf.zeros([1, 2, 3])], 0) as tf.Tensor3D;
    expect(Array.from(clsSimilarity(h).dataSync())).toEqual([0]);
  }));
});

describe('HERO-2 · clipSimilarity', () => {
  it('ignores the embeddings\' norms and lies in [−1, 1]', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 1e6 }),
      fc.double({ min: 0.1, max: 10, noNaN: true }), (K, Dp, seed, scale) => tf.tidy(() => {
        const img = tf.randomNormal([K, Dp], 0, 1, 'float32', seed) as tf.Tensor2D;
        const txt = tf.randomNormal([Dp], 0, 1, 'float32', seed + 1) as tf.Tensor1D;
        const s = clipSimilarity(img, txt);
        expect(s.dataSync().every((x) => x >= -1 - 1e-6 && x <= 1 + 1e-6)).toBe(true);
        expectClose(clipSimilarity(tf.mul(img, scale) as tf.Tensor2D, tf.mul(txt, 1 / scale) as tf.Tensor1D), s, TOL.primitive, 'rescaled');
      })), { numRuns: 30 });
  });
});
