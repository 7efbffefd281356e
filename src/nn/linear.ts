import * as tf from '@tensorflow/tfjs-core';

/** HF `nn.Linear` keys; the weight stays [out, in] exactly as stored. */
export interface LinearParams {
  readonly weight: tf.Tensor2D;
  readonly bias?: tf.Tensor1D;
}

/**
 * y = x Wᵀ + b over the last axis.          @eq NN-linear
 * @mirrors pytorch/pytorch@v1.13.0 torch/nn/functional.py linear
 * @param x [..., in]
 * @returns [..., out]
 */
export function linear<T extends tf.Tensor>(p: LinearParams, x: T): T {
  const inF = x.shape[x.shape.length - 1];
  const outF = p.weight.shape[0];
  const x2 = tf.reshape(x, [-1, inF]);                           // [n, in]
  // x·Wᵀ. For many rows, Wᵀ is materialised: tfjs-wasm's matMul(…, transposeB = true) is ~10× slower than
  // a plain matMul on a transposed copy (bench/README.md). For a few rows (decoding) copying W would cost
  // more than the product, so transposeB is used. Same math, same stored layout.
  let y: tf.Tensor = x2.shape[0] >= 64
    ? tf.matMul(x2, tf.transpose(p.weight))                      // [n, in]·[in, out] → [n, out]
    : tf.matMul(x2, p.weight, false, true);                      // [rows, in]·[out, in]ᵀ → [rows, out]
  if (p.bias) y = tf.add(y, p.bias);
  return tf.reshape(y, [...x.shape.slice(0, -1), outF]) as T;     // [..., out]
}
