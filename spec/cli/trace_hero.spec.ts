/**
 * HERO end to end against the golden HERO cases (our re-implementation of the authors' algorithm on the
 * HF v4.45.1 model pieces): through the library (runPipeline, cpu) and through `hero-lvlm trace --method
 * hero` (a child process, cpu and wasm). Scores within TOL.heroScores (relative), other floats within TOL.golden; budgets, masks (valid_mask too) and greedy
 * ids exact; the pruned sequence's features, embeddings and logits within tolerance.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { runCli } from '../util/cli';
import { loadCase, modelDir, imagePath, GOLDEN_BACKENDS, POOL_BACKENDS, type GoldenCase } from '../util/fixtures';
import { HERO_CASES, HERO_TRACE_NAMES, HERO_TRACE_SKIP, heroCaseInputs, heroTraceArgs } from '../util/golden_traces';
import { SafetensorsFile } from '../../src/io/safetensors';
import { compare } from '../util/close';
import { TOL } from '../util/tolerances';
import { type LlavaNextModel } from '../../src/llava/model';
import { type ClipModel } from '../../src/clip/model';
import { readImage } from '../../src/io/image';
import { runPipeline } from '../../src/pipeline';
import { loadLlavaNext, disposeLlavaNext } from '../../src/llava/load';
import { loadClipModel, disposeClipModel } from '../../src/clip/load';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-e2e-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CASES = HERO_CASES();
const INT = new Set(['hero.budgets', 'hero.global_keep', 'hero.tile_keep', 'hero.valid_mask', 'input_ids', 'generated_ids', 'image_sizes']);
/** Scores ≈ 1/N, compared relative to each value (TOL.heroScores); every other float within TOL.golden. */
const SCORES = new Set(['hero.global_scores', 'hero.tile_scores']);
const NAMES = HERO_TRACE_NAMES;
const SKIP = HERO_TRACE_SKIP;
const caseInputs = heroCaseInputs;

/** Checks every golden tensor of a HERO case against a name → (shape, values) lookup. */
function checkAgainstGolden(gc: GoldenCase, get: (name: string) => { shape: readonly number[]; values: ArrayLike<number> } | undefined): void {
  for (const g of gc.names().filter((n) => !SKIP.has(n))) {
    const name = NAMES[g] ?? g;
    const got = get(name);
    expect({ name, present: got !== undefined }).toEqual({ name, present: true });
    expect({ name, shape: [...got!.shape] }).toEqual({ name, shape: gc.shape(g) });
    if (INT.has(name)) {
      expect({ name, v: Array.from(got!.values) }).toEqual({ name, v: gc.numbers(g) });
    } else {
      const c = compare(got!.values, gc.floats(g), SCORES.has(name) ? TOL.heroScores : TOL.golden);
      expect({ name, ok: c.ok, worst: c.ok ? 0 : c.worst }).toEqual({ name, ok: true, worst: 0 });
    }
  }
}

describe('HERO-1 … HERO-6 HERO-LAYOUT · HERO end to end through the library (cpu)', () => {
  let m: LlavaNextModel;
  let clip: ClipModel;
  beforeAll(() => {
    m = loadLlavaNext(modelDir('llava-next-tiny'));
    clip = loadClipModel(modelDir('clip-tiny'));
  });
  afterAll(() => { disposeLlavaNext(m); disposeClipModel(clip); });

  it.each(CASES)('%s', async (name) => {
    const gc = loadCase(name);
    const { legacyIds, clipIds, image, opts } = caseInputs(gc);
    const img = await readImage(imagePath(image));
    const r = await runPipeline(m, { image: img, inputIds: legacyIds, maxNewTokens: 5, trace: true, method: { name: 'hero', options: opts, clip, clipTextIds: clipIds } });
    checkAgainstGolden(gc, (n) => { const t = r.trace.get(n); return t && { shape: t.shape, values: t.data as ArrayLike<number> }; });
    expect(r.visualTokens).toBe(gc.json.hero_info.num_image_features_M);
  });
});

describe.each([...GOLDEN_BACKENDS])('HERO-1 … HERO-6 HERO-LAYOUT · `hero-lvlm trace --method hero` (%s backend)', (backend) => {
  it.each(CASES)('%s', (name) => {
    const gc = loadCase(name);
    const out = path.join(tmp, `${name}_${backend}.safetensors`);
    const r = runCli(['trace', '--backend', backend, ...heroTraceArgs(gc), '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const f = SafetensorsFile.open(out);
    try {
      checkAgainstGolden(gc, (n) => (f.has(n) ? { shape: f.info(n).shape, values: f.info(n).dtype === 'F32' ? f.readFloat32(n) : f.readNumbers(n) } : undefined));
    } finally {
      f.close();
    }
  });
});

// Both vision towers over two worker threads: LLaVA's (VisionPool) and the separate CLIP's for HERO-2's
// relevance pass (LazyVisionPool, started once the image is encoded). The same goldens must hold.
(POOL_BACKENDS.includes('wasm') ? describe : describe.skip)('HERO-2 · `hero-lvlm trace --method hero --vision-workers 2` (wasm)', () => {
  it.each(CASES.slice(0, 2))('%s', (name) => {
    const gc = loadCase(name);
    const out = path.join(tmp, `${name}_wasm_workers.safetensors`);
    const r = runCli(['trace', '--backend', 'wasm', ...heroTraceArgs(gc), '--vision-workers', '2', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stderr).toContain('vision tower: 2 worker threads');
    expect(r.stderr).toContain("CLIP vision tower (hero's relevance pass): 2 worker threads");
    const f = SafetensorsFile.open(out);
    try {
      checkAgainstGolden(gc, (n) => (f.has(n) ? { shape: f.info(n).shape, values: f.info(n).dtype === 'F32' ? f.readFloat32(n) : f.readNumbers(n) } : undefined));
    } finally {
      f.close();
    }
  });
});
