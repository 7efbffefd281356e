import fc from 'fast-check';
import {
  checkSparseVlmLayers, sparseVlmDerivedScaleBias, sparseVlmKeptCount, sparseVlmRecycleCounts, sparseVlmSchedule, sparseVlmTargetCount,
} from '../../src/baselines/sparsevlm_budget';
import { layerwiseKvCacheBytes, layerwisePrefillFlops, MIB } from '../../src/flops/flops';
import { presetDims } from '../../src/flops/presets';

const V7 = [2, 6, 15, 19];

describe('SparseVLM-4 · scale and bias derived for an r·M layer average', () => {
  it('Vicuna-7B, M = 2610, layers 2/6/15/19: k* = 1211 at r = 0.5 and 512 at r = 0.25 (hand-checked)', () => {
    // Visual tokens after each layer when every pruning layer keeps k (rank < v): layers 0–1 M; 2–5 k + c₁;
    // 6–14 k + c₂; 15–18 k + c₃; 19–31 k + c₄, c = int((int(0.3·dropped) + 1)/10) + 1.
    // r = 0.5, budget 32·1305 = 41760. k = 1211: dropped 1399 → n 420 → c₁ 43; dropped 43 → n 13 → c₂ 2; c₃ = c₄ = 1
    //   sum = 2·2610 + 4·1254 + 9·1213 + 4·1212 + 13·1212 = 41757 ≤ 41760;
    //   k = 1212: c₁ = 43 (n = int(419.4) + 1 = 420) → 2·2610 + 4·1255 + 9·1214 + 17·1213 = 41787 > 41760.
    expect(sparseVlmTargetCount(2610, 0.5, V7, 32)).toBe(1211);
    const s = sparseVlmSchedule(2610, 1211, V7, 32);
    expect(s.after).toEqual([2610, 2610, ...Array(4).fill(1254), ...Array(9).fill(1213), ...Array(17).fill(1212)]);
    expect(s.entering).toEqual([2610, 2610, 2610, ...Array(4).fill(1254), ...Array(9).fill(1213), ...Array(16).fill(1212)]);
    expect([s.kept, s.recycled]).toEqual([[1211, 1211, 1211, 1211], [43, 2, 1, 1]]);
    // r = 0.25, budget 32·652.5 = 20880. k = 512: dropped 2098 → n = int(629.4) + 1 = 630 → c₁ 64; 64 → 20 → 3; 1; 1
    //   sum = 5220 + 4·576 + 9·515 + 17·513 = 20880 (exactly the budget); k = 513 gives 20910.
    expect(sparseVlmTargetCount(2610, 0.25, V7, 32)).toBe(512);
    // LLaVA-1.5 geometry (576 tokens) at its "192" label (r = 1/3): 2·576 + 30k + (4·13 + 9 + 4 + 13) ≤ 6144 → k* = 163;
    // the official 13.5·rank lands there
    // with about 12 raters (13.5·12 = 162).
    expect(sparseVlmTargetCount(576, 1 / 3, V7, 32)).toBe(163);
    // float64 guard: 0.7·330·32 = 7391.999999999999, but k = 223 sums to exactly 7392 = the budget
    // (330 − 223 = 107 dropped → n 33 → c₁ 4; 4 → 2 → 1; 1; 1: 2·330 + 4·227 + 26·224 = 7392)
    expect(sparseVlmTargetCount(330, 0.7, V7, 32)).toBe(223);
  });

  it('the derived constants reproduce k* at full rank and the formula elsewhere (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 20, max: 3000 }), fc.integer({ min: 1, max: 80 }), fc.constantFrom(0.25, 0.5, 0.75, 1), (M, R, r) => {
      fc.pre(R < M); // rank = v keeps everything instead
      const { scale, bias, target } = sparseVlmDerivedScaleBias(M, R, r, V7, 32);
      expect(target).toBe(sparseVlmTargetCount(M, r, V7, 32));
      expect(sparseVlmKeptCount(R, M, scale, bias).kept).toBe(Math.min(target, M - 1));
      const mean = (k: number): number => sparseVlmSchedule(M, k, V7, 32).after.reduce((a, b) => a + b, 0) / 32;
      expect(mean(target)).toBeLessThanOrEqual(r * M + 1e-9);
      if (target < M - 1) expect(mean(target + 1)).toBeGreaterThan(r * M);
    }));
  });

  it('refuses what it cannot reach, and an empty rater set', () => {
    // layers 0–1 keep all M, so the average is at least 2M/32 = M/16 > 0.05·M
    expect(() => sparseVlmTargetCount(2610, 0.05, V7, 32)).toThrow(/--ratio: 0.05 is below what SparseVLM can reach/);
    expect(() => sparseVlmDerivedScaleBias(100, 0, 0.5, V7, 32)).toThrow(/no text token rates the image/);
    expect(() => checkSparseVlmLayers([2, 6, 15, 19], 16)).toThrow(/--sparsevlm-layers: 2,6,15,19 is not an ascending list within 0..15/);
    expect(() => checkSparseVlmLayers([6, 2], 32)).toThrow(/--sparsevlm-layers/);
  });

  it('schedule counts never grow and follow the count and recycling formulas (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 3000 }),
      fc.uniqueArray(fc.integer({ min: 0, max: 31 }), { minLength: 1, maxLength: 6 }), (M, k, ls) => {
        const layers = [...ls].sort((a, b) => a - b);
        const s = sparseVlmSchedule(M, k, layers, 32);
        let v = M;
        s.after.forEach((a, l) => {
          expect(a).toBeLessThanOrEqual(v);
          if (layers.includes(l)) {
            const kept = Math.min(k, v - 1);
            expect(a).toBe(kept + sparseVlmRecycleCounts(v - kept).clusters);
          } else expect(a).toBe(v);
          v = a;
        });
      }));
  });
});

describe('SparseVLM-5 · prefill FLOPs and KV cache of the shrinking sequence (Vicuna-7B)', () => {
  // d = 4096, m = 11008, F_layer(n) = 2·(4nd² + 2n²d + 3ndm); n_v = 2610, n_t = 61 (docs/flops.md's Table 4 split).
  // Tokens per layer = visual tokens entering it + 61.
  // r = 0.5:  2671 × 3 (layers 0–2), 1315 × 4, 1274 × 9, 1273 × 16
  //   F(2671) = 1 197 975 552 000, F(1315) = 560 578 314 240, F(1274) = 542 244 405 248, F(1273) = 541 797 924 864
  //   total = 3·F(2671) + 4·F(1315) + 9·F(1274) + 16·F(1273) = 19 385 206 358 016 ≈ 19.39 TFLOPs
  //   KV: (3·2671 + 4·1315 + 9·1274 + 16·1273) = 45 107 token-layers × 2·4096·2 B = 45 107/64 MiB = 704.796875 MiB
  // r = 0.25: 2671 × 3, 637 × 4, 576 × 9, 574 × 16
  //   F(637) = 264 474 083 328, F(576) = 238 572 011 520, F(574) = 237 724 827 648
  //   total = 10 602 568 335 360 ≈ 10.60 TFLOPs;  KV: 24 929/64 = 389.515625 MiB
  // (full LLaVA-NeXT: 32·F(2671) = 38.34 TFLOPs.)
  const dims = presetDims('vicuna-7b');
  const perLayer = (r: number): number[] => sparseVlmSchedule(2610, sparseVlmTargetCount(2610, r, V7, 32), V7, 32).entering.map((v) => v + 61);
  it('r = 0.5 and r = 0.25 (hand-computed)', () => {
    expect(perLayer(0.5)).toEqual([...Array(3).fill(2671), ...Array(4).fill(1315), ...Array(9).fill(1274), ...Array(16).fill(1273)]);
    expect(layerwisePrefillFlops(perLayer(0.5), dims)).toBe(19385206358016);
    expect(layerwiseKvCacheBytes(perLayer(0.5), dims) / MIB).toBe(704.796875);
    expect(perLayer(0.25)).toEqual([...Array(3).fill(2671), ...Array(4).fill(637), ...Array(9).fill(576), ...Array(16).fill(574)]);
    expect(layerwisePrefillFlops(perLayer(0.25), dims)).toBe(10602568335360);
    expect(layerwiseKvCacheBytes(perLayer(0.25), dims) / MIB).toBe(389.515625);
  });
  it('needs one count per layer', () => {
    expect(() => layerwisePrefillFlops([1, 2], dims)).toThrow(/2 entries for 32 layers/);
  });
});
