/**
 * `hero-lvlm trace --method hero` (and `run`) with Table 5's ablation flags and Table 1's pilot flags on the tiny golden model
 * (a child process, cpu). Each ablation is traced beside the golden case's own flags: the tensors it must change
 * differ, the ones downstream of the selection may, every other tensor is bit-identical (atol 0). Where the same
 * quantity has a second route through the flags (single layer = the last layer given alone, no relevance = α 1),
 * both traces agree bit for bit. The pilot's kept tokens are checked against a ranking computed here from the traced
 * scores, and the traced scores against the default run's HERO-1 / HERO-2 quantities. `run` records the same
 * options in report.json.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../util/cli';
import { loadCase } from '../util/fixtures';
import { heroTraceArgs } from '../util/golden_traces';
import { SafetensorsFile } from '../../src/io/safetensors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-trace-options-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Trace = Map<string, { shape: number[]; values: number[] }>;
let n = 0;
/** Runs trace (cpu) and reads every tensor back; the header's hero_options too. */
function trace(args: readonly string[]): { t: Trace; options: Record<string, unknown> } {
  const out = path.join(tmp, `t${n++}.safetensors`);
  const r = runCli(['trace', '--backend', 'cpu', ...args, '--out', out]);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  const f = SafetensorsFile.open(out);
  try {
    const t: Trace = new Map();
    for (const name of f.names()) {
      const i = f.info(name);
      t.set(name, { shape: [...i.shape], values: Array.from(i.dtype === 'F32' ? f.readFloat32(name) : f.readNumbers(name)) });
    }
    return { t, options: JSON.parse(f.metadata.hero_options) };
  } finally { f.close(); }
}

/** The case's flags without the named ones (and their values). */
function without(args: readonly string[], ...flags: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (flags.includes(args[i])) { i++; continue; }
    out.push(args[i]);
  }
  return out;
}

const same = (a: { values: number[] } | undefined, b: { values: number[] } | undefined): boolean =>
  a !== undefined && b !== undefined && a.values.length === b.values.length && a.values.every((v, i) => Object.is(v, b.values[i]));

/** Downstream of the budgets: what the kept tokens decide. */
const AFTER_KEEP = ['hero.global_keep', 'hero.tile_keep', 'image_features_packed', 'input_ids', 'inputs_embeds', 'logits', 'generated_ids'];
const AFTER_BUDGETS = ['hero.budgets', ...AFTER_KEEP];
const CLIP_FLAGS = ['--clip', '--clip-input-ids'];

describe('HERO-3 HERO-5 HERO-6 · Table 5 ablations through `trace` (hero_square_r50_a80: K = 4, low {0,1}, high {2})', () => {
  const args = heroTraceArgs(loadCase('hero_square_r50_a80'));
  let base: Trace;
  beforeAll(() => { base = trace(args).t; });

  /** Every tensor not in `changed`/`may` is bit-identical to the default run's; every one in `changed` differs. */
  function expectOnly(t: Trace, changed: readonly string[], may: readonly string[]): void {
    expect([...t.keys()].sort()).toEqual([...base.keys()].sort());
    for (const name of base.keys()) {
      if (may.includes(name)) continue;
      expect({ name, same: same(t.get(name), base.get(name)) }).toEqual({ name, same: !changed.includes(name) });
    }
  }

  it('--single-layer: only the tile scores change (low {0,1} → {1}; high is one layer already), equal to --low-layers 1', () => {
    const { t, options } = trace([...args, '--single-layer']);
    expect(options.ablation).toEqual({ singleLayer: true });
    expectOnly(t, ['hero.tile_scores'], AFTER_KEEP);
    const ref = trace([...without(args, '--low-layers'), '--low-layers', '1']).t;
    expect(same(t.get('hero.tile_scores'), ref.get('hero.tile_scores'))).toBe(true);
  });

  it('--same-selection: only the tile scores change, equal to scoring the tiles with --low-layers 2 (the high set)', () => {
    const { t, options } = trace([...args, '--same-selection']);
    expect(options.ablation).toEqual({ sameSelection: true });
    expectOnly(t, ['hero.tile_scores'], AFTER_KEEP);
    const ref = trace([...without(args, '--low-layers'), '--low-layers', '2']).t;
    expect(same(t.get('hero.tile_scores'), ref.get('hero.tile_scores'))).toBe(true);
  });

  it('--no-relevance (no --clip): the importance changes, CLIP scores are NaN ("not computed"), equal to --alpha 1', () => {
    const { t, options } = trace([...without(args, '--alpha', '--tau-t', ...CLIP_FLAGS), '--no-relevance']);
    expect(options.ablation).toEqual({ noRelevance: true });
    expectOnly(t, ['hero.importance', 'hero.clip_similarity', 'hero.relevance'], AFTER_BUDGETS);
    for (const k of ['hero.clip_similarity', 'hero.relevance']) expect(t.get(k)!.values.every(Number.isNaN)).toBe(true);
    const ref = trace([...without(args, '--alpha', '--tau-t', ...CLIP_FLAGS), '--alpha', '1']).t;
    for (const k of ['hero.importance', 'hero.budgets', 'hero.tile_keep']) expect({ k, same: same(t.get(k), ref.get(k)) }).toEqual({ k, same: true });
  });

  it('--uniform-budgets (no --clip): f_k = 1/K and b_k = min(trunc(f32(f32(1/K)·B_loc)), valid_k) from the traced valid mask', () => {
    const { t, options } = trace([...without(args, '--alpha', '--tau-v', '--tau-t', '--density-weight', ...CLIP_FLAGS), '--uniform-budgets']);
    expect(options.ablation).toEqual({ uniformBudgets: true });
    expectOnly(t, ['hero.importance', 'hero.clip_similarity', 'hero.relevance'], AFTER_BUDGETS);
    const K = 4, N = 16, Bloc = Math.trunc(K * N * 0.5);
    expect(t.get('hero.importance')!.values).toEqual(new Array(K).fill(Math.fround(1 / K)));
    const valid = t.get('hero.valid_mask')!.values;
    const counts = [0, 1, 2, 3].map((k) => valid.slice(k * N, (k + 1) * N).reduce((x, y) => x + y, 0));
    expect(t.get('hero.budgets')!.values).toEqual(counts.map((c) => Math.min(Math.trunc(Math.fround(Math.fround(1 / K) * Bloc)), c)));
  });

  it("Table 5's row D (all four flags) runs without --clip and records every ablation in the header", () => {
    const { options } = trace([...without(args, '--alpha', '--tau-v', '--tau-t', '--density-weight', ...CLIP_FLAGS), '--no-relevance', '--uniform-budgets', '--single-layer', '--same-selection']);
    expect(options.ablation).toEqual({ noRelevance: true, uniformBudgets: true, singleLayer: true, sameSelection: true });
  });
});

describe('HERO-PROBE · Table 1 pilot through `trace` (hero_tall_r25_a80: 3 × 1 tiles, padded columns)', () => {
  const args = heroTraceArgs(loadCase('hero_tall_r25_a80'));
  const probeArgs = without(args, '--ratio', '--alpha', '--tau-v', '--tau-t', '--density-weight');
  const N = 16, G = 4;
  let base: Trace;
  beforeAll(() => { base = trace(args).t; });

  /** The kept tokens of a probe run: the thumbnail whole, tile `tile` (−1: none) exactly its valid tokens. */
  function expectKept(t: Trace, tile: number): void {
    const K = t.get('hero.valid_mask')!.shape[0];
    const valid = t.get('hero.valid_mask')!.values;
    expect(t.get('hero.global_keep')!.values).toEqual(new Array(N).fill(1));
    const want = Array.from({ length: K * N }, (_, i) => (Math.floor(i / N) === tile ? valid[i] : 0));
    expect(t.get('hero.tile_keep')!.values).toEqual(want);
    const rows = K; // 3 × 1 grid: one tile per row
    const kept = tile >= 0 ? valid.slice(tile * N, (tile + 1) * N).reduce((x, y) => x + y, 0) : 0;
    expect(t.get('image_features_packed')!.shape[0]).toBe(N + kept + rows * G);
    expect(t.get('hero.budgets')!.values).toEqual(Array.from({ length: K }, (_, k) => (k === tile ? kept : 0)));
  }

  it.each([['clip', 1], ['clip', 2], ['clip', 3], ['clip', 4], ['cls', 1], ['cls', 2], ['cls', 3], ['cls', 4]] as const)(
    '--probe-tile %s-ranked %i: the tile ranked k-th by the traced scores keeps exactly its valid tokens', (by, k) => {
      const flags = [...(by === 'cls' ? without(probeArgs, ...CLIP_FLAGS) : probeArgs), '--probe-tile', String(k), '--probe-by', by];
      const { t, options } = trace(flags);
      expect(options.tileProbe).toEqual({ rank: k, by });
      // the ranking scores are HERO-1's c_k / HERO-2's t_k of the default run, bit for bit
      const scores = t.get('hero.probe_scores')!.values;
      expect(same(t.get('hero.probe_scores'), base.get(by === 'clip' ? 'hero.clip_similarity' : 'hero.cls_similarity'))).toBe(true);
      // the k-th by descending score, computed here (no ties in this case's scores)
      const K = scores.length;
      expect(new Set(scores).size).toBe(K);
      const order = [...scores.keys()].sort((a, b) => scores[b] - scores[a]);
      const want = k <= K ? order[k - 1] : -1;
      expect(t.get('hero.probe_order')!.values).toEqual(order);
      expect(t.get('hero.probe_tile')!.values).toEqual([want]);
      expectKept(t, want);
      // everything before the selection is the default run's
      for (const name of ['pixel_values', 'vision.attentions.2', 'hero.valid_mask', 'hero.cls_similarity', 'hero.global_scores', 'hero.tile_scores']) {
        expect({ name, same: same(t.get(name), base.get(name)) }).toEqual({ name, same: true });
      }
      expect(t.get('hero.importance')!.values.every(Number.isNaN)).toBe(true);
    });

  it('--thumbnail-only (no --clip): the thumbnail whole, no tile; probe_tile −1 and an empty order', () => {
    const { t, options } = trace([...without(probeArgs, ...CLIP_FLAGS), '--thumbnail-only']);
    expect(options.tileProbe).toBe('thumbnail-only');
    expect(t.get('hero.probe_tile')!.values).toEqual([-1]);
    expect(t.get('hero.probe_order')!.shape).toEqual([0]);
    expectKept(t, -1);
  });

  it('bad combinations are refused in one line before any weight is read', () => {
    for (const [extra, re] of [
      [['--probe-tile', '5', '--probe-by', 'cls'], /^hero-lvlm: error: --probe-tile: 5 is outside \[1, 4\]/],
      [['--probe-tile', '1', '--probe-by', 'cls', '--ratio', '0.4'], /^hero-lvlm: error: --ratio: has no effect with --probe-tile/],
      [['--probe-tile', '1', '--probe-by', 'clip', '--clip', path.join(tmp, 'missing')], /^hero-lvlm: error: --clip: .* has no config.json/],
    ] as const) {
      const r = runCli(['trace', '--backend', 'cpu', ...without(probeArgs, ...CLIP_FLAGS), ...extra, '--out', path.join(tmp, 'bad.safetensors')]);
      expect({ code: r.code, lines: r.stderr.trim().split('\n').length }).toEqual({ code: 2, lines: 1 });
      expect(r.stderr).toMatch(re);
    }
    const r = runCli(['trace', '--backend', 'cpu', ...without(args, '--alpha'), '--no-relevance', '--alpha', '0.3', '--out', path.join(tmp, 'bad.safetensors')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^hero-lvlm: error: --alpha: has no effect with --no-relevance/);
    expect(fs.existsSync(path.join(tmp, 'bad.safetensors'))).toBe(false);
  });
});

describe('`hero-lvlm run --method hero`: the flags reach report.json (hero_tall_r25_a80 inputs, tiny golden model)', () => {
  const args = heroTraceArgs(loadCase('hero_tall_r25_a80'));
  /* eslint-disable @typescript-eslint/no-explicit-any */
  function run(flags: string[]): any {
    const out = path.join(tmp, `run${n++}`);
    const r = runCli(['run', '--backend', 'cpu', ...flags, '--max-new-tokens', '1', '--out', out, '--json']);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  }

  it('an ablation row (Table 5 row B) and the probe are in options; the probe keeps N + valid_k* + rows·G tokens', () => {
    const rb = run([...without(args, '--alpha', '--tau-v', '--tau-t', '--density-weight', '--max-new-tokens', ...CLIP_FLAGS), '--no-relevance', '--uniform-budgets']);
    expect(rb.options.ablation).toEqual({ noRelevance: true, uniformBudgets: true });
    expect(rb.options).not.toHaveProperty('tileProbe');
    const base = without(args, '--ratio', '--alpha', '--tau-v', '--tau-t', '--density-weight', '--max-new-tokens', ...CLIP_FLAGS);
    const rp = run([...base, '--thumbnail-only']);
    expect(rp.options.tileProbe).toBe('thumbnail-only');
    expect(rp.options).not.toHaveProperty('ablation');
    expect(rp.visual_tokens.kept).toBe(16 + 3 * 4);                    // N + rows·G, no tile token
  });
});
