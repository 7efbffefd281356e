/**
 * The linear layout policy (src/accel/linear.ts) against the reference `linear` (src/nn/linear.ts), on
 * both sides of its row threshold.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { linear as linearReference } from '../../src/nn/linear';
import { activeKernels, linear } from '../../src/nn/kernels';
import { keepTransposed, linearTransposePolicy, releaseTransposed, TRANSPOSE_MIN_ROWS } from '../../src/accel/linear';
import { installKernels, REFERENCE_CHOICE } from '../../src/accel/kernels';
import { tidyAsync } from '../../src/core/scope';
import { GOLDEN_BACKENDS, leaveBackend, useBackend } from '../util/fixtures';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';

describe.each(GOLDEN_BACKENDS)('NN-linear · the transpose policy equals the reference linear (%s backend)', (backend) => {
  beforeAll(async () => { await useBackend(backend); });
  afterAll(async () => { installKernels(REFERENCE_CHOICE); await leaveBackend(); });

  // rows = a·b straddles TRANSPOSE_MIN_ROWS, so both layouts (transposeB and a materialised Wᵀ) are drawn
  const shapes = fc.record({
    a: fc.integer({ min: 1, max: 3 }), b: fc.integer({ min: 1, max: Math.ceil(TRANSPOSE_MIN_ROWS / 2) + 8 }),
    inF: fc.integer({ min: 1, max: 9 }), outF: fc.integer({ min: 1, max: 9 }), bias: fc.boolean(), seed: fc.integer({ min: 1, max: 1e6 }),
  });
  it('equals x·Wᵀ + b for any leading shape, with and without bias, below and above the row threshold', async () => {
    let below = 0, above = 0;
    await fc.assert(fc.asyncProperty(shapes, ({ a, b, inF, outF, bias, seed }) => tidyAsync(async () => {
      const x = tf.randomNormal([a, b, inF], 0, 1, 'float32', seed);
      const p = {
        weight: tf.randomNormal([outF, inF], 0, 1, 'float32', seed + 1) as tf.Tensor2D,
        bias: bias ? tf.randomNormal([outF], 0, 1, 'float32', seed + 2) as tf.Tensor1D : undefined,
      };
      if (a * b >= TRANSPOSE_MIN_ROWS) above++; else below++;
      const y = linearTransposePolicy(p, x);
      expect(y.shape).toEqual([a, b, outF]);
      await expectCloseAsync(y, linearReference(p, x), TOL.sameMath, 'linear');
    })), { numRuns: 40, examples: [[{ a: 1, b: TRANSPOSE_MIN_ROWS, inF: 3, outF: 5, bias: true, seed: 1 }], [{ a: 1, b: TRANSPOSE_MIN_ROWS - 1, inF: 3, outF: 5, bias: true, seed: 2 }]] });
    expect(below).toBeGreaterThan(0);
    expect(above).toBeGreaterThan(0);
  });

  it('with a kept Wᵀ (keepTransposed): equals x·Wᵀ + b at 1 row and above the threshold, and releaseTransposed frees it', async () => {
    const p = { weight: tf.randomNormal([7, 5], 0, 1, 'float32', 11) as tf.Tensor2D, bias: tf.randomNormal([7], 0, 1, 'float32', 12) as tf.Tensor1D };
    const before = tf.memory().numTensors;
    keepTransposed(p.weight);
    keepTransposed(p.weight); // once only
    expect(tf.memory().numTensors).toBe(before + 1);
    for (const rows of [1, TRANSPOSE_MIN_ROWS + 3]) {
      await tidyAsync(async () => {
        const x = tf.randomNormal([rows, 5], 0, 1, 'float32', rows);
        await expectCloseAsync(linearTransposePolicy(p, x), linearReference(p, x), TOL.sameMath, `kept Wᵀ, ${rows} rows`);
      });
    }
    releaseTransposed(p.weight);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([p.weight, p.bias]);
  });

  it('nn/kernels `linear` runs the policy once installed, and the reference again after', async () => {
    expect(activeKernels().linear).toBe(linearReference);
    installKernels({ attention: 'batched', linear: 'transpose-policy' });
    expect(activeKernels().linear).toBe(linearTransposePolicy);
    await tidyAsync(async () => {
      const p = { weight: tf.randomNormal([4, 3], 0, 1, 'float32', 3) as tf.Tensor2D };
      const x = tf.randomNormal([TRANSPOSE_MIN_ROWS, 3], 0, 1, 'float32', 4);
      await expectCloseAsync(linear(p, x), linearReference(p, x), TOL.sameMath, 'installed');
    });
    installKernels(REFERENCE_CHOICE);
    expect(activeKernels().linear).toBe(linearReference);
  });
});
