/**
 * Table 2 of the paper (its selection half): the top fraction of a crop's tokens by CLS attention averaged
 * over the low layers (objects, Setting-1: 4–8) and over the high layers (artifacts, Setting-2: 12–23);
 * how much the two sets overlap and how spread out each is over the crop.
 */
import { HeroError } from '../core/errors';
import { topKMask } from '../core/topk';
import { maskIou, topKCount } from './similarity';

/**
 * The mean of the head-mean CLS maps over a set of layers (HERO-5/6's average, on maps already
 * reduced over heads: the two means commute).                                                 @eq AN-4
 *   ā_j = mean_{l ∈ layers} a^l_j
 * @param maps L maps [N]
 */
export function layerMean(maps: readonly ArrayLike<number>[], layers: readonly number[]): Float64Array {
  if (layers.length === 0) throw new HeroError('tokens: the layer set is empty');
  const N = maps[0].length;
  const out = new Float64Array(N);
  for (const l of layers) {
    if (!(l >= 0 && l < maps.length)) throw new HeroError(`tokens: layer ${l} is outside 0..${maps.length - 1}`);
    for (let j = 0; j < N; j++) out[j] += maps[l][j];
  }
  for (let j = 0; j < N; j++) out[j] /= layers.length;
  return out;
}

/** How spread out a token set is over the G × G grid. */
export interface Spread {
  /** mean Euclidean distance between the patch centres of every pair of kept tokens, divided by the grid's diagonal √2·(G−1) (0..1; 0 for < 2 tokens) */
  readonly meanPairwiseDistance: number;
  /** area of the smallest patch-aligned box holding every kept token, as a fraction of the G² grid (0 for none) */
  readonly bboxAreaFraction: number;
}

/**
 * Spread of a 0/1 mask over the G × G grid (raster order).                                     @eq AN-4
 * @choice two named numbers: the normalised mean pairwise distance (scattered artifacts → large) and the
 * bounding-box area fraction (one compact object → small).
 */
export function spread(mask: ArrayLike<number>, G: number): Spread {
  const pts: [number, number][] = [];
  for (let j = 0; j < mask.length; j++) if (mask[j]) pts.push([Math.floor(j / G), j % G]);
  if (pts.length === 0) return { meanPairwiseDistance: 0, bboxAreaFraction: 0 };
  let sum = 0, n = 0;
  for (let a = 0; a < pts.length; a++) {
    for (let b = a + 1; b < pts.length; b++) { sum += Math.hypot(pts[a][0] - pts[b][0], pts[a][1] - pts[b][1]); n++; }
  }
  const rows = pts.map((p) => p[0]), cols = pts.map((p) => p[1]);
  const box = (Math.max(...rows) - Math.min(...rows) + 1) * (Math.max(...cols) - Math.min(...cols) + 1);
  return { meanPairwiseDistance: n === 0 || G < 2 ? 0 : sum / n / (Math.SQRT2 * (G - 1)), bboxAreaFraction: box / (G * G) };
}

/** Table 2's two token sets for one crop. */
export interface TokenSets {
  /** k = max(1, round(keep·N)) tokens in each set */
  readonly k: number;
  readonly lowKeep: Uint8Array;
  readonly highKeep: Uint8Array;
  /** |low ∩ high| / |low ∪ high| */
  readonly iou: number;
  readonly lowSpread: Spread;
  readonly highSpread: Spread;
}

/**
 * The top-`keep` tokens by low-layer and by high-layer mean CLS attention, their IoU and spread.   @eq AN-4
 * Ties: lower token index first (core/topk.ts).
 * @param maps L maps [N] of one crop, N = G²
 */
export function tokenSets(maps: readonly ArrayLike<number>[], low: readonly number[], high: readonly number[], keep: number, G: number): TokenSets {
  const N = maps[0].length;
  if (N !== G * G) throw new HeroError(`tokens: ${N} tokens is not a ${G}×${G} grid`);
  if (!(keep > 0 && keep <= 1)) throw new HeroError(`--keep: ${keep} is not in (0, 1]`);
  const k = topKCount(N, keep);
  const lowKeep = topKMask(layerMean(maps, low), k, undefined, 'tokens');
  const highKeep = topKMask(layerMean(maps, high), k, undefined, 'tokens');
  return { k, lowKeep, highKeep, iou: maskIou(lowKeep, highKeep), lowSpread: spread(lowKeep, G), highSpread: spread(highKeep, G) };
}
