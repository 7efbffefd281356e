import * as tf from '@tensorflow/tfjs-core';
import type { LinearParams } from '../nn/linear';
import { layerNorm, type LayerNormParams } from '../nn/norm';
import { activation } from '../nn/activations';
import { mergeHeads, splitHeads } from '../nn/attention';
import { attend, linear } from '../nn/kernels';

/** Keys under `encoder.layers.{i}.` (vision and text towers alike). */
export interface EncoderLayerParams {
  readonly layer_norm1: LayerNormParams;
  readonly self_attn: { readonly q_proj: LinearParams; readonly k_proj: LinearParams; readonly v_proj: LinearParams; readonly out_proj: LinearParams };
  readonly layer_norm2: LayerNormParams;
  readonly mlp: { readonly fc1: LinearParams; readonly fc2: LinearParams };
}

export interface EncoderLayerConfig {
  readonly num_attention_heads: number;
  readonly layer_norm_eps: number;
  readonly hidden_act: string;
}

/** What one layer returns besides its output: the attention probabilities and the raw q/k projections. */
export interface LayerTaps {
  readonly probs?: tf.Tensor4D; // [P, Hv, N+1, N+1], when asked for (keepProbs)
  readonly q: tf.Tensor3D;     // [P, N+1, Dv], q_proj output (bias included, unscaled)
  readonly k: tf.Tensor3D;     // [P, N+1, Dv]
}

/**
 * The keys and values a layer's queries attend to, from the ones the call computed: absent (the reference),
 * x is the whole sequence and they are its own. A sequence split by rows over threads (accel/vision_pool.ts)
 * computes k and v for its rows only and gets every row's here, in sequence order (its own among them).
 * @param k [P, Tr, Dv], v [P, Tr, Dv] for this call's Tr rows
 * @returns k, v [P, N+1, Dv]
 */
export type KeysValues = (k: tf.Tensor3D, v: tf.Tensor3D) => { k: tf.Tensor3D; v: tf.Tensor3D };

/**
 * Multi-head self-attention, optionally masked (the text tower's causal + padding mask).  @eq Attn-1
 *   softmax((q·Dh^−½) kᵀ + mask) v, with q scaled right after q_proj as HF v4.45.1 CLIPAttention does.
 * @param x [P, N+1, Dv] (Tr rows of it with `keysValues`)
 * @param keepProbs return the probabilities (the per-head path only materialises them when asked)
 * @param keysValues the whole sequence's keys and values when x holds some of its rows (KeysValues)
 * @returns out [P, N+1, Dv] and the taps (probs [P, Hv, Tr, N+1], q and k [P, Tr, Dv] for Tr rows)
 */
export function selfAttention(p: EncoderLayerParams['self_attn'], x: tf.Tensor3D, cfg: EncoderLayerConfig,
  mask?: tf.Tensor, keepProbs = false, keysValues?: KeysValues): { out: tf.Tensor3D; taps: LayerTaps } {
  const Hv = cfg.num_attention_heads;
  const Dh = x.shape[2] / Hv;
  const q = linear(p.q_proj, x);                                                  // [P, N+1, Dv]
  const k = linear(p.k_proj, x);                                                  // [P, N+1, Dv]
  const v = linear(p.v_proj, x);                                                  // [P, N+1, Dv]
  const all = keysValues ? keysValues(k, v) : { k, v };                           // [P, N+1, Dv] each
  const a = attend(splitHeads(q, Hv), splitHeads(all.k, Hv), splitHeads(all.v, Hv), Dh ** -0.5,
    { mask, scaleQueryFirst: true, keepProbs });                                  // [P, Hv, N+1, Dh], probs [P, Hv, N+1, N+1]
  return { out: linear(p.out_proj, mergeHeads(a.out)), taps: { probs: keepProbs ? a.probs : undefined, q, k } };
}

/**
 * Pre-LN transformer block.
 *   z' = z + MSA(LN₁(z))                                                          @eq ViT-2
 *   z'' = z' + MLP(LN₂(z')),  MLP = fc2 ∘ act ∘ fc1 (quick_gelu for CLIP)          @eq ViT-3
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/clip/modeling_clip.py CLIPEncoderLayer.forward
 * Every step but attention is row by row, so with `keysValues` (KeysValues) x may be some of the rows.
 * @param x [P, N+1, Dv]
 * @returns y [P, N+1, Dv] and the attention taps (probabilities only with keepProbs)
 */
export function encoderLayer(p: EncoderLayerParams, x: tf.Tensor3D, cfg: EncoderLayerConfig, mask?: tf.Tensor,
  keepProbs = false, keysValues?: KeysValues): { y: tf.Tensor3D; taps: LayerTaps } {
  const eps = cfg.layer_norm_eps;
  const { out, taps } = selfAttention(p.self_attn, layerNorm(p.layer_norm1, x, eps), cfg, mask, keepProbs, keysValues);
  const h = tf.add(x, out) as tf.Tensor3D;
  const m = linear(p.mlp.fc2, activation(cfg.hidden_act)(linear(p.mlp.fc1, layerNorm(p.layer_norm2, h, eps)))); // [P, N+1, Fv] → [P, N+1, Dv]
  return { y: tf.add(h, m) as tf.Tensor3D, taps };
}
