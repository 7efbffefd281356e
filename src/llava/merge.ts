import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';

/**
 * Expands the single image placeholder of a prompt into `count` image tokens, as the v4.45.1 processor
 * does before tokenisation (one `<image>` in the prompt → as many tokens as the image has features).
 * Exactly one placeholder is supported (one image per prompt); none or several is an error.
 */
export function expandImageTokens(ids: readonly number[], imageTokenId: number, count: number, what = 'prompt'): number[] {
  const at = ids.flatMap((t, i) => (t === imageTokenId ? [i] : []));
  if (at.length === 0) throw new HeroError(`${what}: no image token (id ${imageTokenId}); put exactly one image placeholder in the prompt`);
  if (at.length > 1) throw new HeroError(`${what}: ${at.length} image tokens (id ${imageTokenId}); exactly one image placeholder is supported`);
  const i = at[0];
  return [...ids.slice(0, i), ...new Array<number>(count).fill(imageTokenId), ...ids.slice(i + 1)];
}

/**
 * Writes the image features over the image-token rows of the token embeddings, in order.  @eq LLaVA-4
 *   e'_t = f_j  if ids_t is the j-th image token,  else e_t
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/modeling_llava_next.py LlavaNextForConditionalGeneration.forward (masked_scatter path)
 * @param embeds [T, D] token embeddings
 * @param features [M, D], M = number of image tokens in ids
 * @returns [T, D]
 */
export function spliceImageFeatures(embeds: tf.Tensor2D, ids: readonly number[], imageTokenId: number,
  features: tf.Tensor2D): tf.Tensor2D {
  const T = embeds.shape[0];
  const M = ids.filter((t) => t === imageTokenId).length;
  if (M !== features.shape[0]) {
    throw new HeroError(`image features and image tokens do not match: ${features.shape[0]} features, ${M} image tokens`);
  }
  // Row t of [embeds; features] to take: t itself, or T + j for the j-th image token.
  let j = 0;
  const rows = ids.map((t, i) => (t === imageTokenId ? T + j++ : i));
  return tf.gather(tf.concat([embeds, features], 0), tf.tensor1d(rows, 'int32')) as tf.Tensor2D; // [T, D]
}
