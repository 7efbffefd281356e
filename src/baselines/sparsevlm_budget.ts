/**
 * SparseVLM's token counts as plain integer arithmetic (no tensors, so `hero-lvlm flops` can use them):
 * the kept count of a pruning layer, the number of recycled (merged) tokens, the visual-token schedule over
 * the decoder's layers, and the per-input constants (scale, bias) that make the schedule's layer average
 * r·M on LLaVA-NeXT.
 *
 * Source: Gumpest/SparseVLMs@91fb6d9857a089a39c660527519c76ab0a259349 (v1, rank-based),
 * llava/model/language_model/score.py `attn_postprocess_rank` (count), modelling_sparse_llama.py
 * `LlamaDynamicvitModel.forward` (recycling counts, the per-layer `num_token` average).
 * Python's `int(x)` truncates; float64 products are the same in JS, so `Math.trunc` reproduces it.
 */
import { HeroError } from '../core/errors';

/** The pruning layers must be an ascending, non-empty list within the decoder's L layers. */
export function checkSparseVlmLayers(layers: readonly number[], L: number): void {
  if (layers.length === 0 || layers.some((l, i) => !Number.isInteger(l) || l < 0 || l >= L || (i > 0 && l <= layers[i - 1]))) {
    throw new HeroError(`--sparsevlm-layers: ${layers.join(',')} is not an ascending list within 0..${L - 1} (the decoder has ${L} layers)`);
  }
}

/**
 * Visual tokens a pruning layer keeps.                                          @eq SparseVLM-2
 *   rank = v ⇒ keep all (nothing recycled); else k = min(int(rank·scale + bias), v − 1)
 */
export function sparseVlmKeptCount(rank: number, v: number, scale: number, bias: number): { kept: number; pruned: boolean } {
  if (rank === v) return { kept: v, pruned: false };
  const k = Math.min(Math.trunc(rank * scale + bias), v - 1);
  if (!(k >= 0)) throw new HeroError(`SparseVLM: int(rank·scale + bias) = int(${rank}·${scale} + ${bias}) is negative`);
  return { kept: k, pruned: true };
}

/**
 * Recycling counts for d dropped tokens.                                        @eq SparseVLM-3
 *   candidates n = int(0.3·d) + 1 (the top 30 % by score), clusters c = int(n / 10) + 1
 */
export function sparseVlmRecycleCounts(dropped: number): { candidates: number; clusters: number } {
  if (dropped <= 0) return { candidates: 0, clusters: 0 };
  const candidates = Math.trunc(dropped * 0.3) + 1;
  return { candidates, clusters: Math.trunc(candidates / 10) + 1 };
}

/**
 * The visual-token schedule when every pruning layer computes int(rank·scale + bias) = k (rank < v).
 * @param M visual tokens entering the decoder
 * @param layers pruning layers (0-based, ascending); L decoder layers
 * @returns after[l]: visual tokens after layer l (a pruning layer counts its pruned output, the official
 *   `num_token` list whose mean is the method's budget); entering[l]: visual tokens layer l processes
 *   (the FLOPs count); kept/recycled per pruning layer
 */
export function sparseVlmSchedule(M: number, k: number, layers: readonly number[], L: number):
  { after: number[]; entering: number[]; kept: number[]; recycled: number[] } {
  const after: number[] = [], entering: number[] = [], kept: number[] = [], recycled: number[] = [];
  let v = M;
  for (let l = 0; l < L; l++) {
    entering.push(v);
    if (layers.includes(l)) {
      const kk = Math.min(k, v - 1);
      const c = sparseVlmRecycleCounts(v - kk).clusters;
      kept.push(kk);
      recycled.push(c);
      v = kk + c;
    }
    after.push(v);
  }
  return { after, entering, kept, recycled };
}

/**
 * The per-layer count k* whose schedule averages at most r·M visual tokens over the L layers (the
 * official budget convention: mean of `num_token`), the largest such k.
 * @choice the largest k with mean(after) ≤ r·M (1e-9 guard), so the budget is never exceeded, as HERO's
 *   floors; the official LLaVA-1.5 constants were tuned by hand to land near 192/128/64.
 */
export function sparseVlmTargetCount(M: number, ratio: number, layers: readonly number[], L: number): number {
  if (!(Number.isInteger(M) && M >= 1)) throw new HeroError(`SparseVLM: ${M} visual tokens`);
  if (!(ratio > 0 && ratio <= 1)) throw new HeroError(`--ratio: ${ratio} is outside (0, 1]`);
  const sum = (k: number): number => sparseVlmSchedule(M, k, layers, L).after.reduce((a, b) => a + b, 0);
  const budget = ratio * M * L + 1e-9;
  // sum(k) is non-decreasing in k: k + c(v − k) never drops when k grows by one.
  let lo = 0, hi = M - 1;
  if (sum(lo) > budget) {
    throw new HeroError(`--ratio: ${ratio} is below what SparseVLM can reach with layers ${layers.join(',')} of ${L} (the layers up to the first pruning layer keep all ${M} tokens)`);
  }
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (sum(mid) <= budget) lo = mid; else hi = mid - 1;
  }
  return lo;
}

/**
 * scale and bias for LLaVA-NeXT, derived per input.                             @eq SparseVLM-4
 *   scale = k* ÷ R, bias = ½   ⇒ a layer whose raters' attention has full rank R keeps int(k* + ½) = k*;
 *   a rank-deficient layer keeps round(k*·rank/R) (the method's adaptivity).
 * @choice The official code has constants only for LLaVA-1.5 (576 tokens: 13.5/0 → 192, 9/6 → 128,
 *   0.8/0 → 64, each set by hand per benchmark so that the printed layer average lands on the label). On
 *   LLaVA-NeXT M varies per image, so we solve for the k* of that average (sparseVlmTargetCount) and set
 *   scale from the rater count R, the rank the raters' attention has when it is of full rank. bias = ½ keeps
 *   int() from flooring R·(k* ÷ R) = k* − 1 ulp.
 */
export function sparseVlmDerivedScaleBias(M: number, raters: number, ratio: number, layers: readonly number[], L: number):
  { scale: number; bias: number; target: number } {
  if (!(raters >= 1)) throw new HeroError('SparseVLM: no text token rates the image (the prompt needs text after the image)');
  const target = sparseVlmTargetCount(M, ratio, layers, L);
  return { scale: target / raters, bias: 0.5, target };
}
