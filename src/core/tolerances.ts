/**
 * The tolerances a port's trace is held to, the same numbers the golden specs use (spec/util/tolerances.ts
 * re-exports them, so there is one source). An element passes when |a − e| ≤ atol' + rtol·|e|, where
 * atol' = atol · max(1, max|e| over the tensor's finite values) when `scaleByMax`, else atol. NaN fails
 * (`compare` lets a NaN match a NaN in the reference: a trace writes NaN for what was not computed); ±inf
 * must match exactly. Integer, U8 and BOOL tensors (ids, sizes, budgets, masks) are compared exactly.
 */
export interface Tol {
  /** absolute tolerance; when `scaleByMax`, multiplied by max(1, max|expected|) */
  readonly atol: number;
  readonly rtol: number;
  readonly scaleByMax?: boolean;
  readonly why: string;
}

/** Trace / golden tolerances, by class. `hero-lvlm compare` picks one per tensor (src/report/compare.ts). */
export const TRACE_TOL = {
  /** The acceptance bound for every golden float: |a−e| ≤ 1e-4·max(1, max|e|). */
  golden: { atol: 1e-4, rtol: 0, scaleByMax: true, why: 'the acceptance bound; goldens f32/f64 spread ≤ 1.5e-6 relative' },
  /** Attention probabilities are in [0,1]; the goldens' f32/f64 gap is 6.9e-7. */
  probs: { atol: 1e-5, rtol: 0, why: 'probabilities ≤ 1; HF f32 vs f64 differs by ≤ 6.9e-7' },
  /** pixel_values: the same float32 ops as the processor give bit-exact values; allow 1 ulp-ish. */
  pixels: { atol: 1e-6, rtol: 0, why: 'rescale in f64 then normalise in f32, as the processor does' },
  /** Integer, U8 and BOOL tensors: ids, sizes, budgets and masks must be equal. */
  exact: { atol: 0, rtol: 0, why: 'ids, sizes, budgets and masks are exact' },
} satisfies Record<string, Tol>;
