/**
 * Line and bar charts with real axes (tick values, axis titles with units, a legend), drawn with
 * src/report/draw.ts into an RGB image: the bench charts (bench/charts.ts). No fonts, no SVG renderer, so
 * a chart is the same bytes on every machine.
 */
import type { RgbImage } from '../io/image';
import { CELL_H } from './font';
import { BLACK, GREY, blank, drawText, drawTextUp, fillRect, legendItem, line, textWidth, wrapText, type Rgb } from './draw';

export const SERIES_COLORS: readonly Rgb[] = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [255, 127, 14], [148, 103, 189]];
const GRID: Rgb = [225, 225, 225];

/** Tick values covering [lo, hi]: the step is the smallest 1, 2 or 5 × 10^k ≥ (hi − lo) / target. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.floor(lo / step + 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1] < hi - step * 1e-9) out.push(Number((out[out.length - 1] + step).toPrecision(12)));
  return out;
}

/** A tick label with just enough decimals for the step between ticks. */
export function tickLabel(v: number, step: number): string {
  const d = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(d);
}

export interface LineSeries {
  readonly label: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** per point [min, max], drawn as a vertical whisker */
  readonly ranges?: ReadonlyArray<readonly [number, number]>;
  readonly axis?: 'left' | 'right';
  readonly dashed?: boolean;
  readonly color?: Rgb;
}

export interface LineChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** title of the right axis, when a series uses it */
  readonly y2Label?: string;
  readonly series: readonly LineSeries[];
  /** x range (default: the data's, with the ticks around it) */
  readonly xRange?: readonly [number, number];
  readonly width?: number;
  readonly height?: number;
  /** a grey note under the title */
  readonly note?: string;
}

const SC = 2, LINE_H = CELL_H * SC + 4;

interface Frame { x0: number; y0: number; x1: number; y1: number }

/** Title, note, legend rows; returns the y where the plot may start. */
function header(img: RgbImage, title: string, note: string | undefined, legend: ReadonlyArray<{ label: string; swatch: (x: number, y: number, s: number) => void }>, m: number): number {
  let y = m;
  drawText(img, m, y, title, BLACK, SC);
  y += LINE_H;
  if (note) for (const l of wrapText(note, img.width - 2 * m, SC)) { drawText(img, m, y, l, GREY, SC); y += LINE_H; }
  let x = m;
  for (const it of legend) {
    const w = textWidth(it.label, SC) + 3 * SC + CELL_H * SC + 28;
    if (x + w > img.width - m && x > m) { x = m; y += LINE_H; }
    x += legendItem(img, x, y, it.label, it.swatch, SC) + 28;
  }
  return y + LINE_H + 8;
}

/** Left (or right) axis: tick marks, grid lines, tick labels; the axis title rotated alongside. */
function yAxis(img: RgbImage, f: Frame, ticks: number[], y: (v: number) => number, side: 'left' | 'right', title: string, grid: boolean): void {
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  let widest = 0;
  for (const t of ticks) {
    const yy = Math.round(y(t));
    if (grid) fillRect(img, f.x0 + 1, yy, f.x1 - f.x0 - 1, 1, GRID);
    const lab = tickLabel(t, step);
    widest = Math.max(widest, textWidth(lab, SC));
    if (side === 'left') { fillRect(img, f.x0 - 6, yy, 6, 1, BLACK); drawText(img, f.x0 - 10, yy - 7, lab, BLACK, SC, 'right'); } else { fillRect(img, f.x1, yy, 6, 1, BLACK); drawText(img, f.x1 + 10, yy - 7, lab, BLACK, SC); }
  }
  const cx = side === 'left' ? f.x0 - 18 - widest - 10 : f.x1 + 18 + widest + 10;
  drawTextUp(img, cx, (f.y0 + f.y1) / 2, title, BLACK, SC);
}

function frame(img: RgbImage, f: Frame): void {
  line(img, f.x0, f.y1, f.x1, f.y1, BLACK);
  line(img, f.x0, f.y0, f.x0, f.y1, BLACK);
}

/** A line chart: x numeric, one or two y axes (each from 0), markers at the points, optional min–max whiskers. */
export function lineChart(spec: LineChartSpec): RgbImage {
  const W = spec.width ?? 900, H = spec.height ?? 560, m = 16;
  const img = blank(W, H);
  const color = (s: LineSeries, i: number): Rgb => s.color ?? SERIES_COLORS[i % SERIES_COLORS.length];
  const legend = spec.series.map((s, i) => ({
    label: `${s.label}${s.axis === 'right' ? ' (right axis)' : ''}`,
    swatch: (x: number, y: number, w: number) => { line(img, x, y + w / 2, x + w, y + w / 2, color(s, i), 3, s.dashed ? [4, 3] : undefined); fillRect(img, x + w / 2 - 3, y + w / 2 - 3, 7, 7, color(s, i)); },
  }));
  const top = header(img, spec.title, spec.note, legend, m);
  const hasRight = spec.series.some((s) => s.axis === 'right');
  const allX = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const xTicks = niceTicks(spec.xRange?.[0] ?? Math.min(0, ...allX), spec.xRange?.[1] ?? Math.max(...allX), 5);
  const side = (a: 'left' | 'right'): LineSeries[] => spec.series.filter((s) => (s.axis ?? 'left') === a);
  const maxOf = (ss: LineSeries[]): number => Math.max(...ss.flatMap((s) => [...s.points.map((p) => p[1]), ...(s.ranges ?? []).map((r) => r[1])]));
  const yTicks = niceTicks(0, maxOf(side('left')), 5);
  const y2Ticks = hasRight ? niceTicks(0, maxOf(side('right')), 5) : [];
  const labW = (ts: number[]): number => Math.max(...ts.map((t) => textWidth(tickLabel(t, ts[1] - ts[0]), SC)));
  const f: Frame = { x0: m + 40 + labW(yTicks), y0: top, x1: W - m - (hasRight ? 40 + labW(y2Ticks) : 20), y1: H - m - 2 * LINE_H - 6 };
  const xs = (v: number): number => f.x0 + ((v - xTicks[0]) / (xTicks[xTicks.length - 1] - xTicks[0])) * (f.x1 - f.x0);
  const ysFor = (ts: number[]) => (v: number): number => f.y1 - (v / ts[ts.length - 1]) * (f.y1 - f.y0);
  const yL = ysFor(yTicks), yR = ysFor(y2Ticks);
  yAxis(img, f, yTicks, yL, 'left', spec.yLabel, true);
  if (hasRight) yAxis(img, f, y2Ticks, yR, 'right', spec.y2Label ?? '', false);
  const xStep = xTicks[1] - xTicks[0];
  for (const t of xTicks) {
    const xx = Math.round(xs(t));
    fillRect(img, xx, f.y1, 1, 6, BLACK);
    drawText(img, xx, f.y1 + 10, tickLabel(t, xStep), BLACK, SC, 'center');
  }
  drawText(img, (f.x0 + f.x1) / 2, f.y1 + 10 + LINE_H, spec.xLabel, BLACK, SC, 'center');
  frame(img, f);
  if (hasRight) line(img, f.x1, f.y0, f.x1, f.y1, BLACK);
  spec.series.forEach((s, i) => {
    const y = s.axis === 'right' ? yR : yL, c = color(s, i);
    for (let k = 1; k < s.points.length; k++) line(img, xs(s.points[k - 1][0]), y(s.points[k - 1][1]), xs(s.points[k][0]), y(s.points[k][1]), c, 3, s.dashed ? [10, 6] : undefined);
    s.points.forEach(([px, py], k) => {
      fillRect(img, Math.round(xs(px)) - 4, Math.round(y(py)) - 4, 9, 9, c);
      const r = s.ranges?.[k];
      if (r) { line(img, xs(px), y(r[0]), xs(px), y(r[1]), c, 1); fillRect(img, Math.round(xs(px)) - 5, Math.round(y(r[0])), 11, 1, c); fillRect(img, Math.round(xs(px)) - 5, Math.round(y(r[1])), 11, 1, c); }
    });
  });
  return img;
}

export interface BarChartSpec {
  readonly title: string;
  readonly yLabel: string;
  /** one label per bar within a group (the legend) */
  readonly seriesLabels: readonly string[];
  /** the groups along x; values[i] belongs to seriesLabels[i] (null = no bar) */
  readonly groups: ReadonlyArray<{ readonly label: string; readonly values: ReadonlyArray<{ readonly value: number; readonly min?: number; readonly max?: number } | null> }>;
  readonly xLabel?: string;
  readonly note?: string;
  /** the value printed above each bar */
  readonly valueLabel?: (v: number) => string;
  readonly width?: number;
  readonly height?: number;
}

/** Grouped vertical bars from 0, the value above each bar, min–max whiskers, a legend of the series. */
export function barChart(spec: BarChartSpec): RgbImage {
  const W = spec.width ?? 900, H = spec.height ?? 560, m = 16;
  const img = blank(W, H);
  const legend = spec.seriesLabels.map((label, i) => ({ label, swatch: (x: number, y: number, s: number) => fillRect(img, x, y, s, s, SERIES_COLORS[i % SERIES_COLORS.length]) }));
  const top = header(img, spec.title, spec.note, legend, m) + LINE_H; // room for the value labels
  const vals = spec.groups.flatMap((g) => g.values.flatMap((v) => (v ? [v.max ?? v.value, v.value] : [])));
  const yTicks = niceTicks(0, Math.max(...vals), 5);
  const labW = Math.max(...yTicks.map((t) => textWidth(tickLabel(t, yTicks[1] - yTicks[0]), SC)));
  const x0 = m + 40 + labW, x1 = W - m - 10;
  const gw = (x1 - x0) / spec.groups.length;
  // group labels wrapped to the group's width
  const groupLines = spec.groups.map((g) => wrapText(g.label, gw - 8, SC));
  const nLines = Math.max(...groupLines.map((l) => l.length));
  const f: Frame = { x0, y0: top, x1, y1: H - m - (nLines + (spec.xLabel ? 1 : 0)) * LINE_H - 6 };
  const y = (v: number): number => f.y1 - (v / yTicks[yTicks.length - 1]) * (f.y1 - f.y0);
  yAxis(img, f, yTicks, y, 'left', spec.yLabel, true);
  const n = Math.max(...spec.groups.map((g) => g.values.filter((v) => v).length));
  const bw = Math.floor((gw * 0.8) / n);
  const fmt = spec.valueLabel ?? ((v: number) => v.toPrecision(3));
  spec.groups.forEach((g, gi) => {
    // the bars present in this group, centred in it; the colour stays the series'
    const present = g.values.flatMap((v, i) => (v ? [{ v, i }] : []));
    const gx = f.x0 + gi * gw + (gw - bw * present.length) / 2;
    groupLines[gi].forEach((l, k) => drawText(img, f.x0 + (gi + 0.5) * gw, f.y1 + 10 + k * LINE_H, l, BLACK, SC, 'center'));
    present.forEach(({ v, i }, slot) => {
      const x = Math.round(gx + slot * bw), c = SERIES_COLORS[i % SERIES_COLORS.length];
      const yt = Math.round(y(v.value));
      fillRect(img, x + 2, yt, bw - 4, f.y1 - yt, c);
      if (v.min !== undefined && v.max !== undefined) {
        const cx = x + Math.floor(bw / 2);
        line(img, cx, y(v.min), cx, y(v.max), BLACK);
        fillRect(img, cx - 4, Math.round(y(v.min)), 9, 1, BLACK);
        fillRect(img, cx - 4, Math.round(y(v.max)), 9, 1, BLACK);
      }
      const top2 = Math.round(y(Math.max(v.value, v.max ?? v.value)));
      drawText(img, x + bw / 2, top2 - 4 - 7 * SC, fmt(v.value), BLACK, SC, 'center');
    });
  });
  if (spec.xLabel) drawText(img, (f.x0 + f.x1) / 2, f.y1 + 10 + nLines * LINE_H, spec.xLabel, BLACK, SC, 'center');
  frame(img, f);
  return img;
}
