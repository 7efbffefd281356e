/**
 * HiRED (Arif et al., "HiRED: Attention-Guided Token Dropping for Efficient Inference of High-Resolution
 * Vision-Language Models", arXiv 2408.10945; hasanar1f/HiRED): a fixed total budget split between the
 * thumbnail (α) and the tiles; the tiles' share distributed by the thumbnail's early-layer CLS attention;
 * tokens chosen by the feature layer's CLS attention (heads summed); unpadded, no image_newline.
 */
import * as tf from '@tensorflow/tfjs-core';
import { choiceOption, ratioOption, type Method, type PruneResult } from '../methods/contract';
import { HeroError } from '../core/errors';
import type { VisualContext } from '../llava/visual_context';
import { unpadRegion } from '../llava/anyres';
import { tileMasksInside } from '../llava/grid';
import { refuseSingleCrop } from '../llava/llava15';
import { clsPatchScores, masksTensor, stitchedLayout, topKMask } from './common';

export interface HiredOptions {
  /** token_budget_rate r: total = ⌊(1+K)·N·r⌋ (default 0.2) */
  readonly ratio: number;
  /** α: the thumbnail's share of the total (default 0.5) */
  readonly alpha: number;
  /** layer whose thumbnail CLS attention distributes the tile budget (HiRED: 0) */
  readonly budgetLayer?: number;
  /** layer whose CLS attention selects tokens (HiRED: 22 = the feature layer's) */
  readonly selectLayer?: number;
  /**
   * How the thumbnail is split to score the tiles. 'as-coded' (default, HiRED's numbers): K consecutive
   * equal chunks of the thumbnail's raster order, i.e. horizontal bands; 'as-published': the thumbnail
   * region that covers each tile.
   */
  readonly bandSplit?: 'as-coded' | 'as-published';
  /**
   * How the tiles are stacked before unpadding. 'as-coded' (default, HiRED's numbers): HiRED's vendored HF
   * 4.42 reads the (rows, cols) grid as (cols, rows), so a 1×2 grid is stitched as 2×1 (tile k at block
   * (k // rows, k % rows)) and unpadded on that shape; 'corrected': the true (rows, cols) stitching of HF
   * v4.45.1. Both agree on square grids.
   */
  readonly gridOrientation?: 'as-coded' | 'corrected';
}

/** For each tile k, the thumbnail token indices that score it (HiRED-1's split). */
export function thumbnailChunks(grid: readonly [number, number], G: number, mode: 'as-coded' | 'as-published'): number[][] {
  const [rows, cols] = grid, K = rows * cols, N = G * G;
  if (mode === 'as-coded') {
    // @choice when K does not divide N (only in tiny test models) the bands are ⌊k·N/K⌋ … ⌊(k+1)·N/K⌋.
    return Array.from({ length: K }, (_, k) => Array.from({ length: Math.floor(((k + 1) * N) / K) - Math.floor((k * N) / K) }, (_, i) => Math.floor((k * N) / K) + i));
  }
  return Array.from({ length: K }, (_, k) => {
    const r = Math.floor(k / cols), c = k % cols, out: number[] = [];
    for (let i = Math.floor((r * G) / rows); i < Math.floor(((r + 1) * G) / rows); i++) {
      for (let j = Math.floor((c * G) / cols); j < Math.floor(((c + 1) * G) / cols); j++) out.push(i * G + j);
    }
    return out;
  });
}

/**
 * HiRED's budgets.                                                              @eq HiRED-1
 *   total = ⌊n·N·r⌋, B_thumb = min(⌊total·α⌋, N), B_tiles = min(total − B_thumb, K·N);
 *   marked = top-⌊N(1−α)⌋ thumbnail tokens by layer-0 CLS attention; c_k = marked tokens in chunk k;
 *   b_k = min(⌊fp32(c_k/Σc)·B_tiles⌋, N)   (no redistribution)
 */
export function hiredBudgets(budgetScoresThumb: ArrayLike<number>, grid: readonly [number, number], G: number, ratio: number, alpha: number,
  mode: 'as-coded' | 'as-published'): { thumb: number; tiles: number[] } {
  const K = grid[0] * grid[1], N = G * G;
  const total = Math.floor((1 + K) * N * ratio);
  const thumb = Math.min(Math.floor(total * alpha), N);
  const tilesTotal = Math.min(total - thumb, K * N);
  // HiRED distributes only a positive tile budget (`if total_sub_img_budget > 0`); otherwise no tile token is kept.
  if (tilesTotal <= 0) return { thumb, tiles: new Array<number>(K).fill(0) };
  const marked = topKMask(budgetScoresThumb, Math.floor(N * (1 - alpha)));
  const counts = thumbnailChunks(grid, G, mode).map((ch) => ch.reduce((a, j) => a + marked[j], 0));
  const sum = counts.reduce((a, b) => a + b, 0);
  if (sum === 0) throw new HeroError('HiRED: no thumbnail token is marked to distribute the tile budget (alpha = 1?)');
  return { thumb, tiles: counts.map((c) => Math.min(Math.floor(Math.fround(Math.fround(c / sum) * tilesTotal)), N)) };
}

/**
 * The stitched arrangement of the K tiles, (rows', cols'), with tile k at block (k // cols', k % cols').
 * As coded HiRED (HF 4.42's `num_patch_width, num_patch_height = get_anyres_image_grid_shape(…)`, which
 * returns (height, width), then `view(num_patch_height, num_patch_width, …)`) stacks (cols, rows).
 */
export function hiredArrangement(grid: readonly [number, number], orientation: 'as-coded' | 'corrected'): [number, number] {
  return orientation === 'as-coded' ? [grid[1], grid[0]] : [grid[0], grid[1]];
}

/**
 * HiRED selection and packing.                                                 @eq HiRED-2
 * r = 1: no selection, every token kept (HiRED runs its selection only `if token_budget_rate < 1.0`).
 * Otherwise thumbnail: top-B_thumb by the select layer's head-summed CLS attention (raster order); tile k:
 * top-b_k by its own scores. Then the tiles are stitched (as coded: the (cols, rows) arrangement, see
 * hiredArrangement), the tokens in the padding that unpad_image removes from that stitched grid are
 * discarded, and the rest are read in its raster order; no image_newline.
 */
export async function hired(ctx: VisualContext, opts: HiredOptions): Promise<PruneResult> {
  if (!(opts.ratio > 0 && opts.ratio <= 1)) throw new HeroError(`--ratio: ${opts.ratio} is outside (0, 1]`);
  if (!(opts.alpha >= 0 && opts.alpha < 1)) throw new HeroError(`--alpha: ${opts.alpha} is outside [0, 1) for HiRED`);
  const G = ctx.patchGrid, N = G * G, [rows, cols] = ctx.grid, K = rows * cols;
  const sel = tf.tidy(() => clsPatchScores(ctx, opts.selectLayer ?? ctx.featureLayer - 1, 'sum')); // [P, N]
  const bud = tf.tidy(() => clsPatchScores(ctx, opts.budgetLayer ?? 0, 'sum'));                    // [P, N]
  const s = await sel.data(), b = await bud.data();                                                   // host round-trip: budgets and selection
  bud.dispose();
  const full = opts.ratio === 1;
  const budgets = full ? { thumb: N, tiles: new Array<number>(K).fill(N) }
    : hiredBudgets(b.subarray(0, N), ctx.grid, G, opts.ratio, opts.alpha, opts.bandSplit ?? 'as-coded');
  const arr = hiredArrangement(ctx.grid, opts.gridOrientation ?? 'as-coded');
  const u = unpadRegion(arr[0] * G, arr[1] * G, [ctx.imageSize[0], ctx.imageSize[1]]);
  const inside = tileMasksInside(arr, G, u).masks;                      // per tile of the arrangement: not unpadded away
  const masks = [topKMask(s.subarray(0, N), budgets.thumb)];
  for (let k = 0; k < K; k++) {
    const m = topKMask(s.subarray((1 + k) * N, (2 + k) * N), budgets.tiles[k]);
    for (let j = 0; j < N; j++) m[j] &= inside[k][j];
    masks.push(m);
  }
  const features = tf.tidy(() => stitchedLayout(ctx.projected, masks, arr, G));
  return {
    features, keepMasks: masks, numNewlines: 0,
    tensors: {
      'hired.scores': { tensor: sel, dtype: 'F32' },
      'hired.budgets': { tensor: tf.tensor1d([budgets.thumb, ...budgets.tiles], 'int32'), dtype: 'I64' },
      'hired.keep': { tensor: masksTensor(masks), dtype: 'U8' },
    },
  };
}

/** HiRED as a Method (src/methods/contract.ts): r = 0.2, α = 0.5. */
export const hiredMethod: Method<HiredOptions, 'hired'> = {
  name: 'hired',
  configure: (raw, config) => {
    refuseSingleCrop(config, 'hired', "its thumbnail's attention splits the budget over the tiles, and its code (hasanar1f/HiRED) is LLaVA-NeXT-only");
    const ratio = ratioOption(raw) ?? 0.2;
    const alpha = (raw.alpha as number | undefined) ?? 0.5;
    if (!(alpha >= 0 && alpha < 1)) throw new HeroError(`--alpha: ${alpha} is outside [0, 1) for HiRED`);
    return { ratio, alpha, gridOrientation: choiceOption(raw, 'hired-grid', ['as-coded', 'corrected'] as const) ?? 'as-coded' };
  },
  taps: (s, model) => ({ attentions: [s.options!.budgetLayer ?? 0, s.options!.selectLayer ?? model.derived.featureLayer - 1] }),
  select: (s, ctx) => hired(ctx, s.options!),
};
