import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import type { LlamaConfig } from './config';
import { embedTokens, llamaForward, type LlamaParams } from './decoder';
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

/** What a Decoder's cache must offer prefill and greedyDecode. */
export interface DecoderCache { readonly length: number; dispose(): void }

/**
 * How prefill and greedyDecode run the decoder: a fresh KV cache, and the forward call that fills it.
 * LLAMA_DECODER (the reference: llamaForward on a KvCache) unless the runtime plugs in an acceleration
 * (accel/decoder_pool.ts, accel/kv_host.ts) or a method's hook runs (baselines/decoder_hooks.ts).
 */
export interface Decoder<C extends DecoderCache = KvCache> {
  newCache(numLayers: number): C;
  /** (method syntax: a Decoder of a particular cache is a Decoder<DecoderCache>; forward only gets back a cache its newCache made) */
  forward(p: LlamaParams, inputsEmbeds: tf.Tensor2D, cfg: LlamaConfig,
    opts: { cache: C; lastOnly?: boolean; onLayer?: (done: number, total: number) => void }): Promise<{ logits: tf.Tensor2D }> | { logits: tf.Tensor2D };
}

/** The reference decoder: llama/decoder.ts llamaForward on a llama/kv_cache.ts KvCache. */
export const LLAMA_DECODER: Decoder = { newCache: (n) => new KvCache(n), forward: llamaForward };

/** Greedy decoding's options (greedyDecode, greedyGenerate). */
export interface GreedyOptions<C extends DecoderCache = KvCache> {
  readonly maxNewTokens: number;
  readonly eosTokenId?: number | readonly number[];
  /** called after each generated token */
  readonly onStep?: (step: number, id: number) => void;
  /** keep each step's logits [V] */
  readonly keepScores?: boolean;
  /** the decoder (default LLAMA_DECODER; the prefill's, for greedyDecode) */
  readonly decoder?: Decoder<C>;
}

/** A prompt run through the decoder into a fresh KV cache (the prefill): the cache and the logits. */
export interface Prefill<C> {
  /** owned by the caller until handed to greedyDecode (which disposes it) */
  readonly cache: C;
  /** [T', V] for every row that survives a decoder hook with allLogits (a trace), else [1, V] (the last row) */
  readonly logits: tf.Tensor2D;
}

/**
 * The prefill: the prompt embeddings through the decoder once, filling a fresh KV cache; the last row's
 * logits give the first new token.
 * @param inputsEmbeds [T, D] prompt embeddings (image features already spliced in)
 * @param opts.decoder the decoder (default LLAMA_DECODER; a method's hook: baselines/decoder_hooks.ts hookedDecoder)
 * @param opts.allLogits keep the logits of every row (the trace's `logits`), not only the last one
 * @param opts.onLayer progress: called after each decoder layer
 */
export async function prefill<C extends DecoderCache = KvCache>(p: LlamaParams, cfg: LlamaConfig, inputsEmbeds: tf.Tensor2D,
  opts: { readonly decoder?: Decoder<C>; readonly allLogits?: boolean; readonly onLayer?: (done: number, total: number) => void } = {}): Promise<Prefill<C>> {
  const decoder = opts.decoder ?? (LLAMA_DECODER as unknown as Decoder<C>);
  const cache = decoder.newCache(cfg.num_hidden_layers);
  try {
    const out = await decoder.forward(p, inputsEmbeds, cfg, { cache, lastOnly: !opts.allLogits, onLayer: opts.onLayer });
    return { cache, logits: out.logits };
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
export async function greedyDecode<C extends DecoderCache = KvCache>(p: LlamaParams, cfg: LlamaConfig, cache: C, lastLogits: Float32Array,
  opts: GreedyOptions<C>): Promise<{ newIds: number[]; scores?: Float32Array[] }> {
  const decoder = opts.decoder ?? (LLAMA_DECODER as unknown as Decoder<C>);
  const eos = new Set(opts.eosTokenId === undefined ? [] : typeof opts.eosTokenId === 'number' ? [opts.eosTokenId] : opts.eosTokenId);
  const newIds: number[] = [];
  const scores: Float32Array[] = [];
  try {
    let logits = lastLogits;
    for (let step = 0; step < opts.maxNewTokens; step++) {
      if (step > 0) {
        const next = tf.tidy(() => embedTokens(p, [newIds[step - 1]])); // [1, D]
        const out = await decoder.forward(p, next, cfg, { cache, lastOnly: true });
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
export async function greedyGenerate<C extends DecoderCache = KvCache>(p: LlamaParams, cfg: LlamaConfig, inputsEmbeds: tf.Tensor2D,
  opts: GreedyOptions<C>): Promise<{ newIds: number[]; scores?: Float32Array[] }> {
  checkPositions(inputsEmbeds.shape[0], opts.maxNewTokens, cfg);
  if (opts.maxNewTokens < 1) return opts.keepScores ? { newIds: [], scores: [] } : { newIds: [] };
  const pre = await prefill(p, cfg, inputsEmbeds, { decoder: opts.decoder });
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
