import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { linear } from '../../src/nn/linear';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

describe('NN-linear · linear keeps W as [out, in]', () => {
  it('equals an explicit float64 x·Wᵀ + b over any leading shape', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1e6 }),
      (a, b, inF, outF, seed) => tf.tidy(() => {
        const x = tf.randomNormal([a, b, inF], 0, 1, 'float32', seed);
        const w = tf.randomNormal([outF, inF], 0, 1, 'float32', seed + 1) as tf.Tensor2D;
        const bias = tf.randomNormal([outF], 0, 1, 'float32', seed + 2) as tf.Tensor1D;
        const xs = x.arraySync() as number[][][], ws = w.arraySync() as number[][], bs = bias.arraySync() as number[];
        const ref = xs.flatMap((r) => r.flatMap((v) => ws.map((wr, o) => wr.reduce((s, wi, i) => s + wi * v[i], bs[o]))));
        const y = linear({ weight: w, bias }, x);
        expect(y.shape).toEqual([a, b, outF]);
        expectClose(y, ref, TOL.primitive, 'linear');
      })), { numRuns: 30 });
  });
});
