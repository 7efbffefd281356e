import * as tf from '@tensorflow/tfjs-core';

/**
 * Rotary position embedding tables for positions [offset, offset + T), HF "rotate_half" convention
 * (the two halves of each head, not interleaved pairs).                             @eq RoPE-1
 *   inv_freq_i = 1 / θ^(2i/Dh), i < Dh/2 ;  f = pos ⊗ inv_freq ;  emb = [f, f]
 * inv_freq and the products are rounded to float32 as torch computes them (matters for long positions).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py LlamaRotaryEmbedding
 * @returns cos, sin [T, Dh]
 */
export function ropeTables(T: number, Dh: number, theta: number, offset = 0): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  return ropeTablesAt(Array.from({ length: T }, (_, t) => offset + t), Dh, theta);
}

/** The same tables for arbitrary position ids (FastV keeps the original positions of kept tokens). */
export function ropeTablesAt(positions: readonly number[], Dh: number, theta: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = Dh / 2, T = positions.length;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / Dh));
  const cos = new Float32Array(T * Dh);
  const sin = new Float32Array(T * Dh);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const f = Math.fround(positions[t] * invFreq[i]);
      const c = Math.cos(f), s = Math.sin(f);
      cos[t * Dh + i] = c; cos[t * Dh + half + i] = c;
      sin[t * Dh + i] = s; sin[t * Dh + half + i] = s;
    }
  }
  return { cos: tf.tensor2d(cos, [T, Dh]), sin: tf.tensor2d(sin, [T, Dh]) };
}

/** rotate_half([x1, x2]) = [−x2, x1] over the last axis. */
export function rotateHalf<T extends tf.Tensor>(x: T): T {
  const Dh = x.shape[x.shape.length - 1];
  const [x1, x2] = tf.split(x, [Dh / 2, Dh / 2], -1);
  return tf.concat([tf.neg(x2), x1], -1) as T;
}

/**
 * x' = x·cos + rotate_half(x)·sin                                                  @eq RoPE-2
 * @param x [B, H, T, Dh]
 * @param cos [T, Dh]
 * @returns [B, H, T, Dh]
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin)) as tf.Tensor4D;
}
