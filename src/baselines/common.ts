/** Pieces the vision-side baselines share: CLS→patch scores, top-k masks, the no-newline stitched layout. */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import type { VisualContext } from '../llava/visual_context';
import { clsPatchAttention } from '../clip/cls';
import { rasterWalk } from '../llava/grid';

/**
 * CLS→patch attention of one layer per crop, reduced over heads ('mean' or 'sum').
 * @returns [P, N]
 */
export function clsPatchScores(ctx: VisualContext, layer: number, reduce: 'mean' | 'sum'): tf.Tensor2D {
  const a = ctx.attentions[layer];
  if (!a) throw new HeroError(`baseline: the attention of vision layer ${layer} was not tapped`);
  return clsPatchAttention(a, { reduce });                                  // [P, N]
}

/**
 * Python 3's round(x) for the budgets the authors' code computes with it: the nearest integer, ties to
 * the even one (round(8.5) = 8, round(9.5) = 10), unlike Math.round (ties up).
 * @mirrors python/cpython@v3.11.2 Objects/floatobject.c float___round___impl (round half to even)
 */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x), d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The top-k mask (src/core/topk.ts): k outside [0, candidates] is a HeroError, callers clamp explicitly. */
export { topKMask } from '../core/topk';

/**
 * Kept thumbnail tokens (raster order), then the kept tile tokens read in raster order of the stitched
 * (rows·G) × (cols·G) grid, crossing tile boundaries row by row; no image_newline.
 * @param projected [P, N, D]
 * @returns [M, D]
 */
export function stitchedLayout(projected: tf.Tensor3D, masks: readonly ArrayLike<number>[], grid: readonly [number, number], G: number): tf.Tensor2D {
  const N = G * G;
  const order: number[] = [];
  for (let j = 0; j < N; j++) if (masks[0][j]) order.push(j);
  rasterWalk(grid, G, (k, j) => { if (masks[1 + k][j]) order.push((1 + k) * N + j); });
  const D = projected.shape[2];
  return tf.gather(tf.reshape(projected, [-1, D]), tf.tensor1d(order, 'int32')) as tf.Tensor2D; // [M, D]
}

/** Per-crop keep masks as one U8 [P, N] tensor for the trace. */
export function masksTensor(masks: readonly Uint8Array[]): tf.Tensor2D {
  const N = masks[0].length;
  const flat = new Int32Array(masks.length * N);
  masks.forEach((m, p) => flat.set(m, p * N));
  return tf.tensor2d(flat, [masks.length, N], 'int32');
}
