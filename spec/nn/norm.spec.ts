import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { layerNorm, rmsNorm } from '../../src/nn/norm';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

const matrix = fc.record({ rows: fc.integer({ min: 1, max: 5 }), cols: fc.integer({ min: 2, max: 24 }) }).chain(({ rows, cols }) =>
  fc.record({ rows: fc.constant(rows), cols: fc.constant(cols), data: fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: rows * cols, maxLength: rows * cols }), w: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: cols, maxLength: cols }) }));

describe('NN-layernorm · layerNorm', () => {
  it('matches a float64 loop (biased variance), and has zero mean / unit variance with w = 1, b = 0', () => {
    fc.assert(fc.property(matrix, ({ rows, cols, data, w }) => {
      const x32 = Float32Array.from(data);
      const ref: number[] = [];
      const std: number[] = [];
      for (let r = 0; r < rows; r++) {
        const row = Array.from(x32.subarray(r * cols, (r + 1) * cols));
        const mu = row.reduce((a, b) => a + b, 0) / cols;
        const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / cols;
        row.forEach((x, j) => { ref.push(((x - mu) / Math.sqrt(v + 1e-5)) * w[j] + 0.25); std.push((x - mu) / Math.sqrt(v + 1e-5)); });
      }
      tf.tidy(() => {
        const x = tf.tensor2d(x32, [rows, cols]);
        expectClose(layerNorm({ weight: tf.tensor1d(w), bias: tf.fill([cols], 0.25) as tf.Tensor1D }, x, 1e-5), ref, TOL.primitive, 'layerNorm');
        expectClose(layerNorm({ weight: tf.ones([cols]) as tf.Tensor1D, bias: tf.zeros([cols]) as tf.Tensor1D }, x, 1e-5), std, TOL.primitive, 'standardised');
      });
    }), { numRuns: 50 });
  });
});

describe('NN-rmsnorm · rmsNorm', () => {
  it('matches a float64 loop and is invariant to scaling the input (up to ε)', () => {
    fc.assert(fc.property(matrix, fc.double({ min: 0.5, max: 4, noNaN: true }), ({ rows, cols, data, w }, scale) => {
      const x32 = Float32Array.from(data);
      const ref: number[] = [];
      for (let r = 0; r < rows; r++) {
        const row = Array.from(x32.subarray(r * cols, (r + 1) * cols));
        const ms = row.reduce((a, b) => a + b * b, 0) / cols;
        row.forEach((x, j) => ref.push(w[j] * x / Math.sqrt(ms + 1e-6)));
      }
      tf.tidy(() => {
        const p = { weight: tf.tensor1d(w) };
        const x = tf.tensor2d(x32, [rows, cols]);
        expectClose(rmsNorm(p, x, 1e-6), ref, TOL.primitive, 'rmsNorm');
        // Scale invariance holds only when ε is negligible against mean(x²).
        const rowMs = Array.from({ length: rows }, (_, r) => data.slice(r * cols, (r + 1) * cols).reduce((a, b) => a + b * b, 0) / cols);
        if (rowMs.every((v) => v > 1e-3)) {
          expectClose(rmsNorm(p, tf.mul(x, scale) as tf.Tensor2D, 1e-12), rmsNorm(p, x, 1e-12), TOL.sameMath, 'scaled input');
        }
      });
    }), { numRuns: 50 });
  });
});
