/**
 * A proxy for Fig. 5 that needs no LLM: over the τ_v × τ_t grid, what HERO's stage 1 does to the tile
 * budgets and the kept tile tokens. Every step is HERO's own function (src/hero/: saliency, relevance,
 * density, importance, tokenBudgets, topKMask); this file only loops over the grid and summarises.
 */
import * as tf from '@tensorflow/tfjs-core';
import { topKMask } from '../core/topk';
import { saliency } from '../hero/saliency';
import { relevance } from '../hero/relevance';
import { density, importance, tokenBudgets } from '../hero/budget';

/** The paper's Fig. 5 grid: τ_v, τ_t ∈ {0.01, 0.03, 0.05, 0.07, 0.09}. */
export const TAU_GRID: readonly number[] = [0.01, 0.03, 0.05, 0.07, 0.09];

/** One image's inputs to HERO's stage 1 (host copies of HERO-1/2 inputs, HERO-D, HERO-6 scores). */
export interface BudgetInputs {
  /** c_k [K] (HERO-1's input) */
  readonly clsSimilarity: ArrayLike<number>;
  /** t_k [K] (HERO-2's input), or null: α is then taken as 1 (saliency only) */
  readonly clipScore: ArrayLike<number> | null;
  /** valid_k and the valid masks [K][N] (HERO-D) */
  readonly validCounts: readonly number[];
  readonly validMask: readonly Uint8Array[];
  /** the tile token scores [K][N] (HERO-6) */
  readonly tileScores: readonly ArrayLike<number>[];
  readonly N: number;
  readonly ratio: number;
  readonly alpha: number;
  readonly densityWeight: number;
}

/** One (τ_v, τ_t) cell. */
export interface BudgetCell {
  readonly tauV: number;
  readonly tauT: number;
  /** b_k (HERO-4) */
  readonly budgets: number[];
  /** H = −Σ p_k ln p_k of the shares p_k = b_k / Σ b (nats; 0 ln 0 = 0; NaN when Σ b = 0); at most ln K */
  readonly entropy: number;
  /** max_k p_k */
  readonly maxShare: number;
  /** tiles with b_k = 0 */
  readonly zeroTiles: number;
  /** kept tile tokens whose membership differs from the default cell's: |keep Δ keep_default| (the L1 distance of the 0/1 masks) */
  readonly changedTokens: number;
  /** changedTokens / Σ_k |keep_default,k| (0 when the default keeps none) */
  readonly changedFraction: number;
}

/** Entropy (nats), largest share and zero count of a budget vector.                          @eq AN-5 */
export function budgetStats(b: readonly number[]): { entropy: number; maxShare: number; zeroTiles: number } {
  const total = b.reduce((a, x) => a + x, 0);
  const p = b.map((x) => x / total);
  const entropy = total === 0 ? NaN : -p.reduce((a, x) => a + (x > 0 ? x * Math.log(x) : 0), 0);
  return { entropy, maxShare: total === 0 ? NaN : Math.max(...p), zeroTiles: b.filter((x) => x === 0).length };
}

/** HERO-1..4 and the tile selection for one (τ_v, τ_t): the budgets and the kept masks [K][N]. */
export async function heroTileKeep(inp: BudgetInputs, tauV: number, tauT: number): Promise<{ budgets: number[]; keep: Uint8Array[] }> {
  const K = inp.validCounts.length;
  const imp = tf.tidy(() => {
    const sal = saliency(tf.tensor1d(Float32Array.from(inp.clsSimilarity)), tauV);                       // [K]
    const rel = inp.clipScore ? relevance(tf.tensor1d(Float32Array.from(inp.clipScore)), tauT) : null;  // [K]
    const dens = density(tf.tensor1d([...inp.validCounts], 'float32'), inp.N);                                 // [K]
    return importance(sal, rel, dens, rel ? inp.alpha : 1, inp.densityWeight);                          // [K]
  });
  const impHost = await imp.data();
  imp.dispose();
  const { budgets } = tokenBudgets(impHost, inp.validCounts, inp.N, inp.ratio);
  const keep = Array.from({ length: K }, (_, k) => topKMask(inp.tileScores[k], budgets[k], inp.validMask[k], 'budgets analysis'));
  return { budgets, keep };
}

/**
 * The grid of Fig. 5's proxy: every (τ_v, τ_t) ∈ taus², each compared with the default cell.    @eq AN-5
 *   changed = Σ_k Σ_j |keep_k,j − keep⁰_k,j|
 * @returns cells row-major: τ_v outer, τ_t inner
 */
export async function budgetGrid(inp: BudgetInputs, taus: readonly number[], defaults: { tauV: number; tauT: number }): Promise<BudgetCell[]> {
  const base = await heroTileKeep(inp, defaults.tauV, defaults.tauT);
  const baseKept = base.keep.reduce((a, m) => a + m.reduce((s, x) => s + x, 0), 0);
  const cells: BudgetCell[] = [];
  for (const tauV of taus) {
    for (const tauT of taus) {
      const { budgets, keep } = await heroTileKeep(inp, tauV, tauT);
      let changed = 0;
      keep.forEach((m, k) => { for (let j = 0; j < m.length; j++) changed += m[j] !== base.keep[k][j] ? 1 : 0; });
      cells.push({ tauV, tauT, budgets, ...budgetStats(budgets), changedTokens: changed, changedFraction: baseKept === 0 ? 0 : changed / baseKept });
    }
  }
  return cells;
}
