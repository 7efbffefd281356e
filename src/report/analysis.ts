/**
 * The figures and pages of the `analyze` commands (docs/analyses.md): the layer × layer similarity heatmap
 * (paper Fig. 2), a grid of every layer's CLS map for one crop (Appendix D), the tile scores drawn on the
 * image (Fig. 1), the two token sets drawn on the image (Table 2), and one self-contained HTML page per
 * command. Bitmaps with the embedded font (draw.ts), colours from attention_maps.ts `heat`.
 */
import type { RgbImage } from '../io/image';
import { CELL_H } from './font';
import { BLACK, GREY, WHITE, blank, blit, colorBar, drawText, drawTextUp, fillRect, line, strokeRect, textWidth, type Rgb } from './draw';
import { drawMap, heat } from './attention_maps';
import { thumbnailTokenRect, tileTokenRect, TILE_LINE, type Rect } from './overlay';
import { escapeHtml, pngUri, STYLE } from './html';

const SC = 2, LINE_H = CELL_H * SC + 4, M = 16;

/** A short number for labels: 3 significant digits. */
export function short(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.001) ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

/** What a heatmap's axes and scale say. */
export interface HeatmapLabels {
  readonly title: string;
  readonly subtitle: string;
  /** one label per row and per column (every k-th drawn when there are more than 24) */
  readonly rowLabels: readonly string[];
  readonly colLabels: readonly string[];
  readonly xTitle: string;
  readonly yTitle: string;
  /** what the colour shows, for the line above the colour bar */
  readonly scaleText: string;
  /** a split drawn as dashed lines before row and column `split` */
  readonly split?: number;
  /** cell text (e.g. the value) drawn in each cell when the cells are large enough */
  readonly cellText?: (r: number, c: number) => string;
}

/**
 * A labelled heatmap of a rows × cols matrix: each cell coloured min..max of the finite values (NaN grey),
 * the labels on both axes, an optional split, and a colour bar labelled with the values.
 * @param values [rows·cols] row-major
 */
export function renderHeatmap(values: ArrayLike<number>, rows: number, cols: number, opts: HeatmapLabels): RgbImage {
  const cell = Math.max(6, Math.floor(480 / Math.max(rows, cols)));
  const every = (n: number): number => (n <= 24 ? 1 : Math.ceil(n / 24));
  const labelW = Math.max(...opts.rowLabels.map((l) => textWidth(l, SC))) + 8;
  const gx = M + LINE_H + labelW, gy = M + 3 * LINE_H;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < rows * cols; i++) if (Number.isFinite(values[i])) { lo = Math.min(lo, values[i]); hi = Math.max(hi, values[i]); }
  const barY = gy + rows * cell + LINE_H + 12;
  const W = Math.max(gx + cols * cell + M, 2 * M + Math.max(textWidth(opts.title, SC), textWidth(opts.subtitle, SC), textWidth(opts.scaleText, SC)));
  const out = blank(W, barY + LINE_H * 3 + M);
  drawText(out, M, M, opts.title, BLACK, SC);
  drawText(out, M, M + LINE_H, opts.subtitle, GREY, SC);
  const colSc = Math.max(...opts.colLabels.map((l) => textWidth(l, SC))) <= cell ? SC : 1;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = values[i * cols + j];
      const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
      fillRect(out, gx + j * cell, gy + i * cell, cell, cell, Number.isFinite(v) ? heat(t) : GREY);
      const txt = opts.cellText?.(i, j);
      if (txt && textWidth(txt, SC) + 4 <= cell) drawText(out, gx + j * cell + cell / 2, gy + i * cell + (cell - CELL_H * SC) / 2 + 2, txt, t > 0.6 ? BLACK : WHITE, SC, 'center');
    }
    if (i % every(rows) === 0) drawText(out, gx - 4, gy + i * cell + (cell - CELL_H * SC) / 2 + 2, opts.rowLabels[i], BLACK, SC, 'right');
  }
  for (let j = 0; j < cols; j += every(cols)) drawText(out, gx + j * cell + cell / 2, gy + rows * cell + 4, opts.colLabels[j], BLACK, colSc, 'center');
  drawText(out, gx + (cols * cell) / 2, gy - LINE_H, opts.xTitle, BLACK, SC, 'center');
  drawTextUp(out, M + CELL_H, gy + (rows * cell) / 2, opts.yTitle, BLACK, SC);
  strokeRect(out, gx - 1, gy - 1, cols * cell + 2, rows * cell + 2, GREY);
  if (opts.split !== undefined) {
    const at = opts.split * cell;
    line(out, gx + at, gy, gx + at, gy + rows * cell - 1, WHITE, 2, [6, 4]);
    line(out, gx, gy + at, gx + cols * cell - 1, gy + at, WHITE, 2, [6, 4]);
  }
  drawText(out, M, barY, `${opts.scaleText}, ${short(lo)} (min) .. ${short(hi)} (max)`, BLACK, SC);
  colorBar(out, M, barY + LINE_H, Math.min(360, W - 2 * M), 14, heat, [{ t: 0, label: short(lo) }, { t: 0.5, label: short((lo + hi) / 2) }, { t: 1, label: short(hi) }], SC);
  return out;
}

/** Pictures one under the other on white. */
export function stackImages(imgs: readonly RgbImage[]): RgbImage {
  const out = blank(Math.max(...imgs.map((i) => i.width)), imgs.reduce((a, i) => a + i.height, 0));
  let y = 0;
  for (const i of imgs) { blit(out, i, 0, y); y += i.height; }
  return out;
}

/**
 * Fig. 2: the layer × layer heatmap, S[l, m] at row l, column m, the layer indices on both axes, the split
 * s* drawn between layers s*−1 and s*.
 * @param S [L·L] row-major
 */
export function renderSimilarityHeatmap(S: ArrayLike<number>, L: number, opts: { title: string; subtitle: string; split?: number }): RgbImage {
  const idx = Array.from({ length: L }, (_, i) => String(i));
  return renderHeatmap(S, L, L, {
    ...opts, rowLabels: idx, colLabels: idx, xTitle: 'layer (0-based)', yTitle: 'layer (0-based)',
    scaleText: `colour: similarity${opts.split !== undefined ? `; dashed: split s* = ${opts.split}` : ''}`,
  });
}

/**
 * Every layer's CLS map of one crop in a grid (`cols` maps a row), each labelled with its layer and
 * min-max scaled on its own (paper Appendix D, Figs. 8–11).
 * @param maps L maps [G·G]
 */
export function renderLayerGrid(maps: readonly ArrayLike<number>[], layers: readonly number[], G: number, opts: { title: string; subtitle: string; cols?: number }): RgbImage {
  const cols = opts.cols ?? Math.min(6, maps.length);
  const rows = Math.ceil(maps.length / cols);
  const cell = G * Math.max(1, Math.ceil(96 / G)), gap = 12;
  const gy = M + 2 * LINE_H + 4;
  const W = Math.max(2 * M + cols * cell + (cols - 1) * gap, 2 * M + Math.max(textWidth(opts.title, SC), textWidth(opts.subtitle, SC)));
  const barY = gy + rows * (cell + LINE_H + gap) + 4;
  const out = blank(W, barY + LINE_H * 3 + M);
  drawText(out, M, M, opts.title, BLACK, SC);
  drawText(out, M, M + LINE_H, opts.subtitle, GREY, SC);
  maps.forEach((v, k) => {
    const x = M + (k % cols) * (cell + gap), y = gy + Math.floor(k / cols) * (cell + LINE_H + gap);
    drawText(out, x + cell / 2, y, `layer ${layers[k]}`, BLACK, SC, 'center');
    drawMap(out, v, G, x, y + LINE_H, cell);
  });
  drawText(out, M, barY, 'colour = (a - min) / (max - min) within each map', BLACK, SC);
  colorBar(out, M, barY + LINE_H, Math.min(360, W - 2 * M), 14, heat, [{ t: 0, label: '0 (min)' }, { t: 1, label: '1 (max)' }], SC);
  return out;
}

/** Nearest-neighbour resize to fit inside maxW × maxH (never enlarged); the scale factor. */
export function fitImage(img: RgbImage, maxW: number, maxH: number): { image: RgbImage; scale: number } {
  const scale = Math.min(1, maxW / img.width, maxH / img.height);
  const w = Math.max(1, Math.round(img.width * scale)), h = Math.max(1, Math.round(img.height * scale));
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(y / scale));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(x / scale)), o = (sy * img.width + sx) * 3;
      data.set(img.data.subarray(o, o + 3), (y * w + x) * 3);
    }
  }
  return { image: { width: w, height: h, data }, scale };
}

/** Where tile (r, c) lies in the original image: the union of its tokens that are not padding (null when all are). */
export function tileRect(r: number, c: number, G: number, S: number, imageSize: readonly [number, number], pinpoints: ReadonlyArray<readonly [number, number]>): Rect | null {
  let box: Rect | null = null;
  for (let i = 0; i < G; i++) {
    for (let j = 0; j < G; j++) {
      const t = tileTokenRect(r, c, i, j, G, S, imageSize, pinpoints);
      if (t) box = box ? { y0: Math.min(box.y0, t.y0), y1: Math.max(box.y1, t.y1), x0: Math.min(box.x0, t.x0), x1: Math.max(box.x1, t.x1) } : t;
    }
  }
  return box;
}

/**
 * Fig. 1: the image with its tile grid, each tile labelled with its lines of text (e.g. "CLS 0.91 (1.00)").
 * @param labels per tile, row-major
 */
export function renderTilesFigure(img: RgbImage, grid: readonly [number, number], G: number, S: number, pinpoints: ReadonlyArray<readonly [number, number]>,
  labels: readonly (readonly string[])[], opts: { title: string; subtitle: string }): RgbImage {
  const { image, scale } = fitImage(img, 720, 720);
  const gy = M + 2 * LINE_H + 4;
  const out = blank(Math.max(image.width + 2 * M, 2 * M + Math.max(textWidth(opts.title, SC), textWidth(opts.subtitle, SC))), gy + image.height + M);
  drawText(out, M, M, opts.title, BLACK, SC);
  drawText(out, M, M + LINE_H, opts.subtitle, GREY, SC);
  blit(out, image, M, gy);
  const [rows, cols] = grid;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const t = tileRect(r, c, G, S, [img.height, img.width], pinpoints);
      if (!t) continue;
      const x0 = M + Math.floor(t.x0 * scale), y0 = gy + Math.floor(t.y0 * scale);
      const w = Math.max(2, Math.floor((t.x1 - t.x0) * scale)), h = Math.max(2, Math.floor((t.y1 - t.y0) * scale));
      strokeRect(out, x0, y0, w, h, TILE_LINE, 2);
      const lines = [`tile ${r},${c}`, ...labels[r * cols + c]];
      const s = w >= 160 ? SC : 1, lh = CELL_H * s + 2;
      const bw = Math.min(w - 6, Math.max(...lines.map((l) => textWidth(l, s))) + 6);
      fillRect(out, x0 + 3, y0 + 3, bw, lines.length * lh + 4, WHITE);
      lines.forEach((l, i) => drawText(out, x0 + 6, y0 + 5 + i * lh, l, BLACK, s));
    }
  }
  return out;
}

const LOW: Rgb = [0, 80, 255], HIGH: Rgb = [230, 0, 120];

/**
 * Table 2: the thumbnail's two token sets on the image (the thumbnail is the whole image squashed to a
 * square, so token (i, j) covers the same fraction of it): left the low-layer set, middle the high-layer
 * set (other tokens dimmed), right both outlined (blue low, magenta high).
 */
export function renderTokenSets(img: RgbImage, lowKeep: ArrayLike<number>, highKeep: ArrayLike<number>, G: number,
  opts: { title: string; subtitle: string; lowLabel: string; highLabel: string }): RgbImage {
  const { image } = fitImage(img, 400, 400);
  const W = image.width, H = image.height, gap = 16, gy = M + 3 * LINE_H + 4;
  const panel = (keep: ArrayLike<number> | null): RgbImage => {
    const p = { width: W, height: H, data: Uint8Array.from(image.data) };
    for (let i = 0; i < G; i++) {
      for (let j = 0; j < G; j++) {
        const r = thumbnailTokenRect(i, j, G, H, W);
        if (keep && !keep[i * G + j]) {
          for (let y = r.y0; y < r.y1; y++) for (let x = r.x0; x < r.x1; x++) for (let ch = 0; ch < 3; ch++) { const o = (y * W + x) * 3 + ch; p.data[o] = Math.round(0.25 * p.data[o] + 0.75 * 40); }
        }
        if (!keep) {
          if (lowKeep[i * G + j]) strokeRect(p, r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0, LOW, 2);
          if (highKeep[i * G + j]) strokeRect(p, r.x0 + 2, r.y0 + 2, r.x1 - r.x0 - 4, r.y1 - r.y0 - 4, HIGH, 2);
        }
      }
    }
    return p;
  };
  const heads = [opts.lowLabel, opts.highLabel, 'both: blue low, magenta high'];
  const out = blank(Math.max(2 * M + 3 * W + 2 * gap, 2 * M + Math.max(textWidth(opts.title, SC), textWidth(opts.subtitle, SC))), gy + H + M);
  drawText(out, M, M, opts.title, BLACK, SC);
  drawText(out, M, M + LINE_H, opts.subtitle, GREY, SC);
  [panel(lowKeep), panel(highKeep), panel(null)].forEach((p, k) => {
    const x = M + k * (W + gap);
    drawText(out, x, gy - LINE_H, heads[k], k === 0 ? LOW : k === 1 ? HIGH : BLACK, W >= 300 ? SC : 1);
    blit(out, p, x, gy);
  });
  return out;
}

/** One section of an analysis page: text (HTML, already escaped) and PNGs. */
export interface PageSection {
  readonly id: string;
  readonly heading: string;
  readonly html: string;
  readonly images?: ReadonlyArray<{ readonly id: string; readonly png: Uint8Array; readonly alt: string }>;
}

/** A self-contained page (style and images inline, no script, nothing fetched). */
export function renderAnalysisHtml(title: string, intro: string, sections: readonly PageSection[]): string {
  const body = sections.map((s) => `<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.heading)}</h2>\n${s.html}\n${(s.images ?? [])
    .map((i) => `<p><img id="${escapeHtml(i.id)}" src="${pngUri(i.png)}" alt="${escapeHtml(i.alt)}"></p>`).join('\n')}</section>`).join('\n');
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    `<link rel="icon" href="data:,"><style>${STYLE}</style></head>\n<body><h1>${escapeHtml(title)}</h1>\n<p class="note">${intro}</p>\n${body}\n</body></html>\n`;
}
