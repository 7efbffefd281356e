/**
 * The property both host attention kernels (accel/attention_host.ts: attendBlas, attendGemm) must hold: out and
 * probs equal nn/attention.ts `attend` within TOL.sameMath for any (B, H, Tq, Tk, Dh), 2-D and broadcast 4-D
 * masks, q scaled first or not, with and without probs, in blocks of any number of heads.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { attend as attendReference } from '../../src/nn/attention';
import { HOST_ATTENTION_BLOCK_BYTES, setHostAttentionBlockBytes } from '../../src/accel/attention_host';
import { tidyAsync } from '../../src/core/scope';
import { expectCloseAsync } from './close';
import { TOL } from './tolerances';

type Attend = typeof attendReference;

/** The ranges drawn: B, H, Tk, Dh up to these; Tq from `tq`, at most maxTq. */
export interface HostAttentionRanges { readonly B: number; readonly H: number; readonly tq: fc.Arbitrary<number>; readonly maxTq: number; readonly Tk: number; readonly Dh: number }

/** Runs the property on `attendFn` for numRuns cases; `onCase` sees each case's Tq (to count which path ran). */
export async function expectHostAttentionMatchesReference(attendFn: Attend, r: HostAttentionRanges, numRuns: number, onCase: (Tq: number) => void = () => undefined): Promise<void> {
  const cases = fc.record({
    B: fc.integer({ min: 1, max: r.B }), H: fc.integer({ min: 1, max: r.H }), Tq: r.tq,
    Tk: fc.integer({ min: 1, max: r.Tk }), Dh: fc.integer({ min: 1, max: r.Dh }),
    mask: fc.constantFrom('none', '2d', '4d-b1', '4d-mh1', '4d-full'), scaleQueryFirst: fc.boolean(), keepProbs: fc.boolean(), seed: fc.integer({ min: 1, max: 1e6 }),
    // the scores held at once (HOST_ATTENTION_BLOCK_BYTES): from one (batch, head) pair per block to all of them
    block: fc.integer({ min: 4, max: 4 * r.B * r.H * r.maxTq * r.Tk }),
  });
  const rand = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const was = setHostAttentionBlockBytes(HOST_ATTENTION_BLOCK_BYTES);
  try {
    await fc.assert(fc.asyncProperty(cases, ({ B, H, Tq, Tk, Dh, mask, scaleQueryFirst, keepProbs, seed, block }) => tidyAsync(async () => {
      setHostAttentionBlockBytes(block);
      onCase(Tq);
      const q = rand([B, H, Tq, Dh], seed) as tf.Tensor4D, k = rand([B, H, Tk, Dh], seed + 1) as tf.Tensor4D, v = rand([B, H, Tk, Dh], seed + 2) as tf.Tensor4D;
      const maskShape = { none: undefined, '2d': [Tq, Tk], '4d-b1': [1, H, Tq, Tk], '4d-mh1': [B, 1, Tq, Tk], '4d-full': [B, H, Tq, Tk] }[mask];
      // additive masks as the model writes them: 0 or a large negative, with at least one key open per row (column 0)
      const m = maskShape && tf.mul(tf.cast(tf.logicalAnd(tf.greater(rand(maskShape, seed + 3), 0.5), tf.greater(tf.range(0, Tk), 0)), 'float32'), -1e9);
      const opts = { mask: m, scaleQueryFirst, keepProbs };
      const got = attendFn(q, k, v, 1 / Math.sqrt(Dh), opts), want = attendReference(q, k, v, 1 / Math.sqrt(Dh), opts);
      expect(got.out.shape).toEqual([B, H, Tq, Dh]);
      await expectCloseAsync(got.out, want.out, TOL.sameMath, 'attention out');
      if (keepProbs) await expectCloseAsync(got.probs!, want.probs!, TOL.sameMath, 'attention probs');
      else expect(got.probs).toBeUndefined();
    })), { numRuns });
  } finally {
    setHostAttentionBlockBytes(was);
  }
}
