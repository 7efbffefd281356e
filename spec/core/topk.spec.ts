/** The one top-k mask (HERO and every baseline): its contract is "k in [0, candidates] or a HeroError". */
import fc from 'fast-check';
import { HeroError } from '../../src/core/errors';
import { topKMask } from '../../src/core/topk';
import { topKMask as heroTopK } from '../../src/hero/select';
import { topKMask as baselineTopK } from '../../src/baselines/common';

describe('topKMask', () => {
  it('keeps exactly k valid tokens, none scoring below a dropped valid one, ties to the lower index', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 30 }).chain((s) => fc.record({
        scores: fc.constant(s),
        valid: fc.array(fc.constantFrom(0, 1), { minLength: s.length, maxLength: s.length }),
        frac: fc.double({ min: 0, max: 1, noNaN: true }),
      })),
      ({ scores, valid, frac }) => {
        const cand = scores.map((_, j) => j).filter((j) => valid[j]);
        const k = Math.floor(frac * cand.length);
        const m = topKMask(scores, k, valid);
        // reference: a stable sort by descending score keeps the lower index first among equals
        const want = new Set([...cand].sort((a, b) => scores[b] - scores[a] || a - b).slice(0, k));
        expect(Array.from(m)).toEqual(scores.map((_, j) => (want.has(j) ? 1 : 0)));
      }), { numRuns: 300 });
  });

  it('throws (no silent clamping) for k beyond the candidates, negative or fractional k', () => {
    expect(() => topKMask([1, 2, 3], 4)).toThrow(HeroError);
    expect(() => topKMask([1, 2, 3], 3, [1, 1, 0])).toThrow(/cannot keep 3 of 2 candidate tokens/);
    expect(() => topKMask([1, 2, 3], -1)).toThrow(HeroError);
    expect(() => topKMask([1, 2, 3], 1.5)).toThrow(HeroError);
    expect(() => topKMask([1, 2], 3, undefined, 'FasterVLM')).toThrow(/^FasterVLM: /);
    expect(Array.from(topKMask([1, 2, 3], 0))).toEqual([0, 0, 0]);
  });

  it('is the implementation HERO and the baselines call (one contract)', () => {
    expect(heroTopK).toBe(topKMask);
    expect(baselineTopK).toBe(topKMask);
  });
});
