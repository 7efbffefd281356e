/**
 * Overlay of the kept visual tokens on the original image (paper Fig. 7 style): dropped tokens tinted red.
 * Left panel: the thumbnail's tokens (the thumbnail is the whole image squashed to S×S); right panel: the
 * tiles' tokens mapped back through the resize-and-pad geometry of the tile grid, with the tile
 * boundaries. Labels (title, captions, tile rows/columns, legend) are drawn with src/report/draw.ts.
 */
import type { RgbImage } from '../io/image';
import { CELL_H } from './font';
import { BLACK, GREY, blank, blit, drawText, fillRect, legendItem, strokeRect, textHeight, textWidth, type Rgb } from './draw';
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

/** Blends the pixels of `rect` 55 % towards pure red (a dropped token). */
export function tint(img: Uint8Array, W: number, rect: Rect): void {
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
 * Tile boundaries inside the original H×W image: the rows and columns (original-image pixels) where one
 * tile of the grid ends and the next begins, through the same resize-and-pad geometry as tileTokenRect.
 * Boundaries that fall in the padding (outside the image) are left out.
 */
export function tileBoundaries(grid: readonly [number, number], S: number, imageSize: readonly [number, number],
  pinpoints: ReadonlyArray<readonly [number, number]>): { rows: number[]; cols: number[] } {
  const [H, W] = imageSize;
  const best = selectBestResolution([H, W], pinpoints);
  const [nh, nw] = getPatchOutputSize([H, W], best);
  const top = Math.floor((best[0] - nh) / 2), left = Math.floor((best[1] - nw) / 2);
  const rows: number[] = [], cols: number[] = [];
  for (let r = 1; r < grid[0]; r++) { const y = Math.round(((r * S - top) * H) / nh); if (y > 0 && y < H) rows.push(y); }
  for (let c = 1; c < grid[1]; c++) { const x = Math.round(((c * S - left) * W) / nw); if (x > 0 && x < W) cols.push(x); }
  return { rows, cols };
}

/** The two image panels at the original resolution: dropped thumbnail tokens tinted (left), dropped tile tokens tinted (right). */
export function overlayPanels(img: RgbImage, keepMasks: readonly Uint8Array[], grid: readonly [number, number], G: number, S: number,
  pinpoints: ReadonlyArray<readonly [number, number]>): { thumbnail: RgbImage; tiles: RgbImage } {
  const { width: W, height: H } = img;
  const left = Uint8Array.from(img.data), right = Uint8Array.from(img.data);
  for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) if (!keepMasks[0][i * G + j]) tint(left, W, thumbnailTokenRect(i, j, G, H, W));
  // Tint every dropped tile token once; kept tokens that overlap after rounding are painted back afterwards.
  const dropped = new Uint8Array(W * H), keptRects: Rect[] = [];
  for (let r = 0; r < grid[0]; r++) {
    for (let c = 0; c < grid[1]; c++) {
      const mask = keepMasks[1 + r * grid[1] + c];
      for (let i = 0; i < G; i++) {
        for (let j = 0; j < G; j++) {
          const rect = tileTokenRect(r, c, i, j, G, S, [H, W], pinpoints);
          if (!rect) continue;
          if (mask[i * G + j]) keptRects.push(rect);
          else for (let y = rect.y0; y < rect.y1; y++) dropped.fill(1, y * W + rect.x0, y * W + rect.x1);
        }
      }
    }
  }
  for (const k of keptRects) for (let y = k.y0; y < k.y1; y++) dropped.fill(0, y * W + k.x0, y * W + k.x1);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (dropped[y * W + x]) tint(right, W, { y0: y, y1: y + 1, x0: x, x1: x + 1 });
  return { thumbnail: { width: W, height: H, data: left }, tiles: { width: W, height: H, data: right } };
}

/** Colour of the tile boundary lines in the overlay. */
export const TILE_LINE: Rgb = [0, 80, 255];

/** Where the two panels landed in the labelled overlay: top-left corner and integer upscale factor. */
export interface PanelPlace { readonly x: number; readonly y: number; readonly scale: number }

/** A label's box in the overlay (output pixels): the text and the rectangle its glyphs (and swatch) cover. */
export interface TextBox { readonly text: string; readonly x: number; readonly y: number; readonly w: number; readonly h: number }

/**
 * The labelled overlay (paper Fig. 7 style): a title, the thumbnail's tokens on the left and the tiles'
 * tokens on the right (each the original image, upscaled by an integer factor when small, with dropped
 * tokens tinted red), the tile boundaries as blue lines with row/column labels, and a legend.
 * Laid out for any grid and aspect: each panel's column is as wide as its image or its caption, whichever is
 * wider; a row or column label that would touch its neighbour is left out (every other one, and so on); the
 * legend wraps. `labels` lists every text box drawn (spec/report/overlay.spec.ts checks none overlap).
 * @param keepMasks [P][N]: thumbnail first, then tiles row-major
 * @param title first line (e.g. the method and ratio)
 */
export function renderOverlay(img: RgbImage, keepMasks: readonly Uint8Array[], grid: readonly [number, number], G: number, S: number,
  pinpoints: ReadonlyArray<readonly [number, number]>, title = 'Visual tokens kept'): { image: RgbImage; panels: readonly [PanelPlace, PanelPlace]; labels: readonly TextBox[] } {
  const { width: W, height: H } = img;
  const { thumbnail, tiles } = overlayPanels(img, keepMasks, grid, G, S, pinpoints);
  const scale = Math.max(1, Math.ceil(360 / Math.max(W, H)));
  const sc = 2, lineH = CELL_H * sc + 4, m = 16, th = textHeight(sc);
  const kept = keepMasks.map((k) => k.reduce((a, b) => a + b, 0));
  const keptTiles = kept.slice(1).reduce((a, b) => a + b, 0);
  const capL = `thumbnail: ${kept[0]} of ${G * G} tokens kept`;
  const capR = `tiles (${grid[0]}x${grid[1]} grid): ${keptTiles} of ${grid[0] * grid[1] * G * G} kept`;
  const rowLab = (r: number): string => `r${r}`;
  const gutter = Math.max(24, textWidth(rowLab(grid[0] - 1), sc) + 16);
  const legend = ['dropped token (red: not given to the LLM)', 'kept token (image unchanged)', `tile boundary (${S}-px crops)`];
  const note = `left: the thumbnail (whole image squashed to ${S}x${S}, ${G}x${G} tokens); right: the tiles (${G}x${G} tokens each)`;
  // Columns: each panel's image or its caption, whichever is wider (a narrow image must not let them overlap).
  const colL = Math.max(W * scale, textWidth(capL, sc)), colR = Math.max(W * scale, textWidth(capR, sc));
  const px0 = m, py = m + 3 * lineH; // title, note, captions
  const px1 = px0 + colL + gutter;
  const swatch = th + 2 * sc, legendW = legend.map((l) => swatch + 3 * sc + textWidth(l, sc));
  const contentW = Math.max(px1 + colR - m, textWidth(title, sc), textWidth(note, sc), ...legendW);
  const outW = 2 * m + contentW;
  const labels: TextBox[] = [];
  const box = (text: string, x: number, y: number, w = textWidth(text, sc), h = th): TextBox => { const b = { text, x, y, w, h }; labels.push(b); return b; };
  box(title, m, m);
  box(note, m, m + lineH);
  box(capL, px0, py - lineH);
  box(capR, px1, py - lineH);
  // Row and column labels of the tiles, each kept only when clear of the last one kept.
  const b = tileBoundaries(grid, S, [H, W], pinpoints);
  const ys = [0, ...b.rows, H], xs = [0, ...b.cols, W];
  let lastBottom = -Infinity;
  for (let r = 0; r + 1 < ys.length; r++) {
    const t = rowLab(r), w = textWidth(t, sc), y = py + Math.round(((ys[r] + ys[r + 1]) / 2) * scale) - sc * 3;
    if (y < lastBottom + 2) continue;
    box(t, px1 - 8 - w, y);
    lastBottom = y + th;
  }
  let lastRight = -Infinity;
  for (let c = 0; c + 1 < xs.length; c++) {
    const t = `c${c}`, w = textWidth(t, sc), x = Math.round(px1 + Math.round(((xs[c] + xs[c + 1]) / 2) * scale) - w / 2);
    if (x < lastRight + 4) continue;
    box(t, x, py + H * scale + 6);
    lastRight = x + w;
  }
  // Legend: left to right, wrapping at the content width.
  let lx = m, ly = py + H * scale + lineH + 8;
  const legendBoxes = legend.map((l, i) => {
    if (lx > m && lx + legendW[i] > m + contentW) { lx = m; ly += lineH + 6; }
    const bx = box(l, lx, ly - sc, legendW[i], swatch);
    lx += legendW[i] + 24;
    return bx;
  });
  const outH = ly + lineH + m;
  const out = blank(outW, outH);
  const [bTitle, bNote, bCapL, bCapR, ...rest] = labels;
  drawText(out, bTitle.x, bTitle.y, title, BLACK, sc);
  drawText(out, bNote.x, bNote.y, note, GREY, sc);
  drawText(out, bCapL.x, bCapL.y, capL, BLACK, sc);
  drawText(out, bCapR.x, bCapR.y, capR, BLACK, sc);
  blit(out, thumbnail, px0, py, scale);
  blit(out, tiles, px1, py, scale);
  // Tile boundaries (2 px wide at output scale) and the row / column labels of the tiles.
  for (const y of b.rows) fillRect(out, px1, py + y * scale - 1, W * scale, 2, TILE_LINE);
  for (const x of b.cols) fillRect(out, px1 + x * scale - 1, py, 2, H * scale, TILE_LINE);
  for (const t of rest.slice(0, rest.length - legend.length)) drawText(out, t.x, t.y, t.text, TILE_LINE, sc);
  const [l0, l1, l2] = legendBoxes;
  legendItem(out, l0.x, l0.y + sc, legend[0], (x, y, s) => { fillRect(out, x, y, s, s, [190, 190, 190]); tintBox(out, x, y, s); }, sc);
  legendItem(out, l1.x, l1.y + sc, legend[1], (x, y, s) => { fillRect(out, x, y, s, s, [190, 190, 190]); strokeRect(out, x, y, s, s, GREY); }, sc);
  legendItem(out, l2.x, l2.y + sc, legend[2], (x, y, s) => fillRect(out, x, y + (s >> 1) - 1, s, 2, TILE_LINE), sc);
  return { image: out, panels: [{ x: px0, y: py, scale }, { x: px1, y: py, scale }], labels };
}

function tintBox(img: RgbImage, x: number, y: number, s: number): void {
  tint(img.data, img.width, { y0: y, y1: y + s, x0: x, x1: x + s });
}
