import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import type { LlamaConfig } from './config';
import { embedTokens, llamaForward, type DecoderHook, type DropAfter, type LlamaParams } from './decoder';
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
 * Greedy decoding: prefill the prompt embeddings into a KV cache, then feed back the argmax token one
 * position at a time; stops after emitting an eos id or after `maxNewTokens`.        @eq Gen-1
 *   y_{t+1} = argmax_v logits(y_≤t)_v
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/generation/utils.py GenerationMixin._sample (do_sample=False: greedy; eos stop)
 * @param inputsEmbeds [T, D] prompt embeddings (image features already spliced in)
 * @returns new token ids (eos included when emitted) and, with keepScores, each step's logits [V]
 */
export function greedyGenerate(p: LlamaParams, cfg: LlamaConfig, inputsEmbeds: tf.Tensor2D, opts: {
  readonly maxNewTokens: number;
  readonly eosTokenId?: number | readonly number[];
  readonly onStep?: (step: number, id: number) => void;
  readonly keepScores?: boolean;
  /** FastV: drop prompt rows after a layer during the prefill (decode steps then see the kept rows only) */
  readonly dropAfter?: DropAfter;
  /** a decoder hook for the prefill (SparseVLM); decode steps then continue each layer's cache */
  readonly hook?: DecoderHook;
}): { newIds: number[]; scores?: Float32Array[] } {
  checkPositions(inputsEmbeds.shape[0], opts.maxNewTokens, cfg);
  const eos = new Set(opts.eosTokenId === undefined ? [] : typeof opts.eosTokenId === 'number' ? [opts.eosTokenId] : opts.eosTokenId);
  const cache = new KvCache(cfg.num_hidden_layers);
  const newIds: number[] = [];
  const scores: Float32Array[] = [];
  try {
    let next: tf.Tensor2D = inputsEmbeds;
    for (let step = 0; step < opts.maxNewTokens; step++) {
      const out = llamaForward(p, next, cfg, { cache, lastOnly: true, dropAfter: step === 0 ? opts.dropAfter : undefined, hook: step === 0 ? opts.hook : undefined });
      if (next !== inputsEmbeds) next.dispose();
      const logits = out.logits.dataSync() as Float32Array; // host round-trip: the next id decides the next input
      out.logits.dispose();
      const id = argmax(logits);
      if (opts.keepScores) scores.push(Float32Array.from(logits));
      newIds.push(id);
      opts.onStep?.(step, id);
      if (eos.has(id) || step === opts.maxNewTokens - 1) break;
      next = tf.tidy(() => embedTokens(p, [id])); // [1, D]
    }
  } finally {
    cache.dispose();
  }
  return opts.keepScores ? { newIds, scores } : { newIds };
}
