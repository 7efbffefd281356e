/**
 * The Llama decoder (Vicuna-7B in LLaVA-NeXT): token embedding → L × (pre-RMSNorm attention with RoPE and
 * grouped-query heads, pre-RMSNorm SwiGLU MLP) → final RMSNorm → lm_head.
 * One sequence, no batch dimension: hidden states are [T, D].
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py LlamaForCausalLM
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { assertShape } from '../core/shape';
import { runLayersWithTaps, tidyRecord } from '../core/scope';
import { gatherRows, leafShape, useWeights, type Weights } from '../core/weights';
import type { LinearParams } from '../nn/linear';
import { rmsNorm, type RmsNormParams } from '../nn/norm';
import { silu } from '../nn/activations';
import { positionMask } from '../nn/attention';
import { attend, linear } from '../nn/kernels';
import { applyRope, ropeTablesAt } from '../nn/rope';
import type { LlamaConfig } from './config';
import type { KvCache } from './kv_cache';

/** Keys under `model.layers.{i}.` */
export interface DecoderLayerParams {
  readonly input_layernorm: RmsNormParams;
  readonly self_attn: { readonly q_proj: LinearParams; readonly k_proj: LinearParams; readonly v_proj: LinearParams; readonly o_proj: LinearParams };
  readonly post_attention_layernorm: RmsNormParams;
  readonly mlp: { readonly gate_proj: LinearParams; readonly up_proj: LinearParams; readonly down_proj: LinearParams };
}

/**
 * Keys of LlamaForCausalLM (`model.*`, `lm_head.weight`). The embedding table, each layer and the lm_head
 * are weight groups: resident tensors, or streamed from the host per use (core/weights.ts).
 */
export interface LlamaParams {
  readonly model: { readonly embed_tokens: Weights<{ readonly weight: tf.Tensor2D }>; readonly layers: Weights<DecoderLayerParams>[]; readonly norm: RmsNormParams };
  readonly lm_head: Weights<LinearParams>;
}

/**
 * Token embedding lookup.
 * @returns [T, D]
 */
export function embedTokens(p: LlamaParams, ids: readonly number[]): tf.Tensor2D {
  const V = leafShape(p.model.embed_tokens, 'weight')[0];
  const bad = ids.find((t) => !Number.isInteger(t) || t < 0 || t >= V);
  if (bad !== undefined) throw new HeroError(`token id ${bad} is outside the vocabulary [0, ${V})`);
  return gatherRows(p.model.embed_tokens, 'weight', ids); // [T, D]: rows `ids` of the table (a streamed one reads just those)
}

/**
 * SwiGLU MLP.                                                                    @eq Llama-2
 *   MLP(x) = W_down (silu(W_gate x) ⊙ W_up x)
 * @param x [T, D]
 * @returns [T, D]
 */
export function mlp(p: DecoderLayerParams['mlp'], x: tf.Tensor2D): tf.Tensor2D {
  return linear(p.down_proj, tf.mul(silu(linear(p.gate_proj, x)), linear(p.up_proj, x)) as tf.Tensor2D); // [T, F] → [T, D]
}

/**
 * Causal self-attention with RoPE and grouped-query heads (each kv head serves H / Hkv query heads).
 * Appends this chunk's keys (after RoPE) and values to the cache when one is given.
 *   softmax(q kᵀ / √Dh + causal) v                                              @eq Attn-1 Attn-2
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py LlamaAttention.forward, repeat_kv, apply_rotary_pos_emb (eager)
 * @param x [T, D]
 * @param keepProbs return the probabilities (taps, decoder hooks); the per-head path only materialises them then
 * @returns out [T, D], probs [H, T, Tc+T] when keepProbs
 */
export function selfAttention(p: DecoderLayerParams['self_attn'], x: tf.Tensor2D, cfg: LlamaConfig,
  rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, mask: tf.Tensor2D, cache?: { cache: KvCache; layer: number },
  keepProbs = false): { out: tf.Tensor2D; probs?: tf.Tensor3D } {
  const T = x.shape[0];
  const H = cfg.num_attention_heads, Hkv = cfg.num_key_value_heads, Dh = cfg.head_dim;
  const heads = (t: tf.Tensor2D, n: number): tf.Tensor3D => tf.transpose(tf.reshape(t, [T, n, Dh]), [1, 0, 2]) as tf.Tensor3D; // [H|Hkv, T, Dh]
  const rot = (t: tf.Tensor3D): tf.Tensor3D => tf.squeeze(applyRope(tf.expandDims(t, 0) as tf.Tensor4D, rope.cos, rope.sin), [0]) as tf.Tensor3D;
  const q = rot(heads(linear(p.q_proj, x), H));                 // [H, T, Dh]
  let k = rot(heads(linear(p.k_proj, x), Hkv));                 // [Hkv, T, Dh]
  let v = heads(linear(p.v_proj, x), Hkv);                      // [Hkv, T, Dh]
  if (cache) ({ k, v } = cache.cache.append(cache.layer, k, v)); // [Hkv, Tc+T, Dh]
  // repeat_kv: kv head j serves query heads j·(H/Hkv) … (j+1)·(H/Hkv) − 1.
  const rep = H / Hkv;
  const kFull = rep === 1 ? k : tf.reshape(tf.tile(tf.expandDims(k, 1), [1, rep, 1, 1]), [H, -1, Dh]) as tf.Tensor3D; // [H, Tc+T, Dh]
  const vFull = rep === 1 ? v : tf.reshape(tf.tile(tf.expandDims(v, 1), [1, rep, 1, 1]), [H, -1, Dh]) as tf.Tensor3D; // [H, Tc+T, Dh]
  const one = (t: tf.Tensor3D): tf.Tensor4D => tf.expandDims(t, 0) as tf.Tensor4D;
  const a = attend(one(q), one(kFull), one(vFull), 1 / Math.sqrt(Dh), { mask, keepProbs }); // [1, H, T, Dh], probs [1, H, T, Tc+T]
  const o = tf.reshape(tf.transpose(tf.squeeze(a.out, [0]), [1, 0, 2]), [T, H * Dh]) as tf.Tensor2D; // [T, H·Dh]
  return { out: linear(p.o_proj, o), probs: keepProbs ? tf.squeeze(a.probs!, [0]) as tf.Tensor3D : undefined };
}

/**
 * One decoder layer, pre-norm residual blocks.                                  @eq Llama-1
 *   h = x + Attn(RMSNorm(x)) ;  y = h + MLP(RMSNorm(h))
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py LlamaDecoderLayer.forward
 * @param x [T, D]
 * @returns y [T, D], probs [H, T, Tc+T] when keepProbs
 */
export function decoderLayer(p: DecoderLayerParams, x: tf.Tensor2D, cfg: LlamaConfig,
  rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, mask: tf.Tensor2D, cache?: { cache: KvCache; layer: number },
  keepProbs = false): { y: tf.Tensor2D; probs?: tf.Tensor3D } {
  const eps = cfg.rms_norm_eps;
  const { out, probs } = selfAttention(p.self_attn, rmsNorm(p.input_layernorm, x, eps), cfg, rope, mask, cache, keepProbs);
  const h = tf.add(x, out) as tf.Tensor2D;
  return { y: tf.add(h, mlp(p.mlp, rmsNorm(p.post_attention_layernorm, h, eps))) as tf.Tensor2D, probs };
}

export interface DecoderTaps {
  /** keep all L+1 hidden states (HF convention: the last one is after the final norm) */
  readonly hiddenStates?: boolean;
  /** keep attention probabilities of all layers (true) or of the listed ones */
  readonly attentions?: boolean | readonly number[];
}

export interface DecoderOutput {
  /** [T, V], or [1, V] with lastOnly */
  readonly logits: tf.Tensor2D;
  /** L+1 entries [T, D]: the embeddings, layers 1..L−1, and the final-norm output (as HF reports it) */
  readonly hiddenStates?: tf.Tensor2D[];
  /** per layer [H, T, Tc+T]; undefined where not tapped */
  readonly attentions?: (tf.Tensor3D | undefined)[];
}

/**
 * The decoder on a chunk of embeddings at positions Tc .. Tc+T−1 (Tc = cache.length).  @eq Llama-3
 *   h_0 = inputs_embeds ;  h_l = DecoderLayer_l(h_{l−1}) ;  logits = lm_head(RMSNorm(h_L))
 * With a cache, each layer's keys (after RoPE) and values are appended and the cache advances by T.
 * (A pruning method that rewrites the rows between layers runs baselines/decoder_hooks.ts instead.)
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py LlamaModel.forward, LlamaForCausalLM.forward
 * @param inputsEmbeds [T, D]
 * @param opts.onLayer progress: called after each layer (layers done, L)
 * @returns logits [T, V] ([1, V] with lastOnly), and the tapped hidden states and attentions
 */
export function llamaForward(p: LlamaParams, inputsEmbeds: tf.Tensor2D, cfg: LlamaConfig,
  opts: { cache?: KvCache; taps?: DecoderTaps; lastOnly?: boolean; onLayer?: (done: number, total: number) => void } = {}): DecoderOutput {
  const T = inputsEmbeds.shape[0], L = cfg.num_hidden_layers;
  assertShape(inputsEmbeds, ['T', 'D'], [-1, cfg.hidden_size], 'llamaForward: inputs_embeds');
  const past = opts.cache?.length ?? 0;
  checkSequenceLength(past + T, cfg);
  const taps = opts.taps ?? {};
  const wantAttn = (l: number): boolean => taps.attentions === true || (Array.isArray(taps.attentions) && taps.attentions.includes(l));
  return tidyRecord(() => {
    const positions = Array.from({ length: T }, (_, t) => past + t);
    const rope = ropeTablesAt(positions, cfg.head_dim, cfg.rope_theta);                   // [T, Dh]
    const mask = positionMask(positions, Array.from({ length: past + T }, (_, t) => t));   // [T, Tc+T], causal
    const run = runLayersWithTaps(inputsEmbeds, L, (i, h) => {
      const cache = opts.cache ? { cache: opts.cache, layer: i } : undefined;
      const { y, probs } = useWeights(p.model.layers[i], (w) => decoderLayer(w, h, cfg, rope, mask, cache, wantAttn(i)));
      opts.onLayer?.(i + 1, L);
      return { h: y, tap: probs };
    }, taps.hiddenStates === true);
    opts.cache?.advance(T);
    const last = opts.lastOnly ? tf.slice(run.h, [T - 1, 0], [1, -1]) as tf.Tensor2D : run.h; // [T|1, D]
    const normed = rmsNorm(p.model.norm, last, cfg.rms_norm_eps);
    const logits = useWeights(p.lm_head, (w) => linear(w, normed));                         // [T|1, V]
    return {
      logits,
      hiddenStates: taps.hiddenStates ? [inputsEmbeds, ...run.hidden.slice(0, -1), normed].map((t) => tf.clone(t)) : undefined,
      attentions: taps.attentions ? run.taps : undefined,
    };
  });
}

/** Refuses a forward call that would reach past max_position_embeddings (RoPE beyond the trained length). */
export function checkSequenceLength(positions: number, cfg: LlamaConfig): void {
  if (positions > cfg.max_position_embeddings) {
    throw new HeroError(`sequence of ${positions} positions exceeds max_position_embeddings ${cfg.max_position_embeddings}`);
  }
}
