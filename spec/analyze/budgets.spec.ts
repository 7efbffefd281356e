/**
 * src/analyze/budgets.ts (AN-5): HERO's stage 1 re-run over the τ_v × τ_t grid. The cell at a golden's own
 * temperatures must give back the authors' code's budgets and kept tile tokens exactly (HF v4.45.1 +
 * the authors' HERO code on the tiny models, spec/fixtures/cases/hero_*), and the summaries have the
 * properties their definitions promise.
 */
import fc from 'fast-check';
import { budgetGrid, budgetStats, heroTileKeep, TAU_GRID, type BudgetInputs } from '../../src/analyze/budgets';
import { loadCase } from '../util/fixtures';
import { HERO_CASES, heroCaseInputs } from '../util/golden_traces';

function inputsOf(name: string): { inp: BudgetInputs; tauV: number; tauT: number; budgets: number[]; tileKeep: number[] } {
  const gc = loadCase(name);
  const { opts } = heroCaseInputs(gc);
  const [K, N] = gc.shape('hero.tile_scores');
  const scores = gc.floats('hero.tile_scores'), valid = gc.numbers('hero.valid_mask');
  const validMask = Array.from({ length: K }, (_, k) => Uint8Array.from(valid.slice(k * N, (k + 1) * N)));
  return {
    inp: {
      clsSimilarity: gc.floats('hero.cls_similarity'), clipScore: gc.floats('hero.clip_similarity'),
      validCounts: validMask.map((m) => m.reduce((a, b) => a + b, 0)), validMask,
      tileScores: validMask.map((_, k) => scores.subarray(k * N, (k + 1) * N)),
      N, ratio: opts.ratio, alpha: opts.alpha, densityWeight: opts.densityWeight,
    },
    tauV: opts.tauV, tauT: opts.tauT, budgets: gc.numbers('hero.budgets'), tileKeep: gc.numbers('hero.tile_keep'),
  };
}

describe('AN-5 · budgets over the τ grid vs the HERO goldens (authors\' code on the tiny models)', () => {
  it.each(HERO_CASES())('%s: the cell at the case\'s (τ_v, τ_t) gives its budgets and kept tile tokens exactly', async (name) => {
    const c = inputsOf(name);
    const r = await heroTileKeep(c.inp, c.tauV, c.tauT);
    expect(r.budgets).toEqual(c.budgets);
    expect(r.keep.flatMap((m) => Array.from(m))).toEqual(c.tileKeep);
    const grid = await budgetGrid(c.inp, TAU_GRID, { tauV: c.tauV, tauT: c.tauT });
    expect(grid).toHaveLength(25);
    const self = grid.find((g) => g.tauV === c.tauV && g.tauT === c.tauT);
    if (self) expect([self.budgets, self.changedTokens]).toEqual([c.budgets, 0]);
    for (const g of grid) {
      expect(g.budgets.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(Math.trunc(c.inp.validCounts.length * c.inp.N * c.inp.ratio));
      expect(g.zeroTiles).toBe(g.budgets.filter((b) => b === 0).length);
    }
  });
});

describe('AN-5 · budget statistics', () => {
  it('entropy is 0 for one tile, ln K for equal budgets, within [0, ln K]; the largest share ≥ 1/K', () => {
    expect(budgetStats([0, 10, 0])).toEqual({ entropy: -0, maxShare: 1, zeroTiles: 2 });
    expect(budgetStats([5, 5, 5, 5]).entropy).toBeCloseTo(Math.log(4), 12);
    expect(Number.isNaN(budgetStats([0, 0]).entropy)).toBe(true);
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 12 }).filter((b) => b.some((x) => x > 0)), (b) => {
      const s = budgetStats(b);
      expect(s.entropy).toBeGreaterThanOrEqual(-1e-12);
      expect(s.entropy).toBeLessThanOrEqual(Math.log(b.length) + 1e-12);
      expect(s.maxShare).toBeGreaterThanOrEqual(1 / b.length - 1e-12);
    }));
  });
});
