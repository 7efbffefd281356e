/**
 * attention_maps.png: each map is min–max scaled (its lowest token the colour map's start, its highest the
 * end) and lands in its (layer, crop) cell, rows and columns carry labels, the maps HERO reads are framed
 * only when asked, and the picture is deterministic.
 */
import { cropName, heat, MARK, renderAttentionMaps } from '../../src/report/attention_maps';
import { getPixel } from '../../src/report/draw';
import type { RgbImage } from '../../src/io/image';

const G = 4, P = 3;
/** Layer l, crop p: token k has value k·(p + 1) + l (a raster ramp: token 0 is the min, token G²−1 the max). */
const maps = [0, 1].map((layer) => ({ layer, maps: Float32Array.from({ length: P * G * G }, (_, i) => (i % (G * G)) * (1 + Math.floor(i / (G * G))) + layer) }));
const same = (img: RgbImage, x: number, y: number, c: readonly number[]): boolean => getPixel(img, x, y).every((v, i) => v === c[i]);
const inkIn = (img: RgbImage, x0: number, y0: number, x1: number, y1: number): number => {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (img.data[(y * img.width + x) * 3] < 128) n++;
  return n;
};

describe('renderAttentionMaps', () => {
  it('names the crops thumbnail, then tile r,c row-major', () => {
    expect([0, 1, 2, 3, 4].map((p) => cropName(p, 2))).toEqual(['thumbnail', 'tile 0,0', 'tile 0,1', 'tile 1,0', 'tile 1,1']);
  });

  it('draws each map in its cell scaled to its own min..max: top-left token at the start of the colour map, bottom-right at the end', () => {
    const { image, cell, cells } = renderAttentionMaps(maps, P, G, { grid: [1, 2] });
    const k = cell / G;
    for (const row of cells) for (const [x, y] of row) {
      expect(same(image, x, y, heat(0))).toBe(true);
      expect(same(image, x + cell - 1, y + cell - 1, heat(1))).toBe(true);
      // token (1, 0) = value G of G²−1 after scaling
      expect(getPixel(image, x, y + k)).toEqual(heat(G / (G * G - 1)));
    }
  });

  it('labels every row on the left and every column above, and frames only the marked maps', () => {
    const plain = renderAttentionMaps(maps, P, G, { grid: [1, 2] });
    const { image, cells, cell } = plain;
    for (const [x, y] of cells.map((r) => r[0])) expect(inkIn(image, 0, y, x - 4, y + cell)).toBeGreaterThan(20);   // "layer l"
    for (const [x, y] of cells[0]) expect(inkIn(image, x, y - 24, x + cell, y - 2)).toBeGreaterThan(20);             // crop name
    const hasMark = (img: RgbImage): boolean => { for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (same(img, x, y, MARK)) return true; return false; };
    expect(hasMark(image)).toBe(false);
    const marked = renderAttentionMaps(maps, P, G, { grid: [1, 2], marks: [{ layers: [1], crops: [2], label: 'read by HERO-6' }] });
    const [x, y] = marked.cells[1][2];
    expect(getPixel(marked.image, x - 2, y + 5)).toEqual(MARK);     // frame left of layer 1, crop 2
    expect(getPixel(marked.image, x + cell + 1, y + 5)).toEqual(MARK);
    const [x0, y0] = marked.cells[0][2];
    expect(getPixel(marked.image, x0 - 2, y0 + 5)).not.toEqual(MARK); // layer 0 not marked
  });

  it('is deterministic', () => {
    const render = () => renderAttentionMaps(maps, P, G, { grid: [1, 2], averaged: { rowLabel: 'avg', label: 'avg', maps: [maps[0].maps.subarray(0, 16), null, null] } }).image;
    expect(Buffer.from(render().data).equals(Buffer.from(render().data))).toBe(true);
  });
});
