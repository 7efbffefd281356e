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
  /** Two fp32 computations of the same function in a different op order (fast path vs plain path). */
  sameMath: { atol: 1e-5, rtol: 1e-4, why: 'same fp32 math, different op order' },
} satisfies Record<string, Tol>;
