/**
 * Top-k token selection per crop and the LLM-facing layout of the kept tokens (authors' code).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { assertShape } from '../core/shape';
import { rasterWalk } from '../llava/grid';
import { gatherWithNewline, NEWLINE_ROW } from '../llava/pack';

/** The top-k mask (src/core/topk.ts), re-exported with HERO's API: keep = top-k_j { a_j : valid_j = 1 }. */
export { topKMask } from '../core/topk';

/**
 * The visual token sequence handed to the LLM.                                                @eq HERO-LAYOUT
 *   [ projected[0, j] for kept j (raster) ;
 *     for each row y of the padded (rows·G) × (cols·G) grid:
 *       (tile token at (y, x) for x in 0..cols·G−1 if kept) , image_newline ]
 *   M = B_0 + Σ b_k + rows·G     (a newline after EVERY grid row, even all-padding or all-dropped rows)
 * @mirrors Lxxx-0327/HERO@41cc334 llava/model/llava_arch.py prepare_inputs_labels_for_multimodal (pruned anyres packing)
 * @param projected [P, N, D] thumbnail first, tiles row-major
 * @param imageNewline [D]; absent (LLaVA-1.5) only with no grid rows
 * @param globalKeep [N] 0/1 mask of the thumbnail
 * @param tileKeep [K][N] 0/1 masks (already restricted to valid tokens)
 * @param grid (rows, cols), G patch grid side
 * @returns [M, D]
 */
export function heroLayout(projected: tf.Tensor3D, imageNewline: tf.Tensor1D | undefined, globalKeep: ArrayLike<number>,
  tileKeep: readonly ArrayLike<number>[], grid: readonly [number, number], G: number): tf.Tensor2D {
  const [rows, cols] = grid;
  const N = G * G, K = rows * cols;
  const D = projected.shape[2];
  if (!imageNewline && rows > 0) throw new HeroError('HERO layout: a tile grid needs the image_newline');
  assertShape(projected, ['P', 'N', 'D'], [1 + K, N, D], 'HERO layout: projected features');
  if (globalKeep.length !== N || tileKeep.length !== K || tileKeep.some((m) => m.length !== N)) {
    throw new HeroError(`HERO layout: keep masks must be [${N}] and [${K}][${N}]`);
  }
  // One gather from [all crop tokens ; newline]: row (crop·N + j) is a token, NEWLINE_ROW the newline.
  const idx: number[] = [];
  for (let j = 0; j < N; j++) if (globalKeep[j]) idx.push(j);
  rasterWalk(grid, G, (tile, local) => { if (tileKeep[tile][local]) idx.push((1 + tile) * N + local); }, () => idx.push(NEWLINE_ROW));
  return gatherWithNewline(projected, imageNewline, idx);                                                  // [M, D]
}
