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
 * @param x [..., in]
 * @returns [..., out]
 */
export function linearTransposePolicy<T extends tf.Tensor>(p: LinearParams, x: T): T {
  const inF = x.shape[x.shape.length - 1];
  const outF = p.weight.shape[0];
  const x2 = tf.reshape(x, [-1, inF]);                           // [rows, in]
  let y: tf.Tensor;
  if (x2.shape[0] >= TRANSPOSE_MIN_ROWS) {
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
