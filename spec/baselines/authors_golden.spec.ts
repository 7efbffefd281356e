/**
 * The baselines' defaults against their authors' code: spec/fixtures/cases/baseline_*.{json,safetensors},
 * written by spec/fixtures/generate/baselines_authors.py (ports of the official selection functions, cited
 * there by repo@commit, path and function, run on `trace`s of the tiny LLaVA-NeXT checked against HF
 * v4.45.1). FasterVLM and FastV cases run the whole pipeline, HiRED, GlobalCom² and PruMerge+ cases
 * runMethod on one vision pass per image (as the pipeline calls it), each with the method's default options
 * (only the budget given); then the spec compares kept sets, counts, budgets and the LLM-facing order
 * exactly, scores and features within named tolerances. Covers padding at the top/bottom (wide, odd) and at the sides (tall), the
 * non-square 1×2 and 3×1 grids, both retention levels of the paper's tables, HiRED at r = 1, FastV's
 * .5 rounding (M = 34, r = 0.25 → 8) and GlobalCom²'s as-coded placement.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { encodeImage, disposeVisualContext, type LlavaNextModel } from '../../src/llava/model';
import { preprocess } from '../../src/llava/image_processor';
import type { VisualContext } from '../../src/llava/visual_context';
import { runPipeline, type PipelineResult } from '../../src/pipeline';
import { runMethod, type MethodSpec } from '../../src/methods';
import { readImage } from '../../src/io/image';
import { FIXTURES, imagePath, loadCase, modelDir, GOLDEN_BACKENDS, useBackend, type GoldenCase } from '../util/fixtures';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';
import { loadLlavaNext, disposeLlavaNext } from '../../src/llava/load';

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

/** What a case compares, from either path: the full pipeline or runMethod on a shared vision pass. */
interface Outcome {
  readonly grid: readonly number[];
  get(name: string): number[];
  /** the LLM-facing order as indices into [projected rows (crop-major)], −1 for image_newline */
  readonly order: number[];
}

/** Each packed row is an exact copy (a gather) of a projected row or of image_newline (−1). */
function orderOf(projected: ArrayLike<number>, newline: ArrayLike<number>, packed: ArrayLike<number>, D: number): number[] {
  const key = (a: ArrayLike<number>, i: number): string => Array.from({ length: D }, (_, d) => a[i * D + d]).join(',');
  const rows = new Map<string, number>();
  for (let i = 0; i < projected.length / D; i++) rows.set(key(projected, i), i);
  const nl = key(newline, 0);
  return Array.from({ length: packed.length / D }, (_, i) => (key(packed, i) === nl ? -1 : rows.get(key(packed, i)) ?? -2));
}

function fromPipeline(r: PipelineResult, newline: ArrayLike<number>): Outcome {
  const get = (name: string): number[] => {
    const t = r.trace.get(name);
    if (!t) throw new Error(`the pipeline recorded no ${name}`);
    return Array.from(t.data as ArrayLike<number>);
  };
  return { grid: r.processed.grid, get, order: orderOf(get('image_features_projected'), newline, get('image_features_packed'), newline.length) };
}

const SHARED = new Set(['hired', 'globalcom2', 'prumerge+']);

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

  /** Compares one case's outcome (host arrays, read with await data()) with its golden. */
  function check(gc: GoldenCase, o: Outcome, visualTokens: number): void {
    const j = gc.json;
    expect(o.grid).toEqual(j.grid);
    const exact = (n: string): void => expect({ n, v: o.get(n) }).toEqual({ n, v: gc.numbers(n) });
    switch (j.method) {
      case 'fastervlm':
        exact('fastervlm.keep');
        expectClose(o.get('fastervlm.scores'), gc.floats('fastervlm.scores'), TOL.probs, 'fastervlm.scores');
        break;
      case 'hired':
        exact('hired.keep');
        exact('hired.budgets');
        expectClose(o.get('hired.scores'), gc.floats('hired.scores'), TOL.golden, 'hired.scores');
        break;
      case 'globalcom2':
        exact('globalcom2.keep');
        expectClose(o.get('globalcom2.scores'), gc.floats('globalcom2.scores'), TOL.golden, 'globalcom2.scores');
        expectClose(o.get('globalcom2.tile_ratios'), gc.floats('globalcom2.tile_ratios'), TOL.golden, 'globalcom2.tile_ratios');
        break;
      case 'prumerge+':
        exact('prumerge.keep');
        exact('prumerge.outliers');
        expectClose(o.get('prumerge.cls_attention'), gc.floats('prumerge.cls_attention'), TOL.probs, 'prumerge.cls_attention');
        break;
      case 'fastv':
        expect(j.n_keep).toBe(j.M_times_r % 1 === 0.5 ? 2 * Math.round(j.M_times_r / 2) : Math.round(j.M_times_r)); // the case's own count, Python's round
        exact('fastv.kept_positions');
        expectClose(o.get('logits'), gc.floats('logits'), TOL.golden, 'logits (kept rows)');
        break;
    }
    if (gc.names().includes('order')) {
      // kept set, count and LLM-facing order (newlines included) exactly
      expect(o.order).toEqual(gc.numbers('order'));
      expect(visualTokens).toBe(gc.shape('order')[0]);
    }
    if (j.method !== 'fastv') expectClose(o.get('image_features_packed'), gc.floats('image_features_packed'), TOL.golden, 'image_features_packed');
  }

  // FasterVLM (its own grid) and FastV (inside the decoder) through the whole pipeline.
  for (const name of CASES.filter((c) => !SHARED.has(loadCase(c).json.method))) {
    it(name, async () => {
      const gc = loadCase(name), j = gc.json;
      const image = await readImage(imagePath(j.image));
      const r = await runPipeline(m, { image, inputIds: j.input_ids, method: methodOf(gc, m), maxNewTokens: 0, trace: true });
      check(gc, fromPipeline(r, await m.params.image_newline!.data()), r.visualTokens);
    });
  }

  // HiRED, GlobalCom², PruMerge+ on one vision pass per image (HF's grid), through runMethod as the pipeline calls it.
  const byImage = new Map<string, string[]>();
  for (const c of CASES.filter((c) => SHARED.has(loadCase(c).json.method))) byImage.set(loadCase(c).json.image, [...(byImage.get(loadCase(c).json.image) ?? []), c]);
  for (const [img, names] of byImage) {
    describe(img, () => {
      let ctx: VisualContext;
      let grid: readonly number[];
      beforeAll(async () => {
        const processed = preprocess(await readImage(imagePath(img)), m.processor);
        grid = processed.grid;
        const L = m.config.vision_config.num_hidden_layers;
        const pixels = tf.tensor4d(processed.pixelValues, processed.shape as [number, number, number, number]);
        ctx = encodeImage(m, pixels, processed.imageSize, processed.grid, { hiddenStates: 'all', attentions: 'all', queryKey: [L - 1] });
        pixels.dispose();
      });
      afterAll(() => disposeVisualContext(ctx));
      for (const name of names) {
        it(name, async () => {
          const gc = loadCase(name);
          const res = await runMethod(methodOf(gc, m), ctx, m);
          try {
            const D = m.config.text_config.hidden_size;
            // every tensor read to the host first (await data()), then compared
            const packed = await res.features.data();
            const values = new Map<string, ArrayLike<number>>([['image_features_packed', packed]]);
            for (const [n, t] of Object.entries(res.tensors)) if (n !== 'image_features_packed') values.set(n, await t.tensor.data());
            const get = (n: string): number[] => {
              const v = values.get(n);
              if (!v) throw new Error(`runMethod returned no ${n}`);
              return Array.from(v);
            };
            check(gc, { grid, get, order: orderOf(await ctx.projected.data(), await ctx.imageNewline!.data(), packed, D) }, res.features.shape[0]);
          } finally {
            res.features.dispose();
            Object.values(res.tensors).forEach((t) => t.tensor.dispose());
          }
        });
      }
    });
  }
});
