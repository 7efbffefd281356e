import * as tf from '@tensorflow/tfjs-core';
import { assertShape } from '../core/shape';
import { HeroError } from '../core/errors';
import { unpadRegion } from './anyres';
import { tileMasksInside } from './grid';

/**
 * Stitches the tile features of one image into the (rows·G) × (cols·G) token grid, tiles in row-major
 * order, each tile's G×G tokens in raster order.                           @eq LLaVA-2
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/modeling_llava_next.py pack_image_features (view + permute)
 * @param tiles [K, N, D] with K = rows·cols, N = G²
 * @returns [rows·G, cols·G, D]
 */
export function stitchTiles(tiles: tf.Tensor3D, grid: readonly [number, number], G: number): tf.Tensor3D {
  const [rows, cols] = grid;
  const [K, N, D] = tiles.shape;
  assertShape(tiles, ['K', 'N', 'D'], [rows * cols, G * G, -1], 'stitchTiles: tile features');
  void K; void N;
  const t = tf.reshape(tiles, [rows, cols, G, G, D]);                  // [rows, cols, G, G, D]
  const g = tf.transpose(t, [0, 2, 1, 3, 4]);                          // [rows, G, cols, G, D]
  return tf.reshape(g, [rows * G, cols * G, D]) as tf.Tensor3D;         // [rows·G, cols·G, D]
}

/**
 * LLaVA-NeXT "anyres" packing of one image: the thumbnail's N tokens, then the stitched tile grid with
 * the padding rows or columns removed (HF v4.45.1 unpad_image, plain int()), read row by row with the
 * learned `image_newline` after each row.                                 @eq LLaVA-3
 *   out = [f₀ ; for each kept row r: (grid[r, c] for kept c), newline]      length N + h'·w' + h'
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/modeling_llava_next.py pack_image_features, unpad_image
 * @param feats [P, N, D], thumbnail first
 * @param newline [D]
 * @returns [M, D]
 */
export function packImageFeatures(feats: tf.Tensor3D, newline: tf.Tensor1D, grid: readonly [number, number],
  G: number, imageSize: readonly [number, number]): tf.Tensor2D {
  const [P, , D] = feats.shape;
  if (P < 2) throw new HeroError('packImageFeatures: need a thumbnail and at least one tile');
  const base = tf.squeeze(tf.slice(feats, [0, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D;     // [N, D]
  const tiles = tf.slice(feats, [1, 0, 0], [P - 1, -1, -1]);                                  // [K, N, D]
  const full = stitchTiles(tiles, grid, G);                                                   // [rows·G, cols·G, D]
  const [gh, gw] = [grid[0] * G, grid[1] * G];
  const r = unpadRegion(gh, gw, [imageSize[0], imageSize[1]]);
  const h = gh - r.top - r.bottom, w = gw - r.left - r.right;
  // Extreme aspect ratios can unpad every row (new_h = 0): HF then packs the thumbnail alone. With no
  // columns left (new_w = 0) each row still gets its newline.
  if (h === 0) return base;
  const kept = tf.slice(full, [r.top, r.left, 0], [h, w, D]);                                 // [h', w', D]
  const nl = tf.broadcastTo(tf.reshape(newline, [1, 1, D]), [h, 1, D]);                       // [h', 1, D]
  const rowsWithNewline = tf.concat([kept, nl], 1);                                           // [h', w'+1, D]
  return tf.concat([base, tf.reshape(rowsWithNewline, [h * (w + 1), D])], 0) as tf.Tensor2D;  // [N + h'(w'+1), D]
}

/**
 * Which tile tokens LLaVA-NeXT packing keeps (those inside the unpadded region), as 0/1 masks per tile
 * over raster order, and the number of newline tokens (one per kept grid row).
 * @returns masks [K][N], newlines h'
 */
export function packedTileMasks(grid: readonly [number, number], G: number, imageSize: readonly [number, number]): { masks: Uint8Array[]; newlines: number } {
  const [rows, cols] = grid;
  const r = unpadRegion(rows * G, cols * G, [imageSize[0], imageSize[1]]);
  return { masks: tileMasksInside(grid, G, r).masks, newlines: rows * G - r.top - r.bottom };
}

/** Stands for image_newline in gatherWithNewline's list of rows. */
export const NEWLINE_ROW = -1;

/**
 * A visual token sequence from the crops' tokens and image_newline in one gather, from the table
 * [all crop tokens ; image_newline]: row p·N + j is token j of crop p, NEWLINE_ROW the newline (the layout
 * HERO and GlobalCom² hand the LLM: kept tokens in their order, a newline after every grid row).
 * @param projected [P, N, D]
 * @param imageNewline [D]; absent (LLaVA-1.5) only when `rows` holds no NEWLINE_ROW
 * @returns [M, D], M = rows.length
 */
export function gatherWithNewline(projected: tf.Tensor3D, imageNewline: tf.Tensor1D | undefined, rows: readonly number[]): tf.Tensor2D {
  const [P, N, D] = projected.shape;
  if (!imageNewline && rows.includes(NEWLINE_ROW)) throw new HeroError('gatherWithNewline: a newline row without an image_newline (LLaVA-1.5 has none)');
  const table = tf.concat([tf.reshape(projected, [P * N, D]), ...(imageNewline ? [tf.reshape(imageNewline, [1, D])] : [])], 0); // [P·N (+ 1), D]
  return tf.gather(table, tf.tensor1d(rows.map((r) => (r === NEWLINE_ROW ? P * N : r)), 'int32')) as tf.Tensor2D; // [M, D]
}
