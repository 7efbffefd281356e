import * as tf from '@tensorflow/tfjs-core';

/** The additive mask value HF uses for blocked positions: the most negative float32 (torch.finfo.min). */
export const MASK_MIN = -3.4028234663852886e38;

/**
 * Attention probabilities softmax(q kᵀ · scale + mask) over the last axis.          @eq Attn-1 NN-softmax
 *   softmax(z)_j = exp(z_j − max z) / Σ_i exp(z_i − max z)   (tf.softmax)
 * `scaleQueryFirst` multiplies q by the scale before the product (HF v4.45.1 CLIPAttention); otherwise
 * the product is scaled (HF v4.45.1 LlamaAttention eager: `matmul(q, kᵀ) / √Dh`). Both are fp32 here; the
 * order only moves the last bits, and mirroring it keeps the goldens at ~1e-6.
 * @param q [B, H, Tq, Dh]
 * @param k [B, H, Tk, Dh]
 * @param mask additive, broadcastable to [B, H, Tq, Tk]
 * @returns [B, H, Tq, Tk]
 */
export function attentionProbs(q: tf.Tensor4D, k: tf.Tensor4D, scale: number,
  opts: { mask?: tf.Tensor; scaleQueryFirst?: boolean } = {}): tf.Tensor4D {
  let scores = opts.scaleQueryFirst
    ? tf.matMul(tf.mul(q, scale), k, false, true)               // [B, H, Tq, Tk]
    : tf.div(tf.matMul(q, k, false, true), 1 / scale);          // [B, H, Tq, Tk]
  if (opts.mask) scores = tf.add(scores, opts.mask);
  return tf.softmax(scores) as tf.Tensor4D;
}

/**
 * Scaled dot-product attention, o = softmax(q kᵀ · scale + mask) v.                  @eq Attn-1
 * One batched product for all B·H heads, as HF v4.45.1 writes it (CLIPAttention, LlamaAttention eager).
 * This is the reference; the model code calls it through nn/kernels.ts, where src/accel/ may install a
 * faster implementation of the same math (docs/architecture.md).
 * @param q [B, H, Tq, Dh]
 * @param k [B, H, Tk, Dh]
 * @param v [B, H, Tk, Dh]
 * @param opts.mask additive, [Tq, Tk] or [B|1, H|1, Tq, Tk]
 * @param opts.keepProbs whether the caller needs `probs`; the reference always returns them, an
 *   accelerated kernel may return them only when asked
 * @returns out [B, H, Tq, Dh]; probs [B, H, Tq, Tk]
 */
export function attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number,
  opts: AttendOptions = {}): { out: tf.Tensor4D; probs?: tf.Tensor4D } {
  const probs = attentionProbs(q, k, scale, opts);                                  // [B, H, Tq, Tk]
  return { out: tf.matMul(probs, v) as tf.Tensor4D, probs };                        // [B, H, Tq, Dh]
}

/** The options of `attend` (and of every kernel that replaces it). */
export interface AttendOptions {
  readonly mask?: tf.Tensor;
  readonly scaleQueryFirst?: boolean;
  readonly keepProbs?: boolean;
}

/**
 * Causal additive mask for `Tq` new queries after `past` cached positions: 0 where key ≤ query position,
 * MASK_MIN elsewhere.                                                                @eq Attn-2
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py _prepare_4d_causal_attention_mask_with_cache_position
 * @returns [Tq, past + Tq]
 */
export function causalMask(Tq: number, past = 0): tf.Tensor2D {
  const Tk = past + Tq;
  const m = new Float32Array(Tq * Tk);
  for (let i = 0; i < Tq; i++) for (let j = 0; j < Tk; j++) m[i * Tk + j] = j <= past + i ? 0 : MASK_MIN;
  return tf.tensor2d(m, [Tq, Tk]);
}

/**
 * Causal mask by position ids: query q sees key k iff pos(k) ≤ pos(q). Equals causalMask for contiguous
 * positions; needed once tokens have been dropped (FastV).                         @eq Attn-2
 * @returns [Tq, Tk]
 */
export function positionMask(queryPos: readonly number[], keyPos: readonly number[]): tf.Tensor2D {
  const m = new Float32Array(queryPos.length * keyPos.length);
  queryPos.forEach((q, i) => keyPos.forEach((k, j) => { m[i * keyPos.length + j] = k <= q ? 0 : MASK_MIN; }));
  return tf.tensor2d(m, [queryPos.length, keyPos.length]);
}

/** [B, T, H·Dh] → [B, H, T, Dh] */
export function splitHeads(x: tf.Tensor3D, H: number): tf.Tensor4D {
  const [B, T, HD] = x.shape;
  return tf.transpose(tf.reshape(x, [B, T, H, HD / H]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/** [B, H, T, Dh] → [B, T, H·Dh] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, Dh] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * Dh]) as tf.Tensor3D;
}
