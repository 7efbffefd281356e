/**
 * FastV (Chen et al., "An Image is Worth 1/2 Tokens After Layer 2", ECCV 2024; pkunlp-icler/FastV):
 * after decoder layer K−1, rank the image tokens by the attention the last prompt position pays them,
 * averaged over heads, and drop the rest from layer K on. Kept tokens keep their position ids.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ratioOption, type Method } from '../methods/contract';
import { HeroError } from '../core/errors';
import { tidyAsync } from '../core/scope';
import { roundHalfEven } from './common';
import type { DecoderHook } from './decoder_hooks';

export interface FastvOptions {
  /** K: image tokens are dropped before decoder layer K, ranked by layer K−1's attention (FastV default 2) */
  readonly layer: number;
  /** fraction of the image tokens kept, in (0, 1] (FastV's R = 50 % dropped ⇒ 0.5) */
  readonly ratio: number;
}

export const FASTV_DEFAULTS: FastvOptions = { layer: 2, ratio: 0.5 };

export function validateFastv(o: FastvOptions, numLayers: number): void {
  if (!Number.isInteger(o.layer) || o.layer < 1 || o.layer >= numLayers) throw new HeroError(`--fastv-layer: ${o.layer} is outside 1..${numLayers - 1}`);
  if (!(o.ratio > 0 && o.ratio <= 1)) throw new HeroError(`--ratio: ${o.ratio} is outside (0, 1]`);
}

/**
 * Rows kept after layer K−1.                                                     @eq FastV-1
 *   s_j = mean_h A^{K−1}[h, T−1, j] for image rows j ∈ [start, end);
 *   keep every non-image row and the round(M·r) image rows with the largest s (ties: lower index), ascending;
 *   round is Python's (half to even: M = 34, r = 0.25 → 8.5 → 8), as FastV's code keeps round(M·(1 − R)).
 * @choice FastV's R is the drop ratio; we take the kept fraction r = 1 − R.
 * @param probs [H, T, Tk] attention probabilities of layer K−1 (Tk = T at prefill without a cache)
 * @returns row indices to keep, ascending
 */
export async function fastvKeep(probs: tf.Tensor3D, imageStart: number, imageEnd: number, ratio: number): Promise<number[]> {
  const [, T, Tk] = probs.shape;
  if (!(imageStart >= 0 && imageEnd <= T && imageStart < imageEnd)) throw new HeroError(`FastV: image rows [${imageStart}, ${imageEnd}) are outside the ${T}-row sequence`);
  const M = imageEnd - imageStart;
  // host round-trip: the last row's head-mean attention decides which rows the next layers see
  const lastRow = await tidyAsync(() => tf.mean(tf.slice(probs, [0, T - 1, Tk - T + imageStart], [-1, 1, M]), [0, 1]).data()); // [M]
  const order = Array.from({ length: M }, (_, j) => j).sort((a, b) => lastRow[b] - lastRow[a] || a - b);
  const keepImage = new Set(order.slice(0, roundHalfEven(M * ratio)).map((j) => imageStart + j));
  return Array.from({ length: T }, (_, i) => i).filter((i) => i < imageStart || i >= imageEnd || keepImage.has(i));
}

/**
 * FastV's decoder side: after layer K−1, keep the rows fastvKeep selects, with their position ids (RoPE and
 * the causal mask follow them; decode steps go on numbering after the prompt).
 * @param onKeep called with the kept rows' position ids
 */
export function fastvHook(o: FastvOptions, imageStart: number, imageEnd: number, numLayers: number,
  onKeep?: (keptPositions: number[]) => void): DecoderHook {
  validateFastv(o, numLayers);
  return {
    layers: [o.layer - 1],
    after: async (_l, h, probs, positions) => {
      const keep = await fastvKeep(probs, imageStart, imageEnd, o.ratio);
      const kept = keep.map((i) => positions[i]);
      onKeep?.(kept);
      return { h: tf.gather(h, tf.tensor1d(keep, 'int32')) as tf.Tensor2D, positions: kept }; // [T', D]
    },
  };
}

/** FastV as a Method (src/methods/contract.ts): K = 2, r = 0.5; plain LLaVA-NeXT on the vision side. */
export const fastvMethod: Method<FastvOptions, 'fastv'> = {
  name: 'fastv',
  configure: (raw, config) => {
    const options = { layer: (raw['fastv-layer'] as number | undefined) ?? FASTV_DEFAULTS.layer, ratio: ratioOption(raw) ?? FASTV_DEFAULTS.ratio };
    validateFastv(options, config.text_config.num_hidden_layers);
    return options;
  },
  taps: () => ({}),
  decoder: async (s, prompt) => {
    let kept: number[] | undefined;
    const o = s.options!;
    return {
      hook: fastvHook(o, prompt.imageStart, prompt.imageEnd, prompt.numLayers, (k) => { kept = k; }),
      traceTensors: () => new Map(kept ? [['fastv.kept_positions', { dtype: 'I64' as const, shape: [kept.length], data: kept }]] : []),
      visualTokensInDecoder: () => (kept ? { fromLayer: o.layer, kept: kept.filter((i) => i >= prompt.imageStart && i < prompt.imageEnd).length } : undefined),
    };
  },
};
