import * as tf from '@tensorflow/tfjs-core';

export interface LayerNormParams {
  readonly weight: tf.Tensor1D;
  readonly bias: tf.Tensor1D;
}
export interface RmsNormParams {
  readonly weight: tf.Tensor1D;
}

/**
 * LayerNorm over the last axis with the biased variance, as torch.nn.LayerNorm.   @eq NN-layernorm
 *   y = (x − μ) / √(σ² + ε) · w + b
 */
export function layerNorm<T extends tf.Tensor>(p: LayerNormParams, x: T, eps: number): T {
  const mu = tf.mean(x, -1, true);
  const xc = tf.sub(x, mu);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, eps))), p.weight), p.bias) as T;
}

/**
 * RMSNorm over the last axis (Llama).                                              @eq NN-rmsnorm
 *   y = w · x / √(mean(x²) + ε)
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py LlamaRMSNorm.forward (variance in fp32; all fp32 here)
 */
export function rmsNorm<T extends tf.Tensor>(p: RmsNormParams, x: T, eps: number): T {
  const variance = tf.mean(tf.square(x), -1, true);
  return tf.mul(p.weight, tf.mul(x, tf.rsqrt(tf.add(variance, eps)))) as T;
}
