/** The one CLS-row head reduction (HERO-5/6 scores, the baselines' CLS scores, the clsAttention tap). */
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { clsPatchAttention } from '../../src/clip/cls';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

describe('clsPatchAttention', () => {
  it('reduces row 0, columns 1.. of each head (mean or sum, optional per-head softmax) for a crop range', () => {
    const arb = fc.record({ P: fc.integer({ min: 1, max: 3 }), Hv: fc.integer({ min: 1, max: 3 }), N: fc.integer({ min: 1, max: 5 }), seed: fc.integer({ min: 0, max: 1e6 }) })
      .chain((s) => fc.record({ s: fc.constant(s), begin: fc.integer({ min: 0, max: s.P - 1 }), reduce: fc.constantFrom<'mean' | 'sum'>('mean', 'sum'), softmaxFirst: fc.boolean() })
        .chain((r) => fc.record({ r: fc.constant(r), end: fc.integer({ min: r.begin + 1, max: r.s.P }) })));
    fc.assert(fc.property(arb, ({ r: { s: { P, Hv, N, seed }, begin, reduce, softmaxFirst }, end }) => {
      const T = N + 1;
      const a = tf.tidy(() => tf.randomUniform([P, Hv, T, T], 0, 1, 'float32', seed)) as tf.Tensor4D;
      const A = a.arraySync();
      const want: number[] = [];
      for (let c = begin; c < end; c++) {
        const acc = new Array<number>(N).fill(0);
        for (let h = 0; h < Hv; h++) {
          let row = A[c][h][0].slice(1);                           // CLS query, patch keys
          if (softmaxFirst) { const z = row.reduce((q, v) => q + Math.exp(v), 0); row = row.map((v) => Math.exp(v) / z); }
          row.forEach((v, j) => { acc[j] += v; });
        }
        want.push(...acc.map((v) => (reduce === 'mean' ? v / Hv : v)));
      }
      const got = tf.tidy(() => clsPatchAttention(a, { reduce, crops: [begin, end], softmaxFirst }));
      try {
        expect(got.shape).toEqual([end - begin, N]);
        expectClose(got, want, TOL.primitive, 'CLS row');
      } finally { tf.dispose([a, got]); }
    }), { numRuns: 40 });
  });
});
