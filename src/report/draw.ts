/**
 * A tiny raster drawing kit for the report PNGs and the bench charts: filled and stroked rectangles,
 * lines, text in the embedded 5×7 font (src/report/font.ts) scaled by an integer factor, and a colour
 * bar. Everything draws into an 8-bit RGB buffer (RgbImage) with integer coordinates and no
 * anti-aliasing, so the same inputs give the same bytes on every machine, with or without fonts.
 * Drawing outside the image is clipped.
 */
import type { RgbImage } from '../io/image';
import { CELL_H, CELL_W, GLYPH_H, GLYPH_W, glyph, toFontText } from './font';

export type Rgb = readonly [number, number, number];

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];
export const GREY: Rgb = [110, 110, 110];
/** The tint of dropped tokens in the overlay (blended 55 % over the image). */
export const DROP_RED: Rgb = [255, 0, 0];

/** A blank image filled with `bg`. */
export function blank(width: number, height: number, bg: Rgb = WHITE): RgbImage {
  const img = { width, height, data: new Uint8Array(width * height * 3) };
  fillRect(img, 0, 0, width, height, bg);
  return img;
}

export function setPixel(img: RgbImage, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  img.data.set(c, (y * img.width + x) * 3);
}

export function getPixel(img: RgbImage, x: number, y: number): Rgb {
  const o = (y * img.width + x) * 3;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
}

/** Fills [x, x + w) × [y, y + h). */
export function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, c: Rgb): void {
  const x0 = Math.max(0, Math.round(x)), x1 = Math.min(img.width, Math.round(x + w)), y0 = Math.max(0, Math.round(y)), y1 = Math.min(img.height, Math.round(y + h));
  const d = img.data, [r, g, b] = c;
  for (let yy = y0; yy < y1; yy++) {
    for (let o = (yy * img.width + x0) * 3, end = (yy * img.width + x1) * 3; o < end; o += 3) { d[o] = r; d[o + 1] = g; d[o + 2] = b; }
  }
}

/** A frame of thickness t drawn inside [x, x + w) × [y, y + h). */
export function strokeRect(img: RgbImage, x: number, y: number, w: number, h: number, c: Rgb, t = 1): void {
  fillRect(img, x, y, w, t, c);
  fillRect(img, x, y + h - t, w, t, c);
  fillRect(img, x, y, t, h, c);
  fillRect(img, x + w - t, y, t, h, c);
}

/**
 * A line from (x0, y0) to (x1, y1) (Bresenham), each point a t×t square; `dash` = [on, off] in steps.
 */
export function line(img: RgbImage, x0: number, y0: number, x1: number, y1: number, c: Rgb, t = 1, dash?: readonly [number, number]): void {
  x0 = Math.round(x0); y0 = Math.round(y0); x1 = Math.round(x1); y1 = Math.round(y1);
  const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  let err = dx + dy, step = 0;
  const off = Math.floor((t - 1) / 2);
  for (;;) {
    if (!dash || step % (dash[0] + dash[1]) < dash[0]) fillRect(img, x0 - off, y0 - off, t, t, c);
    if (x0 === x1 && y0 === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) { err += dy; x0 += sx; }
    if (e2 <= dx) { err += dx; y0 += sy; }
    step++;
  }
}

/** Width in pixels of `s` at `scale` (no spacing after the last character). */
export function textWidth(s: string, scale = 2): number {
  s = toFontText(s);
  return s.length === 0 ? 0 : (s.length * CELL_W - (CELL_W - GLYPH_W)) * scale;
}

/** Height in pixels of one line of text at `scale` (glyph height; line advance is CELL_H·scale). */
export function textHeight(scale = 2): number {
  return GLYPH_H * scale;
}

export type Align = 'left' | 'center' | 'right';

/** Splits `s` at spaces into lines no wider than maxWidth at `scale` (a single long word stays whole). */
export function wrapText(s: string, maxWidth: number, scale = 2): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of s.split(' ')) {
    const next = cur ? `${cur} ${w}` : w;
    if (cur && textWidth(next, scale) > maxWidth) { lines.push(cur); cur = w; } else cur = next;
  }
  if (cur) lines.push(cur);
  return lines;
}

/**
 * Draws one line of text with its top edge at y; x is the left edge, the centre or the right edge
 * according to `align`. Each font pixel becomes a scale×scale square. Returns the text width.
 */
export function drawText(img: RgbImage, x: number, y: number, s: string, c: Rgb = BLACK, scale = 2, align: Align = 'left'): number {
  s = toFontText(s);
  const w = textWidth(s, scale);
  const left = Math.round(align === 'left' ? x : align === 'center' ? x - w / 2 : x - w);
  for (let k = 0; k < s.length; k++) {
    const g = glyph(s[k]);
    const gx = left + k * CELL_W * scale;
    for (let gy = 0; gy < GLYPH_H; gy++) {
      for (let gxx = 0; gxx < GLYPH_W; gxx++) if (g[gy * GLYPH_W + gxx]) fillRect(img, gx + gxx * scale, y + gy * scale, scale, scale, c);
    }
  }
  return w;
}

/**
 * Text rotated 90° counter-clockwise (reads bottom to top, for a y-axis title), centred on (cx, cy).
 */
export function drawTextUp(img: RgbImage, cx: number, cy: number, s: string, c: Rgb = BLACK, scale = 2): void {
  const w = textWidth(s, scale), h = textHeight(scale);
  const tmp = blank(w, h, WHITE);
  drawText(tmp, 0, 0, s, BLACK, scale);
  const x0 = Math.round(cx - h / 2), y0 = Math.round(cy + w / 2);
  // tmp pixel (u, v) goes to (x0 + v, y0 − u)
  for (let v = 0; v < h; v++) for (let u = 0; u < w; u++) if (tmp.data[(v * w + u) * 3] === 0) setPixel(img, x0 + v, y0 - 1 - u, c);
}

/** Copies `src` into `dst` with its top-left corner at (x, y), each source pixel as a scale×scale block. */
export function blit(dst: RgbImage, src: RgbImage, x: number, y: number, scale = 1): void {
  for (let dy = Math.max(0, y); dy < Math.min(dst.height, y + src.height * scale); dy++) {
    const sy = Math.floor((dy - y) / scale);
    for (let dx = Math.max(0, x); dx < Math.min(dst.width, x + src.width * scale); dx++) {
      const o = (sy * src.width + Math.floor((dx - x) / scale)) * 3, q = (dy * dst.width + dx) * 3;
      dst.data[q] = src.data[o]; dst.data[q + 1] = src.data[o + 1]; dst.data[q + 2] = src.data[o + 2];
    }
  }
}

/** A colour map: t ∈ [0, 1] → RGB. */
export type ColorMap = (t: number) => Rgb;

/**
 * A horizontal colour bar in [x, x + w) × [y, y + h) (column i has colour cmap(i / (w − 1)), so the
 * first column is cmap(0) and the last cmap(1)), framed in grey, with a tick and a label below it for
 * each `ticks` entry (t ∈ [0, 1] along the bar). Returns the total height drawn (bar + ticks + labels).
 */
export function colorBar(img: RgbImage, x: number, y: number, w: number, h: number, cmap: ColorMap,
  ticks: ReadonlyArray<{ readonly t: number; readonly label: string }>, scale = 2): number {
  for (let i = 0; i < w; i++) fillRect(img, x + i, y, 1, h, cmap(w > 1 ? i / (w - 1) : 0));
  strokeRect(img, x - 1, y - 1, w + 2, h + 2, GREY);
  for (const { t, label } of ticks) {
    const tx = x + Math.round(t * (w - 1));
    fillRect(img, tx, y + h + 1, 1, 2 * scale, BLACK);
    const tw = textWidth(label, scale);
    // keep the end labels inside the bar's span
    const lx = Math.min(Math.max(tx - tw / 2, x), x + w - tw);
    drawText(img, lx, y + h + 3 * scale, label, BLACK, scale);
  }
  return h + 3 * scale + textHeight(scale);
}

/** A legend entry: a small swatch (drawn by `swatch` into a s×s box) followed by its label. Returns the width used. */
export function legendItem(img: RgbImage, x: number, y: number, label: string, swatch: (x: number, y: number, s: number) => void, scale = 2): number {
  const s = textHeight(scale) + 2 * scale;
  swatch(x, y - scale, s);
  return s + 3 * scale + drawText(img, x + s + 3 * scale, y, label, BLACK, scale);
}
