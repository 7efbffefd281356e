/**
 * L2 normalisation: the one implementation HERO (HERO-1, HERO-2) and the baselines (PruMerge's key
 * cosine, GlobalCom²'s score mix) use, and CLIP's own eps-free one (CLIP-S).
 */
import * as tf from '@tensorflow/tfjs-core';

/** PyTorch's F.normalize default eps: the norm is clamped from below before dividing. */
export const NORMALIZE_EPS = 1e-12;

/**
 * Row-wise L2 normalisation x / max(‖x‖₂, eps) over the last axis (an all-zero row stays zero).
 * @mirrors pytorch/pytorch@v1.13.0 torch/nn/functional.py normalize (p = 2, eps = 1e-12)
 */
export function l2Normalize<T extends tf.Tensor>(x: T, eps = NORMALIZE_EPS): T {
  const norm = tf.norm(x, 2, -1, true);                        // [..., 1]
  return tf.div(x, tf.maximum(norm, eps));
}

/**
 * Row-wise x / ‖x‖₂ over the last axis with no eps, as HF's CLIPModel.forward writes it
 * (`x / x.norm(p=2, dim=-1, keepdim=True)`): an all-zero row gives NaN there too. CLIP-S only; everything
 * else uses l2Normalize (F.normalize's clamped form).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/clip/modeling_clip.py CLIPModel.forward
 */
export function l2NormalizeNoEps<T extends tf.Tensor>(x: T): T {
  return tf.div(x, tf.sqrt(tf.sum(tf.square(x), -1, true))) as T;
}
