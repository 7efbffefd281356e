/**
 * The linear layout policy: nn/linear.ts `linear` (y = x Wᵀ + b, W stored [out, in]) with the product's
 * layout chosen by the number of rows. Same math (spec/accel/linear.spec.ts).        @eq NN-linear
 *
 * For many rows Wᵀ is materialised: tfjs-wasm's matMul(…, transposeB = true) is ~10× slower than a
 * plain matMul on a transposed copy (bench/README.md). For a few rows (decoding) copying W would cost
 * more than the product, so transposeB is used, as the reference does. Installed by default (src/accel/index.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearParams } from '../nn/linear';

/** Rows from which Wᵀ is materialised. */
export const TRANSPOSE_MIN_ROWS = 64;

/**
 * Weights whose Wᵀ is kept (keepTransposed): the product is then x·Wᵀ for every row count, with no copy per
 * call, and XNNPACK keeps its packing of Wᵀ between calls (it caches per tensor). Costs the kept copy and
 * its packing; used where the weights are resident and reused many times (the decoder workers' slices).
 */
const kept = new WeakMap<tf.Tensor, tf.Tensor>();

/** Keeps Wᵀ [in, out] of a resident weight W [out, in] for linearTransposePolicy; released by releaseTransposed. */
export function keepTransposed(w: tf.Tensor): void {
  if (w.rank === 2 && !kept.has(w)) kept.set(w, tf.keep(tf.transpose(w)));
}

/** Frees the kept Wᵀ of `w`, if any. */
export function releaseTransposed(w: tf.Tensor): void {
  kept.get(w)?.dispose();
  kept.delete(w);
}

/**
 * @param x [..., in]
 * @returns [..., out]
 */
export function linearTransposePolicy<T extends tf.Tensor>(p: LinearParams, x: T): T {
  const inF = x.shape[x.shape.length - 1];
  const outF = p.weight.shape[0];
  const x2 = tf.reshape(x, [-1, inF]);                           // [rows, in]
  let y: tf.Tensor;
  const wt = kept.get(p.weight);
  if (wt) {
    y = tf.matMul(x2, wt);                                       // [rows, in]·[in, out], Wᵀ kept (keepTransposed)
  } else if (x2.shape[0] >= TRANSPOSE_MIN_ROWS) {
    // Wᵀ (and the packed copy XNNPACK makes of it) is freed at once, not at the end of the caller's tidy:
    // a Vicuna-7B layer's seven transposes would otherwise double its footprint in the wasm heap.
    const wt = tf.transpose(p.weight);                           // [in, out]
    y = tf.matMul(x2, wt);                                       // [rows, in]·[in, out] → [rows, out]
    wt.dispose();
  } else {
    y = tf.matMul(x2, p.weight, false, true);                    // [rows, in]·[out, in]ᵀ → [rows, out]
  }
  if (p.bias) y = tf.add(y, p.bias);
  return tf.reshape(y, [...x.shape.slice(0, -1), outF]) as T;     // [..., out]
}
