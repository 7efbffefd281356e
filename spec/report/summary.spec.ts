/**
 * The run report (report.json and its text): the Vicuna-7B prefill TFLOPs and KV cache against values
 * computed by hand from HERO-7/8 (docs/flops.md), the tile table's layout and values, and the kept counts
 * against the keep masks. Paper Table 4's token counts (2673 tokens = 2612 visual + 61 text; HERO 20 %:
 * 522 visual + 61 text = 583) make the expected figures the paper's own.
 */
import { buildReport, formatReport } from '../../src/report/summary';
import type { PipelineResult } from '../../src/pipeline';
import type { TensorToWrite } from '../../src/io/safetensors';
import { METHOD_REPORTS } from '../../src/report/method_report';

/** A hand-made pipeline result: a 1×3 tile grid, keep masks with known counts, HERO's per-tile values. */
function fakeResult(): PipelineResult {
  const N = 8;
  const mask = (kept: number[]): Uint8Array => { const m = new Uint8Array(N); for (const i of kept) m[i] = 1; return m; };
  const keepMasks = [mask([0, 3, 5]), mask([1]), mask([0, 1, 2, 7]), mask([])];
  const f32 = (v: number[]) => ({ dtype: 'F32' as const, shape: [v.length], data: Float32Array.from(v) });
  return {
    processed: { pixelValues: new Float32Array(0), shape: [4, 3, 336, 336], imageSize: [480, 640], bestResolution: [336, 1008], grid: [1, 3] },
    inputIds: new Array(583).fill(7), newIds: [5, 2], visualTokens: 522, visualTokensFull: 2612,
    keptPerCrop: keepMasks.map((m) => m.reduce((a, b) => a + b, 0)), keepMasks, numNewlines: 0,
    methodTensors: new Map<string, TensorToWrite>([
      ['hero.cls_similarity', f32([0.5, 0.25, -0.125])], ['hero.clip_similarity', f32([0.1, 0.2, 0.3])],
      ['hero.saliency', f32([0.625, 0.25, 0.125])], ['hero.relevance', f32([0.75, 0.125, 0.125])],
      ['hero.density', f32([1, 0.75, 0.5])], ['hero.importance', f32([0.5, 0.375, 0.125])],
      ['hero.budgets', { dtype: 'I64' as const, shape: [3], data: [1, 4, 0] }],
    ]),
    trace: new Map(), clsAttention: [], timings: { vision: 1 },
  };
}

const META = { randomWeights: false, model: 'm', clip: 'c', backend: 'cpu', method: 'hero', options: {}, imageFile: 'x.png', imageAlpha: 'drop', template: 'vicuna_v1', answer: 'yes', outputs: {}, tileStats: METHOD_REPORTS.hero!.tileStats };

describe('HERO-7 HERO-8 · run report figures', () => {
  it('Vicuna-7B prefill TFLOPs and KV cache equal HERO-7/8 worked by hand (paper Table 4 rows)', () => {
    const rep = buildReport(fakeResult(), META);
    expect(rep.text_tokens).toBe(61);                                 // 583 − 522
    expect(rep.vicuna_7b.tokens).toEqual({ full: 2673, pruned: 583 }); // 2612 + 61, 522 + 61
    // HERO-7, docs/flops.md: F(n) = 2·L·(4nd² + 2n²d + 3ndm), L = 32, d = 4096, m = 11008 (Vicuna-7B)
    //   F(2673) = 64·(4·2673·4096² + 2·2673²·4096 + 3·2673·4096·11008) = 38 366 725 275 648 (Table 4: 38.4)
    //   F(583)  = 64·(4·583·4096²  + 2·583²·4096  + 3·583·4096·11008)  =  7 729 221 992 448 (Table 4: 7.7)
    expect(rep.vicuna_7b.prefill_tflops.full).toBeCloseTo(38.366725275648, 9);
    expect(rep.vicuna_7b.prefill_tflops.pruned).toBeCloseTo(7.729221992448, 9);
    expect(rep.vicuna_7b.prefill_tflops.ratio).toBeCloseTo(4.963853452926442, 9); // 38.366725275648 / 7.729221992448
    // HERO-8 (KV): 2·L·n·d·2 bytes (fp16) / 2²⁰ = n · 0.5 MiB → 1336.5 and 291.5 MiB (Table 4: 1336.5, 291.5)
    expect(rep.vicuna_7b.kv_cache_mib).toEqual({ full: 1336.5, pruned: 291.5 });
  });

  it('tile table: row-major (row, col), per-tile values, kept = the tile\'s keep-mask count; thumbnail first in kept_per_crop', () => {
    const rep = buildReport(fakeResult(), META);
    expect(rep.grid).toEqual([1, 3]);
    expect(rep.kept_per_crop).toEqual([3, 1, 4, 0]);
    expect(rep.visual_tokens).toEqual({ full: 2612, kept: 522 });
    expect(rep.tiles).toEqual([
      { tile: 0, row: 0, col: 0, cls_similarity: 0.5, saliency: 0.625, clip_score: Math.fround(0.1), relevance: 0.75, density: 1, importance: 0.5, budget: 1, kept: 1 },
      { tile: 1, row: 0, col: 1, cls_similarity: 0.25, saliency: 0.25, clip_score: Math.fround(0.2), relevance: 0.125, density: 0.75, importance: 0.375, budget: 4, kept: 4 },
      { tile: 2, row: 0, col: 2, cls_similarity: -0.125, saliency: 0.125, clip_score: Math.fround(0.3), relevance: 0.125, density: 0.5, importance: 0.125, budget: 0, kept: 0 },
    ]);
    expect(rep.image).toEqual({ file: 'x.png', height: 480, width: 640, alpha: 'drop' });
    expect(rep.template).toBe('vicuna_v1');
    expect(rep.answer_ids).toEqual([5, 2]);
  });

  it('a 2×2 grid numbers tiles row-major: tile k is (⌊k/2⌋, k mod 2)', () => {
    const r = fakeResult();
    const rep = buildReport({ ...r, processed: { ...r.processed, grid: [2, 2] }, keptPerCrop: [3, 1, 4, 0, 2], methodTensors: new Map() }, META);
    expect(rep.tiles.map((t) => [t.tile, t.row, t.col, t.kept])).toEqual([[0, 0, 0, 1], [1, 0, 1, 4], [2, 1, 0, 0], [3, 1, 1, 2]]);
    expect(rep.tiles.every((t) => t.importance === null && t.budget === null)).toBe(true); // no hero.* → null, shown as —
  });

  it('the text report shows the table rows, the counts and the figures', () => {
    const text = formatReport(buildReport(fakeResult(), META));
    expect(text).toContain('image 640×480 (W×H) → tile grid 1×3; method hero; backend cpu');
    expect(text).toContain('    0 (0,0)    0.500       0.100    1.000       0.500       1     1');
    expect(text).toContain('    2 (0,2)   -0.125       0.300    0.500       0.125       0     0');
    expect(text).toContain('tokens kept per crop (thumbnail first): 3, 1, 4, 0');
    expect(text).toContain('visual tokens: 2612 → 522 (20.0 %); text tokens: 61');
    expect(text).toContain('real Vicuna-7B prefill (HERO-7/8): 38.37 → 7.73 TFLOPs (4.96× less); KV cache 1336.5 → 291.5 MiB');
  });
});
