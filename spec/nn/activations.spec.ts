import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { gelu, quickGelu, silu, activation } from '../../src/nn/activations';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

/** erf in float64 (Abramowitz–Stegun 7.1.26 is too coarse; use the series/continued fraction). */
function erf64(x: number): number {
  const s = Math.sign(x), a = Math.abs(x);
  if (a < 3) { // Maclaurin series, converges fast for |x| < 3
    let term = a, sum = a;
    for (let n = 1; n < 200; n++) { term *= -a * a / n; sum += term / (2 * n + 1); if (Math.abs(term) < 1e-17) break; }
    return s * 2 / Math.sqrt(Math.PI) * sum;
  }
  // erfc continued fraction for large |x|
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (a + f);
  return s * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
}

const xs = fc.array(fc.double({ min: -8, max: 8, noNaN: true }), { minLength: 1, maxLength: 64 });

describe('NN-gelu · exact (erf) GELU', () => {
  it('matches ½x(1 + erf(x/√2)) in float64', () => {
    fc.assert(fc.property(xs, (v) => tf.tidy(() => {
      expectClose(gelu(tf.tensor1d(v)), v.map((x) => 0.5 * x * (1 + erf64(x / Math.SQRT2))), TOL.primitive, 'gelu');
    })));
  });
});

describe('NN-quickgelu · quick_gelu', () => {
  it('matches x·σ(1.702x) in float64', () => {
    fc.assert(fc.property(xs, (v) => tf.tidy(() => {
      expectClose(quickGelu(tf.tensor1d(v)), v.map((x) => x / (1 + Math.exp(-1.702 * x))), TOL.primitive, 'quick_gelu');
    })));
  });
});

describe('NN-silu · silu', () => {
  it('matches x·σ(x) in float64, and unknown activations are errors', () => {
    fc.assert(fc.property(xs, (v) => tf.tidy(() => {
      expectClose(silu(tf.tensor1d(v)), v.map((x) => x / (1 + Math.exp(-x))), TOL.primitive, 'silu');
    })));
    expect(() => activation('tanh_gelu')).toThrow(/unsupported activation 'tanh_gelu'/);
  });
});
