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

/** float64 softmax of x/τ (reference for the value checks). */
const softmax64 = (x: readonly number[], t: number): number[] => {
  const m = Math.max(...x.map((v) => v / t));
  const e = x.map((v) => Math.exp(v / t - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe.each([['HERO-1 · saliency values', saliency], ['HERO-2 · relevance values', relevance]] as const)('%s', (_, fn) => {
  it('hand-computed cases with τ ≠ 1 (the temperature divides; a negated similarity reverses the order)', () => tf.tidy(() => {
    // softmax([0.9, 0.5, 0.1] / 0.1) = [e⁹, e⁵, e¹] / (e⁹ + e⁵ + e¹) = [8103.08, 148.41, 2.718] / 8254.22
    expectClose(fn(tf.tensor1d([0.9, 0.5, 0.1]), 0.1), [0.9816903928255047, 0.017980286735531547, 0.00032932043896389293], TOL.primitive, 'τ = 0.1');
    // softmax([0.3, 0.1, 0.2] / 0.5) = [e^0.6, e^0.2, e^0.4] / Σ
    expectClose(fn(tf.tensor1d([0.3, 0.1, 0.2]), 0.5), [0.4017595785333554, 0.2693074991777379, 0.3289329222889067], TOL.primitive, 'τ = 0.5');
    // a flipped cosine gives the mirrored distribution, softmax([−0.3, −0.1, −0.2] / 0.5)
    expectClose(fn(tf.tensor1d([-0.3, -0.1, -0.2]), 0.5), [0.2693074991777379, 0.4017595785333555, 0.32893292228890675], TOL.primitive, 'negated');
    // τ = 0.05 (the default): 0.6 / 0.05 = 12 apart → e^−12 = 6.144e−6
    expectClose(fn(tf.tensor1d([0.2, -0.4]), 0.05), [0.9999938558253978, 6.144174602214718e-06], TOL.primitive, 'τ = 0.05');
  }));

  it('equals a float64 softmax(x / τ) (property)', () => {
    fc.assert(fc.property(sims, tau, (x, t) => tf.tidy(() => {
      expectClose(fn(tf.tensor1d(x), t), softmax64(x, t), SOFTMAX_SHIFT, 'vs float64');
    })), { numRuns: 50 });
  });
});

describe('HERO-2 · clipSimilarity values', () => {
  it('hand-computed cosines: sign and magnitude', () => tf.tidy(() => {
    // text u = [4, −3] (‖u‖ = 5); tiles [3, 4] ⟂ u → 0; [0, −2] → 6/(2·5) = 0.6; [−4, 3] = −u → −1; [8, −6] = 2u → 1
    const s = clipSimilarity(tf.tensor2d([[3, 4], [0, -2], [-4, 3], [8, -6]]), tf.tensor1d([4, -3]));
    expectClose(s, [0, 0.6, -1, 1], TOL.primitive, 'cosines');
  }));

  it('equals the float64 cosine of each tile embedding with the text embedding (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 1e6 }), (K, Dp, seed) => tf.tidy(() => {
      const img = tf.randomNormal([K, Dp], 0, 1, 'float32', seed) as tf.Tensor2D;
      const txt = tf.randomNormal([Dp], 0, 1, 'float32', seed + 1) as tf.Tensor1D;
      const v = img.arraySync(), u = Array.from(txt.dataSync());
      const n = (a: number[]): number => Math.max(Math.sqrt(a.reduce((s, x) => s + x * x, 0)), 1e-12);
      const ref = v.map((row) => row.reduce((s, x, i) => s + x * u[i], 0) / (n(row) * n(u)));
      expectClose(clipSimilarity(img, txt), ref, TOL.primitive, 'vs float64 cosine');
    })), { numRuns: 30 });
  });
});

describe('HERO-1 · clsSimilarity values', () => {
  it('hand-computed: thumbnail CLS [1, 0, 0]; tiles [0, 2, 0] → 0, [−3, 0, 0] → −1, [1, 1, 0] → 1/√2', () => tf.tidy(() => {
    const cls = [[1, 0, 0], [0, 2, 0], [-3, 0, 0], [1, 1, 0]];
    const h = tf.tensor3d(cls.map((c) => [c, [9, 9, 9]])) as tf.Tensor3D; // [P = 4, N+1 = 2, Dv = 3]; patch rows ignored
    expectClose(clsSimilarity(h), [0, -1, Math.SQRT1_2], TOL.primitive, 'cls cosines');
  }));
});
