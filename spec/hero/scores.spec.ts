import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { globalScores, tileScores, layerAveragedClsAttention } from '../../src/hero';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';
import { HeroError } from '../../src/core/errors';

/** Float64 reference: mean over layers of mean over heads of (softmax of) A[k, h, 0, 1:]. */
function reference(att: number[][][][][], crop: number, layers: number[], second: boolean): number[] {
  const N = att[0][0][0].length - 1;
  const acc = new Array<number>(N).fill(0);
  for (const l of layers) {
    const heads = att[l][crop];
    for (const h of heads) {
      let row = h[0].slice(1);
      if (second) { const m = Math.max(...row); const e = row.map((v) => Math.exp(v - m)); const z = e.reduce((a, b) => a + b, 0); row = e.map((v) => v / z); }
      row.forEach((v, j) => { acc[j] += v / heads.length / layers.length; });
    }
  }
  return acc;
}

describe('HERO-5 HERO-6 · layer-averaged CLS attention (code: second softmax; paper: none)', () => {
  it('matches a float64 reference for the thumbnail (high layers) and every tile (low layers)', () => {
    const arb = fc.record({ P: fc.integer({ min: 2, max: 4 }), H: fc.integer({ min: 1, max: 3 }), N: fc.integer({ min: 1, max: 9 }),
      L: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 1e6 }), second: fc.boolean() })
      .chain((s) => fc.record({ s: fc.constant(s), low: fc.uniqueArray(fc.integer({ min: 0, max: s.L - 1 }), { minLength: 1, maxLength: s.L }),
        high: fc.uniqueArray(fc.integer({ min: 0, max: s.L - 1 }), { minLength: 1, maxLength: s.L }) }));
    fc.assert(fc.property(arb, ({ s, low, high }) => tf.tidy(() => {
      const att = Array.from({ length: s.L }, (_, l) => tf.softmax(tf.randomNormal([s.P, s.H, s.N + 1, s.N + 1], 0, 2, 'float32', s.seed + l)) as tf.Tensor4D);
      const host = att.map((a) => a.arraySync());
      expectClose(globalScores(att, high, s.second), reference(host, 0, high, s.second), TOL.probs, 'global');
      const t = tileScores(att, low, s.second);
      expect(t.shape).toEqual([s.P - 1, s.N]);
      const ref = Array.from({ length: s.P - 1 }, (_, k) => reference(host, k + 1, low, s.second)).flat();
      expectClose(t, ref, TOL.probs, 'tiles');
      // Each head's row sums to 1 after the second softmax; so does the average.
      if (s.second) expectClose(tf.sum(t, 1), new Array(s.P - 1).fill(1), TOL.probs, 'row sums');
    })), { numRuns: 40 });
  });

  it('an untapped layer is a HeroError naming it', () => tf.tidy(() => {
    const a = tf.fill([2, 1, 3, 3], 1 / 3) as tf.Tensor4D;
    expect(() => layerAveragedClsAttention([a, undefined], [0, 1], [1], true)).toThrow(/layer 1 was not tapped/);
    expect(() => layerAveragedClsAttention([a], [0, 1], [], true)).toThrow(HeroError);
  }));
});
