/**
 * The one raster walk and the one region → per-tile mask rule, against the tensor stitching of LLaVA-NeXT
 * packing (stitchTiles: reshape + transpose, an independent formulation of the same grid).
 */
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { rasterWalk, tileMasksInside } from '../../src/llava/grid';
import { stitchTiles } from '../../src/llava/pack';

const arb = fc.record({ rows: fc.integer({ min: 1, max: 3 }), cols: fc.integer({ min: 1, max: 3 }), G: fc.integer({ min: 1, max: 4 }) })
  .chain((s) => fc.record({
    s: fc.constant(s),
    top: fc.integer({ min: 0, max: s.rows * s.G }), bottom: fc.integer({ min: 0, max: s.rows * s.G }),
    left: fc.integer({ min: 0, max: s.cols * s.G }), right: fc.integer({ min: 0, max: s.cols * s.G }),
  }));

/** The stitched grid of token labels (1 + tile)·N + local, as LLaVA-NeXT's packing lays it out. */
function stitchedLabels(rows: number, cols: number, G: number): number[][] {
  const N = G * G, K = rows * cols;
  const grid = tf.tidy(() => stitchTiles(tf.tensor3d(Array.from({ length: K * N }, (_, i) => N + i), [K, N, 1]), [rows, cols], G));
  const out = (grid.arraySync() as number[][][]).map((r) => r.map((c) => c[0]));
  grid.dispose();
  return out;
}

describe('rasterWalk', () => {
  it('visits the stitched grid row by row: (tile, local) of each cell, rowEnd after each grid row', () => {
    fc.assert(fc.property(arb, ({ s: { rows, cols, G } }) => {
      const N = G * G;
      const seq: number[] = [];
      rasterWalk([rows, cols], G, (tile, local) => seq.push((1 + tile) * N + local), () => seq.push(-1));
      const want = stitchedLabels(rows, cols, G).flatMap((row) => [...row, -1]);
      expect(seq).toEqual(want);
    }), { numRuns: 60 });
  });
});

describe('tileMasksInside', () => {
  it('marks exactly the cells of the stitched grid inside the cut rectangle, per tile, with counts', () => {
    fc.assert(fc.property(arb, ({ s: { rows, cols, G }, top, bottom, left, right }) => {
      const N = G * G;
      const { masks, counts } = tileMasksInside([rows, cols], G, { top, bottom, left, right });
      const grid = stitchedLabels(rows, cols, G);
      const inside = new Set<number>();
      grid.forEach((row, y) => row.forEach((label, x) => {
        if (y >= top && y < rows * G - bottom && x >= left && x < cols * G - right) inside.add(label);
      }));
      expect(masks.length).toBe(rows * cols);
      masks.forEach((m, k) => {
        expect(Array.from(m)).toEqual(Array.from({ length: N }, (_, j) => (inside.has((1 + k) * N + j) ? 1 : 0)));
        expect(counts[k]).toBe(m.reduce((a, b) => a + b, 0));
      });
      expect(counts.reduce((a, b) => a + b, 0)).toBe(inside.size);
    }), { numRuns: 60 });
  });
});
