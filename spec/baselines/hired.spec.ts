
import fc from 'fast-check';
import { hired, hiredBudgets, thumbnailChunks } from '../../src/baselines/hired';
import { syntheticContext, disposeContext } from '../hero/synthetic';

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
  it('never exceeds the total budget, drops unpadded tokens, has no newline (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.double({ min: 0.1, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.9, noNaN: true }), fc.integer({ min: 1, max: 1e5 }),
      (rows, cols, r, alpha, seed) => {
        const ctx = syntheticContext({ rows, cols, G: 4, layers: 3, H: 30 * rows, W: 70 * cols, seed });
        try {
          let res;
          try { res = hired(ctx, { ratio: r, alpha }); } catch (e) { expect(String(e)).toMatch(/no thumbnail token is marked/); return; }
          const total = Math.floor((1 + rows * cols) * 16 * r);
          expect(res.features.shape[0]).toBeLessThanOrEqual(total);
          expect(res.features.shape[0]).toBe(res.keepMasks.reduce((a, m) => a + m.reduce((x, y) => x + y, 0), 0));
          expect(res.numNewlines).toBe(0);
          res.features.dispose();
          Object.values(res.tensors).forEach((t) => t.tensor.dispose());
        } finally {
          disposeContext(ctx);
        }
      }), { numRuns: 20 });
  });

  it('rejects α outside [0, 1) and r outside (0, 1]', () => {
    const ctx = syntheticContext({ rows: 1, cols: 2, G: 2, layers: 2, H: 10, W: 20, seed: 1 });
    expect(() => hired(ctx, { ratio: 0.2, alpha: 1 })).toThrow(/--alpha/);
    expect(() => hired(ctx, { ratio: 0, alpha: 0.5 })).toThrow(/--ratio/);
    disposeContext(ctx);
  });
});
