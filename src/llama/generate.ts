import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import type { LlamaConfig } from './config';
import { embedTokens, llamaForward, type DecoderHook, type LlamaParams } from './decoder';
import { KvCache } from './kv_cache';

/** Index of the largest value; the first one on ties, as torch.argmax. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Refuses, before any compute, a prompt of `promptLen` tokens (image features included) whose greedy
 * continuation of up to `maxNewTokens` would need more positions than max_position_embeddings: the
 * prefill uses positions 0..T−1 and each fed-back token one more (the last new token is never fed back).
 * `@choice` an error, not HF's warning: RoPE past the trained length is outside what the model was made for.
 */
export function checkPositions(promptLen: number, maxNewTokens: number, cfg: LlamaConfig): void {
  const need = promptLen + Math.max(maxNewTokens - 1, 0);
  if (need > cfg.max_position_embeddings) {
    throw new HeroError(`the prompt is ${promptLen} tokens (image features included) and --max-new-tokens ${maxNewTokens} adds up to ` +
      `${Math.max(maxNewTokens - 1, 0)} more positions: ${need} in all, beyond max_position_embeddings ${cfg.max_position_embeddings}`);
  }
}

/**
 * The decoder's forward call as prefill and greedyDecode use it: llamaForward (default), or an
 * acceleration with the same signature and result for these options (src/accel/decoder_pool.ts).
 */
export type DecoderForward = (p: LlamaParams, inputsEmbeds: tf.Tensor2D, cfg: LlamaConfig,
  opts: { cache?: KvCache; lastOnly?: boolean; hook?: DecoderHook; onLayer?: (done: number, total: number) => void }) =>
  Promise<{ logits: tf.Tensor2D; positions: number[] }> | { logits: tf.Tensor2D; positions: number[] };

/** A prompt run through the decoder into a fresh KV cache (the prefill): the cache and the logits. */
export interface Prefill {
  /** owned by the caller until handed to greedyDecode (which disposes it) */
  readonly cache: KvCache;
  /** [T', V] for every row that survives the hook with allLogits (a trace), else [1, V] (the last row) */
  readonly logits: tf.Tensor2D;
  /** position ids of the rows that survive the hook (all T without one) */
  readonly positions: number[];
}

/**
 * The prefill: the prompt embeddings through the decoder once, filling a fresh KV cache; the last row's
 * logits give the first new token.
 * @param inputsEmbeds [T, D] prompt embeddings (image features already spliced in)
 * @param opts.hook a decoder hook for this forward call (a pruning method's decoder side); decode steps then
 *   continue each layer's cache
 * @param opts.allLogits keep the logits of every row (the trace's `logits`), not only the last one
 * @param opts.newCache the cache to fill (an acceleration's, e.g. src/accel/kv_host.ts); default KvCache
 * @param opts.onLayer progress: called after each decoder layer
 * @param opts.forward the forward call (an acceleration's, with its newCache); default llamaForward
 */
export async function prefill(p: LlamaParams, cfg: LlamaConfig, inputsEmbeds: tf.Tensor2D,
  opts: { readonly hook?: DecoderHook; readonly allLogits?: boolean; readonly newCache?: (numLayers: number) => KvCache;
    readonly onLayer?: (done: number, total: number) => void; readonly forward?: DecoderForward } = {}): Promise<Prefill> {
  const cache = opts.newCache ? opts.newCache(cfg.num_hidden_layers) : new KvCache(cfg.num_hidden_layers);
  try {
    const out = await (opts.forward ?? llamaForward)(p, inputsEmbeds, cfg, { cache, lastOnly: !opts.allLogits, hook: opts.hook, onLayer: opts.onLayer });
    return { cache, logits: out.logits, positions: out.positions };
  } catch (e) {
    cache.dispose();
    throw e;
  }
}

/**
 * Greedy decoding after a prefill: emit the argmax of the prefill's last row, then feed back each token
 * one position at a time; stops after emitting an eos id or after `maxNewTokens`.    @eq Gen-1
 *   y_{t+1} = argmax_v logits(y_≤t)_v
 * Disposes the prefill's cache (not its logits).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/generation/utils.py GenerationMixin._sample (do_sample=False: greedy; eos stop)
 * @param lastLogits [V] the prefill's logits of the last prompt row
 * @returns new token ids (eos included when emitted) and, with keepScores, each step's logits [V]
 */
export async function greedyDecode(p: LlamaParams, cfg: LlamaConfig, cache: KvCache, lastLogits: Float32Array, opts: {
  readonly maxNewTokens: number;
  readonly eosTokenId?: number | readonly number[];
  readonly onStep?: (step: number, id: number) => void;
  readonly keepScores?: boolean;
  /** the forward call, the prefill's (default llamaForward) */
  readonly forward?: DecoderForward;
}): Promise<{ newIds: number[]; scores?: Float32Array[] }> {
  const eos = new Set(opts.eosTokenId === undefined ? [] : typeof opts.eosTokenId === 'number' ? [opts.eosTokenId] : opts.eosTokenId);
  const newIds: number[] = [];
  const scores: Float32Array[] = [];
  try {
    let logits = lastLogits;
    for (let step = 0; step < opts.maxNewTokens; step++) {
      if (step > 0) {
        const next = tf.tidy(() => embedTokens(p, [newIds[step - 1]])); // [1, D]
        const out = await (opts.forward ?? llamaForward)(p, next, cfg, { cache, lastOnly: true });
        next.dispose();
        logits = await out.logits.data() as Float32Array; // host round-trip: the next id decides the next input
        out.logits.dispose();
      }
      const id = argmax(logits);
      if (opts.keepScores) scores.push(Float32Array.from(logits));
      newIds.push(id);
      opts.onStep?.(step, id);
      if (eos.has(id)) break;
    }
  } finally {
    cache.dispose();
  }
  return opts.keepScores ? { newIds, scores } : { newIds };
}

/**
 * Greedy generation: prefill, then greedyDecode (Gen-1).
 * @param inputsEmbeds [T, D] prompt embeddings (image features already spliced in)
 * @returns new token ids (eos included when emitted) and, with keepScores, each step's logits [V]
 */
export async function greedyGenerate(p: LlamaParams, cfg: LlamaConfig, inputsEmbeds: tf.Tensor2D, opts: {
  readonly maxNewTokens: number;
  readonly eosTokenId?: number | readonly number[];
  readonly onStep?: (step: number, id: number) => void;
  readonly keepScores?: boolean;
  /** a decoder hook for the prefill (a pruning method's decoder side); decode steps then continue each layer's cache */
  readonly hook?: DecoderHook;
}): Promise<{ newIds: number[]; scores?: Float32Array[] }> {
  checkPositions(inputsEmbeds.shape[0], opts.maxNewTokens, cfg);
  if (opts.maxNewTokens < 1) return opts.keepScores ? { newIds: [], scores: [] } : { newIds: [] };
  const pre = await prefill(p, cfg, inputsEmbeds, { hook: opts.hook });
  let last: Float32Array;
  try {
    last = await pre.logits.data() as Float32Array; // [1, V]
  } catch (e) {
    pre.cache.dispose();
    throw e;
  } finally {
    pre.logits.dispose();
  }
  return greedyDecode(p, cfg, pre.cache, last, opts);
}
