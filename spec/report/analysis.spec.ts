/**
 * src/report/analysis.ts: the analysis figures put each value where it belongs (heatmap cells coloured by
 * their value, the split drawn between the right layers), images shrink but never grow, a tile's box covers
 * its part of the image, and the page escapes text and fetches nothing.
 */
import { fitImage, renderAnalysisHtml, renderSimilarityHeatmap, short, tileRect } from '../../src/report/analysis';
import { heat } from '../../src/report/attention_maps';
import { getPixel, WHITE } from '../../src/report/draw';

describe('analysis figures', () => {
  it('heatmap: the max cell has heat(1), the min cell heat(0), the split line is white between layers s*−1 and s*', () => {
    const L = 4, S = Float64Array.from([1, 0.2, 0.1, 0.1, 0.2, 1, 0.3, 0.2, 0.1, 0.3, 1, 0.9, 0.1, 0.2, 0.9, 1]);
    const img = renderSimilarityHeatmap(S, L, { title: 't', subtitle: 's', split: 2 });
    // find the grid: the first row of pixels coloured heat(1) on the diagonal
    const hot = heat(1), cold = heat(0);
    let x0 = -1, y0 = -1;
    for (let y = 0; y < img.height && x0 < 0; y++) for (let x = 0; x < img.width; x++) if (getPixel(img, x, y).join() === hot.join()) { x0 = x; y0 = y; break; }
    expect(x0).toBeGreaterThan(0);
    const cell = Math.floor(480 / L);
    expect(getPixel(img, x0 + 2 * cell + cell / 2, y0 + cell / 2)).toEqual(cold);          // S[0, 2] = 0.1, the min
    expect(getPixel(img, x0 + 3 * cell + cell / 2, y0 + 3 * cell + cell / 2)).toEqual(hot); // S[3, 3] = 1, the max
    // the vertical split line at x0 + 2·cell (dashed: some pixel along it is white)
    const col = Array.from({ length: L * cell }, (_, k) => getPixel(img, x0 + 2 * cell, y0 + k).join());
    expect(col).toContain(WHITE.join());
  });

  it('fitImage shrinks to fit and never enlarges', () => {
    const img = { width: 100, height: 50, data: new Uint8Array(100 * 50 * 3).fill(7) };
    expect(fitImage(img, 40, 40).image.width).toBe(40);
    expect(fitImage(img, 40, 40).image.height).toBe(20);
    expect(fitImage(img, 400, 400).scale).toBe(1);
  });

  it('tileRect: the tiles of a 2×2 grid cover the image, padding-only tiles are null', () => {
    const pins = [[112, 112], [56, 112], [112, 56]] as const;
    const rects = [0, 1].flatMap((r) => [0, 1].map((c) => tileRect(r, c, 4, 56, [80, 70], pins)!));
    expect(Math.min(...rects.map((t) => t.y0))).toBe(0);
    expect(Math.max(...rects.map((t) => t.y1))).toBe(80);
    expect(Math.max(...rects.map((t) => t.x1))).toBe(70);
    expect(tileRect(1, 0, 4, 56, [30, 100], [[56, 112]])).toBeNull(); // a 1×2 canvas has no row 1
  });

  it('short labels and a page that escapes its text and has no script', () => {
    expect([short(0.123456), short(1234.5), short(0)]).toEqual(['0.123', '1.23e+3', '0']);
    const html = renderAnalysisHtml('a <b>', 'i', [{ id: 's', heading: 'x & y', html: '<p>ok</p>' }]);
    expect(html).toContain('<title>a &lt;b&gt;</title>');
    expect(html).toContain('x &amp; y');
    expect(html).not.toMatch(/<script|https?:/);
  });
});
