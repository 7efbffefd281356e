/**
 * Bench charts: tick values are round numbers covering the data, tick labels carry just enough decimals,
 * and a chart draws its title, axis labels and legend (ink where they go) deterministically.
 */
import { barChart, lineChart, niceTicks, tickLabel } from '../../src/report/chart';
import type { RgbImage } from '../../src/io/image';

const inkIn = (img: RgbImage, x0: number, y0: number, x1: number, y1: number): number => {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (img.data[(y * img.width + x) * 3] < 128) n++;
  return n;
};

describe('niceTicks / tickLabel', () => {
  it('steps of 1, 2 or 5 × 10^k from below the low end to at least the high end', () => {
    expect(niceTicks(0, 38.37)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(0, 114.1)).toEqual([0, 50, 100, 150]); // step ≥ 114.1 / 5 = 22.8 → 50
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
  it('labels with the decimals of the step', () => {
    expect([tickLabel(0.4, 0.2), tickLabel(20, 20), tickLabel(0.25, 0.05)]).toEqual(['0.4', '20', '0.25']);
  });
});

describe('lineChart / barChart', () => {
  const line = () => lineChart({
    title: 'Prefill vs r', xLabel: 'retention ratio r', yLabel: 'prefill [s]', y2Label: 'TFLOPs', xRange: [0, 1],
    series: [{ label: 'measured', points: [[0.2, 26.7], [0.4, 48.6], [1, 114.1]], ranges: [[25, 27], [44, 49], [102, 114]] }, { label: 'analytic', axis: 'right', dashed: true, points: [[0.2, 7.7], [1, 38.4]] }],
    width: 600, height: 400,
  });
  it('puts ink in the title, left-axis, right-axis and x-axis label areas, and is deterministic', () => {
    const a = line();
    expect(inkIn(a, 0, 0, a.width, 20)).toBeGreaterThan(50);                  // title
    expect(inkIn(a, 0, 80, 60, a.height - 60)).toBeGreaterThan(100);          // y ticks + rotated title
    expect(inkIn(a, a.width - 60, 80, a.width, a.height - 60)).toBeGreaterThan(100); // right axis
    expect(inkIn(a, 60, a.height - 50, a.width - 60, a.height)).toBeGreaterThan(100); // x ticks + title
    expect(Buffer.from(a.data).equals(Buffer.from(line().data))).toBe(true);
  });
  it('a bar chart draws one bar per value in its series colour', () => {
    const img = barChart({ title: 't', yLabel: 's', seriesLabels: ['a', 'b'], groups: [{ label: 'g1', values: [{ value: 2 }, { value: 1 }] }, { label: 'g2', values: [{ value: 3 }, null] }], width: 400, height: 300 });
    let blue = 0, red = 0;
    for (let i = 0; i < img.width * img.height; i++) {
      const [r, g, b] = img.data.subarray(3 * i, 3 * i + 3);
      if (r === 31 && g === 119 && b === 180) blue++;
      if (r === 214 && g === 39 && b === 40) red++;
    }
    // series a: bars of heights 2 and 3 (+ legend swatch), series b: one bar of height 1 (+ swatch)
    expect(blue).toBeGreaterThan(red * 2);
    expect(red).toBeGreaterThan(0);
  });
});
