import * as tf from '@tensorflow/tfjs-core';

/** HF `nn.Linear` keys; the weight stays [out, in] exactly as stored. */
export interface LinearParams {
  readonly weight: tf.Tensor2D;
  readonly bias?: tf.Tensor1D;
}

/**
 * y = x Wᵀ + b over the last axis.          @eq NN-linear
 * The reference; the model code calls it through nn/kernels.ts, where src/accel/linear.ts may install a
 * faster layout of the same product (docs/architecture.md).
 * @mirrors pytorch/pytorch@v1.13.0 torch/nn/functional.py linear
 * @param x [..., in]
 * @returns [..., out]
 */
export function linear<T extends tf.Tensor>(p: LinearParams, x: T): T {
  const inF = x.shape[x.shape.length - 1];
  const outF = p.weight.shape[0];
  const x2 = tf.reshape(x, [-1, inF]);                           // [rows, in]
  let y: tf.Tensor = tf.matMul(x2, p.weight, false, true);       // [rows, in]·[out, in]ᵀ → [rows, out]
  if (p.bias) y = tf.add(y, p.bias);
  return tf.reshape(y, [...x.shape.slice(0, -1), outF]) as T;     // [..., out]
}
