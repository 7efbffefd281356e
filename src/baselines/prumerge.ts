/**
 * PruMerge / PruMerge+ (Shang et al., "LLaVA-PruMerge: Adaptive Token Reduction for Efficient Large
 * Multimodal Models", arXiv 2403.15388; 42Shawn/LLaVA-PruMerge, and HiRED's LLaVA-NeXT port), per crop:
 * keep the IQR outliers of the last layer's single-head [CLS] attention (+ a spatial sample for "+"),
 * merge each kept token with its most similar tokens (by key cosine) weighted by their CLS attention, add
 * one token that sums the rest; project; concatenate the crops (no unpad, no newline).
 */
import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize } from '../core/l2';
import { ratioOption, type Method, type PruneResult } from '../methods/contract';
import { projector } from '../llava/projector';
import { HeroError } from '../core/errors';
import { tidyAsync } from '../core/scope';
import type { VisualContext } from '../llava/visual_context';
import { masksTensor } from './common';

export interface PruMergeOptions {
  /** vision layer whose q/k give the attention and the keys (default the last) */
  readonly layer?: number;
  /** PruMerge+ (spatial sample added) or plain PruMerge */
  readonly plus: boolean;
  /** tokens merged into each kept one (32 in the code) */
  readonly mergeTopK?: number;
  /** the projector, applied to the merged vision-space tokens [M, Dv] → [M, D] */
  readonly project: (x: tf.Tensor2D) => tf.Tensor2D;
}

/** numpy.percentile with linear interpolation. */
export function percentile(sorted: readonly number[], q: number): number {
  const x = (q / 100) * (sorted.length - 1);
  const i = Math.floor(x), f = x - i;
  return i + 1 < sorted.length ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[i];
}

/**
 * The kept indices of one crop.                                                @eq PruMerge-1
 *   ρ = #{a_j > Q3 + 1.5·(Q3 − Q1)} / N; I = top-⌊N·ρ⌋ of a (descending);
 *   "+": d = ⌊⌊1/ρ⌋/3⌋, add 0, d, 2d, … < N − 1 not in I (ascending)
 * @choice ρ = 0 (no outlier) or d = 0 crash the original; we take ⌊1/ρ⌋ = N and d ≥ 1.
 */
export function pruMergeKeep(a: ArrayLike<number>, plus: boolean): { kept: number[]; outliers: number } {
  const N = a.length;
  const sorted = Array.from(a).sort((x, y) => x - y);
  const q1 = percentile(sorted, 25), q3 = percentile(sorted, 75);
  const bound = q3 + 1.5 * (q3 - q1);
  const rho = Array.from(a).filter((v) => v > bound).length / N;
  const m = Math.floor(N * rho);
  const kept = Array.from({ length: N }, (_, j) => j).sort((x, y) => a[y] - a[x] || x - y).slice(0, m);
  if (plus) {
    const step = rho > 0 ? Math.floor(1 / rho) : N;
    const d = Math.max(1, Math.floor(step / 3));
    const have = new Set(kept);
    for (let j = 0; j < N - 1; j += d) if (!have.has(j)) kept.push(j);
  }
  return { kept, outliers: m };
}

/**
 * Merging of one crop.                                                         @eq PruMerge-2
 *   x'_i = x_i + Σ_{j ∈ J_i} a_j x_j,  J_i = the mergeTopK candidates (kept ∖ {i}, then the rest) most similar to i by key cosine;
 *   x_extra = Σ_{j ∉ kept} a_j x_j
 * @param x [N, Dv] features (feature layer, CLS dropped); keys [N, Dv] (patch keys)
 * @returns [|kept| + 1, Dv]
 */
export async function pruMergeCrop(x: tf.Tensor2D, keys: tf.Tensor2D, a: ArrayLike<number>, kept: readonly number[], topK: number): Promise<tf.Tensor2D> {
  const N = x.shape[0];
  const keptSet = new Set(kept);
  const rest = Array.from({ length: N }, (_, j) => j).filter((j) => !keptSet.has(j));
  const sims = await tidyAsync(() => {
    const unit = l2Normalize(keys);                                                                     // [N, Dv]
    return tf.matMul(tf.gather(unit, tf.tensor1d([...kept], 'int32')), unit, false, true).array() as Promise<number[][]>; // [|kept|, N]
  });
  const W = new Float32Array((kept.length + 1) * N);
  kept.forEach((i, r) => {
    const cands = [...kept.filter((j) => j !== i), ...rest];
    const J = cands.map((j, o) => ({ j, o, s: sims[r][j] })).sort((p, q) => q.s - p.s || p.o - q.o).slice(0, topK);
    W[r * N + i] += 1;
    for (const { j } of J) W[r * N + j] += a[j];
  });
  for (const j of rest) W[kept.length * N + j] = a[j];
  return tf.matMul(tf.tensor2d(W, [kept.length + 1, N]), x) as tf.Tensor2D;                      // [|kept| + 1, Dv]
}

export async function pruMergePlus(ctx: VisualContext, opts: PruMergeOptions): Promise<PruneResult> {
  const L = ctx.queries.length;
  const layer = opts.layer ?? L - 1;
  const q = ctx.queries[layer], k = ctx.keys[layer], h = ctx.hiddenStates[ctx.featureLayer];
  if (!q || !k || !h) throw new HeroError(`PruMerge: q/k of vision layer ${layer} or the feature layer were not tapped`);
  const topK = opts.mergeTopK ?? 32;
  if (!Number.isInteger(topK) || topK < 0) throw new HeroError(`PruMerge: mergeTopK ${topK} must be a non-negative integer`);
  const [P, N1, Dv] = q.shape;
  const N = N1 - 1;
  // Single-head attention of the CLS query over all N+1 keys, scale Dv^−½; a = its patch part.
  const probs = tf.tidy(() => tf.squeeze(tf.softmax(tf.matMul(tf.mul(tf.slice(q, [0, 0, 0], [-1, 1, -1]), Dv ** -0.5), k, false, true)), [1])); // [P, N+1]
  const pa = await probs.data();                                                                 // host round-trip: selection
  const masks: Uint8Array[] = [];
  const crops: tf.Tensor2D[] = [];
  const counts: number[] = [];
  for (let p = 0; p < P; p++) {
    const a = pa.subarray(p * N1 + 1, (p + 1) * N1);
    const { kept, outliers } = pruMergeKeep(a, opts.plus);
    counts.push(outliers);
    const m = new Uint8Array(N);
    kept.forEach((j) => { m[j] = 1; });
    masks.push(m);
    crops.push(await tidyAsync(() => {
      const x = tf.squeeze(tf.slice(h, [p, 1, 0], [1, -1, -1]), [0]) as tf.Tensor2D;              // [N, Dv]
      const kk = tf.squeeze(tf.slice(k, [p, 1, 0], [1, -1, -1]), [0]) as tf.Tensor2D;             // [N, Dv]
      return pruMergeCrop(x, kk, a, kept, topK);                                                    // [|kept|+1, Dv]
    }));
  }
  const features = tf.tidy(() => opts.project(tf.concat(crops) as tf.Tensor2D));                  // [M, D]
  tf.dispose(crops);
  const clsAttention = tf.tidy(() => tf.slice(probs, [0, 1], [-1, -1]));                           // [P, N]
  probs.dispose();
  return {
    features, keepMasks: masks, numNewlines: 0,
    tensors: {
      'prumerge.cls_attention': { tensor: clsAttention, dtype: 'F32' },
      'prumerge.outliers': { tensor: tf.tensor1d(counts, 'int32'), dtype: 'I64' },
      'prumerge.keep': { tensor: masksTensor(masks), dtype: 'U8' },
    },
  };
}

/** PruMerge+ as a Method (src/methods/contract.ts): no ratio (the IQR outliers set the count), the last vision layer's keys. */
export const pruMergePlusMethod: Method<Omit<PruMergeOptions, 'project'>, 'prumerge+'> = {
  name: 'prumerge+',
  configure: (raw) => { ratioOption(raw); return { plus: true }; }, // no ratio, but a bad one is still an error
  taps: (s, model) => ({ queryKey: [s.options!.layer ?? model.config.vision_config.num_hidden_layers - 1] }),
  select: (s, ctx, model) => {
    // PruMerge merges in vision space; the projector (not linear) runs on the merged tokens.
    const p = model.params.multi_modal_projector, act = model.config.projector_hidden_act;
    const project = (x: tf.Tensor2D): tf.Tensor2D => tf.squeeze(projector(p, tf.expandDims(x, 0) as tf.Tensor3D, act), [0]) as tf.Tensor2D;
    return pruMergePlus(ctx, { ...s.options!, project });
  },
};
