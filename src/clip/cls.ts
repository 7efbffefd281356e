/**
 * The CLS row of a vision layer's attention, reduced over heads: the one implementation behind HERO's
 * token scores (HERO-5/6), the baselines' CLS scores and the vision tower's `clsAttention` tap.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface ClsReduceOptions {
  /** 'mean' (HERO, FasterVLM, the maps) or 'sum' (HiRED) over the Hv heads; default 'mean' */
  readonly reduce?: 'mean' | 'sum';
  /** half-open crop range [begin, end) of the P crops; default all */
  readonly crops?: readonly [number, number];
  /** a softmax over the N patch probabilities of each head before the reduction (HERO's authors' code) */
  readonly softmaxFirst?: boolean;
}

/**
 * CLS→patch attention of crops [begin, end), reduced over heads:
 *   s[c, j] = reduce_h σ(A[c, h, 0, 1 + j]),  σ = identity or softmax over j
 * @param probs [P, Hv, N+1, N+1] attention probabilities (CLS is token 0)
 * @returns [Pc, N], Pc = end − begin
 */
export function clsPatchAttention(probs: tf.Tensor4D, opts: ClsReduceOptions = {}): tf.Tensor2D {
  const [P, Hv, , T] = probs.shape; // T = N+1 keys (the query rows may be fewer: a crop split by rows, clip/vision.ts VisionRows)
  const [begin, end] = opts.crops ?? [0, P];
  return tf.tidy(() => {
    // The CLS query row first (a gather), then the crops and patch columns of that small tensor: tfjs-wasm's
    // slice reads its whole input back to JS, which on [P, Hv, N+1, N+1] costs ≈ 80 ms per tapped layer of ViT-L × 3 crops (3 ms this way; bench/cls_row.ts).
    const cls = tf.gather(probs, [0], 2);                                                                             // [P, Hv, 1, N+1]
    const row = tf.reshape(tf.slice(cls, [begin, 0, 0, 1], [end - begin, Hv, 1, T - 1]), [end - begin, Hv, T - 1]); // [Pc, Hv, N]
    const s = opts.softmaxFirst ? tf.softmax(row) : row;                                                              // [Pc, Hv, N]
    return ((opts.reduce ?? 'mean') === 'sum' ? tf.sum(s, 1) : tf.mean(s, 1)) as tf.Tensor2D;                       // [Pc, N]
  });
}
