/**
 * Stage 1 of HERO: which tile tokens are real image content (HERO-D), how much of the image each tile
 * covers (density), how important each tile is (HERO-3), and the integer token budgets (HERO-B, HERO-4).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { tileMasksInside } from '../llava/grid';
import type { HeroTileProbe } from './options';

/** The extents of the valid-token rule, for reports and tests. */
export interface ValidRegion {
  readonly axis: 'rows' | 'cols';
  /** new_h (or new_w): the number of valid grid rows (or columns). */
  readonly extent: number;
  readonly padBefore: number;
  readonly padAfter: number;
}

/**
 * Valid tokens of each tile: the stitched (rows·G) × (cols·G) grid minus the padding the anyres resize
 * added, with the original-LLaVA convention (W, H) and `int()`.                             @eq HERO-D
 *   if W/H > gridW/gridH:  new_h = int(H · gridW / W), pad_top = (gridH − new_h) // 2, rows
 *                          [pad_top, pad_top + new_h) are valid;  otherwise the same on columns.
 * This keeps exactly new_h rows: one fewer than HF's unpad_image when gridH − new_h is odd.
 * @mirrors Lxxx-0327/HERO@41cc334 llava/model/llava_arch.py get_valid_token_mask_for_unpadding
 * @param grid (rows, cols) of tiles
 * @param patchGrid G (N = G²)
 * @param imageSize original (H, W), HF convention (swapped to (W, H) here)
 * @returns mask [K][N] 0/1 per tile (row-major tiles, raster tokens), counts [K]
 */
export function validMask(grid: readonly [number, number], patchGrid: number, imageSize: readonly [number, number]):
  { mask: Uint8Array[]; counts: number[]; region: ValidRegion } {
  const [rows, cols] = grid;
  const G = patchGrid;
  const [H, W] = imageSize;                       // HF gives (H, W); the rule is written with (W, H)
  if (!(H > 0 && W > 0)) throw new HeroError(`HERO validMask: image size (${H}, ${W}) must be positive`);
  const gridH = rows * G, gridW = cols * G;
  // Python float arithmetic (float64) and int() truncation, as the authors' code.
  let region: ValidRegion;
  if (W / H > gridW / gridH) {
    const extent = Math.trunc(H * (gridW / W));
    const padBefore = Math.floor((gridH - extent) / 2);
    region = { axis: 'rows', extent, padBefore, padAfter: gridH - extent - padBefore };
  } else {
    const extent = Math.trunc(W * (gridH / H));
    const padBefore = Math.floor((gridW - extent) / 2);
    region = { axis: 'cols', extent, padBefore, padAfter: gridW - extent - padBefore };
  }
  const cut = region.axis === 'rows'
    ? { top: region.padBefore, bottom: region.padAfter, left: 0, right: 0 }
    : { top: 0, bottom: 0, left: region.padBefore, right: region.padAfter };
  const { masks, counts } = tileMasksInside(grid, G, cut);
  return { mask: masks, counts, region };
}

/**
 * Valid-token density of each tile (authors' code only; not in the paper).                   @eq HERO-D
 *   d_k = (valid_k / N) / (Σ_j valid_j / N + 1e−6)        in float32, as `valid.float()` is
 * @mirrors Lxxx-0327/HERO@41cc334 llava/model/llava_arch.py prepare_inputs_labels_for_multimodal (density term)
 * @param validCounts [K] (float32 values of integer counts)
 * @returns [K]
 */
export function density(validCounts: tf.Tensor1D, N: number): tf.Tensor1D {
  const frac = tf.div(validCounts, N);                                      // [K]
  return tf.div(frac, tf.add(tf.sum(frac), 1e-6)) as tf.Tensor1D;         // [K]
}

/**
 * Tile importance: saliency and relevance mixed by α, then (authors' code) mixed with the density by λ.   @eq HERO-3
 *   f_k = λ·d_k + (1−λ)·(α·s^v_k + (1−α)·s^t_k)
 * Paper Eq. (3) is the inner mix (λ = 0); the code hard-codes λ = 0.2. With `relevance` null (ablation
 * "no relevance", or α = 1) the inner mix is s^v alone.
 * @mirrors Lxxx-0327/HERO@41cc334 llava/model/llava_arch.py prepare_inputs_labels_for_multimodal (tile importance)
 * @param saliencyScores [K], relevanceScores [K] or null, densities [K]
 * @returns [K]
 */
export function importance(saliencyScores: tf.Tensor1D, relevanceScores: tf.Tensor1D | null, densities: tf.Tensor1D,
  alpha: number, densityWeight: number): tf.Tensor1D {
  const mix = relevanceScores === null
    ? saliencyScores
    : tf.add(tf.mul(saliencyScores, alpha), tf.mul(relevanceScores, 1 - alpha));     // [K]
  if (densityWeight === 0) return mix as tf.Tensor1D;                                   // paper: λ = 0, exactly the mix
  return tf.add(tf.mul(densities, densityWeight), tf.mul(mix, 1 - densityWeight)) as tf.Tensor1D; // [K]
}

/**
 * Uniform importance f_k = 1/K (ablation "uniform budgets", paper Table 5 row B).              @eq HERO-3
 * @returns [K]
 */
export function uniformImportance(K: number): tf.Tensor1D {
  return tf.fill([K], 1 / K) as tf.Tensor1D;
}

/**
 * The integer budgets of HERO-B: the thumbnail's fixed quota and the tiles' shared pool.        @eq HERO-B
 *   B_0 = ⌊r·N⌋,  B_loc = ⌊(K·N)·r⌋        (Python float64: int(N*R), int(K*N*R))
 * @mirrors Lxxx-0327/HERO@41cc334 llava/model/llava_arch.py prepare_inputs_labels_for_multimodal (N_global, N_local)
 */
export function budgetPools(N: number, K: number, ratio: number): { globalBudget: number; localBudget: number } {
  return { globalBudget: Math.trunc(N * ratio), localBudget: Math.trunc((K * N) * ratio) };
}

/**
 * Per-tile token budgets: the pool shared by importance, truncated, clamped by the valid count; the
 * remainder is not redistributed, so Σ b_k ≤ B_loc.                                            @eq HERO-4
 *   b_k = min(trunc(fround(f_k · B_loc)), valid_k)
 * The product is rounded to float32 as in a float32 run of the authors' code (a float32 tensor times a
 * Python int), then truncated.
 * @mirrors Lxxx-0327/HERO@41cc334 llava/model/llava_arch.py prepare_inputs_labels_for_multimodal (budget allocation)
 * @param importanceHost f_k as float32 values (host copy of HERO-3's output)
 * @param validCounts valid_k
 * @returns b [K]
 */
export function allocateBudgets(importanceHost: ArrayLike<number>, validCounts: readonly number[], localBudget: number): number[] {
  if (importanceHost.length !== validCounts.length) {
    throw new HeroError(`HERO budgets: ${importanceHost.length} importances for ${validCounts.length} tiles`);
  }
  const out: number[] = [];
  for (let k = 0; k < validCounts.length; k++) {
    const prod = Math.fround(Math.fround(importanceHost[k]) * localBudget);   // float32 product
    if (!(prod >= 0)) throw new HeroError(`HERO budgets: tile ${k} has importance ${importanceHost[k]} (expected a finite value ≥ 0)`);
    out.push(Math.min(Math.trunc(prod), validCounts[k]));
  }
  return out;
}

/**
 * HERO-B and HERO-4 together: the thumbnail quota, the tile pool and the per-tile budgets.   @eq HERO-B @eq HERO-4
 */
export function tokenBudgets(importanceHost: ArrayLike<number>, validCounts: readonly number[], N: number, ratio: number):
  { globalBudget: number; localBudget: number; budgets: number[] } {
  const pools = budgetPools(N, validCounts.length, ratio);
  return { ...pools, budgets: allocateBudgets(importanceHost, validCounts, pools.localBudget) };
}

/**
 * Table 1's pilot budgets (paper §3.1) in place of HERO-4: the thumbnail keeps all N tokens, the tile
 * ranked `rank`-th (1-based) by descending score keeps all its valid tokens, every other tile none; no tile
 * at all for 'thumbnail-only', or when the image has fewer than `rank` tiles (@choice, HeroTileProbe).
 *                                                                                         @eq HERO-PROBE
 *   order = argsort_k(−score_k) (ties: lower k first);  k* = order[rank − 1];
 *   B_0 = N,  b_k = valid_k if k = k* else 0
 * @param probe the option (ranking key 'clip' = t_k of HERO-2, 'cls' = c_k of HERO-1)
 * @param scoresHost the ranking scores [K] (host); unused for 'thumbnail-only'
 * @param validCounts valid_k
 * @returns order [K] (tile indices, best first; empty for 'thumbnail-only'), tile k* (−1: none), budgets [K]
 */
export function probeBudgets(probe: HeroTileProbe, scoresHost: ArrayLike<number> | null, validCounts: readonly number[], N: number):
  { order: number[]; tile: number; globalBudget: number; budgets: number[] } {
  const K = validCounts.length;
  let order: number[] = [];
  if (probe !== 'thumbnail-only') {
    if (!scoresHost || scoresHost.length !== K) throw new HeroError(`HERO tile probe: ${scoresHost?.length ?? 0} ranking scores for ${K} tiles`);
    for (let k = 0; k < K; k++) if (!Number.isFinite(scoresHost[k])) throw new HeroError(`HERO tile probe: tile ${k} has ranking score ${scoresHost[k]} (the ${probe.by} scores were not computed?)`);
    order = Array.from({ length: K }, (_, k) => k).sort((a, b) => (scoresHost[b] - scoresHost[a]) || (a - b));
  }
  const tile = probe !== 'thumbnail-only' && probe.rank <= K ? order[probe.rank - 1] : -1;
  return { order, tile, globalBudget: N, budgets: validCounts.map((v, k) => (k === tile ? v : 0)) };
}
