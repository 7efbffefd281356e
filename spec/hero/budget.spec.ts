import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { validMask, density, importance, tokenBudgets, budgetPools, saliency, relevance, probeBudgets } from '../../src/hero';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

const gridArb = fc.record({ rows: fc.integer({ min: 1, max: 3 }), cols: fc.integer({ min: 1, max: 3 }), G: fc.integer({ min: 1, max: 6 }),
  H: fc.integer({ min: 1, max: 2000 }), W: fc.integer({ min: 1, max: 2000 }) });

describe('HERO-D · validMask and density', () => {
  it('valid tokens form one centred band of new_h rows (or new_w columns) of the stitched grid', () => {
    fc.assert(fc.property(gridArb, ({ rows, cols, G, H, W }) => {
      const v = validMask([rows, cols], G, [H, W]);
      expect(v.mask.length).toBe(rows * cols);
      expect(v.counts).toEqual(v.mask.map((m) => m.reduce((a, b) => a + b, 0)));
      const span = v.region.axis === 'rows' ? rows * G : cols * G;
      const other = v.region.axis === 'rows' ? cols * G : rows * G;
      expect(v.region.padBefore + v.region.extent + v.region.padAfter).toBe(span);
      expect(v.region.padAfter - v.region.padBefore).toBeGreaterThanOrEqual(0);
      expect(v.region.padAfter - v.region.padBefore).toBeLessThanOrEqual(1);
      expect(v.counts.reduce((a, b) => a + b, 0)).toBe(v.region.extent * other);
    }));
  });

  it('uses (W, H): a wide image pads rows, a tall image pads columns (the tiny goldens\' wide and tall)', () => {
    expect(validMask([1, 2], 4, [30, 100]).region).toEqual({ axis: 'rows', extent: 2, padBefore: 1, padAfter: 1 });
    expect(validMask([3, 1], 4, [160, 30]).region).toEqual({ axis: 'cols', extent: 2, padBefore: 1, padAfter: 1 });
    // square_h70_w80 on 2×2: new_h = int(70·8/80) = 7, one row fewer than HF unpad_image keeps.
    expect(validMask([2, 2], 4, [70, 80]).region).toEqual({ axis: 'rows', extent: 7, padBefore: 0, padAfter: 1 });
  });

  it('density is valid_k / Σ valid (+1e-6), so it sums to just under 1', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 576 }), { minLength: 1, maxLength: 9 }), (counts) => tf.tidy(() => {
      const d = density(tf.tensor1d(counts), 576).dataSync();
      const tot = counts.reduce((a, b) => a + b, 0) / 576;
      expectClose(d, counts.map((c) => (c / 576) / (tot + 1e-6)), TOL.primitive, 'density');
      expect(Array.from(d).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
    })));
  });
});

const probs = (K: number) => fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: K, maxLength: K });

describe('HERO-3 · importance', () => {
  it('at α = 1 relevance has no effect (bit-exact)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }).chain((K) => fc.tuple(probs(K), probs(K), probs(K), fc.array(fc.integer({ min: 0, max: 16 }), { minLength: K, maxLength: K }))),
      fc.constantFrom(0, 0.2), ([a, b, c, counts], lambda) => tf.tidy(() => {
        const sal = saliency(tf.tensor1d(a), 0.05), d = density(tf.tensor1d(counts), 16);
        const f1 = importance(sal, relevance(tf.tensor1d(b), 0.05), d, 1, lambda).dataSync();
        const f2 = importance(sal, relevance(tf.tensor1d(c), 0.05), d, 1, lambda).dataSync();
        const f3 = importance(sal, null, d, 1, lambda).dataSync();
        expect(Array.from(f1)).toEqual(Array.from(f2));
        expect(Array.from(f1)).toEqual(Array.from(f3));
      })));
  });

  it('is λ·d + (1−λ)(α s^v + (1−α) s^t) and sums to ≤ 1 for normalised inputs', () => tf.tidy(() => {
    const f = importance(tf.tensor1d([0.5, 0.5]), tf.tensor1d([0.9, 0.1]), tf.tensor1d([0.25, 0.75]), 0.5, 0.2).dataSync();
    expectClose(f, [0.2 * 0.25 + 0.8 * 0.7, 0.2 * 0.75 + 0.8 * 0.3], TOL.primitive, 'importance');
  }));

  it('α ≠ 0.5 weighs saliency by α and relevance by 1 − α (hand-computed; 0.5 cannot tell α from 1 − α)', () => tf.tidy(() => {
    const sal = tf.tensor1d([0.7, 0.3]), rel = tf.tensor1d([0.1, 0.9]), d = tf.tensor1d([0.25, 0.75]);
    // λ = 0: α = 0.8 → [0.8·0.7 + 0.2·0.1, 0.8·0.3 + 0.2·0.9] = [0.58, 0.42]; α = 0.3 → [0.3·0.7 + 0.7·0.1, 0.3·0.3 + 0.7·0.9] = [0.28, 0.72]
    expectClose(importance(sal, rel, d, 0.8, 0), [0.58, 0.42], TOL.primitive, 'α = 0.8, λ = 0');
    expectClose(importance(sal, rel, d, 0.3, 0), [0.28, 0.72], TOL.primitive, 'α = 0.3, λ = 0');
    // λ = 0.2, α = 0.8: [0.2·0.25 + 0.8·0.58, 0.2·0.75 + 0.8·0.42] = [0.514, 0.486]
    expectClose(importance(sal, rel, d, 0.8, 0.2), [0.514, 0.486], TOL.primitive, 'α = 0.8, λ = 0.2');
    // λ = 0.3, α = 0.3: [0.3·0.25 + 0.7·0.28, 0.3·0.75 + 0.7·0.72] = [0.271, 0.729]
    expectClose(importance(sal, rel, d, 0.3, 0.3), [0.271, 0.729], TOL.primitive, 'α = 0.3, λ = 0.3');
  }));
});

describe('HERO-B HERO-4 · tokenBudgets', () => {
  it('pools: B_0 = ⌊r·N⌋ and B_loc = ⌊(K·N)·r⌋ in float64 (LLaVA-NeXT: 576, K = 4, r = 0.2 → 115, 460)', () => {
    expect(budgetPools(576, 4, 0.2)).toEqual({ globalBudget: 115, localBudget: 460 });
    expect(budgetPools(576, 4, 0.4)).toEqual({ globalBudget: 230, localBudget: 921 });
    expect(budgetPools(16, 3, 0.25)).toEqual({ globalBudget: 4, localBudget: 12 });
  });

  it('the product is rounded to float32 before truncation', () => {
    // 0.7 as float32 is 0.699999988…; times 10 in float32 rounds to exactly 7, in float64 it is 6.99999988.
    expect(tokenBudgets([Math.fround(0.7), 0.3], [100, 100], 10, 0.5).budgets[0]).toBe(7);
  });

  it('budgets are non-negative integers, at most valid_k, summing to at most ⌊r·K·N⌋', () => {
    const arb = fc.record({ K: fc.integer({ min: 1, max: 8 }), N: fc.integer({ min: 1, max: 64 }), r: fc.double({ min: 0.001, max: 1, noNaN: true }),
      seed: fc.integer({ min: 0, max: 1e6 }), alpha: fc.double({ min: 0, max: 1, noNaN: true }), lambda: fc.constantFrom(0, 0.2) })
      .chain((s) => fc.record({ s: fc.constant(s), valid: fc.array(fc.integer({ min: 0, max: s.N }), { minLength: s.K, maxLength: s.K }) }));
    fc.assert(fc.property(arb, ({ s, valid }) => tf.tidy(() => {
      const sal = saliency(tf.randomUniform([s.K], -1, 1, 'float32', s.seed) as tf.Tensor1D, 0.05);
      const rel = relevance(tf.randomUniform([s.K], -1, 1, 'float32', s.seed + 1) as tf.Tensor1D, 0.05);
      const f = importance(sal, rel, density(tf.tensor1d(valid), s.N), s.alpha, s.lambda).dataSync();
      const t = tokenBudgets(f, valid, s.N, s.r);
      t.budgets.forEach((b, k) => {
        expect(Number.isInteger(b)).toBe(true);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThanOrEqual(valid[k]);
      });
      expect(t.budgets.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(Math.floor(s.r * s.K * s.N + 1e-9));
    })), { numRuns: 200 });
  });
});

describe('HERO-PROBE · probeBudgets (Table 1 pilot)', () => {
  it('the rank-th tile by descending score keeps valid_k, every other tile 0, the thumbnail N; fewer tiles than rank: none', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 7 }), fc.constantFrom<'clip' | 'cls'>('clip', 'cls'),
      (ints, rank, by) => {
        const K = ints.length, N = 9;
        const scores = ints.map((v) => v / 4);                // repeated values on purpose: ties
        const counts = ints.map((_, k) => (k * 5) % (N + 1));
        const r = probeBudgets({ rank, by }, scores, counts, N);
        // the reference: count, for each tile, how many tiles beat it (higher score, or equal and a lower index)
        const place = scores.map((s, k) => scores.filter((t, j) => t > s || (t === s && j < k)).length);
        const want = place.indexOf(rank - 1);                  // −1 when rank > K
        expect(r.tile).toBe(want);
        expect(r.order.map((k) => place[k])).toEqual([...Array(K).keys()]);
        expect(r.budgets).toEqual(counts.map((c, k) => (k === want ? c : 0)));
        expect(r.globalBudget).toBe(N);
      }));
  });

  it("'thumbnail-only': no tile, no ranking needed; unscored tiles are refused for a ranked probe", () => {
    expect(probeBudgets('thumbnail-only', null, [3, 4], 9)).toEqual({ order: [], tile: -1, globalBudget: 9, budgets: [0, 0] });
    expect(() => probeBudgets({ rank: 1, by: 'clip' }, [0.1, NaN], [3, 4], 9)).toThrow(/tile 1 has ranking score NaN/);
  });
});
