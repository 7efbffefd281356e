/**
 * FasterVLM (Zhang et al., "[CLS] Attention is All You Need for Training-Free Visual Token Pruning",
 * arXiv 2412.01818; Theia-4869/FasterVLM): every crop independently keeps its top-T tokens by the
 * head-mean [CLS] attention of the feature layer; the LLaVA-NeXT layout is 'spatial' (no unpadding, no
 * image_newline), as coded.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import type { PruneResult, VisualContext } from '../llava/pruning';
import { clsPatchScores, masksTensor, stitchedLayout, topKMask } from './common';

export interface FasterVlmOptions {
  /** T, tokens kept per crop (the paper's 144 / 58 / 29 for 75 / 90 / 95 % reduction at N = 576) */
  readonly tokensPerCrop: number;
  /** attention layer; default the one that produces the feature layer (featureLayer − 1: 22 of 24) */
  readonly layer?: number;
}

/**
 * @eq FasterVLM-1  keep_p = top-T_j mean_h A^ℓ[p, h, 0, 1+j] for every crop p;  M = T·(1+K)
 */
export function fasterVlm(ctx: VisualContext, opts: FasterVlmOptions): PruneResult {
  const N = ctx.patchGrid ** 2;
  if (!Number.isInteger(opts.tokensPerCrop) || opts.tokensPerCrop < 1 || opts.tokensPerCrop > N) {
    throw new HeroError(`--tokens-per-crop: ${opts.tokensPerCrop} is outside [1, ${N}]`);
  }
  const layer = opts.layer ?? ctx.featureLayer - 1;
  const scores = tf.tidy(() => clsPatchScores(ctx, layer, 'mean'));                 // [P, N]
  const host = scores.dataSync();                                                    // host round-trip: the selection
  const P = scores.shape[0];
  const masks = Array.from({ length: P }, (_, p) => topKMask(host.subarray(p * N, (p + 1) * N), opts.tokensPerCrop));
  const features = tf.tidy(() => stitchedLayout(ctx.projected, masks, ctx.grid, ctx.patchGrid));
  return { features, keepMasks: masks, numNewlines: 0, tensors: { 'fastervlm.scores': { tensor: scores, dtype: 'F32' }, 'fastervlm.keep': { tensor: masksTensor(masks), dtype: 'U8' } } };
}
