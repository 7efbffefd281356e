import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';

/** quick_gelu(x) = x · σ(1.702 x) (CLIP).                                          @eq NN-quickgelu */
export function quickGelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))) as T;
}

/** gelu(x) = x · Φ(x) = ½ x (1 + erf(x / √2)), the exact form (projector_hidden_act "gelu"). @eq NN-gelu */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T;
}

/** silu(x) = x · σ(x) (Llama's SwiGLU gate).                                        @eq NN-silu */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x)) as T;
}

/** The activation named by an HF config field (`hidden_act`, `projector_hidden_act`). */
export function activation(name: string): <T extends tf.Tensor>(x: T) => T {
  switch (name) {
    case 'quick_gelu': return quickGelu;
    case 'gelu': return gelu;
    case 'silu': return silu;
    default: throw new HeroError(`config: unsupported activation '${name}' (supported: quick_gelu, gelu, silu)`);
  }
}
