/**
 * `hero-lvlm trace` through the command line (a child process, as a user runs it) on the golden
 * LLaVA-NeXT model and PNG: every tensor the golden stores must come back under the same name and shape,
 * within the golden tolerance; ids exact.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../util/cli';
import { loadCase, modelDir, imagePath, FIXTURES, GOLDEN_BACKENDS, POOL_BACKENDS } from '../util/fixtures';
import { SafetensorsFile } from '../../src/io/safetensors';
import { compare } from '../util/close';
import { TOL } from '../util/tolerances';
import { blasThreadsFor, findBlas } from '../../src/accel/blas';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-trace-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const INT_TENSORS = ['image_sizes', 'input_ids', 'generated_ids'];

// Every test backend in-process, and the vision tower in two worker threads (VisionPool, wasm), with tfjs's
// own kernels (--accel wasm) and with the default (auto: the system's BLAS on wasm and cpu when one is found,
// src/accel/blas.ts): the same goldens must hold.
const TFJS_ROWS: Array<[string, number]> = [...GOLDEN_BACKENDS.map((b): [string, number] => [b, 1]), ...POOL_BACKENDS.filter((b) => b === 'wasm').map((b): [string, number] => [b, 2])];
const ROWS: Array<[string, number, string]> = [...TFJS_ROWS.map(([b, w]): [string, number, string] => [b, w, 'wasm']),
  ...TFJS_ROWS.filter(([b]) => b === 'wasm' || b === 'cpu').map(([b, w]): [string, number, string] => [b, w, 'auto'])];
const BLAS = findBlas();

/** The start-up line(s) the CLI prints for this row (src/accel/index.ts). */
function accelLines(backend: string, workers: number, accel: string): string {
  const vision = `vision=${workers > 1 ? `${workers} workers` : 'in-process'}`;
  const tfjs = `accel: attention=wasm-gemm, linear=wasm-gemm (fma), widen=wasm-simd, ${vision}\n`;
  if (accel === 'wasm') return tfjs;
  if (typeof BLAS === 'string') return `linear runs on wasm-gemm and attention on wasm-gemm: ${BLAS} (apt-get install libopenblas0-pthread, or set $HERO_LVLM_BLAS; --accel wasm chooses this without the search)\n${tfjs}`;
  const n = blasThreadsFor(workers);
  return `accel: linear=${BLAS.kind} (${BLAS.library}, core ${BLAS.core}, ${n} thread${n === 1 ? '' : 's'}), attention=${BLAS.kind}, widen=wasm-simd, ${vision}\n`;
}

describe.each(ROWS)('CLI trace reproduces the llava_wide golden (%s backend, %i vision worker(s), --accel %s)', (backend, workers, accel) => {
  it('writes every golden tensor under its name, equal within tolerance', () => {
    const gc = loadCase('llava_wide');
    const out = path.join(tmp, `wide_${backend}_${workers}_${accel}.safetensors`);
    const r = runCli(['trace', '--model', modelDir('llava-next-tiny'), '--image', imagePath('wide_h30_w100'),
      '--input-ids', gc.numbers('legacy_input_ids').join(','), '--max-new-tokens', '5', '--backend', String(backend), '--out', out,
      '--vision-workers', String(workers), '--accel', accel]);
    expect(r.stderr).toContain(`backend: ${backend}`);
    // the accelerations the CLI installs on this backend (src/accel/index.ts), printed at start-up
    expect(r.stderr).toContain(accelLines(backend, workers, accel));
    if (workers > 1) expect(r.stderr).toContain(`vision tower: ${workers} worker threads`);
    expect(r.code).toBe(0);
    const f = SafetensorsFile.open(out);
    try {
      const L = 4;
      for (let l = 0; l < L; l++) {
        // attentions are not stored by the llava golden; check the shape and that rows are distributions
        expect(f.info(`vision.attentions.${l}`).shape).toEqual([3, 4, 17, 17]);
        const a = f.readFloat32(`vision.attentions.${l}`);
        for (let row = 0; row < a.length / 17; row++) {
          let s = 0;
          for (let j = 0; j < 17; j++) s += a[row * 17 + j];
          expect(Math.abs(s - 1)).toBeLessThan(1e-5);
        }
      }
      for (const name of gc.names().filter((n) => !['feature_lens', 'legacy_input_ids', 'generate_scores'].includes(n))) {
        expect({ name, shape: f.info(name).shape }).toEqual({ name, shape: gc.shape(name) });
        if (INT_TENSORS.includes(name)) {
          expect({ name, v: f.readNumbers(name) }).toEqual({ name, v: gc.numbers(name) });
        } else {
          const c = compare(f.readFloat32(name), gc.floats(name), name === 'pixel_values' ? TOL.pixels : TOL.golden);
          expect({ name, ok: c.ok, worst: c.ok ? 0 : c.worst }).toEqual({ name, ok: true, worst: 0 });
        }
      }
    } finally {
      f.close();
    }
  });
});

describe('CLI trace: bad input gives one line naming the culprit and a non-zero exit', () => {
  const model = modelDir('llava-next-tiny');
  const img = imagePath('wide_h30_w100');
  const out = path.join(tmp, 'x.safetensors');
  const cases: Array<[string, string[], RegExp]> = [
    ['prompt without the image token', ['--model', model, '--image', img, '--input-ids', '1,2,3', '--out', out], /--input-ids: holds 0 image tokens/],
    ['missing image', ['--model', model, '--image', path.join(tmp, 'nope.png'), '--input-ids', '1,1000,2', '--out', out], /nope\.png/],
    ['unreadable image', ['--model', model, '--image', path.join(FIXTURES, 'cases', 'llava_wide.json'), '--input-ids', '1,1000,2', '--out', out], /llava_wide\.json/],
    ['model dir without config.json', ['--model', tmp, '--image', img, '--input-ids', '1,1000,2', '--out', out], /--model: .* has no config\.json/],
    ['unknown method', ['--model', model, '--image', img, '--input-ids', '1,1000,2', '--method', 'magic', '--out', out], /--method: unknown method 'magic'/],
    ['ratio out of range', ['--model', model, '--image', img, '--input-ids', '1,1000,2', '--method', 'hero', '--ratio', '1.5', '--out', out], /--ratio/],
    ['zero vision workers', ['--model', model, '--image', img, '--input-ids', '1,1000,2', '--vision-workers', '0', '--out', out], /--vision-workers: expected an integer ≥ 1, got 0/],
  ];
  it.each(cases)('%s', (_what, args, re) => {
    const r = runCli(['trace', '--backend', 'cpu', ...args]);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n').filter((l) => !/^(backend|accel|weights|memory):/.test(l) && !l.endsWith(' …'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hero-lvlm: error: /);
    expect(lines[0]).toMatch(re);
  });

  it("--out: an existing directory, a path under a file, '', /proc/… → one line, exit 2, before anything else is printed", () => {
    const aFile = path.join(tmp, 'a-file');
    fs.writeFileSync(aFile, 'x');
    for (const [o, re] of [[tmp, /^--out: '.*' is a directory$/], [path.join(aFile, 't.safetensors'), /a-file' is not a directory/], ['', /^--out: empty path$/],
      ['/proc/x/t.safetensors', /^--out: '\/proc\/x\/t\.safetensors' is on a pseudo file system \(proc/]] as Array<[string, RegExp]>) {
      const r = runCli(['trace', '--backend', 'cpu', '--model', model, '--image', img, '--input-ids', '1,1000,2', '--out', o], { timeoutMs: 60_000 });
      expect({ o, code: r.code, stdout: r.stdout }).toEqual({ o, code: 2, stdout: '' });
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0].replace(/^hero-lvlm: error: /, '')).toMatch(re);
    }
  });

  it("--input-ids 1,2,IMG,3 (the README's form) takes IMG as config.json's image_token_index; the file appears whole, no temporary left", () => {
    const o = path.join(tmp, 'img-word', 'deeper', 't.safetensors');
    const r = runCli(['trace', '--backend', 'cpu', '--model', model, '--image', img, '--input-ids', '1,2,IMG,3', '--max-new-tokens', '1', '--out', o]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const f = SafetensorsFile.open(o);
    try {
      const ids = f.readNumbers('input_ids');
      expect(ids.slice(0, 2)).toEqual([1, 2]);
      expect(ids).toContain(JSON.parse(fs.readFileSync(path.join(model, 'config.json'), 'utf8')).image_token_index);
    } finally { f.close(); }
    expect(fs.readdirSync(path.dirname(o))).toEqual(['t.safetensors']);
  });

  it('a corrupt checkpoint names the file', () => {
    const bad = path.join(tmp, 'badmodel');
    fs.mkdirSync(bad, { recursive: true });
    for (const f of ['config.json', 'preprocessor_config.json']) fs.copyFileSync(path.join(model, f), path.join(bad, f));
    const st = fs.readFileSync(path.join(model, 'model.safetensors'));
    fs.writeFileSync(path.join(bad, 'model.safetensors'), st.subarray(0, st.length - 100)); // truncated
    const r = runCli(['trace', '--backend', 'cpu', '--model', bad, '--image', img, '--input-ids', '1,1000,2', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/badmodel\/model\.safetensors: not a valid safetensors file: .*truncated/);
  });
});

describe('FastV-1 · CLI trace --method fastv', () => {
  it('drops round((1−r)·M) image rows after layer K and records the kept position ids', () => {
    const gc = loadCase('llava_wide');
    const out = path.join(tmp, 'fastv.safetensors');
    const r = runCli(['trace', '--backend', 'cpu', '--model', modelDir('llava-next-tiny'), '--image', imagePath('wide_h30_w100'),
      '--input-ids', gc.numbers('legacy_input_ids').join(','), '--max-new-tokens', '3', '--method', 'fastv', '--fastv-layer', '1', '--ratio', '0.5', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const f = SafetensorsFile.open(out);
    try {
      const ids = f.readNumbers('input_ids');
      const M = ids.filter((t) => t === 1000).length;
      expect(M).toBe(34); // the vision side is plain LLaVA-NeXT
      const kept = f.readNumbers('fastv.kept_positions');
      expect(kept.length).toBe(ids.length - M + Math.round(0.5 * M));
      expect(f.info('logits').shape).toEqual([1, kept.length, 1024]);
      // text rows are never dropped
      ids.forEach((t, i) => { if (t !== 1000) expect(kept).toContain(i); });
      expect(f.readNumbers('generated_ids').length).toBe(ids.length + 3);
    } finally {
      f.close();
    }
  });
});

describe('FasterVLM-1 HiRED-2 · CLI trace with the vision-side baselines', () => {
  const gc = loadCase('llava_wide');
  const base = () => ['trace', '--backend', 'cpu', '--model', modelDir('llava-next-tiny'), '--image', imagePath('wide_h30_w100'),
    '--input-ids', gc.numbers('legacy_input_ids').join(','), '--max-new-tokens', '2'];
  it('fastervlm keeps T per crop: M = T·(1+K), K = 4 on its default fixed 2×2 grid', () => {
    const out = path.join(tmp, 'fastervlm.safetensors');
    const r = runCli([...base(), '--method', 'fastervlm', '--tokens-per-crop', '4', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const f = SafetensorsFile.open(out);
    // FasterVLM's default grid is the fixed largest square pinpoint (112×112 here: 2×2), not HF's 1×2
    expect(f.info('image_features_packed').shape).toEqual([4 * 5, 64]);
    expect(f.info('fastervlm.keep').shape).toEqual([5, 16]);
    f.close();
  });
  it('hired stays within ⌊n·N·r⌋ and records its budgets', () => {
    const out = path.join(tmp, 'hired.safetensors');
    const r = runCli([...base(), '--method', 'hired', '--ratio', '0.5', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const f = SafetensorsFile.open(out);
    expect(f.info('image_features_packed').shape[0]).toBeLessThanOrEqual(Math.floor(3 * 16 * 0.5));
    expect(f.readNumbers('hired.budgets')[0]).toBe(Math.min(Math.floor(Math.floor(3 * 16 * 0.5) * 0.5), 16));
    f.close();
  });
});

describe('GC2-2 · CLI trace --method globalcom2', () => {
  it('keeps ⌊N·r⌋ thumbnail tokens, a newline per padded grid row, and records the tile ratios', () => {
    const gc = loadCase('llava_wide');
    const out = path.join(tmp, 'gc2.safetensors');
    const r = runCli(['trace', '--backend', 'cpu', '--model', modelDir('llava-next-tiny'), '--image', imagePath('wide_h30_w100'),
      '--input-ids', gc.numbers('legacy_input_ids').join(','), '--max-new-tokens', '2', '--method', 'globalcom2', '--ratio', '0.5', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const f = SafetensorsFile.open(out);
    try {
      const keep = f.readNumbers('globalcom2.keep');
      expect(keep.slice(0, 16).reduce((a, b) => a + b, 0)).toBe(8);
      // wide: 4×8 grid, rows 1..2 valid (8 tokens per tile); M = 8 + Σ⌊8·ratio_k⌋ + 4 newlines
      const ratios = Array.from(f.readFloat32('globalcom2.tile_ratios'));
      expect(f.info('image_features_packed').shape[0]).toBe(8 + ratios.reduce((a, rk) => a + Math.floor(8 * rk), 0) + 4);
    } finally {
      f.close();
    }
  });
});

describe('PruMerge-2 · CLI trace --method prumerge+', () => {
  it('emits kept + 1 tokens per crop', () => {
    const gc = loadCase('llava_wide');
    const out = path.join(tmp, 'pm.safetensors');
    const r = runCli(['trace', '--backend', 'cpu', '--model', modelDir('llava-next-tiny'), '--image', imagePath('wide_h30_w100'),
      '--input-ids', gc.numbers('legacy_input_ids').join(','), '--max-new-tokens', '2', '--method', 'prumerge+', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const f = SafetensorsFile.open(out);
    try {
      const kept = f.readNumbers('prumerge.keep').reduce((a, b) => a + b, 0);
      expect(f.info('image_features_packed').shape).toEqual([kept + 3, 64]);
    } finally {
      f.close();
    }
  });
});
