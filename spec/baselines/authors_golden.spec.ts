/**
 * The baselines' defaults against their authors' code: spec/fixtures/cases/baseline_*.{json,safetensors},
 * written by spec/fixtures/generate/baselines_authors.py (ports of the official selection functions, cited
 * there by repo@commit, path and function, run on `trace`s of the tiny LLaVA-NeXT checked against HF
 * v4.45.1). Each case runs the whole pipeline here with the method's default options (only the budget
 * given), then compares kept sets, counts, budgets and the LLM-facing order exactly, scores and features
 * within named tolerances. Covers padding at the top/bottom (wide, odd) and at the sides (tall), the
 * non-square 1×2 and 3×1 grids, both retention levels of the paper's tables, HiRED at r = 1, FastV's
 * .5 rounding (M = 34, r = 0.25 → 8) and GlobalCom²'s as-coded placement.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadLlavaNext, disposeLlavaNext, type LlavaNextModel } from '../../src/llava/model';
import { runPipeline, type PipelineResult } from '../../src/pipeline';
import type { MethodSpec } from '../../src/methods';
import { readImage } from '../../src/io/image';
import { FIXTURES, imagePath, loadCase, modelDir, GOLDEN_BACKENDS, useBackend, type GoldenCase } from '../util/fixtures';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

const CASES = fs.readdirSync(path.join(FIXTURES, 'cases')).filter((f) => /^baseline_.*\.json$/.test(f)).map((f) => f.slice(0, -5)).sort();

/** The method with its defaults; only what the case's budget sets (and FasterVLM's non-default grid) is given. */
function methodOf(gc: GoldenCase, m: LlavaNextModel): MethodSpec {
  const j = gc.json;
  switch (j.method) {
    case 'fastervlm': return { name: 'fastervlm', options: { tokensPerCrop: j.tokens_per_crop, ...(j.grid_rule === 'fixed' ? {} : { grid: j.grid_rule }) } };
    case 'hired': return { name: 'hired', options: { ratio: j.ratio, alpha: j.alpha } };
    case 'globalcom2': return { name: 'globalcom2', options: { ratio: j.ratio, visionHeads: m.config.vision_config.num_attention_heads } };
    case 'prumerge+': return { name: 'prumerge+', options: { plus: true } };
    case 'fastv': return { name: 'fastv', options: { layer: j.fastv_layer, ratio: j.ratio } };
    default: throw new Error(`unknown method ${j.method}`);
  }
}

function traced(r: PipelineResult, name: string): number[] {
  const t = r.trace.get(name);
  if (!t) throw new Error(`the pipeline recorded no ${name}`);
  return Array.from(t.data as ArrayLike<number>);
}

/**
 * The LLM-facing order as indices into [projected rows (crop-major), image_newline] = −1: each packed row
 * is an exact copy (a gather) of one of them.
 */
function packedOrder(r: PipelineResult, D: number): number[] {
  const projected = traced(r, 'image_features_projected'), packed = traced(r, 'image_features_packed');
  const key = (a: number[], i: number): string => a.slice(i * D, (i + 1) * D).join(',');
  const rows = new Map<string, number>();
  for (let i = 0; i < projected.length / D; i++) rows.set(key(projected, i), i);
  return Array.from({ length: packed.length / D }, (_, i) => rows.get(key(packed, i)) ?? -1);
}

describe.each(GOLDEN_BACKENDS)('baselines as their authors coded them (%s backend)', (backend) => {
  let m: LlavaNextModel;
  beforeAll(async () => {
    await useBackend(backend);
    m = loadLlavaNext(modelDir('llava-next-tiny'));
  });
  afterAll(() => disposeLlavaNext(m));

  it('has the goldens: five methods, four images, the paper\'s two levels each', () => {
    const methods = new Set(CASES.map((c) => loadCase(c).json.method));
    expect([...methods].sort()).toEqual(['fastervlm', 'fastv', 'globalcom2', 'hired', 'prumerge+']);
    expect(CASES.length).toBe(44);
  });

  for (const name of CASES) {
    it(name, async () => {
      const gc = loadCase(name), j = gc.json;
      const image = await readImage(imagePath(j.image));
      const r = runPipeline(m, { image, inputIds: j.input_ids, method: methodOf(gc, m), maxNewTokens: 0, trace: true });
      expect(r.processed.grid).toEqual(j.grid);
      const D = m.config.text_config.hidden_size;
      const exact = (n: string): void => expect({ n, v: traced(r, n) }).toEqual({ n, v: gc.numbers(n) });
      switch (j.method) {
        case 'fastervlm':
          exact('fastervlm.keep');
          expectClose(traced(r, 'fastervlm.scores'), gc.floats('fastervlm.scores'), TOL.probs, 'fastervlm.scores');
          break;
        case 'hired':
          exact('hired.keep');
          exact('hired.budgets');
          expectClose(traced(r, 'hired.scores'), gc.floats('hired.scores'), TOL.golden, 'hired.scores');
          break;
        case 'globalcom2':
          exact('globalcom2.keep');
          expectClose(traced(r, 'globalcom2.scores'), gc.floats('globalcom2.scores'), TOL.golden, 'globalcom2.scores');
          expectClose(traced(r, 'globalcom2.tile_ratios'), gc.floats('globalcom2.tile_ratios'), TOL.golden, 'globalcom2.tile_ratios');
          break;
        case 'prumerge+':
          exact('prumerge.keep');
          exact('prumerge.outliers');
          expectClose(traced(r, 'prumerge.cls_attention'), gc.floats('prumerge.cls_attention'), TOL.probs, 'prumerge.cls_attention');
          break;
        case 'fastv':
          expect(j.n_keep).toBe(j.M_times_r % 1 === 0.5 ? 2 * Math.round(j.M_times_r / 2) : Math.round(j.M_times_r)); // the case's own count, Python's round
          exact('fastv.kept_positions');
          expectClose(traced(r, 'logits'), gc.floats('logits'), TOL.golden, 'logits (kept rows)');
          break;
      }
      if (gc.names().includes('order')) {
        // kept set, count and LLM-facing order (newlines included) exactly
        expect(packedOrder(r, D)).toEqual(gc.numbers('order'));
        expect(r.visualTokens).toBe(gc.shape('order')[0]);
      }
      if (j.method !== 'fastv') expectClose(traced(r, 'image_features_packed'), gc.floats('image_features_packed'), TOL.golden, 'image_features_packed');
    });
  }
});
