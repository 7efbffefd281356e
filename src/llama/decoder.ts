/**
 * The Llama decoder (Vicuna-7B in LLaVA-NeXT): token embedding → L × (pre-RMSNorm attention with RoPE and
 * grouped-query heads, pre-RMSNorm SwiGLU MLP) → final RMSNorm → lm_head.
 * One sequence, no batch dimension: hidden states are [T, D].
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py LlamaForCausalLM
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { assertShape } from '../core/shape';
import { runLayersWithTaps, tidyAsync } from '../core/scope';
import { useWeights, type Weights } from '../core/weights';
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
  return useWeights(p.model.embed_tokens, (e) => {
    const V = e.weight.shape[0];
    const bad = ids.find((t) => !Number.isInteger(t) || t < 0 || t >= V);
    if (bad !== undefined) throw new HeroError(`token id ${bad} is outside the vocabulary [0, ${V})`);
    return tf.gather(e.weight, tf.tensor1d(ids as number[], 'int32')) as tf.Tensor2D; // [T, D]
  });
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
  rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, mask: tf.Tensor2D, cache?: { cache: KvCache; layer: number; positions?: readonly number[] },
  keepProbs = false): { out: tf.Tensor2D; probs?: tf.Tensor3D } {
  const T = x.shape[0];
  const H = cfg.num_attention_heads, Hkv = cfg.num_key_value_heads, Dh = cfg.head_dim;
  const heads = (t: tf.Tensor2D, n: number): tf.Tensor3D => tf.transpose(tf.reshape(t, [T, n, Dh]), [1, 0, 2]) as tf.Tensor3D; // [H|Hkv, T, Dh]
  const rot = (t: tf.Tensor3D): tf.Tensor3D => tf.squeeze(applyRope(tf.expandDims(t, 0) as tf.Tensor4D, rope.cos, rope.sin), [0]) as tf.Tensor3D;
  const q = rot(heads(linear(p.q_proj, x), H));                 // [H, T, Dh]
  let k = rot(heads(linear(p.k_proj, x), Hkv));                 // [Hkv, T, Dh]
  let v = heads(linear(p.v_proj, x), Hkv);                      // [Hkv, T, Dh]
  if (cache) ({ k, v } = cache.cache.append(cache.layer, k, v, cache.positions)); // [Hkv, Tc+T, Dh]
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
  rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, mask: tf.Tensor2D, cache?: { cache: KvCache; layer: number; positions?: readonly number[] },
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

/** The rows a DecoderHook hands on to the next layer. */
export interface RowEdit {
  /** [T', D] */
  readonly h: tf.Tensor2D;
  /** position id of each row (RoPE and the causal mask follow them) */
  readonly positions: readonly number[];
  /**
   * The position id a later chunk (a decode step) starts at in the layers after this edit. Default: the
   * chunk's own numbering goes on (past + T), as when kept rows keep their ids (a row-dropping method); a method that renumbers
   * the rows 0..T'−1 (a merging method) continues at T'.
   */
  readonly nextPosition?: number;
}

/**
 * A method that rewrites the sequence inside the decoder during one forward call (src/baselines/): after
 * each layer of `layers` (ascending) `after` gets that layer's output rows [T, D], its attention
 * probabilities [H, T, Tk] and the rows' position ids, and returns the rows the next layer processes. The
 * KV cache of a layer holds the rows that layer processed, so layers after an edit cache fewer (or merged)
 * rows, and a later chunk continues each layer's own numbering. `after` is async: a method reads its
 * decision to the host with `await t.data()` (never dataSync, docs/gpu.md "Synchronous reads").
 */
export interface DecoderHook {
  readonly layers: readonly number[];
  readonly after: (layer: number, h: tf.Tensor2D, probs: tf.Tensor3D, positions: readonly number[]) => Promise<RowEdit>;
}

/**
 * The decoder on a chunk of embeddings at positions Tc .. Tc+T−1 (Tc = cache.length).  @eq Llama-3
 *   logits = lm_head(RMSNorm(h_L))
 * With a cache, each layer's keys (after RoPE) and values are appended and the cache advances by T; each
 * layer numbers the chunk after its own cached positions (cache.nextPosition).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py LlamaModel.forward, LlamaForCausalLM.forward
 * @param inputsEmbeds [T, D]
 * @param opts.hook rewrites rows after some of the layers (a pruning method's decoder side); none: plain Llama
 * @param opts.onLayer progress: called after each layer (layers done, L)
 * @returns logits [T', V] for the rows that survive (all T without a hook; 1 with lastOnly)
 * Async because a hook reads the host between layers (tidyAsync owns the memory, as tf.tidy would).
 */
export async function llamaForward(p: LlamaParams, inputsEmbeds: tf.Tensor2D, cfg: LlamaConfig,
  opts: { cache?: KvCache; taps?: DecoderTaps; lastOnly?: boolean; hook?: DecoderHook; onLayer?: (done: number, total: number) => void } = {}): Promise<DecoderOutput & { positions: number[] }> {
  const T = inputsEmbeds.shape[0];
  const L = cfg.num_hidden_layers;
  assertShape(inputsEmbeds, ['T', 'D'], [-1, cfg.hidden_size], 'llamaForward: inputs_embeds');
  const past = opts.cache?.length ?? 0;
  if (past + T > cfg.max_position_embeddings) {
    throw new HeroError(`sequence of ${past + T} positions exceeds max_position_embeddings ${cfg.max_position_embeddings}`);
  }
  const taps = opts.taps ?? {};
  const hook = opts.hook;
  const hookLayers = hook?.layers ?? [];
  if (hookLayers.some((l, i) => !Number.isInteger(l) || l < 0 || l >= L || (i > 0 && l <= hookLayers[i - 1]))) {
    throw new HeroError(`decoder hook layers ${hookLayers.join(',')} are not ascending within 0..${L - 1}`);
  }
  const wantAttn = (l: number): boolean => taps.attentions === true || (Array.isArray(taps.attentions) && taps.attentions.includes(l));
  return tidyAsync(async () => {
    // Position ids per layer: the chunk continues each layer's numbering until a hook edit sets them.
    const start = (l: number): number => opts.cache?.nextPosition(l) ?? past;
    let edit: { positions: readonly number[]; nextPosition?: number; gen: number } | undefined;
    const positionsAt = (l: number): readonly number[] => edit?.positions ?? Array.from({ length: T }, (_, t) => start(l) + t);
    // RoPE tables and the causal mask (by position ids) per distinct frame; layers with the same rows and
    // the same cached keys share one.
    const frames = new Map<string, { rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }; mask: tf.Tensor2D }>();
    const frameFor = (l: number, positions: readonly number[]): { rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }; mask: tf.Tensor2D } => {
      const cached = opts.cache?.positions(l) ?? [];
      const key = `${edit?.gen ?? 0}:${positions[0]}:${cached.length}:${cached[cached.length - 1] ?? -1}`;
      let f = frames.get(key);
      if (!f) {
        f = { rope: ropeTablesAt(positions, cfg.head_dim, cfg.rope_theta), mask: positionMask(positions, [...cached, ...positions]) }; // [T, Dh], [T, Tc+T]
        frames.set(key, f);
      }
      return f;
    };
    const hidden: tf.Tensor2D[] = [];
    const attentions: (tf.Tensor3D | undefined)[] = [];
    const span = (from: number, to: number, x: tf.Tensor2D): tf.Tensor2D => {
      // Frames are built here, in the outer scope: a per-layer tidy would free a shared one.
      const spanFrames = Array.from({ length: to - from }, (_, j) => { const pos = positionsAt(from + j); return { pos, ...frameFor(from + j, pos) }; });
      const run = runLayersWithTaps(x, to - from, (j, h) => {
        const i = from + j, f = spanFrames[j];
        const cache = opts.cache ? { cache: opts.cache, layer: i, positions: f.pos } : undefined;
        const keep = wantAttn(i) || hookLayers.includes(i);
        const { y, probs } = useWeights(p.model.layers[i], (w) => decoderLayer(w, h, cfg, f.rope, f.mask, cache, keep));
        opts.onLayer?.(i + 1, L);
        return { h: y, tap: keep ? probs : undefined };
      }, taps.hiddenStates === true);
      hidden.push(...run.hidden);
      attentions.push(...run.taps);
      return run.h;
    };
    // Layers run in spans between the hook's layers; after each of those the hook rewrites the rows.
    const nextAt: number[] = []; // per layer, where a later chunk continues its numbering
    let h = inputsEmbeds;
    let from = 0;
    const runTo = (to: number): void => {
      if (to <= from) return;
      h = span(from, to, h);
      for (let i = from; i < to; i++) nextAt[i] = edit?.nextPosition ?? start(i) + T;
      from = to;
    };
    for (const [n, l] of hookLayers.entries()) {
      runTo(l + 1);
      const out = await hook!.after(l, h, attentions[l]!, positionsAt(l));
      if (out.h !== h && !hidden.includes(h)) h.dispose();
      h = out.h;
      edit = { positions: out.positions, nextPosition: out.nextPosition, gen: n + 1 };
      if (!wantAttn(l)) { attentions[l]?.dispose(); attentions[l] = undefined; }
    }
    runTo(L);
    const positions = [...positionsAt(L - 1)]; // before the cache advances: this chunk's ids, not the next one's
    opts.cache?.advance(T, nextAt);
    const Tout = h.shape[0];
    const last = opts.lastOnly ? tf.slice(h, [Tout - 1, 0], [1, -1]) as tf.Tensor2D : h; // [T'|1, D]
    const normed = rmsNorm(p.model.norm, last, cfg.rms_norm_eps);
    const logits = useWeights(p.lm_head, (w) => linear(w, normed));                   // [T', V]
    return {
      logits,
      hiddenStates: taps.hiddenStates ? [inputsEmbeds, ...hidden.slice(0, -1), normed].map((t) => tf.clone(t)) : undefined,
      attentions: taps.attentions ? attentions.map((a, l) => (wantAttn(l) ? a : undefined)) : undefined,
      positions,
    };
  });
}
