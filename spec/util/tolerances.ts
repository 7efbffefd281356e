/**
 * Named tolerances, |a − e| ≤ atol + rtol·|e| unless stated. NaN always fails; ±inf must match exactly.
 * The goldens' own fp32-vs-fp64 spread is ≤ 1.5e-6 relative to each tensor's max |value|
 * (spec/fixtures/cases/*.json, f32_vs_f64), so the bounds below leave ~60× headroom for a different
 * summation order in tfjs kernels.
 */
import { TRACE_TOL, type Tol } from '../../src/core/tolerances';

export type { Tol };

export const TOL = {
  /** golden, probs, pixels: the numbers `hero-lvlm compare` uses too, defined once in src/core/tolerances.ts. */
  golden: TRACE_TOL.golden,
  probs: TRACE_TOL.probs,
  pixels: TRACE_TOL.pixels,
  /** A primitive against a float64 JS reference on unit-scale inputs. */
  primitive: { atol: 1e-5, rtol: 1e-5, why: 'fp32 kernels vs an f64 loop on |x| ≲ 10' },
  /**
   * HERO's CLS-attention token scores (hero.global_scores, hero.tile_scores). In the code variant they are a
   * head mean of a second softmax over N probabilities, so every value is ≈ 1/N and the signal is the
   * ±5 % spread around it: an absolute 1e-4 (TOL.golden) would be a tenth of that spread. Bounded relative to
   * each value instead: the tower's attention probabilities (≤ 1e-5 off HF, TOL.probs) move a score by
   * ≲ 1e-5 of itself; 1e-4 leaves 10× headroom and is still 1/500 of the spread.
   */
  heroScores: { atol: 0, rtol: 1e-4, why: 'scores ≈ 1/N: bound relative to the value, not to max(1, max|e|)' },
  /** Two fp32 computations of the same function in a different op order (fast path vs plain path). */
  sameMath: { atol: 1e-5, rtol: 1e-4, why: 'same fp32 math, different op order' },
  /**
   * The decoder over worker threads (src/accel/decoder_pool.ts) against llamaForward: each layer's o_proj
   * and down_proj products are summed from per-worker partials (a split of the inner dimension), which
   * changes the order of the fp32 additions in every layer; the difference is carried through the
   * residual stream of all layers and the decode steps. Same bound as sameMath.
   */
  decoderPool: { atol: 1e-5, rtol: 1e-4, why: 'partial o_proj/down_proj sums per worker: a different order of fp32 additions in every layer' },
} satisfies Record<string, Tol>;
