/**
 * Top-k token selection as a 0/1 mask: the one implementation HERO and every baseline use.
 */
import { HeroError } from './errors';

/**
 * The k highest-scoring tokens (optionally among `valid` ones), as a 0/1 mask over raster order.
 *   keep = top-k_j { a_j : valid_j = 1 }
 * Contract: k must be an integer in [0, number of candidates]; anything else is a HeroError (no silent
 * clamping — a caller whose budget may exceed the candidates clamps it itself, visibly).
 * Only the kept set matters (callers read the mask in raster order). Ties are broken by the lower index
 * first (@choice; torch.topk's order among equal values is unspecified, and the goldens have no near-ties:
 * the smallest boundary gap is 1.8e-5).
 * @param scores [N] host values
 * @param valid [N] 0/1, or undefined for all tokens
 * @param who names the caller in the error message
 * @returns [N] 0/1
 */
export function topKMask(scores: ArrayLike<number>, k: number, valid?: ArrayLike<number>, who = 'top-k selection'): Uint8Array {
  const n = scores.length;
  const cand: number[] = [];
  for (let j = 0; j < n; j++) if (!valid || valid[j]) cand.push(j);
  if (!(Number.isInteger(k) && k >= 0 && k <= cand.length)) {
    throw new HeroError(`${who}: cannot keep ${k} of ${cand.length} candidate tokens`);
  }
  cand.sort((a, b) => (scores[b] - scores[a]) || (a - b));   // descending score, then ascending index
  const mask = new Uint8Array(n);
  for (let i = 0; i < k; i++) mask[cand[i]] = 1;
  return mask;
}
