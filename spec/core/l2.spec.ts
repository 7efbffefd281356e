/** The one L2 normalisation (HERO-1/2, PruMerge's key cosine, GlobalCom²'s mix) against a float64 loop. */
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize, l2NormalizeNoEps, NORMALIZE_EPS } from '../../src/core/l2';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

describe('l2Normalize', () => {
  it('divides each last-axis row by max(‖row‖₂, eps) (F.normalize)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 1e6 }), (R, D, seed) => {
      const x = tf.tidy(() => tf.randomNormal([2, R, D], 0, 3, 'float32', seed));
      const host = Array.from(x.dataSync());
      const want: number[] = [];
      for (let r = 0; r < 2 * R; r++) {
        const row = host.slice(r * D, (r + 1) * D);
        const n = Math.max(Math.sqrt(row.reduce((a, v) => a + v * v, 0)), NORMALIZE_EPS);
        want.push(...row.map((v) => v / n));
      }
      const y = tf.tidy(() => l2Normalize(x));
      try {
        expect(y.shape).toEqual([2, R, D]);
        expectClose(y, want, TOL.primitive, 'l2Normalize');
      } finally { tf.dispose([x, y]); }
    }), { numRuns: 30 });
  });

  it('leaves an all-zero row zero (the eps clamp), not NaN', () => {
    const y = tf.tidy(() => l2Normalize(tf.tensor2d([[0, 0, 0], [3, 0, 4]])));
    expect(Array.from(y.dataSync())).toEqual([0, 0, 0, 0.6000000238418579, 0, 0.800000011920929]);
    y.dispose();
  });
});

describe('l2NormalizeNoEps (CLIP-S)', () => {
  it('divides by ‖row‖₂ without a floor: unit rows where the norm is positive, NaN for an all-zero row (as HF CLIPModel.forward)', () => {
    const got = tf.tidy(() => Array.from(l2NormalizeNoEps(tf.tensor2d([[3, 4], [0, 0]])).dataSync()));
    expect(got.slice(0, 2)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(got.slice(2, 4).every(Number.isNaN)).toBe(true);
    // where l2Normalize's eps keeps the zero row zero
    expect(tf.tidy(() => Array.from(l2Normalize(tf.tensor2d([[0, 0]])).dataSync()))).toEqual([0, 0]);
  });
});
