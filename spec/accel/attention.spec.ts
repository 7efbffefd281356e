/**
 * The per-head attention kernel (src/accel/attention.ts) against the reference `attend`
 * (src/nn/attention.ts), and its installation behind nn/kernels.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { attend as attendReference, MASK_MIN } from '../../src/nn/attention';
import { attend, activeKernels, REFERENCE_KERNELS } from '../../src/nn/kernels';
import { attendHeadByHead, attendPerHead, PER_HEAD_MIN_QUERIES } from '../../src/accel/attention';
import { installKernels, REFERENCE_CHOICE } from '../../src/accel/kernels';
import { tidyAsync } from '../../src/core/scope';
import { GOLDEN_BACKENDS, leaveBackend, useBackend } from '../util/fixtures';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';

describe.each(GOLDEN_BACKENDS)('Attn-1 · per-head attention equals the reference batched attend (%s backend)', (backend) => {
  beforeAll(async () => { await useBackend(backend); });
  afterAll(async () => { installKernels(REFERENCE_CHOICE); await leaveBackend(); });

  const shapes = fc.record({
    B: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 4 }), Tq: fc.integer({ min: 1, max: 7 }),
    Tk: fc.integer({ min: 1, max: 7 }), Dh: fc.integer({ min: 1, max: 6 }), seed: fc.integer({ min: 1, max: 1e6 }),
    mask: fc.constantFrom('none', '2d', 'per-batch', 'per-head', 'shared4d'), scaleQueryFirst: fc.boolean(),
  });
  it('outputs and probabilities agree for any shape, mask layout and scale order', async () => {
    await fc.assert(fc.asyncProperty(shapes, ({ B, H, Tq, Tk, Dh, seed, mask, scaleQueryFirst }) => tidyAsync(async () => {
      const q = tf.randomNormal([B, H, Tq, Dh], 0, 2, 'float32', seed) as tf.Tensor4D;
      const k = tf.randomNormal([B, H, Tk, Dh], 0, 2, 'float32', seed + 1) as tf.Tensor4D;
      const v = tf.randomNormal([B, H, Tk, Dh], 0, 2, 'float32', seed + 2) as tf.Tensor4D;
      // masks with a blocked position (MASK_MIN) and finite offsets, in every layout `attend` accepts
      const raw = (shape: number[]): tf.Tensor => tf.where(tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed + 3), 0.2),
        tf.fill(shape, MASK_MIN), tf.randomNormal(shape, 0, 1, 'float32', seed + 4));
      const m = { none: undefined, '2d': raw([Tq, Tk]), 'per-batch': raw([B, 1, Tq, Tk]), 'per-head': raw([B, H, Tq, Tk]), shared4d: raw([1, 1, Tq, Tk]) }[mask];
      const opts = { mask: m, scaleQueryFirst, keepProbs: true };
      const ref = attendReference(q, k, v, 0.37, opts);
      const fast = attendHeadByHead(q, k, v, 0.37, opts);
      await expectCloseAsync(fast.out, ref.out, TOL.sameMath, 'out');
      await expectCloseAsync(fast.probs!, ref.probs!, TOL.sameMath, 'probs');
    })), { numRuns: 40 });
  });

  it('materialises the probabilities only when asked', () => tf.tidy(() => {
    for (const Tq of [3, PER_HEAD_MIN_QUERIES]) {
      const q = tf.randomNormal([1, 2, Tq, 4], 0, 1, 'float32', 9) as tf.Tensor4D;
      expect(attendPerHead(q, q, q, 0.5).probs).toBeUndefined();
      expect(attendPerHead(q, q, q, 0.5, { keepProbs: true }).probs!.shape).toEqual([1, 2, Tq, Tq]);
    }
  }));

  // The installed kernel runs the reference below PER_HEAD_MIN_QUERIES query rows (a decode step) and the
  // loop from there (a prefill chunk): each side is the exact same computation as the one it picks.
  it.each([1, PER_HEAD_MIN_QUERIES - 1, PER_HEAD_MIN_QUERIES, PER_HEAD_MIN_QUERIES + 5])('with %i query rows it runs the path the row count picks, bit for bit', (Tq) => tidyAsync(async () => {
    const [H, Tk, Dh] = [3, Tq + 4, 5];
    const q = tf.randomNormal([1, H, Tq, Dh], 0, 2, 'float32', Tq) as tf.Tensor4D;
    const k = tf.randomNormal([1, H, Tk, Dh], 0, 2, 'float32', Tq + 1) as tf.Tensor4D;
    const v = tf.randomNormal([1, H, Tk, Dh], 0, 2, 'float32', Tq + 2) as tf.Tensor4D;
    const mask = tf.where(tf.less(tf.randomUniform([Tq, Tk], 0, 1, 'float32', Tq + 3), 0.2), tf.fill([Tq, Tk], MASK_MIN), tf.zeros([Tq, Tk]));
    const opts = { mask, keepProbs: true };
    const picked = Tq < PER_HEAD_MIN_QUERIES ? attendReference(q, k, v, 0.37, opts) : attendHeadByHead(q, k, v, 0.37, opts);
    const other = Tq < PER_HEAD_MIN_QUERIES ? attendHeadByHead(q, k, v, 0.37, opts) : attendReference(q, k, v, 0.37, opts);
    const got = attendPerHead(q, k, v, 0.37, opts);
    expect(Array.from(await got.out.data())).toEqual(Array.from(await picked.out.data()));
    expect(Array.from(await got.probs!.data())).toEqual(Array.from(await picked.probs!.data()));
    await expectCloseAsync(got.out, other.out, TOL.sameMath, 'out against the other path');
  }));

  it('nn/kernels `attend` runs the reference until per-head is installed, and the reference again after', () => tidyAsync(async () => {
    const q = tf.randomNormal([1, 2, 3, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
    expect(activeKernels()).toEqual(REFERENCE_KERNELS);
    expect(attend(q, q, q, 0.5).probs).toBeDefined();               // the reference always returns them
    installKernels({ attention: 'per-head', linear: 'reference' });
    expect(activeKernels().attend).toBe(attendPerHead);
    expect(attend(q, q, q, 0.5).probs).toBeUndefined();             // per-head: only with keepProbs
    await expectCloseAsync(attend(q, q, q, 0.5).out, attendReference(q, q, q, 0.5).out, TOL.sameMath, 'installed out');
    installKernels(REFERENCE_CHOICE);
    expect(activeKernels().attend).toBe(attendReference);
  }));
});
