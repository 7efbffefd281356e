
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { hired, hiredArrangement, hiredBudgets, thumbnailChunks, type HiredOptions } from '../../src/baselines/hired';
import { unpadRegion } from '../../src/llava/anyres';
import type { VisualContext } from '../../src/llava/visual_context';
import type { PruneResult } from '../../src/methods/contract';
import { syntheticContext, disposeContext } from '../hero/synthetic';

/**
 * A 1×2-grid context by hand: G = 4 (N = 16), P = 3, one head, featureLayer 2 (so HiRED selects with layer 1
 * and distributes with layer 0); CLS→patch attention rows set per crop; projected[p, j] = 100p + j (D = 1).
 */
function handContext(budgetRows: number[][], selectRows: number[][], imageSize: [number, number]): VisualContext {
  return tf.tidy(() => {
    const layer = (rows: number[][]): tf.Tensor => {
      const b = tf.buffer([3, 1, 17, 17]);
      rows.forEach((row, p) => row.forEach((v, j) => b.set(v, p, 0, 0, 1 + j)));
      return b.toTensor();
    };
    const projected = tf.reshape(tf.add(tf.reshape(tf.mul(tf.range(0, 3), 100), [3, 1]), tf.reshape(tf.range(0, 16), [1, 16])), [3, 16, 1]);
    return {
      hiddenStates: [], attentions: [layer(budgetRows), layer(selectRows)], queries: [], keys: [], projected, imageNewline: tf.zeros([1]),
      imageSize, grid: [1, 2], patchGrid: 4, featureLayer: 2,
    } as unknown as tf.TensorContainer;
  }) as unknown as VisualContext;
}

async function runHand(ctx: VisualContext, opts: HiredOptions): Promise<{ order: number[]; keep: number[][]; budgets: number[] }> {
  const r: PruneResult = await hired(ctx, opts);
  try {
    return { order: Array.from(r.features.dataSync()), keep: r.keepMasks.map((m) => Array.from(m)), budgets: Array.from(r.tensors['hired.budgets'].tensor.dataSync()) };
  } finally {
    r.features.dispose();
    Object.values(r.tensors).forEach((t) => t.tensor.dispose());
  }
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const maskOf = (idx: number[]): number[] => range(0, 16).map((j) => (idx.includes(j) ? 1 : 0));

describe('HiRED-1 · budgets', () => {
  it('splits the thumbnail into horizontal bands as coded, or tile regions as published (hand-checked)', () => {
    // G = 4, 2×2 grid: bands are raster chunks of 4 (rows 0, 1, 2, 3); regions are 2×2 quadrants.
    expect(thumbnailChunks([2, 2], 4, 'as-coded')).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]);
    expect(thumbnailChunks([2, 2], 4, 'as-published')).toEqual([[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]);
  });

  it('total = ⌊n·N·r⌋, B_thumb = ⌊total·α⌋, tile shares ∝ marked tokens per chunk, floored (hand-checked)', () => {
    // N = 16, K = 4, r = 0.5: total = ⌊5·16·0.5⌋ = 40; α = 0.5 → B_thumb = min(20, 16) = 16; B_tiles = min(24, 64) = 24.
    // marked = top-⌊16·0.5⌋ = 8 thumbnail tokens by score: scores 15..0 descending over j → tokens 0..7 = bands 0, 1.
    const scores = Array.from({ length: 16 }, (_, j) => 16 - j);
    expect(hiredBudgets(scores, [2, 2], 4, 0.5, 0.5, 'as-coded')).toEqual({ thumb: 16, tiles: [12, 12, 0, 0] });
    // as published: tokens 0..7 cover quadrants 0 (0,1,4,5) and 1 (2,3,6,7) fully → the same shares here
    expect(hiredBudgets(scores, [2, 2], 4, 0.5, 0.5, 'as-published')).toEqual({ thumb: 16, tiles: [12, 12, 0, 0] });
    // marks in the left half: bands split 2/2/2/2 as coded, quadrants 4/0/4/0 as published
    const left = Array.from({ length: 16 }, (_, j) => (j % 4 < 2 ? 2 : 1));
    expect(hiredBudgets(left, [2, 2], 4, 0.5, 0.5, 'as-coded').tiles).toEqual([6, 6, 6, 6]);
    expect(hiredBudgets(left, [2, 2], 4, 0.5, 0.5, 'as-published').tiles).toEqual([12, 0, 12, 0]);
  });
});

describe('HiRED-2 · selection and packing', () => {
  // Layer 0 marks the left half of the thumbnail (score 2, else 1): 8 marked tokens, 4 in each horizontal band.
  const budgetRows = [range(0, 16).map((j) => (j % 4 < 2 ? 2 : 1)), range(0, 16).map(() => 0), range(0, 16).map(() => 0)];
  // Layer 1 selects: thumbnail 16 − j (prefers low j), tile 0 j (prefers high j), tile 1 16 − j.
  const selectRows = [range(0, 16).map((j) => 16 - j), range(0, 16).map((j) => j), range(0, 16).map((j) => 16 - j)];

  it('band split, selection, unpadding drop and layout, as coded: tiles stacked (cols, rows) (hand-checked)', async () => {
    // (H, W) = (60, 100), grid 1×2, r = 0.5, α = 0.5: total ⌊3·16·0.5⌋ = 24, B_thumb = 12, B_tiles = 12; bands
    // [0, 8) and [8, 16) hold 4 marked tokens each → b = [⌊0.5·12⌋, ⌊0.5·12⌋] = [6, 6]. Thumbnail keeps j 0…11,
    // tile 0 its top-6 j 10…15, tile 1 j 0…5. As coded the two tiles are stacked 2×1 (8×4 tokens): W/H = 1.67 >
    // 4/8 → new_h = ⌊60·4/100⌋ = 2, pad (8 − 2)//2 = 3 → only stitched rows 3, 4 survive = tile 0's row 3
    // (j 12…15) and tile 1's row 0 (j 0…3). Kept: tile 0 {12…15}, tile 1 {0…3}; read row by row.
    const ctx = handContext(budgetRows, selectRows, [60, 100]);
    try {
      const r = await runHand(ctx, { ratio: 0.5, alpha: 0.5 });
      expect(r.budgets).toEqual([12, 6, 6]);
      expect(r.keep).toEqual([maskOf(range(0, 12)), maskOf([12, 13, 14, 15]), maskOf([0, 1, 2, 3])]);
      expect(r.order).toEqual([...range(0, 12), 112, 113, 114, 115, 200, 201, 202, 203]);
    } finally {
      disposeContext(ctx);
    }
  });

  it('the corrected (rows, cols) stacking unpads columns instead (hand-checked)', async () => {
    // Stitched 4×8: W/H = 1.67 < 8/4 → new_w = ⌊100·4/60⌋ = 6, pad (8 − 6)//2 = 1 → columns 1…6 survive: tile 0
    // loses its column 0 (j 12 of its top-6 {10…15}), tile 1 its column 3 (j 3 of {0…5}).
    // Raster: row 0 → t1 j0, 1, 2; row 1 → t1 j4, 5; row 2 → t0 j10, 11; row 3 → t0 j13, 14, 15.
    const ctx = handContext(budgetRows, selectRows, [60, 100]);
    try {
      const r = await runHand(ctx, { ratio: 0.5, alpha: 0.5, gridOrientation: 'corrected' });
      expect(r.budgets).toEqual([12, 6, 6]);
      expect(r.keep).toEqual([maskOf(range(0, 12)), maskOf([10, 11, 13, 14, 15]), maskOf([0, 1, 2, 4, 5])]);
      expect(r.order).toEqual([...range(0, 12), 200, 201, 202, 204, 205, 110, 111, 113, 114, 115]);
      // as published, the marks all lie over tile 0's region: b = [12, 0]
      const pub = await runHand(ctx, { ratio: 0.5, alpha: 0.5, gridOrientation: 'corrected', bandSplit: 'as-published' });
      expect(pub.budgets).toEqual([12, 12, 0]);
      expect(pub.keep[2]).toEqual(maskOf([]));
      expect(pub.keep[1]).toEqual(maskOf([5, 6, 7, 9, 10, 11, 13, 14, 15])); // top-12 {4…15} minus column 0
    } finally {
      disposeContext(ctx);
    }
  });

  it('r = 1 selects nothing away: every token, then only the unpadding drop (hand-checked)', async () => {
    const ctx = handContext(budgetRows, selectRows, [60, 100]);
    try {
      const asCoded = await runHand(ctx, { ratio: 1, alpha: 0.5 });
      expect(asCoded.budgets).toEqual([16, 16, 16]);
      expect(asCoded.order).toEqual([...range(0, 16), 112, 113, 114, 115, 200, 201, 202, 203]);
      const corrected = await runHand(ctx, { ratio: 1, alpha: 0.5, gridOrientation: 'corrected' });
      expect(corrected.order.length).toBe(16 + 4 * 6);
      expect(corrected.keep[1]).toEqual(range(0, 16).map((j) => (j % 4 === 0 ? 0 : 1)));
      expect(corrected.keep[2]).toEqual(range(0, 16).map((j) => (j % 4 === 3 ? 0 : 1)));
    } finally {
      disposeContext(ctx);
    }
  });

  it('hiredArrangement swaps rows and columns as coded', () => {
    expect(hiredArrangement([1, 2], 'as-coded')).toEqual([2, 1]);
    expect(hiredArrangement([3, 1], 'as-coded')).toEqual([1, 3]);
    expect(hiredArrangement([3, 1], 'corrected')).toEqual([3, 1]);
  });

  it('never exceeds the total budget, keeps no token in the unpadded-away padding, has no newline (property, both stackings)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.double({ min: 0.1, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.9, noNaN: true }),
      fc.integer({ min: 10, max: 300 }), fc.integer({ min: 10, max: 300 }), fc.constantFrom('as-coded' as const, 'corrected' as const), fc.integer({ min: 1, max: 1e5 }),
      async (rows, cols, r, alpha, H, W, orientation, seed) => {
        const ctx = syntheticContext({ rows, cols, G: 4, layers: 3, H, W, seed });
        try {
          let res;
          try { res = await hired(ctx, { ratio: r, alpha, gridOrientation: orientation }); } catch (e) { expect(String(e)).toMatch(/no thumbnail token is marked/); return; }
          const total = Math.floor((1 + rows * cols) * 16 * r);
          expect(res.features.shape[0]).toBeLessThanOrEqual(total);
          expect(res.features.shape[0]).toBe(res.keepMasks.reduce((a, m) => a + m.reduce((x, y) => x + y, 0), 0));
          expect(res.numNewlines).toBe(0);
          // every kept tile token lies inside the region unpad_image keeps of the stitched (rows', cols') grid
          const [R, C] = orientation === 'as-coded' ? [cols, rows] : [rows, cols];
          const u = unpadRegion(R * 4, C * 4, [H, W]);
          res.keepMasks.slice(1).forEach((m, k) => m.forEach((v, j) => {
            if (!v) return;
            const y = Math.floor(k / C) * 4 + Math.floor(j / 4), x = (k % C) * 4 + (j % 4);
            expect(y >= u.top && y < R * 4 - u.bottom && x >= u.left && x < C * 4 - u.right).toBe(true);
          }));
          res.features.dispose();
          Object.values(res.tensors).forEach((t) => t.tensor.dispose());
        } finally {
          disposeContext(ctx);
        }
      }), { numRuns: 20 });
  });

  it('rejects α outside [0, 1) and r outside (0, 1]', async () => {
    const ctx = syntheticContext({ rows: 1, cols: 2, G: 2, layers: 2, H: 10, W: 20, seed: 1 });
    await expect(hired(ctx, { ratio: 0.2, alpha: 1 })).rejects.toThrow(/--alpha/);
    await expect(hired(ctx, { ratio: 0, alpha: 0.5 })).rejects.toThrow(/--ratio/);
    disposeContext(ctx);
  });
});
