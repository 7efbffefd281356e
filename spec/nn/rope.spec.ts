import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { applyRope, ropeTables, rotateHalf } from '../../src/nn/rope';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

describe('RoPE-1 RoPE-2 · rotary position embedding (rotate_half convention)', () => {
  it('preserves the norm of every head vector', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 1e6 }), (T, offset, seed) => tf.tidy(() => {
      const x = tf.randomNormal([1, 2, T, 8], 0, 1, 'float32', seed) as tf.Tensor4D;
      const { cos, sin } = ropeTables(T, 8, 10000, offset);
      expectClose(tf.norm(applyRope(x, cos, sin), 'euclidean', -1), tf.norm(x, 'euclidean', -1), TOL.primitive, 'norms');
    })));
  });

  it('⟨RoPE(q, m), RoPE(k, n)⟩ depends only on m − n', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 1e6 }), (m, n, shift, seed) => tf.tidy(() => {
      const q = tf.randomNormal([1, 1, 1, 16], 0, 1, 'float32', seed) as tf.Tensor4D;
      const k = tf.randomNormal([1, 1, 1, 16], 0, 1, 'float32', seed + 1) as tf.Tensor4D;
      const at = (x: tf.Tensor4D, pos: number): tf.Tensor4D => { const t = ropeTables(1, 16, 10000, pos); return applyRope(x, t.cos, t.sin); };
      const dot = (a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor => tf.sum(tf.mul(a, b));
      expectClose(dot(at(q, m + shift), at(k, n + shift)), dot(at(q, m), at(k, n)), { atol: 1e-4, rtol: 1e-4, why: 'fp32 angles at positions ≤ 250' }, 'shifted dot product');
    })));
  });

  it('rotate_half([x1, x2]) = [−x2, x1]', () => {
    tf.tidy(() => expect(Array.from(rotateHalf(tf.tensor1d([1, 2, 3, 4])).dataSync())).toEqual([-3, -4, 1, 2]));
  });
});
