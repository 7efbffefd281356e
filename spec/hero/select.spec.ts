import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../../src/core/errors';
import { topKMask, heroLayout } from '../../src/hero';

describe('HERO-5 HERO-6 · topKMask selection', () => {
  const arb = fc.integer({ min: 1, max: 40 }).chain((n) => fc.record({
    scores: fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
    valid: fc.array(fc.constantFrom<number>(0, 1), { minLength: n, maxLength: n }),
    frac: fc.double({ min: 0, max: 1, noNaN: true }),
  }));

  it('keeps exactly k distinct valid in-range tokens, each scoring at least every dropped valid token', () => {
    fc.assert(fc.property(arb, ({ scores, valid, frac }) => {
      const nValid = valid.reduce((a, b) => a + b, 0);
      const k = Math.floor(frac * nValid);
      const m = topKMask(scores, k, valid);
      expect(m.length).toBe(scores.length);
      const kept = [...m.keys()].filter((j) => m[j] === 1);
      expect(kept.length).toBe(k);
      expect(new Set(kept).size).toBe(k);
      for (const j of kept) expect(valid[j]).toBe(1);
      const minKept = Math.min(...kept.map((j) => scores[j]));
      for (let j = 0; j < scores.length; j++) if (valid[j] && !m[j]) expect(scores[j]).toBeLessThanOrEqual(minKept);
    }), { numRuns: 300 });
  });

  it('breaks ties by the lower index first (@choice)', () => {
    expect(Array.from(topKMask([0.5, 0.5, 0.5, 0.1], 2))).toEqual([1, 1, 0, 0]);
    expect(Array.from(topKMask([0.5, 0.5, 0.5, 0.1], 2, [1, 0, 1, 1]))).toEqual([1, 0, 1, 0]);
  });

  it('refuses k beyond the valid tokens', () => {
    expect(() => topKMask([1, 2, 3], 3, [1, 1, 0])).toThrow(HeroError);
  });
});

describe('HERO-LAYOUT · heroLayout', () => {
  const arb = fc.record({ rows: fc.integer({ min: 1, max: 3 }), cols: fc.integer({ min: 1, max: 3 }), G: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 1e6 }) })
    .chain((s) => fc.record({ s: fc.constant(s),
      keep: fc.array(fc.array(fc.constantFrom<number>(0, 1), { minLength: s.G * s.G, maxLength: s.G * s.G }), { minLength: 1 + s.rows * s.cols, maxLength: 1 + s.rows * s.cols }) }));

  it('length = B_0 + Σ b_k + rows·G, newline after every grid row, tokens in stitched raster order', () => {
    fc.assert(fc.property(arb, ({ s, keep }) => tf.tidy(() => {
      const N = s.G * s.G, K = s.rows * s.cols, P = 1 + K;
      // Token (crop p, index j) is the vector [p, j, 1]; the newline is [−1, −1, −1].
      const proj = tf.tensor3d(Array.from({ length: P * N }, (_, i) => [Math.floor(i / N), i % N, 1]).flat(), [P, N, 3]);
      const out = heroLayout(proj, tf.tensor1d([-1, -1, -1]), keep[0], keep.slice(1), [s.rows, s.cols], s.G);
      const kept = keep.flat().reduce((a, b) => a + b, 0);
      expect(out.shape).toEqual([kept + s.rows * s.G, 3]);
      const rowsOut = out.arraySync();
      let i = 0;
      for (let j = 0; j < N; j++) if (keep[0][j]) expect(rowsOut[i++]).toEqual([0, j, 1]);
      for (let y = 0; y < s.rows * s.G; y++) {
        for (let x = 0; x < s.cols * s.G; x++) {
          const t = Math.floor(y / s.G) * s.cols + Math.floor(x / s.G), l = (y % s.G) * s.G + (x % s.G);
          if (keep[1 + t][l]) expect(rowsOut[i++]).toEqual([1 + t, l, 1]);
        }
        expect(rowsOut[i++]).toEqual([-1, -1, -1]);
      }
      expect(i).toBe(rowsOut.length);
    })), { numRuns: 100 });
  });
});
