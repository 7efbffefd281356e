/**
 * SparseVLM v1 (Zhang et al., "SparseVLM: Visual Token Sparsification for Efficient Vision-Language Model
 * Inference", arXiv 2410.04417; Gumpest/SparseVLMs@91fb6d9857a089a39c660527519c76ab0a259349, the
 * rank-based version), mapped onto LLaVA-NeXT. Text-guided pruning inside the decoder, during the prefill:
 *
 * 1. raters: the text tokens after the image whose mean visual→text attention on the input embeddings is
 *    above the mean (once, before layer 0);
 * 2. after each pruning layer (default 2, 6, 15, 19): that layer's head-mean attention from the raters to
 *    the current visual tokens scores them; its rank sets how many are kept (int(rank·scale + bias));
 * 3. the dropped tokens with the top 30 % scores are clustered (DPC-kNN) into int(n/10) + 1 merged tokens,
 *    placed after the kept visual tokens;
 * 4. the shortened sequence is renumbered 0..T'−1; every layer caches the rows it processed, and decode
 *    steps continue each layer's own numbering.
 *
 * Official functions (all under llava/model/language_model/): modelling_sparse_llama.py
 * `LlamaDynamicvitModel.forward` (raters, the per-layer loop, recycling, position ids),
 * `LlamaDynamicvitSdpaAttention.forward` (decode positions = the layer's cache length), score.py
 * `attn_postprocess_rank` (rank and count), utils.py `cluster_and_merge` (DPC-kNN). Our own code.
 * The official code has no LLaVA-NeXT path (it crashes on anyres); see docs/baselines.md for the choices.
 * @deviation fp32 math with float64 selection arithmetic (scores, rank, distances); the official runs are
 *   fp16, where the density noise and the merge divisor's 1e-6 vanish (docs/deviations.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { tidyAsync } from '../core/scope';
import type { DecoderHook } from './decoder_hooks';
import { ratioOption, type Method } from '../methods/contract';
import { Rng } from '../weights/rng';
import { checkSparseVlmLayers, sparseVlmDerivedScaleBias, sparseVlmKeptCount, sparseVlmRecycleCounts } from './sparsevlm_budget';
import { topKMask } from './common';

export interface SparseVlmOptions {
  /** decoder layers (0-based, ascending) after which visual tokens are pruned (official [2, 6, 15, 19]) */
  readonly layers: readonly number[];
  /** the budget: mean visual tokens over the decoder's layers = r·M (used when scale is not given) */
  readonly ratio: number;
  /** fixed constants of the count int(rank·scale + bias) instead of the per-input derivation */
  readonly scale?: number;
  readonly bias?: number;
  /** seed of the DPC-kNN density noise (official: unseeded torch.rand·1e-6) */
  readonly seed: number;
}

/** @choice seed 0 for the density noise the official code draws unseeded (torch.rand). */
export const SPARSEVLM_DEFAULTS: SparseVlmOptions = { layers: [2, 6, 15, 19], ratio: 0.5, seed: 0 };

export function validateSparseVlm(o: SparseVlmOptions, numLayers: number): void {
  checkSparseVlmLayers(o.layers, numLayers);
  if (!(o.ratio > 0 && o.ratio <= 1)) throw new HeroError(`--ratio: ${o.ratio} is outside (0, 1]`);
  if (o.scale !== undefined && !(Number.isFinite(o.scale) && o.scale >= 0)) throw new HeroError(`--sparsevlm-scale: ${o.scale} is not a finite number ≥ 0`);
  if (o.bias !== undefined && !(Number.isFinite(o.bias) && o.bias >= 0)) throw new HeroError(`--sparsevlm-bias: ${o.bias} is not a finite number ≥ 0`);
  if (o.bias !== undefined && o.scale === undefined) throw new HeroError('--sparsevlm-bias: needs --sparsevlm-scale');
  if (!(Number.isInteger(o.seed) && o.seed >= 0 && o.seed < 2 ** 32)) throw new HeroError(`--sparsevlm-seed: ${o.seed} is not an integer in [0, 2^32)`);
}

/**
 * Text raters.                                                                   @eq SparseVLM-1
 *   S = softmax_j(V Tᵀ) over the text tokens j (no scaling);  m_j = mean_i S_ij over the visual tokens;
 *   raters = { j : m_j > mean(m) }   (strict)
 * @param visual [M, D] input embeddings of the visual segment
 * @param text [Tt, D] input embeddings of the tokens after it
 * @returns rater indices into `text`, ascending
 */
export async function sparseVlmRaters(visual: tf.Tensor2D, text: tf.Tensor2D): Promise<number[]> {
  if (text.shape[0] === 0) return [];
  const m = await tidyAsync(() => tf.mean(tf.softmax(tf.matMul(visual, text, false, true)), 0).data()); // [M, Tt] → [Tt]
  let mean = 0;
  for (const x of m) mean += x;
  mean /= m.length;
  return Array.from(m.keys()).filter((j) => m[j] > mean);
}

/** Singular values of a rows × cols matrix (row-major, float64), from the Jacobi eigenvalues of A·Aᵀ. */
export function singularValues(a: ArrayLike<number>, rows: number, cols: number): number[] {
  const g = Array.from({ length: rows }, (_, i) => Array.from({ length: rows }, (_, j) => {
    let s = 0;
    for (let c = 0; c < cols; c++) s += a[i * cols + c] * a[j * cols + c];
    return s;
  }));
  // cyclic Jacobi rotations until the off-diagonal mass is negligible
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0;
    for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) (i === j ? (diag += g[i][j] ** 2) : (off += g[i][j] ** 2));
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < rows; p++) {
      for (let q = p + 1; q < rows; q++) {
        if (g[p][q] === 0) continue;
        const theta = (g[q][q] - g[p][p]) / (2 * g[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < rows; k++) {
          const gkp = g[k][p], gkq = g[k][q];
          g[k][p] = c * gkp - s * gkq;
          g[k][q] = s * gkp + c * gkq;
        }
        for (let k = 0; k < rows; k++) {
          const gpk = g[p][k], gqk = g[q][k];
          g[p][k] = c * gpk - s * gqk;
          g[q][k] = s * gpk + c * gqk;
        }
      }
    }
  }
  return g.map((r, i) => Math.sqrt(Math.max(r[i], 0))).sort((x, y) => y - x);
}

/**
 * torch.linalg.matrix_rank with its default tolerance: singular values above σ_max·max(rows, cols)·ε_fp32
 * (the official call casts to float32).
 */
export function matrixRank(a: ArrayLike<number>, rows: number, cols: number): number {
  if (rows === 0 || cols === 0) return 0;
  const sv = singularValues(a, rows, cols);
  const tol = sv[0] * Math.max(rows, cols) * 2 ** -23;
  return sv.filter((s) => s > tol).length;
}

/**
 * The raters' attention to the current visual tokens.                            @eq SparseVLM-2
 *   P = mean_h A[h, raters, visual];  s_i = mean over raters of P[:, i];  rank = rank(P)
 * @param probs [H, T, Tk] post-softmax attention of the pruning layer
 * @returns s [v] (float64), rank
 */
export async function sparseVlmScores(probs: tf.Tensor3D, raterRows: readonly number[], vStart: number, v: number): Promise<{ scores: Float64Array; rank: number }> {
  const [, T, Tk] = probs.shape, R = raterRows.length;
  const p = await tidyAsync(() => tf.mean(tf.slice(tf.gather(probs, tf.tensor1d(raterRows as number[], 'int32'), 1), [0, 0, Tk - T + vStart], [-1, -1, v]), 0).data()); // [R, v]
  const scores = new Float64Array(v);
  for (let r = 0; r < R; r++) for (let i = 0; i < v; i++) scores[i] += p[r * v + i] / R;
  return { scores, rank: matrixRank(p, R, v) };
}

/**
 * DPC-kNN clustering of n tokens into c groups (density peaks, k = c nearest neighbours).  @eq SparseVLM-3
 *   d_ij = ‖x_i − x_j‖ / √C;  ρ_i = exp(−mean of the c smallest d_ij², self included) + 1e-6·u_i
 *   (u seeded uniform);  δ_i = min{ d_ij : ρ_j > ρ_i } (max d if none);  centres = top-c of δ·ρ, in that
 *   order (ties: lower index);  each token joins its nearest centre (ties: the earlier centre), a centre
 *   itself. The merge, Σ x_j / (count_k + 1e-6) per group, is applySparseVlmPlan's.
 * Distances in float64 from the fp32 rows.
 * @param x [n, C]
 * @returns centres (indices into x, centre order) and each token's group
 */
export async function dpcKnnCluster(x: tf.Tensor2D, c: number, rng: Rng): Promise<{ centres: number[]; assign: number[] }> {
  const [n, C] = x.shape;
  if (!(Number.isInteger(c) && c >= 1 && c <= n)) throw new HeroError(`SparseVLM: ${c} clusters for ${n} tokens`);
  const xs = await x.data(); // host round-trip: the clustering is a sequence of data-dependent choices
  const d = Array.from({ length: n }, () => new Float64Array(n));
  let dMax = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < C; k++) { const t = xs[i * C + k] - xs[j * C + k]; s += t * t; }
      d[i][j] = d[j][i] = Math.sqrt(s) / Math.sqrt(C);
      dMax = Math.max(dMax, d[i][j]);
    }
  }
  const rho = d.map((row) => {
    const near = Array.from(row).sort((a, b) => a - b).slice(0, c);
    return Math.exp(-near.reduce((a, b) => a + b * b, 0) / c) + rng.uniform() * 1e-6;
  });
  const delta = rho.map((r, i) => {
    let m = dMax;
    for (let j = 0; j < n; j++) if (rho[j] > r) m = Math.min(m, d[i][j]);
    return m;
  });
  const score = rho.map((r, i) => delta[i] * r);
  const centres = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b] - score[a] || a - b).slice(0, c);
  const assign = Array.from({ length: n }, (_, j) => {
    let best = 0;
    for (let k = 1; k < c; k++) if (d[centres[k]][j] < d[centres[best]][j]) best = k;
    return best;
  });
  centres.forEach((i, k) => { assign[i] = k; });
  return { centres, assign };
}

/**
 * One pruning step as a row plan on the current sequence: rows `head` (pre-prompt and kept visual tokens,
 * ascending), then one merged row per group (Σ x_j / (count + 1e-6) over its members), then every row from
 * `tailFrom` on (the text). Applying it to a longer sequence keeps the extra rows at the end.
 */
export interface SparseVlmPlan {
  readonly head: readonly number[];
  readonly groups: readonly (readonly number[])[];
  readonly tailFrom: number;
}

/**
 * The rows after a pruning step.
 * @param h [T, D]
 * @returns [T', D], T' = head + groups + (T − tailFrom)
 */
export function applySparseVlmPlan(h: tf.Tensor2D, plan: SparseVlmPlan): tf.Tensor2D {
  return tf.tidy(() => {
    const T = h.shape[0];
    const parts: tf.Tensor2D[] = [tf.gather(h, tf.tensor1d(plan.head as number[], 'int32')) as tf.Tensor2D]; // [head, D]
    if (plan.groups.length) {
      const w = new Float32Array(plan.groups.length * T);
      plan.groups.forEach((g, k) => g.forEach((j) => { w[k * T + j] = 1 / Math.fround(g.length + 1e-6); }));
      parts.push(tf.matMul(tf.tensor2d(w, [plan.groups.length, T]), h));                                  // [groups, D]
    }
    parts.push(tf.slice(h, [plan.tailFrom, 0], [T - plan.tailFrom, -1]));                                // [T − tailFrom, D]
    return tf.concat(parts, 0) as tf.Tensor2D;
  });
}

/** What a SparseVLM prefill decided, per pruning layer (the trace's sparsevlm.* tensors). */
export interface SparseVlmRecord {
  /** rater rows (indices into the prompt) */
  raters: number[];
  scale: number;
  bias: number;
  /** M (visual tokens entering the decoder) and L (decoder layers) */
  visualTokens: number;
  numLayers: number;
  /** per pruning layer: visual tokens kept by top-k, merged tokens added, the keep mask over the visual tokens entering, the rank */
  layers: { layer: number; kept: number; recycled: number; keep: Uint8Array; rank: number; plan: SparseVlmPlan }[];
}

export function emptySparseVlmRecord(): SparseVlmRecord {
  return { raters: [], scale: NaN, bias: NaN, visualTokens: 0, numLayers: 0, layers: [] };
}

/**
 * The decoder hook of one SparseVLM prefill (a fresh one per forward call: it carries the visual count).
 * Async: the raters are read to the host before the hook exists.
 * @param embeds [T, D] the prompt's input embeddings; the image rows are [imageStart, imageEnd)
 */
export async function sparseVlmHook(o: SparseVlmOptions, embeds: tf.Tensor2D, imageStart: number, imageEnd: number, numLayers: number,
  record?: SparseVlmRecord): Promise<DecoderHook> {
  validateSparseVlm(o, numLayers);
  const T0 = embeds.shape[0], M = imageEnd - imageStart;
  if (!(imageStart >= 0 && M >= 1 && imageEnd <= T0)) throw new HeroError(`SparseVLM: image rows [${imageStart}, ${imageEnd}) are outside the ${T0}-row prompt`);
  const raters = await tidyAsync(() => sparseVlmRaters(tf.slice(embeds, [imageStart, 0], [M, -1]), tf.slice(embeds, [imageEnd, 0], [T0 - imageEnd, -1])));
  if (raters.length === 0) throw new HeroError('SparseVLM: no text token rates the image (the prompt needs text after the image)');
  const { scale, bias } = o.scale !== undefined
    ? { scale: o.scale, bias: o.bias ?? 0 }
    : sparseVlmDerivedScaleBias(M, raters.length, o.ratio, o.layers, numLayers);
  if (record) Object.assign(record, { raters: raters.map((j) => imageEnd + j), scale, bias, visualTokens: M, numLayers, layers: [] });
  const rng = new Rng(o.seed, 'sparsevlm.dpc-knn');
  let v = M;
  return {
    layers: o.layers,
    after: async (layer, h, probs, positions) => {
      const textStart = imageStart + v;
      const { scores, rank } = await sparseVlmScores(probs, raters.map((j) => textStart + j), imageStart, v);
      const { kept, pruned } = sparseVlmKeptCount(rank, v, scale, bias);
      const keep = pruned ? topKMask(scores, kept) : new Uint8Array(v).fill(1);
      const keptRows = Array.from({ length: v }, (_, i) => i).filter((i) => keep[i]);
      const dropped = Array.from({ length: v }, (_, i) => i).filter((i) => !keep[i]);
      let groups: number[][] = [];
      if (pruned && dropped.length) {
        // Recycling: the top 30 % of the dropped tokens by score, clustered on this layer's output rows.
        const { candidates, clusters } = sparseVlmRecycleCounts(dropped.length);
        const cand = [...dropped].sort((a, b) => scores[b] - scores[a] || a - b).slice(0, candidates); // score order
        const rows = tf.gather(h, tf.tensor1d(cand.map((i) => imageStart + i), 'int32')) as tf.Tensor2D; // [cand, D]
        const { assign } = await dpcKnnCluster(rows, clusters, rng);
        rows.dispose();
        groups = Array.from({ length: clusters }, (_, k) => cand.filter((_i, j) => assign[j] === k).map((i) => imageStart + i));
      }
      const plan: SparseVlmPlan = {
        head: [...Array.from({ length: imageStart }, (_, i) => i), ...keptRows.map((i) => imageStart + i)],
        groups, tailFrom: textStart,
      };
      const out = applySparseVlmPlan(h, plan);
      record?.layers.push({ layer, kept, recycled: groups.length, keep, rank, plan });
      v = keptRows.length + groups.length;
      // Position ids position_ids[:, :T'] (renumbered from the chunk's first id); decode continues after them.
      const next = positions.slice(0, out.shape[0]);
      return { h: out, positions: next, nextPosition: next[next.length - 1] + 1 };
    },
  };
}

/** Trace tensors of a SparseVLM prefill (docs/trace.md). */
export function sparseVlmTraceTensors(r: SparseVlmRecord): Map<string, { dtype: 'I64' | 'U8'; shape: number[]; data: number[] }> {
  const out = new Map<string, { dtype: 'I64' | 'U8'; shape: number[]; data: number[] }>();
  out.set('sparsevlm.raters', { dtype: 'I64', shape: [r.raters.length], data: r.raters });
  out.set('sparsevlm.kept_counts', { dtype: 'I64', shape: [r.layers.length], data: r.layers.map((x) => x.kept) });
  out.set('sparsevlm.recycled_counts', { dtype: 'I64', shape: [r.layers.length], data: r.layers.map((x) => x.recycled) });
  out.set('sparsevlm.ranks', { dtype: 'I64', shape: [r.layers.length], data: r.layers.map((x) => x.rank) });
  for (const x of r.layers) out.set(`sparsevlm.keep.${x.layer}`, { dtype: 'U8', shape: [x.keep.length], data: Array.from(x.keep) });
  // visual tokens after each decoder layer (the official `num_token`; its mean is the budget)
  const counts: number[] = [];
  let v = r.visualTokens;
  for (let l = 0; l < r.numLayers; l++) {
    const x = r.layers.find((y) => y.layer === l);
    if (x) v = x.keep.reduce((a, b) => a + b, 0) + x.recycled;
    counts.push(v);
  }
  out.set('sparsevlm.visual_counts', { dtype: 'I64', shape: [r.numLayers], data: counts });
  return out;
}

/** SparseVLM as a Method (src/methods/contract.ts): layers 2, 6, 15, 19, r = 0.5; plain LLaVA-NeXT on the vision side. */
export const sparseVlmMethod: Method<SparseVlmOptions, 'sparsevlm'> = {
  name: 'sparsevlm',
  configure: (raw, config) => {
    const ratio = ratioOption(raw);
    const scale = raw['sparsevlm-scale'] as number | undefined;
    if (scale !== undefined && ratio !== undefined) throw new HeroError('--sparsevlm-scale: give either --ratio or --sparsevlm-scale/--sparsevlm-bias, not both');
    const options: SparseVlmOptions = {
      layers: (raw['sparsevlm-layers'] as number[] | undefined) ?? SPARSEVLM_DEFAULTS.layers, ratio: ratio ?? SPARSEVLM_DEFAULTS.ratio,
      scale, bias: raw['sparsevlm-bias'] as number | undefined, seed: (raw['sparsevlm-seed'] as number | undefined) ?? SPARSEVLM_DEFAULTS.seed,
    };
    validateSparseVlm(options, config.text_config.num_hidden_layers);
    return options;
  },
  taps: () => ({}),
  decoder: async (s, prompt) => {
    const record = emptySparseVlmRecord();
    return {
      hook: await sparseVlmHook(s.options!, prompt.embeds, prompt.imageStart, prompt.imageEnd, prompt.numLayers, record),
      traceTensors: () => sparseVlmTraceTensors(record),
    };
  },
};
