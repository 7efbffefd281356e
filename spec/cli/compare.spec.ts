/**
 * `hero-lvlm compare` through the command line (a child process, as a porter runs it), on traces of the tiny
 * golden LLaVA-NeXT made by `hero-lvlm trace` on the cpu and wasm backends, and on copies edited with the
 * project's safetensors writer (a perturbed layer, a NaN, a missing / extra / reshaped / retyped tensor, a
 * truncated file).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../util/cli';
import { modelDir, imagePath } from '../util/fixtures';
import { SafetensorsFile, writeSafetensors, isFloatDType, type TensorToWrite } from '../../src/io/safetensors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-compare-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CPU = path.join(tmp, 'cpu.safetensors');
const WASM = path.join(tmp, 'wasm.safetensors');
const file = (name: string): string => path.join(tmp, name);

/** HERO (saliency only: no CLIP model needed) on the tiny model: every stage of the trace, hero.* included. */
function trace(backend: string, out: string): void {
  const r = runCli(['trace', '--backend', backend, '--model', modelDir('llava-next-tiny'), '--image', imagePath('wide_h30_w100'),
    '--input-ids', '1,319,1000,29,13', '--max-new-tokens', '2', '--method', 'hero', '--alpha', '1', '--low-layers', '1',
    '--high-layers', '2', '--out', out]);
  if (r.code !== 0) throw new Error(`trace --backend ${backend} failed:\n${r.stderr}`);
}

beforeAll(() => {
  trace('cpu', CPU);
  trace('wasm', WASM);
});

/** Copies a trace through the project's writer; `edit` may change (return a tensor) or drop (return null) one. */
function copyTrace(src: string, dst: string, edit: (name: string, t: TensorToWrite) => TensorToWrite | null = (_n, t) => t,
  add: Record<string, TensorToWrite> = {}): string {
  const f = SafetensorsFile.open(src);
  const out: Record<string, TensorToWrite> = { ...add };
  try {
    for (const name of f.names()) {
      const { dtype, shape } = f.info(name);
      const t = edit(name, { dtype, shape, data: isFloatDType(dtype) ? f.readFloat32(name) : f.readNumbers(name) });
      if (t) out[name] = t;
    }
  } finally {
    f.close();
  }
  writeSafetensors(dst, out);
  return dst;
}

/** `t` with `delta` added to element `index`. */
function perturbed(t: TensorToWrite, index: number, delta: number): TensorToWrite {
  const data = Float32Array.from(t.data as Float32Array);
  data[index] += delta;
  return { ...t, data };
}

/** The table rows of the text output: [name, status]. */
function rows(stdout: string): Array<[string, string]> {
  return stdout.split('\n').filter((l) => /\s(ok|FAIL \(.*\))$/.test(l)).map((l) => [l.split(/\s+/)[0], l.includes('FAIL') ? 'FAIL' : 'ok']);
}

describe('hero-lvlm compare: traces that agree', () => {
  it('identical traces (a trace and its byte copy) → exit 0, every tensor ok', () => {
    fs.copyFileSync(CPU, file('copy.safetensors'));
    const r = runCli(['compare', CPU, file('copy.safetensors')]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const rs = rows(r.stdout);
    const f = SafetensorsFile.open(CPU);
    expect(rs.length).toBe(f.names().length);
    f.close();
    expect(rs.filter(([, s]) => s !== 'ok')).toEqual([]);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`OK: all ${rs.length} tensors within tolerance`);
  });

  it('a trace from the cpu backend vs one from the wasm backend → exit 0 at the default tolerances', () => {
    const r = runCli(['compare', CPU, WASM]);
    expect({ code: r.code, stderr: r.stderr, failing: rows(r.stdout).filter(([, s]) => s !== 'ok') }).toEqual({ code: 0, stderr: '', failing: [] });
    // walked in data-flow order
    const names = rows(r.stdout).map(([n]) => n);
    expect(names.slice(0, 4)).toEqual(['pixel_values', 'image_sizes', 'vision.hidden_states.0', 'vision.attentions.0']);
    expect(names.indexOf('hero.budgets')).toBeLessThan(names.indexOf('image_features_packed'));
    expect(names.at(-1)).toBe('generated_ids');
  });
});

describe('hero-lvlm compare: traces that differ → exit 1', () => {
  // vision.hidden_states.2 and logits perturbed; logits comes first by name and in the file, but later in data flow
  const PERTURBED = file('perturbed.safetensors');
  beforeAll(() => {
    copyTrace(CPU, PERTURBED, (name, t) => (name === 'vision.hidden_states.2' ? perturbed(t, 37, 0.01)
      : name === 'logits' ? perturbed(t, 5, 0.01) : t));
  });

  it('a perturbed vision.hidden_states.k is named first, as the divergence point', () => {
    const r = runCli(['compare', CPU, PERTURBED]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: '' });
    const failing = rows(r.stdout).filter(([, s]) => s === 'FAIL').map(([n]) => n);
    expect(failing).toEqual(['vision.hidden_states.2', 'logits']);
    expect(r.stdout).toMatch(/^vision\.hidden_states\.2 .* 1\/1632 .*FAIL \(values\)$/m);
    expect(r.stdout).toMatch(/^divergence: vision\.hidden_states\.2 — values \(first at flat index 37: .*\); 2 of \d+ tensors fail$/m);
  });

  it('--json parses and has the documented keys', () => {
    const r = runCli(['compare', CPU, PERTURBED, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).sort()).toEqual(['compared', 'divergence', 'extra', 'failed', 'missing', 'ok', 'port', 'ref', 'tensors']);
    expect(j).toMatchObject({ ok: false, divergence: 'vision.hidden_states.2', failed: 2, ref: CPU, port: PERTURBED, missing: [], extra: [] });
    const t = j.tensors.find((x: { name: string }) => x.name === 'vision.hidden_states.2');
    expect(t).toMatchObject({ ok: false, problems: ['values'], shape: [3, 17, 32], dtype: 'F32', tolerance: 'golden', out_of_tol: 1, first_bad: { index: 37 } });
    expect(Math.abs(t.max_abs - 0.01)).toBeLessThan(1e-6); // fp32 rounding of x + 0.01
  });

  it('--only keeps the names matching its globs', () => {
    const r1 = runCli(['compare', CPU, PERTURBED, '--only', 'pixel_values,vision.attentions.*']);
    expect(r1.code).toBe(0);
    expect(rows(r1.stdout).map(([n]) => n)).toEqual(['pixel_values', 'vision.attentions.0', 'vision.attentions.1', 'vision.attentions.2', 'vision.attentions.3']);
    const r2 = runCli(['compare', CPU, PERTURBED, '--only', 'logits']);
    expect({ code: r2.code, rows: rows(r2.stdout) }).toEqual({ code: 1, rows: [['logits', 'FAIL']] });
  });

  it('--atol replaces the default absolute tolerance of floats', () => {
    expect(runCli(['compare', CPU, PERTURBED, '--atol', '0.02']).code).toBe(0);
    expect(runCli(['compare', CPU, PERTURBED, '--atol', '0.002']).code).toBe(1);
  });

  it('NaN in PORT fails', () => {
    const port = copyTrace(CPU, file('nan.safetensors'), (name, t) => (name === 'image_features_packed' ? perturbed(t, 3, NaN) : t));
    const r = runCli(['compare', CPU, port]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^divergence: image_features_packed — values \(first at flat index 3: port NaN, ref .*\); 1 of/m);
  });

  it('a shape or dtype mismatch fails, naming the first in data-flow order', () => {
    const port = copyTrace(CPU, file('shape.safetensors'), (name, t) => (name === 'logits' ? { ...t, shape: [t.shape[1], t.shape[2]] }
      : name === 'input_ids' ? { ...t, dtype: 'I32' } : t));
    const r = runCli(['compare', CPU, port]);
    expect(r.code).toBe(1);
    expect(rows(r.stdout).filter(([, s]) => s === 'FAIL').map(([n]) => n)).toEqual(['input_ids', 'logits']);
    expect(r.stdout).toMatch(/^input_ids\s+\[1,16\]\s+I64≠I32\s.*FAIL \(dtype\)$/m);
    expect(r.stdout).toMatch(/^logits\s+\[1,16,1024\]≠\[16,1024\]\s.*FAIL \(shape\)$/m);
    expect(r.stdout).toMatch(/^divergence: input_ids — dtype;/m);
  });

  it('a name missing in PORT fails; a name only in PORT is reported and does not fail', () => {
    const missing = copyTrace(CPU, file('missing.safetensors'), (name, t) => (name === 'hero.density' ? null : t),
      { 'port.extra': { dtype: 'F32', shape: [1], data: [0] } });
    const r = runCli(['compare', CPU, missing]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('missing in PORT (fails): hero.density\n');
    expect(r.stdout).toContain('extra in PORT (not compared): port.extra\n');
    const extra = copyTrace(CPU, file('extra.safetensors'), (_n, t) => t, { 'port.extra': { dtype: 'F32', shape: [1], data: [0] } });
    const r2 = runCli(['compare', CPU, extra]);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toContain('extra in PORT (not compared): port.extra\n');
    // REF and PORT swapped: the extra name is now missing
    expect(runCli(['compare', extra, CPU]).code).toBe(1);
  });
});

describe('hero-lvlm compare: bad input → exit 2 with one line naming the culprit', () => {
  const oneLine = (args: string[], re: RegExp): void => {
    const r = runCli(['compare', ...args]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hero-lvlm: error: /);
    expect(lines[0]).toMatch(re);
  };
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('a truncated file (as PORT or as REF)', () => {
    const st = fs.readFileSync(CPU);
    const cut = file('truncated.safetensors');
    fs.writeFileSync(cut, st.subarray(0, st.length - 100));
    oneLine([CPU, cut], new RegExp(`${esc(cut)}: not a valid safetensors file: .*truncated`));
    oneLine([cut, CPU], new RegExp(`${esc(cut)}: not a valid safetensors file: .*truncated`));
  });

  it('a file that is not safetensors, a file that does not exist, a directory', () => {
    const txt = file('notes.safetensors');
    fs.writeFileSync(txt, 'these are not tensors, just some text that is long enough');
    oneLine([CPU, txt], new RegExp(`${esc(txt)}: not a valid safetensors file`));
    oneLine([file('nope.safetensors'), CPU], new RegExp(`${esc(file('nope.safetensors'))}: cannot open safetensors file \\(ENOENT\\)`));
    oneLine([CPU, tmp], new RegExp(`${esc(tmp)}: cannot open safetensors file \\(EISDIR`));
  });

  it('bad flags and arguments', () => {
    oneLine([CPU], /expected two files, REF\.safetensors PORT\.safetensors \(got 1/);
    oneLine([CPU, WASM, '--atol', '-1'], /--atol: must be a finite number ≥ 0/);
    oneLine([CPU, WASM, '--rtol', 'x'], /--rtol: 'x' is not a number/);
    oneLine([CPU, WASM, '--only', 'nothing.like.this'], /--only: 'nothing\.like\.this' matches no tensor/);
    oneLine([CPU, WASM, '--bogus'], /unknown flag --bogus/);
  });

  it('--help describes the command and its default tolerances', () => {
    const r = runCli(['compare', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: hero-lvlm compare REF\.safetensors PORT\.safetensors \[--atol A\] \[--rtol R\] \[--only PATTERN\] \[--json\]/);
    expect(r.stdout).toContain('atol 1e-4 · max(1, max|e|)');
  });
});

describe('hero-lvlm compare: hand-made traces (issue 24)', () => {
  const st = (name: string, tensors: Record<string, number[]>): string => {
    writeSafetensors(file(name), Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, { dtype: 'F32' as const, shape: [v.length], data: Float32Array.from(v) }])));
    return file(name);
  };

  it('an empty REF (no tensors) is an error, exit 2, not "OK: all 0 tensors"', () => {
    const empty = st('empty.safetensors', {});
    const r = runCli(['compare', empty, st('one.safetensors', { x: [1] })]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(r.stderr.trim().split('\n')).toEqual([`hero-lvlm: error: ${empty}: REF holds no tensors; there is nothing to compare against`]);
  });

  it('NaN / Inf failures show NaN / Infinity in the difference columns (text and --json), not 0', () => {
    const ref = st('nf-ref.safetensors', { a: [1, 2, 3], b: [1, 2] }), port = st('nf-port.safetensors', { a: [1, NaN, 3], b: [1, Infinity] });
    const r = runCli(['compare', ref, port]);
    expect(r.code).toBe(1);
    const cells = (n: string): string[] => r.stdout.split('\n').find((l) => l.startsWith(`${n} `))!.trim().split(/\s{2,}/);
    expect(cells('a').slice(3, 5)).toEqual(['NaN', 'NaN']);
    expect(cells('b').slice(3, 5)).toEqual(['Infinity', 'Infinity']);
    const j = JSON.parse(runCli(['compare', ref, port, '--json']).stdout) as { tensors: Array<{ name: string; max_abs: unknown; max_rel: unknown; non_finite: number }> };
    expect(j.tensors.map((t) => [t.name, t.max_abs, t.max_rel, t.non_finite])).toEqual([['a', 'NaN', 'NaN', 1], ['b', 'Infinity', 'Infinity', 1]]);
  });

  it('--rtol bounds each element by its reference value |e|, on values of different magnitude (not |a|, not max|e|)', () => {
    // REF [0.001, 1000], --atol 0 --rtol 0.1: the bounds are 1e-4 and 100.
    const ref = st('mag-ref.safetensors', { v: [0.001, 1000] });
    const code = (port: number[], name: string): number => runCli(['compare', ref, st(name, { v: port }), '--atol', '0', '--rtol', '0.1']).code;
    expect(code([0.00105, 1099], 'mag-ok.safetensors')).toBe(0); // 5e-5 ≤ 1e-4, 99 ≤ 100
    expect(code([0.0012, 1099], 'mag-small.safetensors')).toBe(1); // 2e-4 > 1e-4 (0.1·max|e| = 100 would pass it)
    expect(code([0.00105, 1105], 'mag-large.safetensors')).toBe(1); // 105 > 100 (0.1·|a| = 110.5 would pass it)
  });
});
