/**
 * Top-k token selection per crop and the LLM-facing layout of the kept tokens (authors' code).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { assertShape } from '../core/shape';

/**
 * The k highest-scoring tokens (optionally among `valid` ones), as a 0/1 mask over raster order.
 *   keep = top-k_j { a_j : valid_j = 1 }
 * Only the kept set matters (the layout reads the mask in raster order). Ties are broken by the lower
 * index first (@choice; torch.topk's order among equal values is unspecified, and the goldens have no
 * near-ties: the smallest boundary gap is 1.8e-5).
 * @param scores [N] host values
 * @param valid [N] 0/1, or undefined for all tokens
 * @returns [N] 0/1
 */
export function topKMask(scores: ArrayLike<number>, k: number, valid?: ArrayLike<number>): Uint8Array {
  const n = scores.length;
  const cand: number[] = [];
  for (let j = 0; j < n; j++) if (!valid || valid[j]) cand.push(j);
  if (!(Number.isInteger(k) && k >= 0 && k <= cand.length)) {
    throw new HeroError(`HERO selection: cannot keep ${k} of ${cand.length} candidate tokens`);
  }
  cand.sort((a, b) => (scores[b] - scores[a]) || (a - b));   // descending score, then ascending index
  const mask = new Uint8Array(n);
  for (let i = 0; i < k; i++) mask[cand[i]] = 1;
  return mask;
}

/**
 * The visual token sequence handed to the LLM.                                                @eq HERO-LAYOUT
 *   [ projected[0, j] for kept j (raster) ;
 *     for each row y of the padded (rows·G) × (cols·G) grid:
 *       (tile token at (y, x) for x in 0..cols·G−1 if kept) , image_newline ]
 *   M = B_0 + Σ b_k + rows·G     (a newline after EVERY grid row, even all-padding or all-dropped rows)
 * @mirrors Lxxx-0327/HERO llava_arch.py prepare_inputs_labels_for_multimodal (pruned anyres packing)
 * @param projected [P, N, D] thumbnail first, tiles row-major
 * @param imageNewline [D]
 * @param globalKeep [N] 0/1 mask of the thumbnail
 * @param tileKeep [K][N] 0/1 masks (already restricted to valid tokens)
 * @param grid (rows, cols), G patch grid side
 * @returns [M, D]
 */
export function heroLayout(projected: tf.Tensor3D, imageNewline: tf.Tensor1D, globalKeep: ArrayLike<number>,
  tileKeep: readonly ArrayLike<number>[], grid: readonly [number, number], G: number): tf.Tensor2D {
  const [rows, cols] = grid;
  const N = G * G, K = rows * cols;
  const D = imageNewline.shape[0];
  assertShape(projected, ['P', 'N', 'D'], [1 + K, N, D], 'HERO layout: projected features');
  if (globalKeep.length !== N || tileKeep.length !== K || tileKeep.some((m) => m.length !== N)) {
    throw new HeroError(`HERO layout: keep masks must be [${N}] and [${K}][${N}]`);
  }
  // One gather from [all crop tokens ; newline]: row (crop·N + j) is a token, row P·N the newline.
  const newlineRow = (1 + K) * N;
  const idx: number[] = [];
  for (let j = 0; j < N; j++) if (globalKeep[j]) idx.push(j);
  for (let y = 0; y < rows * G; y++) {
    for (let x = 0; x < cols * G; x++) {
      const tile = Math.floor(y / G) * cols + Math.floor(x / G);
      const local = (y % G) * G + (x % G);
      if (tileKeep[tile][local]) idx.push((1 + tile) * N + local);
    }
    idx.push(newlineRow);
  }
  const table = tf.concat([tf.reshape(projected, [(1 + K) * N, D]), tf.reshape(imageNewline, [1, D])], 0); // [P·N + 1, D]
  return tf.gather(table, tf.tensor1d(idx, 'int32')) as tf.Tensor2D;                                      // [M, D]
}
