/**
 * Fig. 2 of the paper: how alike the vision layers' CLS attention maps are, as a layer × layer matrix, and
 * the two-stage split that matrix implies. Pure host math on small arrays (L vectors of N values), in
 * float64: the inputs are fp32 maps, the similarity is computed exactly enough to compare with a PyTorch
 * float64 script (spec/fixtures/analyze/).
 */
import { HeroError } from '../core/errors';
import { topKMask } from '../core/topk';

/** The similarity measures of `analyze layers --measure`. */
export const MEASURES = ['cosine', 'pearson', 'spearman', 'topk-iou'] as const;
export type Measure = typeof MEASURES[number];

/**
 * @choice topk-iou's k: the top 10 % of the N tokens, k = max(1, round(0.1·N)) (58 of 576, as the paper's
 * Table 2 setting keeps), ties broken by the lower token index (core/topk.ts).
 */
export const TOPK_IOU_FRACTION = 0.1;

/** k of the top-k sets for a fraction of N tokens: max(1, round(fraction·N)). */
export function topKCount(N: number, fraction: number): number {
  return Math.max(1, Math.min(N, Math.round(fraction * N)));
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** a − mean(a). */
function centred(a: ArrayLike<number>): Float64Array {
  let m = 0;
  for (let i = 0; i < a.length; i++) m += a[i];
  m /= a.length;
  return Float64Array.from(a, (x) => x - m);
}

/** cos(a, b) = ⟨a, b⟩ / (‖a‖‖b‖); NaN when either vector is zero.                            @eq AN-1 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
}

/** Pearson's r = cos(a − ā, b − b̄); NaN when either vector is constant.                      @eq AN-1 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return cosine(centred(a), centred(b));
}

/**
 * Ranks 1..n of the values, tied values sharing the average of their ranks (scipy's rankdata 'average').
 */
export function averageRanks(a: ArrayLike<number>): Float64Array {
  const n = a.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i] - a[j]);
  const r = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && a[order[j + 1]] === a[order[i]]) j++;
    const avg = (i + j) / 2 + 1; // ranks i+1 .. j+1
    for (let t = i; t <= j; t++) r[order[t]] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman's ρ = Pearson's r of the average ranks.                                            @eq AN-1 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(averageRanks(a), averageRanks(b));
}

/** |A ∩ B| / |A ∪ B| of two 0/1 masks (1 when both are empty). */
export function maskIou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let inter = 0, union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/**
 * The layer × layer similarity of one crop's maps.                                            @eq AN-1
 *   S[l, m] = sim(a^l, a^m),  sim ∈ {cosine, pearson, spearman, topk-iou}
 * topk-iou: the IoU of the k = topKCount(N, TOPK_IOU_FRACTION) highest-attention tokens of each layer.
 * @param maps L maps of N values each (a^l: the head-mean CLS→patch attention of layer l)
 * @returns [L·L] row-major, symmetric
 */
export function similarityMatrix(maps: readonly ArrayLike<number>[], measure: Measure): Float64Array {
  const L = maps.length;
  if (L === 0) throw new HeroError('similarity: no layer maps');
  const N = maps[0].length;
  if (maps.some((m) => m.length !== N)) throw new HeroError('similarity: the layer maps differ in length');
  let pairwise: (i: number, j: number) => number;
  if (measure === 'topk-iou') {
    const k = topKCount(N, TOPK_IOU_FRACTION);
    const sets = maps.map((m) => topKMask(m, k, undefined, 'topk-iou'));
    pairwise = (i, j) => maskIou(sets[i], sets[j]);
  } else if (measure === 'spearman') {
    const ranks = maps.map(averageRanks);
    pairwise = (i, j) => pearson(ranks[i], ranks[j]);
  } else if (measure === 'pearson') {
    pairwise = (i, j) => pearson(maps[i], maps[j]);
  } else if (measure === 'cosine') {
    pairwise = (i, j) => cosine(maps[i], maps[j]);
  } else throw new HeroError(`--measure: '${measure as string}' is not one of ${MEASURES.join(', ')}`);
  const S = new Float64Array(L * L);
  for (let i = 0; i < L; i++) {
    for (let j = i; j < L; j++) {
      const v = pairwise(i, j);
      S[i * L + j] = v;
      S[j * L + i] = v;
    }
  }
  return S;
}

/** The element-wise mean of equally sized matrices (the average over images and crops). */
export function meanMatrix(ms: readonly Float64Array[]): Float64Array {
  if (ms.length === 0) throw new HeroError('similarity: nothing to average');
  const out = new Float64Array(ms[0].length);
  for (const m of ms) for (let i = 0; i < out.length; i++) out[i] += m[i];
  for (let i = 0; i < out.length; i++) out[i] /= ms.length;
  return out;
}

/** The two-stage split of a similarity matrix: s*, and the contrast of every candidate s. */
export interface TwoStageSplit {
  /** s*: the first layer of the second stage (blocks [0, s*) and [s*, L)) */
  readonly split: number;
  /** contrast[s − 1] = D(s) for s = 1..L−1 */
  readonly contrast: number[];
  /** D(s*) */
  readonly best: number;
}

/**
 * The split s* of L layers into two consecutive blocks A = [0, s), B = [s, L) that maximises     @eq AN-2
 *   D(s) = W(s) − C(s)
 *   W(s) = mean of S[i, j] over the ordered pairs i ≠ j inside the same block (A×A and B×B pooled,
 *          the diagonal EXCLUDED: it is 1 for cosine whatever the data, and would favour tiny blocks)
 *   C(s) = mean of S[i, j] over i ∈ A, j ∈ B
 * for s = 1..L−1. @choice the diagonal is left out, the within-block pairs of both blocks are pooled
 * (each pair counts once whichever block it is in), and ties go to the smallest s. Needs L ≥ 3 (with
 * L = 2 no split has a within-block pair).
 * @param S [L·L] row-major
 */
export function twoStageSplit(S: ArrayLike<number>, L: number): TwoStageSplit {
  if (S.length !== L * L) throw new HeroError(`two-stage split: a ${L}×${L} matrix needs ${L * L} values, got ${S.length}`);
  if (L < 3) throw new HeroError(`two-stage split: needs at least 3 layers, got ${L}`);
  const contrast: number[] = [];
  let split = 1, best = -Infinity;
  for (let s = 1; s < L; s++) {
    let within = 0, nWithin = 0, cross = 0, nCross = 0;
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        if (i === j) continue;
        if ((i < s) === (j < s)) { within += S[i * L + j]; nWithin++; } else { cross += S[i * L + j]; nCross++; }
      }
    }
    const d = within / nWithin - cross / nCross;
    contrast.push(d);
    if (d > best) { best = d; split = s; }
  }
  return { split, contrast, best };
}
