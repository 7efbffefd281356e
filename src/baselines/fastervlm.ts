/**
 * FasterVLM (Zhang et al., "[CLS] Attention is All You Need for Training-Free Visual Token Pruning",
 * arXiv 2412.01818; Theia-4869/FasterVLM): every crop independently keeps its top-T tokens by the
 * head-mean [CLS] attention of the feature layer; the LLaVA-NeXT layout is 'spatial' (no unpadding, no
 * image_newline), as coded.
 */
import * as tf from '@tensorflow/tfjs-core';
import { choiceOption, ratioOption, type Method, type PruneResult } from '../methods/contract';
import { HeroError } from '../core/errors';
import type { VisualContext } from '../llava/visual_context';
import { deriveLlava } from '../llava/config';
import { clsPatchScores, masksTensor, stitchedLayout, topKMask } from './common';

export interface FasterVlmOptions {
  /** T, tokens kept per crop (the paper's 144 / 58 / 29 for 75 / 90 / 95 % reduction at N = 576) */
  readonly tokensPerCrop: number;
  /** attention layer; default the one that produces the feature layer (featureLayer − 1: 22 of 24) */
  readonly layer?: number;
  /**
   * The anyres grid (applied by the image processor, see fasterVlmPinpoints). 'fixed' (default): the one
   * fixed resolution FasterVLM's authors ran LLaVA-NeXT with (672×672, a constant 2880 tokens; Theia-4869/
   * FasterVLM's GitHub issue 8), i.e. the checkpoint's largest square pinpoint; 'fill-ratio': the grid FasterVLM's
   * own `select_best_resolution` picks (see fillRatioResolution); 'best-fit': LLaVA's / HF's grid.
   */
  readonly grid?: FasterVlmGrid;
}

export const FASTERVLM_GRIDS = ['fixed', 'fill-ratio', 'best-fit'] as const;
export type FasterVlmGrid = (typeof FASTERVLM_GRIDS)[number];

/**
 * FasterVLM's pinpoint choice (its llava/mm_utils.py select_best_resolution): the pinpoint whose canvas the
 * aspect-preserving fit fills best, (trunc(W·s)·trunc(H·s)) / (w·h) with s = min(w/W, h/H), the first on
 * ties. Unlike HF's rule it ignores how many image pixels survive, e.g. (H, W) = (600, 1000) with
 * llava-v1.6's pinpoints gets 336×672 (1×2), not 672×672 (2×2).
 * @param imageSize (H, W); pinpoints (h, w)
 */
export function fillRatioResolution(imageSize: readonly [number, number], pinpoints: ReadonlyArray<readonly [number, number]>): [number, number] {
  const [H, W] = imageSize;
  let best: readonly [number, number] | undefined, bestFill = 0;
  for (const p of pinpoints) {
    const [h, w] = p;
    const s = Math.min(w / W, h / H);
    const fill = (Math.trunc(W * s) * Math.trunc(H * s)) / (w * h);
    if (fill > bestFill) { best = p; bestFill = fill; }
  }
  if (best === undefined) throw new HeroError('FasterVLM: no pinpoint is filled by the image');
  return [best[0], best[1]];
}

/**
 * The pinpoint list the image processor gets for FasterVLM: one entry for 'fixed' (the largest square
 * pinpoint; an error when there is none) and 'fill-ratio' (FasterVLM's pick for this image), all of them
 * for 'best-fit'.
 */
export function fasterVlmPinpoints(grid: FasterVlmGrid, imageSize: readonly [number, number],
  pinpoints: ReadonlyArray<readonly [number, number]>): ReadonlyArray<readonly [number, number]> {
  if (grid === 'best-fit') return pinpoints;
  if (grid === 'fill-ratio') return [fillRatioResolution(imageSize, pinpoints)];
  const squares = pinpoints.filter(([h, w]) => h === w);
  if (squares.length === 0) throw new HeroError('--fastervlm-grid: fixed needs a square pinpoint in image_grid_pinpoints (use fill-ratio or best-fit)');
  return [squares.reduce((a, b) => (b[0] > a[0] ? b : a))];
}

/**
 * @eq FasterVLM-1  keep_p = top-T_j mean_h A^ℓ[p, h, 0, 1+j] for every crop p;  M = T·(1+K)
 */
export async function fasterVlm(ctx: VisualContext, opts: FasterVlmOptions): Promise<PruneResult> {
  const N = ctx.patchGrid ** 2;
  if (!Number.isInteger(opts.tokensPerCrop) || opts.tokensPerCrop < 1 || opts.tokensPerCrop > N) {
    throw new HeroError(`--tokens-per-crop: ${opts.tokensPerCrop} is outside [1, ${N}]`);
  }
  const layer = opts.layer ?? ctx.featureLayer - 1;
  const scores = tf.tidy(() => clsPatchScores(ctx, layer, 'mean'));                 // [P, N]
  const host = await scores.data();                                                  // host round-trip: the selection
  const P = scores.shape[0];
  const masks = Array.from({ length: P }, (_, p) => topKMask(host.subarray(p * N, (p + 1) * N), opts.tokensPerCrop));
  const features = tf.tidy(() => stitchedLayout(ctx.projected, masks, ctx.grid, ctx.patchGrid));
  return { features, keepMasks: masks, numNewlines: 0, tensors: { 'fastervlm.scores': { tensor: scores, dtype: 'F32' }, 'fastervlm.keep': { tensor: masksTensor(masks), dtype: 'U8' } } };
}

/** FasterVLM as a Method (src/methods/contract.ts): T = ⌊r·N⌋ tokens per crop (r = 0.25), its own anyres grid rule. */
export const fasterVlmMethod: Method<FasterVlmOptions, 'fastervlm'> = {
  name: 'fastervlm',
  configure: (raw, config) => {
    const N = deriveLlava(config).tokensPerCrop, ratio = ratioOption(raw);
    const t = (raw['tokens-per-crop'] as number | undefined) ?? Math.floor(N * (ratio ?? 0.25));
    if (!(t >= 1 && t <= N)) throw new HeroError(`--tokens-per-crop: ${t} is outside [1, ${N}]`);
    return { tokensPerCrop: t, grid: choiceOption(raw, 'fastervlm-grid', FASTERVLM_GRIDS) ?? 'fixed' };
  },
  // The attention of the layer whose output is the feature layer (hidden state f = output of layer f − 1).
  taps: (s, model) => ({ attentions: [s.options!.layer ?? model.derived.featureLayer - 1] }),
  // Its grid rule differs (FasterVlmOptions.grid): the processor gets only the pinpoint that rule picks.
  processor: (s, image, processor) => ({
    ...processor, image_grid_pinpoints: fasterVlmPinpoints(s.options!.grid ?? 'fixed', [image.height, image.width], processor.image_grid_pinpoints),
  }),
  select: (s, ctx) => fasterVlm(ctx, s.options!),
};
