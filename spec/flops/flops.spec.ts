import fc from 'fast-check';
import { HeroError } from '../../src/core/errors';
import {
  layerPrefillFlops, prefillFlops, heroPrefillFlops, keptVisualTokens, kvCacheBytes, MIB, type DecoderDims,
} from '../../src/flops/flops';
import { PRESETS, PRESET_NAMES, presetDims, dimsFromConfig } from '../../src/flops/presets';
import { readJsonFile } from '../../src/io/json';
import { modelDir } from '../util/fixtures';
import * as path from 'path';

const V7 = PRESETS['vicuna-7b'];

/** The paper prints TFLOPs and MB with one decimal: a value reproduces a row when it rounds to it. */
const PAPER_ROUNDING = 0.05 + 1e-9;

/** Paper Table 4 (LLaVA-NeXT-7B on MME, averages). */
const TABLE4 = [
  { row: '100 %', tokens: 2673, tflops: 38.4, kvMb: 1336.5 },
  { row: 'HERO 40 %', tokens: 1105, tflops: 14.1, kvMb: 552.5 },
  { row: 'HERO 20 %', tokens: 583, tflops: 7.7, kvMb: 291.5 },
] as const;

/** Small random decoders (GQA included) for the properties. */
const dimsArb: fc.Arbitrary<DecoderDims> = fc
  .record({ layers: fc.integer({ min: 1, max: 8 }), kvHeads: fc.integer({ min: 1, max: 4 }), group: fc.integer({ min: 1, max: 4 }),
    headDim: fc.integer({ min: 1, max: 64 }), intermediate: fc.integer({ min: 1, max: 512 }), bytes: fc.constantFrom(1, 2, 4) })
  .map(({ layers, kvHeads, group, headDim, intermediate, bytes }) => ({
    layers, heads: kvHeads * group, kvHeads, headDim, hidden: kvHeads * group * headDim, intermediate, bytesPerElement: bytes,
  }));

describe('HERO-7 · prefillFlops against paper Table 4', () => {
  it.each(TABLE4.filter((r) => r.tokens !== 1105))('$row: $tokens tokens → $tflops TFLOPs', ({ tokens, tflops }) => {
    expect(Math.abs(prefillFlops(tokens, V7) / 1e12 - tflops)).toBeLessThanOrEqual(PAPER_ROUNDING);
  });

  it('HERO 40 %: 1105 tokens gives 14.95 TFLOPs, not the printed 14.1 (see docs/flops.md)', () => {
    const t = prefillFlops(1105, V7) / 1e12;
    expect(t).toBeCloseTo(14.952, 3);
    expect(Math.abs(t - 14.1)).toBeGreaterThan(PAPER_ROUNDING);
    // No count of the form a·n + b·n² with a, b ≥ 0 fits all three rows: FLOPs per token a + b·n can
    // only grow with n, yet the printed rows give 14.37 (2673), 12.76 (1105) and 13.21 (583) GFLOPs/token.
    const perToken = TABLE4.map((r) => r.tflops / r.tokens);
    expect(perToken[1]).toBeLessThan(perToken[2]);
    // 14.1 is what 1044 tokens give, the kept visual tokens alone (0.4 · 2610) without the 61 text tokens.
    expect(Math.abs(prefillFlops(1044, V7) / 1e12 - 14.1)).toBeLessThanOrEqual(PAPER_ROUNDING);
  });

  it('the first-principles count equals 2·L·(4nd² + 2n²d + 3ndm) for Vicuna-7B', () => {
    const { layers: L, hidden: d, intermediate: m } = V7;
    for (const n of [0, 1, 583, 2673]) expect(prefillFlops(n, V7)).toBe(2 * L * (4 * n * d * d + 2 * n * n * d + 3 * n * d * m));
  });

  it('causal counting (36.49 TFLOPs at 2673) does not reproduce the 100 % row', () => {
    expect(prefillFlops(2673, V7, { attention: 'causal' }) / 1e12).toBeCloseTo(36.494, 3);
  });

  it('lm_head: last adds 2·d·V, all adds 2·n·d·V', () => {
    const base = prefillFlops(100, V7);
    expect(prefillFlops(100, V7, { lmHead: 'last' }) - base).toBe(2 * 4096 * 32064);
    expect(prefillFlops(100, V7, { lmHead: 'all' }) - base).toBe(2 * 100 * 4096 * 32064);
    expect(prefillFlops(0, V7, { lmHead: 'last' })).toBe(0);
  });
});

describe('HERO-KV · kvCacheBytes against paper Table 4', () => {
  it.each(TABLE4)('$row: $tokens tokens → $kvMb MB, MB = 2^20 bytes', ({ tokens, kvMb }) => {
    expect(kvCacheBytes(tokens, V7) / MIB).toBe(kvMb); // exact: 0.5 MiB per token
    expect(Math.abs(kvCacheBytes(tokens, V7) / 1e6 - kvMb)).toBeGreaterThan(PAPER_ROUNDING); // not 10^6
  });

  it('is 2·L·Hkv·Dh·bytes per token: 0.5 MiB for Vicuna-7B fp16', () => {
    expect(kvCacheBytes(1, V7)).toBe(2 * 32 * 4096 * 2);
  });

  it('is linear in n', () => {
    fc.assert(fc.property(dimsArb, fc.nat(5000), fc.nat(5000), (dims, a, b) => {
      expect(kvCacheBytes(a + b, dims)).toBe(kvCacheBytes(a, dims) + kvCacheBytes(b, dims));
      expect(kvCacheBytes(0, dims)).toBe(0);
    }));
  });
});

describe('HERO-7 · properties', () => {
  it('is strictly increasing in n', () => {
    fc.assert(fc.property(dimsArb, fc.nat(10_000), fc.constantFrom('full', 'causal') as fc.Arbitrary<'full' | 'causal'>, (dims, n, attention) => {
      expect(prefillFlops(n + 1, dims, { attention })).toBeGreaterThan(prefillFlops(n, dims, { attention }));
    }));
  });

  it('has a positive quadratic term: the second difference is 4·L·H·Dh·2 (full) and half that (causal)', () => {
    fc.assert(fc.property(dimsArb, fc.nat(10_000), (dims, n) => {
      const second = (attention: 'full' | 'causal'): number =>
        prefillFlops(n + 2, dims, { attention }) - 2 * prefillFlops(n + 1, dims, { attention }) + prefillFlops(n, dims, { attention });
      const q = 2 * 2 * dims.heads * dims.headDim * dims.layers; // coefficient of n²
      expect(second('full')).toBe(2 * q);
      expect(second('causal')).toBe(q);
      expect(second('full')).toBeGreaterThan(0);
    }));
  });

  it('is zero at n = 0 and L times one layer', () => {
    fc.assert(fc.property(dimsArb, fc.nat(3000), (dims, n) => {
      expect(prefillFlops(0, dims)).toBe(0);
      expect(prefillFlops(n, dims)).toBe(dims.layers * layerPrefillFlops(n, dims));
    }));
  });

  it('GQA shrinks only the k/v projections: 4·n·d·(H − Hkv)·Dh per layer fewer', () => {
    const gqa = { ...V7, kvHeads: 8 };
    const n = 777;
    expect(layerPrefillFlops(n, V7) - layerPrefillFlops(n, gqa)).toBe(4 * n * 4096 * (32 - 8) * 128);
  });

  it('rejects negative, fractional and NaN token counts and bad dims with a HeroError', () => {
    expect(() => prefillFlops(-1, V7)).toThrow(HeroError);
    expect(() => prefillFlops(1.5, V7)).toThrow(/non-negative integer/);
    expect(() => prefillFlops(NaN, V7)).toThrow(HeroError);
    expect(() => prefillFlops(1, { ...V7, heads: 0 })).toThrow(/heads/);
    expect(() => prefillFlops(1, { ...V7, kvHeads: 5 })).toThrow(/multiple of kvHeads/);
    expect(() => prefillFlops(1, { ...V7, vocab: undefined }, { lmHead: 'last' })).toThrow(/vocab/);
  });
});

describe('HERO-8 · heroPrefillFlops', () => {
  it('at r = 1 equals HERO-7 of n_v + n_t', () => {
    fc.assert(fc.property(dimsArb, fc.nat(5000), fc.nat(500), (dims, nv, nt) => {
      expect(heroPrefillFlops(nv, nt, 1, dims)).toBe(prefillFlops(nv + nt, dims));
    }));
  });

  it('keeps ⌊r·n_v⌋ visual tokens and is monotone in r', () => {
    expect(keptVisualTokens(2610, 0.4)).toBe(1044);
    expect(keptVisualTokens(90, 0.7)).toBe(63); // 0.7·90 is 62.99999999999999 in float64
    expect(keptVisualTokens(2610, 0.2)).toBe(522);
    expect(keptVisualTokens(10, 0.25)).toBe(2);
    fc.assert(fc.property(dimsArb, fc.nat(5000), fc.nat(200), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }),
      (dims, nv, nt, r1, r2) => {
        const [lo, hi] = r1 <= r2 ? [r1, r2] : [r2, r1];
        const kept = keptVisualTokens(nv, lo);
        expect(kept).toBeLessThanOrEqual(lo * nv + 1e-6);
        expect(kept).toBeGreaterThan(lo * nv - 1 - 1e-6);
        expect(heroPrefillFlops(nv, nt, lo, dims)).toBeLessThanOrEqual(heroPrefillFlops(nv, nt, hi, dims));
      }));
  });

  it('the two HERO rows of Table 4 are n_v = 2610, n_t = 61 at r = 0.4 and 0.2 (1105 and 583 tokens)', () => {
    expect(keptVisualTokens(2610, 0.4) + 61).toBe(1105);
    expect(keptVisualTokens(2610, 0.2) + 61).toBe(583);
    expect(Math.abs(heroPrefillFlops(2610, 61, 0.2, V7) / 1e12 - 7.7)).toBeLessThanOrEqual(PAPER_ROUNDING);
  });

  it('rejects a ratio outside (0, 1] or NaN', () => {
    for (const r of [0, -0.1, 1.01, NaN, Infinity]) expect(() => heroPrefillFlops(10, 1, r, V7)).toThrow(/ratio must be in \(0, 1\]/);
  });
});

describe('HERO-7 · presets and dimsFromConfig', () => {
  it('has vicuna-7b and vicuna-13b', () => {
    expect(PRESET_NAMES).toEqual(['vicuna-7b', 'vicuna-13b']);
    expect(presetDims('vicuna-13b')).toMatchObject({ layers: 40, hidden: 5120, intermediate: 13824, heads: 40, kvHeads: 40, headDim: 128 });
    expect(() => presetDims('vicuna-70b')).toThrow(/--preset: unknown preset 'vicuna-70b'/);
  });

  it('reads text_config of a LLaVA-NeXT config.json (tiny fixture)', () => {
    const file = path.join(modelDir('llava-next-tiny'), 'config.json');
    expect(dimsFromConfig(readJsonFile(file), file)).toEqual({
      layers: 2, hidden: 64, intermediate: 128, heads: 4, kvHeads: 4, headDim: 16, vocab: 1024, bytesPerElement: 2,
    });
  });

  it('applies LlamaConfig defaults: an empty text_config is Vicuna-7B with vocab 32000', () => {
    expect(dimsFromConfig({ text_config: { vocab_size: 32064 } })).toEqual(V7);
    expect(dimsFromConfig({})).toEqual({ ...V7, vocab: 32000 });
    expect(dimsFromConfig({ hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2 }, 'c.json', 4))
      .toMatchObject({ hidden: 64, heads: 4, kvHeads: 2, headDim: 16, bytesPerElement: 4 });
  });

  it('names the file and field of a bad config', () => {
    expect(() => dimsFromConfig([], 'x.json')).toThrow('x.json: expected a JSON object');
    expect(() => dimsFromConfig({ text_config: { hidden_size: -1 } }, 'x.json')).toThrow(/x\.json text_config: field hidden_size must be a positive integer \(got -1\)/);
    expect(() => dimsFromConfig({ num_attention_heads: 6, num_key_value_heads: 4, head_dim: 2 }, 'x.json')).toThrow(/not a multiple of num_key_value_heads/);
  });
});
