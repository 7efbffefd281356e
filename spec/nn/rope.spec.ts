import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { applyRope, ropeTables, ropeTablesAt, rotateHalf } from '../../src/nn/rope';
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

/** RoPE in float64, written out from HF's definition: inv_freq_i = θ^(−2i/Dh), angle = pos·inv_freq_i. */
function rope64(x: readonly number[], pos: number, theta: number): number[] {
  const Dh = x.length, half = Dh / 2;
  const out = new Array<number>(Dh);
  for (let i = 0; i < half; i++) {
    const a = pos * theta ** (-(2 * i) / Dh);
    out[i] = x[i] * Math.cos(a) - x[i + half] * Math.sin(a);          // rotate_half: first half gets −x2
    out[i + half] = x[i + half] * Math.cos(a) + x[i] * Math.sin(a);
  }
  return out;
}

/** fp32 angles: the code rounds inv_freq and pos·inv_freq to fp32 as torch does; at pos ≤ 300 that moves an angle by ≤ 300·2⁻²⁴ ≈ 2e-5. */
const ROPE_F32_ANGLES = { atol: 5e-5, rtol: 0, why: 'fp32 angle rounding at positions ≤ 300 (HF computes the angles in fp32 too)' };

describe('RoPE-1 RoPE-2 · against a float64 reference', () => {
  it('tables: cos/sin(pos·θ^(−2i/Dh)) in both halves, for given positions, Dh and θ', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 300 }), fc.constantFrom(4, 8, 16), fc.constantFrom(10000, 500000, 100),
      (T, offset, Dh, theta) => tf.tidy(() => {
        const { cos, sin } = ropeTables(T, Dh, theta, offset);
        const half = Dh / 2;
        const ang = Array.from({ length: T }, (_, t) => Array.from({ length: Dh }, (_, j) => (offset + t) * theta ** (-(2 * (j % half)) / Dh)));
        expectClose(cos, ang.flat().map(Math.cos), ROPE_F32_ANGLES, 'cos');
        expectClose(sin, ang.flat().map(Math.sin), ROPE_F32_ANGLES, 'sin');
      })));
  });

  it('tables at arbitrary position ids (FastV keeps original positions): row t uses positions[t]', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 5 }), fc.constantFrom(4, 8), (positions, Dh) => tf.tidy(() => {
      const { cos, sin } = ropeTablesAt(positions, Dh, 10000);
      const half = Dh / 2;
      const ang = positions.map((p) => Array.from({ length: Dh }, (_, j) => p * 10000 ** (-(2 * (j % half)) / Dh)));
      expectClose(cos, ang.flat().map(Math.cos), ROPE_F32_ANGLES, 'cos');
      expectClose(sin, ang.flat().map(Math.sin), ROPE_F32_ANGLES, 'sin');
    })));
  });

  it('hand values: Dh = 4, θ = 10000, position 1 → angles [1, 0.01]; position 0 is the identity', () => tf.tidy(() => {
    const t = ropeTables(2, 4, 10000);
    // inv_freq = [10000^0, 10000^(−2/4)] = [1, 0.01]
    expectClose(t.cos, [1, 1, 1, 1, Math.cos(1), Math.cos(0.01), Math.cos(1), Math.cos(0.01)], TOL.primitive, 'cos');
    expectClose(t.sin, [0, 0, 0, 0, Math.sin(1), Math.sin(0.01), Math.sin(1), Math.sin(0.01)], TOL.primitive, 'sin');
  }));

  it('rotated vectors at given positions equal the float64 rotation', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), fc.constantFrom(4, 8, 16), fc.integer({ min: 1, max: 1e6 }), (pos, Dh, seed) => tf.tidy(() => {
      const x = tf.randomNormal([1, 2, 1, Dh], 0, 1, 'float32', seed) as tf.Tensor4D;
      const { cos, sin } = ropeTables(1, Dh, 10000, pos);
      const v = x.arraySync()[0];
      const ref = v.map((head) => rope64(head[0], pos, 10000));
      expectClose(applyRope(x, cos, sin), ref.flat(), { ...ROPE_F32_ANGLES, atol: 2e-4, why: 'fp32 angles (≤ 2e-5) times |x| ≲ 5' }, 'rotated');
    })));
  });
});
