/**
 * GlobalCom² (Liu et al., "Compression with Global Guidance: Towards Training-free High-Resolution MLLMs
 * Acceleration", arXiv 2501.05179; xuyang-liu16/GlobalCom2), as coded: the thumbnail, compressed by its own
 * [CLS] scores, guides each tile's retention ratio and, through a bilinear guidance map, which tile tokens
 * are kept. Scores are the head-mean **pre-softmax** logits of the last vision layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { choiceOption, ratioOption, type Method, type PruneResult } from '../methods/contract';
import { HeroError } from '../core/errors';
import type { VisualContext } from '../llava/visual_context';
import { unpadRegion } from '../llava/anyres';
import { rasterWalk, tileMasksInside } from '../llava/grid';
import { gatherWithNewline, NEWLINE_ROW } from '../llava/pack';
import { l2Normalize } from '../core/l2';
import { tidyAsync } from '../core/scope';
import { masksTensor, topKMask } from './common';
import { imageNewlineOf, refuseSingleCrop } from '../llava/llava15';

export interface GlobalCom2Options {
  /** retention ratio r (GlobalCom²'s default 0.25) */
  readonly ratio: number;
  /** softmax temperature of the tile ratios (10 in the code) */
  readonly temperature?: number;
  /** vision layer of the scores (default the last) */
  readonly layer?: number;
  /** heads of the vision tower (to split q and k) */
  readonly visionHeads: number;
  /**
   * Where a tile's kept tokens are placed in the stitched grid. 'as-coded' (default, GlobalCom²'s numbers):
   * `select_topk_crop_features` returns positions in the tile's list of valid (unpadded) tokens and
   * `compress_crops` writes the n-th kept one at tile index n, so tiles with padding at the top or sides
   * put their tokens into the wrong cells (same kept set and count, other order and newline positions).
   * 'corrected': each token at its own tile index.
   */
  readonly placement?: 'as-coded' | 'corrected';
}

/**
 * Head-mean scaled logits of the CLS query over the patch keys: mean_h (q_h·Dh^−½)·k_hᵀ.
 * @returns [P, N]
 */
export function clsLogits(q: tf.Tensor3D, k: tf.Tensor3D, heads: number): tf.Tensor2D {
  const [P, N1, Dv] = q.shape;
  const Dh = Dv / heads;
  const qc = tf.reshape(tf.slice(q, [0, 0, 0], [-1, 1, -1]), [P, heads, 1, Dh]);                 // [P, Hv, 1, Dh]
  const kp = tf.transpose(tf.reshape(tf.slice(k, [0, 1, 0], [-1, -1, -1]), [P, N1 - 1, heads, Dh]), [0, 2, 1, 3]); // [P, Hv, N, Dh]
  return tf.mean(tf.reshape(tf.matMul(tf.mul(qc, Dh ** -0.5), kp, false, true), [P, heads, N1 - 1]), 1) as tf.Tensor2D; // [P, N]
}

/**
 * Tile retention ratios from the thumbnail's block sums.                      @eq GC2-1
 *   S_k = Σ s_thumb over the block of tile k (block (min(i//ph, rows−1), min(j//pw, cols−1)), ph = max(G//rows, 1));
 *   p = exp((S − max S)/τ) / (Σ exp(…) + 1e−8);  ratio_k = min(r·(1 + p_k − mean p), 1)
 */
export function tileRatios(thumb: ArrayLike<number>, grid: readonly [number, number], G: number, r: number, temperature: number): number[] {
  const [rows, cols] = grid;
  const ph = Math.max(Math.floor(G / rows), 1), pw = Math.max(Math.floor(G / cols), 1);
  const S = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) S[Math.min(Math.floor(i / ph), rows - 1) * cols + Math.min(Math.floor(j / pw), cols - 1)] += thumb[i * G + j];
  const max = Math.max(...S);
  const e = S.map((s) => Math.exp((s - max) / temperature));
  const z = e.reduce((a, b) => a + b, 0) + 1e-8;
  const p = e.map((x) => x / z);
  const mean = p.reduce((a, b) => a + b, 0) / p.length;
  return p.map((pk) => Math.min(r * (1 + pk - mean), 1));
}

/** Bilinear resize of an h×w map to H×W, align_corners = false (torch F.interpolate). */
export function bilinear(src: ArrayLike<number>, h: number, w: number, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  const coord = (o: number, inN: number, outN: number): [number, number, number] => {
    const x = Math.max(0, (o + 0.5) * (inN / outN) - 0.5);
    const i0 = Math.min(Math.floor(x), inN - 1), i1 = Math.min(i0 + 1, inN - 1);
    return [i0, i1, x - i0];
  };
  for (let y = 0; y < H; y++) {
    const [y0, y1, fy] = coord(y, h, H);
    for (let x = 0; x < W; x++) {
      const [x0, x1, fx] = coord(x, w, W);
      const top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx;
      const bot = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx;
      out[y * W + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

/** F.normalize of a host vector (src/core/l2.ts, eps 1e-12 against an all-zero vector), in fp32 as the authors' tensors. */
async function l2normalize(v: number[]): Promise<Float32Array> {
  return tidyAsync(() => l2Normalize(tf.tensor1d(v)).data() as Promise<Float32Array>);
}

/**
 * GlobalCom² selection and layout.                                             @eq GC2-2
 * Thumbnail: top-⌊N·r⌋ by s_thumb, emitted in descending score order. Tile k: of its N_k valid tokens keep
 * ⌊N_k·ratio_k⌋ with the largest L2n(s_k[V_k]) + L2n(guide_k), guide = the thumbnail scores resized
 * bilinearly to the valid region and cut per tile. Then the full padded grid row by row with an
 * image_newline after every grid row; as coded, the n-th kept token of a tile's valid list sits in the
 * tile's cell n (see GlobalCom2Options.placement), corrected in its own cell.
 */
export async function globalCom2(ctx: VisualContext, opts: GlobalCom2Options): Promise<PruneResult> {
  if (!(opts.ratio > 0 && opts.ratio <= 1)) throw new HeroError(`--ratio: ${opts.ratio} is outside (0, 1]`);
  const L = ctx.queries.length;
  const layer = opts.layer ?? L - 1;
  const q = ctx.queries[layer], k = ctx.keys[layer];
  if (!q || !k) throw new HeroError(`GlobalCom²: q/k of vision layer ${layer} were not tapped`);
  const G = ctx.patchGrid, N = G * G, [rows, cols] = ctx.grid, K = rows * cols;
  const scores = tf.tidy(() => clsLogits(q, k, opts.visionHeads));                        // [P, N]
  const s = await scores.data();                                                             // host round-trip: selection
  const thumb = s.subarray(0, N);

  // Thumbnail: top ⌊N·r⌋ in descending score order.
  const thumbOrder = Array.from({ length: N }, (_, j) => j).sort((a, b) => thumb[b] - thumb[a] || a - b).slice(0, Math.floor(N * opts.ratio));
  const thumbMask = new Uint8Array(N);
  thumbOrder.forEach((j) => { thumbMask[j] = 1; });

  // Valid region of the stitched grid (original-LLaVA unpad = HF v4.45.1's rule) and each tile's part of it.
  const u = unpadRegion(rows * G, cols * G, [ctx.imageSize[0], ctx.imageSize[1]]);
  // The valid region is a rectangle, so a tile's valid part is (valid rows of its row) × (valid cols of its col).
  const inRows = (y: number): boolean => y >= u.top && y < rows * G - u.bottom;
  const inCols = (x: number): boolean => x >= u.left && x < cols * G - u.right;
  const tileRect = Array.from({ length: K }, (_, t) => {
    const r = Math.floor(t / cols), c = t % cols;
    let h = 0, w = 0;
    for (let i = 0; i < G; i++) if (inRows(r * G + i)) h++;
    for (let j = 0; j < G; j++) if (inCols(c * G + j)) w++;
    return { h, w };
  });
  const curH = rows * G - u.top - u.bottom, curW = cols * G - u.left - u.right;
  const guide = bilinear(thumb, G, G, curH, curW);
  const ratios = tileRatios(thumb, ctx.grid, G, opts.ratio, opts.temperature ?? 10);

  const placement = opts.placement ?? 'as-coded';
  const inside = tileMasksInside(ctx.grid, G, u).masks;                                    // [K][N] valid (unpadded) cells
  const masks: Uint8Array[] = [thumbMask];
  const slots: Int32Array[] = []; // per tile: the tile token shown in each cell of its G×G block, −1 none
  let y0 = 0;
  for (let r = 0; r < rows; r++) {
    let x0 = 0;
    for (let c = 0; c < cols; c++) {
      const t = r * cols + c, { h, w } = tileRect[t];
      const idx: number[] = [];
      inside[t].forEach((v, j) => { if (v) idx.push(j); });                              // the tile's valid list, raster order
      const local = await l2normalize(idx.map((j) => s[(1 + t) * N + j]));
      const block: number[] = [];
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) block.push(guide[(y0 + i) * curW + x0 + j]);
      const global = await l2normalize(block);
      const combined = Array.from(local, (v, n) => v + (global[n] ?? 0));                      // over the valid list
      const chosen = topKMask(combined, Math.floor(idx.length * ratios[t]));             // positions n in the valid list
      const m = new Uint8Array(N), slot = new Int32Array(N).fill(-1);
      chosen.forEach((v, n) => {
        if (!v) return;
        m[idx[n]] = 1;                                                                   // token idx[n] is kept …
        slot[placement === 'as-coded' ? n : idx[n]] = idx[n];                           // … and shown in this cell
      });
      slots.push(slot);
      masks.push(m);
      x0 += w;
    }
    y0 += tileRect[r * cols].h;
  }

  // Layout: thumbnail in score order, then the full padded grid with a newline after every row.
  const rowsOut: number[] = [...thumbOrder];
  rasterWalk(ctx.grid, G, (t, j) => { if (slots[t][j] >= 0) rowsOut.push((1 + t) * N + slots[t][j]); }, () => rowsOut.push(NEWLINE_ROW));
  const features = tf.tidy(() => gatherWithNewline(ctx.projected, imageNewlineOf(ctx, 'GlobalCom²'), rowsOut)); // [M, D]
  return {
    features, keepMasks: masks, numNewlines: rows * G,
    tensors: {
      'globalcom2.scores': { tensor: scores, dtype: 'F32' },
      'globalcom2.tile_ratios': { tensor: tf.tensor1d(ratios), dtype: 'F32' },
      'globalcom2.keep': { tensor: masksTensor(masks), dtype: 'U8' },
    },
  };
}

/** GlobalCom² as a Method (src/methods/contract.ts): r = 0.25, the last vision layer's queries and keys. */
export const globalCom2Method: Method<GlobalCom2Options, 'globalcom2'> = {
  name: 'globalcom2',
  configure: (raw, config) => {
    refuseSingleCrop(config, 'globalcom2', 'its thumbnail compresses the tiles, and its code (xuyang-liu16/GlobalCom2) is LLaVA-NeXT-only');
    return {
      ratio: ratioOption(raw) ?? 0.25, visionHeads: config.vision_config.num_attention_heads,
      placement: choiceOption(raw, 'globalcom2-placement', ['as-coded', 'corrected'] as const) ?? 'as-coded',
    };
  },
  taps: (s, model) => ({ queryKey: [s.options!.layer ?? model.config.vision_config.num_hidden_layers - 1] }),
  select: (s, ctx) => globalCom2(ctx, s.options!),
};
