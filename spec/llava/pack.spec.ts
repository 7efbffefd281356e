import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { stitchTiles, packImageFeatures, packedTileMasks, gatherWithNewline, NEWLINE_ROW } from '../../src/llava/pack';
import { anyresGridShape, numImageTokens, unpadRegion } from '../../src/llava/anyres';

const PINPOINTS: Array<[number, number]> = [[56, 112], [112, 56], [112, 112], [168, 56], [56, 168]];
const G = 4, S = 56;

/** Features whose value encodes where they came from: crop p, raster index j → 100·p + j. */
function labelled(P: number, N: number): tf.Tensor3D {
  return tf.tidy(() => tf.reshape(tf.add(tf.reshape(tf.mul(tf.range(0, P), 100), [P, 1]), tf.reshape(tf.range(0, N), [1, N])), [P, N, 1]) as tf.Tensor3D);
}

describe('LLaVA-2 · stitchTiles', () => {
  it('places tile k = r·cols + c, token (i, j) at grid row r·G + i, column c·G + j', () => {
    tf.tidy(() => {
      const rows = 2, cols = 3;
      const tiles = tf.slice(labelled(1 + rows * cols, G * G), [1, 0, 0], [-1, -1, -1]) as tf.Tensor3D; // labels 100..600
      const grid = stitchTiles(tiles, [rows, cols], G).arraySync() as number[][][];
      for (let y = 0; y < rows * G; y++) {
        for (let x = 0; x < cols * G; x++) {
          const k = Math.floor(y / G) * cols + Math.floor(x / G);
          expect(grid[y][x][0]).toBe(100 * (k + 1) + (y % G) * G + (x % G));
        }
      }
    });
  });
});

describe('LLaVA-3 AnyRes-2 · packImageFeatures', () => {
  it('length is N + h\'·w\' + h\' (the processor\'s token count) for any image size (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 400 }), (H, W) => {
      tf.tidy(() => {
        const grid = anyresGridShape([H, W], PINPOINTS, S);
        const P = 1 + grid[0] * grid[1];
        const packed = packImageFeatures(labelled(P, G * G), tf.fill([1], -1) as tf.Tensor1D, grid, G, [H, W]);
        expect(packed.shape[0]).toBe(numImageTokens([H, W], PINPOINTS, S, G));
        // The newline count equals the kept rows, and the masks keep exactly the non-newline tile tokens.
        const { masks, newlines } = packedTileMasks(grid, G, [H, W]);
        const values = Array.from(packed.dataSync());
        expect(values.filter((v) => v === -1).length).toBe(newlines);
        expect(masks.reduce((a, m) => a + m.reduce((x, y) => x + y, 0), 0)).toBe(packed.shape[0] - G * G - newlines);
        // the thumbnail comes first, whole and in raster order
        expect(values.slice(0, G * G)).toEqual(Array.from({ length: G * G }, (_, j) => j));
      });
    }), { numRuns: 60 });
  });

  it('drops exactly the unpadded rows of a wide image and ends every kept row with the newline', () => {
    tf.tidy(() => {
      // wide_h30_w100: grid 1×2 → 4×8 token grid; v4.45.1 keeps rows [1, 3) (new_h = int(30·8/100) = 2).
      const grid = anyresGridShape([30, 100], PINPOINTS, S);
      expect(grid).toEqual([1, 2]);
      expect(unpadRegion(4, 8, [30, 100])).toEqual({ top: 1, bottom: 1, left: 0, right: 0 });
      const packed = packImageFeatures(labelled(3, 16), tf.fill([1], -1) as tf.Tensor1D, grid, G, [30, 100]);
      const v = Array.from(packed.dataSync()).slice(16);
      // row 1 of the grid: tile 0 tokens 4..7, tile 1 tokens 4..7, newline; then row 2.
      expect(v).toEqual([104, 105, 106, 107, 204, 205, 206, 207, -1, 108, 109, 110, 111, 208, 209, 210, 211, -1]);
    });
  });
});

describe('gatherWithNewline (HERO and GlobalCom² layouts)', () => {
  it('row p·N + j is token j of crop p, NEWLINE_ROW the newline, in the order given', () => {
    const P = 2, N = 3, D = 2;
    const got = tf.tidy(() => {
      const projected = tf.tensor3d(Array.from({ length: P * N * D }, (_, i) => i), [P, N, D]);
      return Array.from(gatherWithNewline(projected, tf.tensor1d([-1, -2]), [4, NEWLINE_ROW, 0, 5, NEWLINE_ROW]).dataSync());
    });
    expect(got).toEqual([8, 9, -1, -2, 0, 1, 10, 11, -1, -2]);
  });
});
