/**
 * `hero-lvlm trace --method sparsevlm` and `run --method sparsevlm` through the command line, on the golden
 * tiny LLaVA-NeXT (2 decoder layers, so `--sparsevlm-layers` within 0..1) and on the embedded default model.
 * The trace's sparsevlm.* tensors are checked against each other, against the count formulas written out
 * here, and the raters against a float64 recomputation from the trace's own inputs_embeds.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../util/cli';
import { imagePath, loadCase, modelDir } from '../util/fixtures';
import { SafetensorsFile } from '../../src/io/safetensors';
import { compare } from '../util/close';
import { TOL } from '../util/tolerances';
import { ensureDefaultWeights } from '../../src/weights/default_model';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-sparsevlm-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const IMG = 1000; // image_token_index of llava-next-tiny
const tiny = (): string[] => ['--backend', 'cpu', '--model', modelDir('llava-next-tiny'), '--image', imagePath('wide_h30_w100'),
  '--input-ids', loadCase('llava_wide').numbers('legacy_input_ids').join(',')];

/** Raters from the input embeddings in float64: softmax over text of V·Tᵀ, mean over V, strictly above the mean. */
function ratersOf(embeds: Float32Array, ids: number[], D: number): number[] {
  const vs = ids.indexOf(IMG), ve = ids.lastIndexOf(IMG) + 1, text = ids.length - ve;
  const m = new Array(text).fill(0);
  for (let i = vs; i < ve; i++) {
    const logits = Array.from({ length: text }, (_, j) => {
      let s = 0;
      for (let d = 0; d < D; d++) s += embeds[i * D + d] * embeds[(ve + j) * D + d];
      return s;
    });
    const mx = Math.max(...logits), e = logits.map((x) => Math.exp(x - mx)), z = e.reduce((a, b) => a + b, 0);
    e.forEach((x, j) => { m[j] += x / z / (ve - vs); });
  }
  const mean = m.reduce((a, b) => a + b, 0) / text;
  return m.flatMap((x, j) => (x > mean ? [ve + j] : []));
}

// Goldens from a torch re-write of the official v1 functions on HF v4.45.1's decoder layers
// (spec/fixtures/generate/sparsevlm_golden.py): fixed constants, the same seeded density noise.
describe.each([['cpu', 'sparsevlm_wide_l0', '0'], ['wasm', 'sparsevlm_wide_l0', '0'], ['cpu', 'sparsevlm_wide_l01', '0,1'], ['wasm', 'sparsevlm_wide_l01', '0,1']])(
  'SparseVLM-1 SparseVLM-2 SparseVLM-3 · CLI trace reproduces the authors\' algorithm (%s backend, case %s)', (backend, name, layers) => {
    it('raters, ranks, kept and recycled counts and keep masks exactly; logits within tolerance; the greedy ids', () => {
      const gc = loadCase(name);
      const s = gc.json.settings as { scale: number; bias: number };
      const out = path.join(tmp, `${name}_${backend}.safetensors`);
      const r = runCli(['trace', '--backend', backend, '--model', modelDir('llava-next-tiny'), '--image', imagePath('wide_h30_w100'),
        '--input-ids', loadCase('llava_wide').numbers('legacy_input_ids').join(','), '--max-new-tokens', '3', '--method', 'sparsevlm',
        '--sparsevlm-layers', layers, '--sparsevlm-scale', String(s.scale), '--sparsevlm-bias', String(s.bias), '--out', out]);
      expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
      const f = SafetensorsFile.open(out);
      try {
        for (const n of gc.names().filter((x) => x.startsWith('sparsevlm.') || x === 'generated_ids')) {
          expect({ n, v: f.readNumbers(n) }).toEqual({ n, v: gc.numbers(n) });
        }
        expect(f.info('logits').shape).toEqual(gc.shape('logits'));
        const c = compare(f.readFloat32('logits'), gc.floats('logits'), TOL.golden);
        expect({ ok: c.ok, worst: c.ok ? 0 : c.worst }).toEqual({ ok: true, worst: 0 });
      } finally {
        f.close();
      }
    });
  });

describe('SparseVLM · CLI trace --method sparsevlm (golden tiny LLaVA-NeXT)', () => {
  it.each([['0'], ['0,1']])('layers %s: raters, per-layer counts, keep masks, the r·M layer average and the shortened logits', (layers) => {
    const out = path.join(tmp, `sv_${layers}.safetensors`);
    const r = runCli(['trace', ...tiny(), '--max-new-tokens', '3', '--method', 'sparsevlm', '--sparsevlm-layers', layers, '--ratio', '0.5', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const f = SafetensorsFile.open(out);
    try {
      const ids = f.readNumbers('input_ids');
      const M = ids.filter((t) => t === IMG).length, T = ids.length, D = 64, L = 2;
      expect(M).toBe(34); // the vision side is plain LLaVA-NeXT
      expect(f.info('sparsevlm.raters').dtype).toBe('I64');
      expect(f.readNumbers('sparsevlm.raters')).toEqual(ratersOf(f.readFloat32('inputs_embeds'), ids, D));
      const pl = layers.split(',').map(Number);
      const kept = f.readNumbers('sparsevlm.kept_counts'), recycled = f.readNumbers('sparsevlm.recycled_counts');
      expect([f.info('sparsevlm.kept_counts').shape, f.info('sparsevlm.recycled_counts').shape]).toEqual([[pl.length], [pl.length]]);
      let v = M;
      const after: number[] = [];
      for (let l = 0, i = 0; l < L; l++) {
        if (pl.includes(l)) {
          const keep = f.readNumbers(`sparsevlm.keep.${l}`);
          expect(f.info(`sparsevlm.keep.${l}`).dtype).toBe('U8');
          expect(keep.length).toBe(v);
          expect(keep.reduce((a, b) => a + b, 0)).toBe(kept[i]);
          // recycling: n = int(0.3·dropped) + 1 candidates → int(n/10) + 1 merged tokens (none when all are kept)
          const dropped = v - kept[i];
          expect(recycled[i]).toBe(dropped === 0 ? 0 : Math.trunc((Math.trunc(dropped * 0.3) + 1) / 10) + 1);
          v = kept[i] + recycled[i];
          i++;
        }
        after.push(v);
      }
      expect(f.readNumbers('sparsevlm.visual_counts')).toEqual(after);
      expect(after.reduce((a, b) => a + b, 0) / L).toBeLessThanOrEqual(0.5 * M);
      expect(after[L - 1]).toBeLessThan(M);
      expect(f.info('logits').shape).toEqual([1, T - M + v, 1024]);
      expect(f.readNumbers('generated_ids').length).toBe(T + 3);
    } finally {
      f.close();
    }
  });

  it('run --json gives the same answer as the trace of the same run', () => {
    const traceFile = path.join(tmp, 'sv_run.safetensors');
    const common = ['--max-new-tokens', '3', '--method', 'sparsevlm', '--sparsevlm-layers', '0'];
    const t = runCli(['trace', ...tiny(), ...common, '--out', traceFile]);
    expect(t.code).toBe(0);
    const r = runCli(['run', ...tiny(), ...common, '--out', path.join(tmp, 'sv_run'), '--json']);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const rep = JSON.parse(r.stdout);
    expect(rep.method).toBe('sparsevlm');
    expect(rep.options).toEqual({ layers: [0], ratio: 0.5, seed: 0 }); // SparseVLM's own default r, not HERO's 0.2
    const f = SafetensorsFile.open(traceFile);
    try {
      expect(rep.answer_ids).toEqual(f.readNumbers('generated_ids').slice(f.info('input_ids').shape[1]));
    } finally {
      f.close();
    }
  });

  it.each([
    ['the default layers on a 2-layer decoder', [], /--sparsevlm-layers: 2,6,15,19 is not an ascending list within 0\.\.1 \(the decoder has 2 layers\)/],
    ['a layer past the last one', ['--sparsevlm-layers', '0,2'], /--sparsevlm-layers: 0,2 is not an ascending list within 0\.\.1/],
    ['scale and ratio together', ['--sparsevlm-layers', '0', '--sparsevlm-scale', '2', '--ratio', '0.5'], /--sparsevlm-scale: give either --ratio or/],
    ['bias without scale', ['--sparsevlm-layers', '0', '--sparsevlm-bias', '2'], /--sparsevlm-bias: needs --sparsevlm-scale/],
  ])('bad input: %s is one line naming the flag', (_what, extra, re) => {
    const r = runCli(['trace', ...tiny(), '--method', 'sparsevlm', ...(extra as string[]), '--out', path.join(tmp, 'bad.safetensors')]);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n').filter((l) => !/^(backend|accel|weights|memory):/.test(l) && !l.endsWith(' …'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re as RegExp);
  });
});

describe('SparseVLM · trace on the embedded default model', () => {
  // The default model has Vicuna-7B's 32 decoder layers, so the default layers 2,6,15,19 apply
  // (`run --method sparsevlm` with its defaults: spec/cli/run_methods.spec.ts).
  it('trace --method sparsevlm on the default model writes the sparsevlm tensors', () => {
    const { llavaDir } = ensureDefaultWeights();
    const cfg = JSON.parse(fs.readFileSync(path.join(llavaDir, 'config.json'), 'utf8'));
    const out = path.join(tmp, 'default.safetensors');
    const r = runCli(['trace', '--method', 'sparsevlm', '--model', llavaDir, '--image', imagePath('square_h70_w80'),
      '--prompt', 'What is in the picture?', '--max-new-tokens', '2', '--out', out], { timeoutMs: 280_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const f = SafetensorsFile.open(out);
    try {
      const ids = f.readNumbers('input_ids'), M = ids.filter((t) => t === cfg.image_token_index).length;
      const counts = f.readNumbers('sparsevlm.visual_counts');
      expect(counts.length).toBe(cfg.text_config.num_hidden_layers);
      expect(counts.reduce((a, b) => a + b, 0) / counts.length).toBeLessThanOrEqual(0.5 * M);
      expect(f.readNumbers('sparsevlm.kept_counts')).toHaveLength(4); // one per pruning layer: 2, 6, 15, 19
      expect(f.readNumbers('sparsevlm.keep.2').reduce((a, b) => a + b, 0)).toBe(f.readNumbers('sparsevlm.kept_counts')[0]);
      expect(f.info('logits').shape.slice(0, 2)).toEqual([1, ids.length - M + counts[counts.length - 1]]);
    } finally {
      f.close();
    }
  });
});
