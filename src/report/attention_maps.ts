/**
 * Per-layer CLS attention maps (paper Fig. 2 / 8–11 style): one G×G heat map per (layer, crop), rows =
 * vision layers, columns = crops (thumbnail first), each normalised to its own min–max. Labelled with
 * src/report/draw.ts: a title, the layer of each row, the crop of each column, a frame around the maps
 * a method reads (HERO: the high layers for the thumbnail, HERO-5; the low layers for the tiles, HERO-6),
 * an optional last row of the layer-averaged scores the method ranks tokens by, a legend and a colour bar.
 */
import type { RgbImage } from '../io/image';
import { CELL_H } from './font';
import { BLACK, GREY, blank, colorBar, drawText, legendItem, strokeRect, textWidth, type Rgb } from './draw';

/** A perceptual dark-blue → yellow ramp (viridis-like), t ∈ [0, 1]. */
export function heat(t: number): [number, number, number] {
  const stops: Array<[number, number, number]> = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(x)), f = x - k;
  return [0, 1, 2].map((c) => Math.round(stops[k][c] + f * (stops[k + 1][c] - stops[k][c]))) as [number, number, number];
}

/** Frame colour of the maps a method reads. */
export const MARK: Rgb = [230, 0, 120];

/** The name of crop p: the thumbnail, then the tiles row-major as "tile r,c"; a one-crop model's (LLaVA-1.5, no grid) "crop". */
export function cropName(p: number, cols: number): string {
  if (cols === 0) return 'crop';
  return p === 0 ? 'thumbnail' : `tile ${Math.floor((p - 1) / cols)},${(p - 1) % cols}`;
}

export interface AttentionMapLabels {
  /** Tile grid (rows, cols) to name the columns. */
  readonly grid: readonly [number, number];
  /** Maps to frame: vision layer → crop indices, with the legend text. */
  readonly marks?: ReadonlyArray<{ readonly layers: readonly number[]; readonly crops: readonly number[]; readonly label: string }>;
  /** An extra last row: per crop a [G·G] score map (e.g. HERO's layer-averaged scores), with its row label and legend text. */
  readonly averaged?: { readonly rowLabel: string; readonly label: string; readonly maps: ReadonlyArray<Float32Array | null> };
  readonly title?: string;
}

/** One G×G map into a cell×cell square at (x0, y0), min–max normalised over its finite values. */
export function drawMap(out: RgbImage, v: ArrayLike<number>, G: number, x0: number, y0: number, cell: number): void {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < G * G; i++) if (Number.isFinite(v[i])) { lo = Math.min(lo, v[i]); hi = Math.max(hi, v[i]); }
  const colors = Array.from({ length: G * G }, (_, k) => heat(hi > lo && Number.isFinite(v[k]) ? (v[k] - lo) / (hi - lo) : 0));
  for (let y = 0; y < cell; y++) {
    for (let x = 0; x < cell; x++) out.data.set(colors[Math.floor((y * G) / cell) * G + Math.floor((x * G) / cell)], ((y0 + y) * out.width + x0 + x) * 3);
  }
}

/** The picture and where its maps are: cells[r][p] = top-left corner of row r (layers, then the averaged row), crop p. */
export interface AttentionMapsPicture {
  readonly image: RgbImage;
  readonly cell: number;
  readonly cells: ReadonlyArray<ReadonlyArray<readonly [number, number]>>;
}

/**
 * @param maps per layer, the head-mean CLS→patch attention [P·N] (crop-major, raster order)
 * @param P crops, G patch grid side
 */
export function renderAttentionMaps(maps: ReadonlyArray<{ layer: number; maps: Float32Array }>, P: number, G: number,
  labels: AttentionMapLabels = { grid: [1, P - 1] }): AttentionMapsPicture {
  const sc = 2, lineH = CELL_H * sc + 4, m = 16, gap = 16;
  const cell = G * Math.max(1, Math.ceil(96 / G));
  const rowLabels = maps.map(({ layer }) => `layer ${layer}`);
  if (labels.averaged) rowLabels.push(labels.averaged.rowLabel);
  const labelW = Math.max(...rowLabels.map((s) => textWidth(s, sc))) + 12;
  const rows = rowLabels.length;
  const title = labels.title ?? 'CLS attention per vision layer (mean over heads)';
  const sub = 'rows: vision layer (0-based); columns: crop; each map scaled to its own min..max';
  const legendLines = [...(labels.marks ?? []).map((k) => k.label), ...(labels.averaged ? [labels.averaged.label] : [])];
  const gridX = m + labelW, headY = m + 2 * lineH + 4, gridY = headY + lineH;
  const extraGap = labels.averaged ? 2 * gap : 0;
  const gridW = P * cell + (P - 1) * gap, gridH = rows * cell + (rows - 1) * gap + extraGap;
  const barY = gridY + gridH + 16 + legendLines.length * lineH + lineH;
  const barW = Math.min(360, Math.max(200, gridW));
  const W = 2 * m + Math.max(labelW + gridW, textWidth(title, sc), textWidth(sub, sc), ...legendLines.map((s) => textWidth(s, sc) + 40));
  const H = barY + 14 + 3 * sc + CELL_H * sc + m;
  const out = blank(W, H);
  drawText(out, m, m, title, BLACK, sc);
  drawText(out, m, m + lineH, sub, GREY, sc);
  const colX = (p: number): number => gridX + p * (cell + gap);
  const rowY = (r: number): number => gridY + r * (cell + gap) + (labels.averaged && r === rows - 1 ? extraGap : 0);
  for (let p = 0; p < P; p++) drawText(out, colX(p) + cell / 2, headY, cropName(p, labels.grid[1]), BLACK, sc, 'center');
  maps.forEach(({ maps: v }, r) => {
    drawText(out, gridX - 12, rowY(r) + cell / 2 - sc * 3, rowLabels[r], BLACK, sc, 'right');
    for (let p = 0; p < P; p++) drawMap(out, v.subarray(p * G * G, (p + 1) * G * G), G, colX(p), rowY(r), cell);
  });
  if (labels.averaged) {
    const r = rows - 1;
    drawText(out, gridX - 12, rowY(r) + cell / 2 - sc * 3, rowLabels[r], MARK, sc, 'right');
    labels.averaged.maps.forEach((v, p) => { if (v) { drawMap(out, v, G, colX(p), rowY(r), cell); strokeRect(out, colX(p) - 3, rowY(r) - 3, cell + 6, cell + 6, MARK, 2); } });
  }
  // Frames around the maps the method reads (drawn in the gap around each map).
  for (const k of labels.marks ?? []) {
    for (const l of k.layers) {
      const r = maps.findIndex((x) => x.layer === l);
      if (r >= 0) for (const p of k.crops) strokeRect(out, colX(p) - 3, rowY(r) - 3, cell + 6, cell + 6, MARK, 3);
    }
  }
  let ly = gridY + gridH + 16;
  for (const s of legendLines) {
    legendItem(out, m, ly, s, (x, y, w) => strokeRect(out, x, y, w, w, MARK, 3), sc);
    ly += lineH;
  }
  drawText(out, m, barY - lineH + 4, 'colour = (a - min) / (max - min) within each map', BLACK, sc);
  colorBar(out, m, barY + 4, barW, 14, heat, [{ t: 0, label: '0 (min)' }, { t: 0.5, label: '0.5' }, { t: 1, label: '1 (max)' }], sc);
  const cells = Array.from({ length: rows }, (_, r) => Array.from({ length: P }, (_, p) => [colX(p), rowY(r)] as const));
  return { image: out, cell, cells };
}
