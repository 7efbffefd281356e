/**
 * Overlay of the kept visual tokens on the original image (paper Fig. 7 style): dropped tokens tinted red.
 * Left panel: the thumbnail's tokens (the thumbnail is the whole image squashed to S×S); right panel: the
 * tiles' tokens mapped back through the resize-and-pad geometry of the tile grid.
 */
import type { RgbImage } from '../io/image';
import { getPatchOutputSize, selectBestResolution } from '../llava/anyres';

/** A rectangle in original-image pixels [y0, y1) × [x0, x1). */
export interface Rect { readonly y0: number; readonly y1: number; readonly x0: number; readonly x1: number }

/** Where thumbnail token (i, j) of a G×G grid lies in an H×W image. */
export function thumbnailTokenRect(i: number, j: number, G: number, H: number, W: number): Rect {
  return { y0: Math.floor((i * H) / G), y1: Math.floor(((i + 1) * H) / G), x0: Math.floor((j * W) / G), x1: Math.floor(((j + 1) * W) / G) };
}

/**
 * Where token (i, j) of tile (r, c) lies in the original H×W image: the tiles cut the padded canvas of the
 * best resolution, the image was resized to (nh, nw) and centred with ⌊pad/2⌋ before it (v4.45.1 pads
 * the floor on both sides); tokens that fall in the padding return null.
 */
export function tileTokenRect(r: number, c: number, i: number, j: number, G: number, S: number, imageSize: readonly [number, number],
  pinpoints: ReadonlyArray<readonly [number, number]>): Rect | null {
  const [H, W] = imageSize;
  const best = selectBestResolution([H, W], pinpoints);
  const [nh, nw] = getPatchOutputSize([H, W], best);
  const top = Math.floor((best[0] - nh) / 2), left = Math.floor((best[1] - nw) / 2);
  const p = S / G;
  const cy0 = r * S + i * p - top, cx0 = c * S + j * p - left; // canvas → resized-image coordinates
  const y0 = Math.max(0, cy0), y1 = Math.min(nh, cy0 + p), x0 = Math.max(0, cx0), x1 = Math.min(nw, cx0 + p);
  if (y1 <= y0 || x1 <= x0) return null;
  return { y0: Math.floor((y0 * H) / nh), y1: Math.ceil((y1 * H) / nh), x0: Math.floor((x0 * W) / nw), x1: Math.ceil((x1 * W) / nw) };
}

function tint(img: Uint8Array, W: number, rect: Rect): void {
  for (let y = rect.y0; y < rect.y1; y++) {
    for (let x = rect.x0; x < rect.x1; x++) {
      const o = (y * W + x) * 3;
      img[o] = Math.round(0.45 * img[o] + 0.55 * 255);
      img[o + 1] = Math.round(0.45 * img[o + 1]);
      img[o + 2] = Math.round(0.45 * img[o + 2]);
    }
  }
}

/**
 * Two panels side by side (thumbnail tokens | tile tokens), each the original image with dropped tokens
 * tinted red, separated by a white gutter.
 * @param keepMasks [P][N]: thumbnail first, then tiles row-major
 */
export function renderOverlay(img: RgbImage, keepMasks: readonly Uint8Array[], grid: readonly [number, number], G: number, S: number,
  pinpoints: ReadonlyArray<readonly [number, number]>): RgbImage {
  const { width: W, height: H } = img;
  const left = Uint8Array.from(img.data), right = Uint8Array.from(img.data);
  for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) if (!keepMasks[0][i * G + j]) tint(left, W, thumbnailTokenRect(i, j, G, H, W));
  // Tint every dropped tile token; kept tokens that overlap after rounding are painted back afterwards.
  const keptRects: Rect[] = [];
  for (let r = 0; r < grid[0]; r++) {
    for (let c = 0; c < grid[1]; c++) {
      const mask = keepMasks[1 + r * grid[1] + c];
      for (let i = 0; i < G; i++) {
        for (let j = 0; j < G; j++) {
          const rect = tileTokenRect(r, c, i, j, G, S, [H, W], pinpoints);
          if (!rect) continue;
          if (mask[i * G + j]) keptRects.push(rect);
          else tint(right, W, rect);
        }
      }
    }
  }
  for (const k of keptRects) for (let y = k.y0; y < k.y1; y++) right.set(img.data.subarray((y * W + k.x0) * 3, (y * W + k.x1) * 3), (y * W + k.x0) * 3);
  const gutter = Math.max(4, Math.round(W / 50));
  const outW = 2 * W + gutter;
  const out = new Uint8Array(outW * H * 3).fill(255);
  for (let y = 0; y < H; y++) {
    out.set(left.subarray(y * W * 3, (y + 1) * W * 3), y * outW * 3);
    out.set(right.subarray(y * W * 3, (y + 1) * W * 3), (y * outW + W + gutter) * 3);
  }
  return { width: outW, height: H, data: out };
}
