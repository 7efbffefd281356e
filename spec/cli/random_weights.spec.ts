import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { spawn } from 'child_process';
import { runCli } from '../util/cli';
import { imagePath } from '../util/fixtures';
import { flattenTree } from '../../src/io/checkpoint';
import { SafetensorsFile } from '../../src/io/safetensors';
import { clipModelConfig } from '../../src/clip/config';
import { clipModelKeys, disposeClipModel, loadClipModel } from '../../src/clip/load';
import { llavaNextConfig } from '../../src/llava/config';
import { disposeLlavaNext, llavaNextKeys, loadLlavaNext } from '../../src/llava/load';
import { RANDOM_WEIGHTS_KEY } from '../../src/io/random_mark';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'random-weights-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

/** Runs random-weights into tmp/<name> and expects success. */
function gen(name: string, args: string[], env?: Record<string, string>): string {
  const out = path.join(tmp, name);
  const r = runCli(['random-weights', ...args, '--out', out], { env });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(r.stdout).toMatch(/^wrote .*: \d+ tensors, /);
  return out;
}

const readJson = (f: string): Record<string, unknown> => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
const bytesOf = (dir: string): Record<string, Buffer> =>
  Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f))]));

/** Every tensor of a loaded param tree as plain fp32 arrays, by canonical name. */
function values(tree: unknown): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const [k, t] of flattenTree(tree)) m.set(k, (t as tf.Tensor).dataSync() as Float32Array);
  return m;
}

/** x rounded to the nearest value with `mant` mantissa bits (f16: 10, bf16: 7), ties to even; normal range only. */
function roundTo(x: number, mant: number, minExp: number): number {
  if (x === 0) return 0;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), minExp);
  const ulp = 2 ** (e - mant);
  const q = x / ulp, f = Math.floor(q), r = q - f;
  const n = r > 0.5 || (r === 0.5 && f % 2 !== 0) ? f + 1 : f;
  return n * ulp;
}
const ROUND = { f16: (x: number) => roundTo(x, 10, -14), bf16: (x: number) => roundTo(x, 7, -126) };

describe('hero-lvlm random-weights', () => {
  it('tiny-llava: the hub layout, one model.safetensors holding exactly the loader\'s keys', () => {
    const dir = gen('llava-f32', ['--preset', 'tiny-llava', '--dtype', 'f32', '--seed', '7']);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'config.json', 'generation_config.json', 'model.safetensors', 'preprocessor_config.json', 'processor_config.json',
      'tokenizer.json', 'tokenizer_config.json',
    ]);
    const keys = llavaNextKeys(llavaNextConfig(readJson(path.join(dir, 'config.json'))));
    const f = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
    try {
      expect(f.names().sort()).toEqual([...keys.keys()].sort());
      for (const [k, shape] of keys) expect({ k, dtype: f.info(k).dtype, shape: f.info(k).shape }).toEqual({ k, dtype: 'F32', shape });
    } finally { f.close(); }
  });

  it('--layers N keeps the first N decoder layers (the 7B width in 2 layers for webgpu checks): config and keys follow; bad N is one line', () => {
    const dir = gen('llava-1layer', ['--preset', 'tiny-llava', '--dtype', 'f32', '--layers', '1']);
    const cfg = readJson(path.join(dir, 'config.json')) as { text_config: { num_hidden_layers: number } };
    expect(cfg.text_config.num_hidden_layers).toBe(1);
    const keys = llavaNextKeys(llavaNextConfig(cfg));
    const f = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
    try {
      expect(f.names().sort()).toEqual([...keys.keys()].sort());
      expect(f.names().some((n) => /layers\.1\./.test(n) && n.startsWith('language_model.'))).toBe(false);
    } finally { f.close(); }
    const full = llavaNextKeys(llavaNextConfig(readJson(path.join(gen('llava-all', ['--preset', 'tiny-llava', '--dtype', 'f32']), 'config.json'))));
    expect(full.size).toBeGreaterThan(keys.size); // tiny-llava has more than one decoder layer
    const bad = runCli(['random-weights', '--preset', 'tiny-llava', '--dtype', 'f32', '--layers', '0', '--out', path.join(os.tmpdir(), 'hero-never-written')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^hero-lvlm: error: --layers: expected an integer from 1 to \d+ \(tiny-llava's decoder layers\), got 0$/);
  });

  it('--vision-preset takes another LLaVA-NeXT preset\'s tower and pinpoints (the 7B decoder over tiny-llava\'s 56-px CLIP), and config.json says so; a non-LLaVA-NeXT one is one line', () => {
    const dir = gen('llava-7b-tinyvision', ['--preset', 'llava-v1.6-vicuna-7b', '--dtype', 'f16', '--layers', '1', '--vision-preset', 'tiny-llava', '--sparse']);
    const cfg = readJson(path.join(dir, 'config.json')) as Record<string, unknown> & { text_config: Record<string, number>; vision_config: Record<string, number> };
    expect(cfg.text_config).toMatchObject({ num_hidden_layers: 1, vocab_size: 32064 });
    expect(cfg.vision_config).toMatchObject({ hidden_size: 32, image_size: 56, patch_size: 14 });
    expect(cfg.image_grid_pinpoints).toEqual([[56, 112], [112, 56], [112, 112], [168, 56], [56, 168]]);
    expect(String(cfg[RANDOM_WEIGHTS_KEY])).toMatch(/preset llava-v1\.6-vicuna-7b.*vision tower and image_grid_pinpoints of preset tiny-llava/);
    const pre = readJson(path.join(dir, 'preprocessor_config.json')) as { crop_size: unknown };
    expect(JSON.stringify(pre.crop_size)).toContain('56');
    const f = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
    try {
      const keys = llavaNextKeys(llavaNextConfig(cfg));
      expect(f.names().sort()).toEqual([...keys.keys()].sort());
      expect(f.info('language_model.model.embed_tokens.weight').shape).toEqual([32064, 4096]);
      expect(f.info('multi_modal_projector.linear_1.weight').shape).toEqual([4096, 32]);
    } finally { f.close(); }
    const bad = runCli(['random-weights', '--preset', 'llava-v1.6-vicuna-7b', '--dtype', 'f16', '--vision-preset', 'tiny-clip', '--out', path.join(os.tmpdir(), 'hero-never-written')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^hero-lvlm: error: --vision-preset: 'tiny-clip' is not one of llava-v1\.6-vicuna-7b, llava-v1\.6-vicuna-13b, tiny-llava$/);
  });

  it('--max-shard-bytes forces shards: index weight_map covers every key, total_size = the tensor bytes', () => {
    const dir = gen('llava-shards', ['--preset', 'tiny-llava', '--dtype', 'bf16', '--seed', '7', '--max-shard-bytes', '200000']);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
    expect(files.length).toBeGreaterThan(1);
    files.forEach((f, i) => expect(f).toBe(`model-${String(i + 1).padStart(5, '0')}-of-${String(files.length).padStart(5, '0')}.safetensors`));
    expect(fs.existsSync(path.join(dir, 'model.safetensors'))).toBe(false);
    const idx = readJson(path.join(dir, 'model.safetensors.index.json')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    const keys = llavaNextKeys(llavaNextConfig(readJson(path.join(dir, 'config.json'))));
    expect(Object.keys(idx.weight_map).sort()).toEqual([...keys.keys()].sort());
    let total = 0;
    for (const file of files) {
      const f = SafetensorsFile.open(path.join(dir, file));
      try {
        for (const n of f.names()) {
          expect(idx.weight_map[n]).toBe(file);
          const { begin, end } = f.info(n);
          total += end - begin;
          expect(end - begin).toBe(keys.get(n)!.reduce((a, b) => a * b, 1) * 2);
        }
      } finally { f.close(); }
    }
    expect(idx.metadata.total_size).toBe(total);
  });

  it('every dtype loads through loadLlavaNext; f16/bf16 hold the f32 run rounded to nearest (sharded or not)', () => {
    const ref = loadLlavaNext(path.join(tmp, 'llava-f32'));
    const want = values(ref);
    disposeLlavaNext(ref);
    for (const [dtype, dir] of [['f16', gen('llava-f16', ['--preset', 'tiny-llava', '--dtype', 'f16', '--seed', '7'])], ['bf16', path.join(tmp, 'llava-shards')]] as const) {
      const m = loadLlavaNext(dir);
      const got = values(m);
      disposeLlavaNext(m);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      let bad = 0;
      for (const [k, w] of want) {
        const g = got.get(k)!;
        for (let i = 0; i < w.length; i++) if (g[i] !== ROUND[dtype](w[i])) bad++;
      }
      expect({ dtype, bad }).toEqual({ dtype, bad: 0 });
    }
  });

  it('tiny-clip: f16 and bf16 load through loadClipModel as the f32 run rounded', () => {
    const f32 = gen('clip-f32', ['--preset', 'tiny-clip', '--dtype', 'f32']);
    expect(fs.readdirSync(f32).sort()).toEqual(['config.json', 'model.safetensors', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    const keys = clipModelKeys(clipModelConfig(readJson(path.join(f32, 'config.json'))));
    const ref = loadClipModel(f32);
    const want = values(ref);
    disposeClipModel(ref);
    expect(want.size).toBe(keys.size);
    for (const dtype of ['f16', 'bf16'] as const) {
      const m = loadClipModel(gen(`clip-${dtype}`, ['--preset', 'tiny-clip', '--dtype', dtype]));
      const got = values(m);
      disposeClipModel(m);
      let bad = 0;
      for (const [k, w] of want) {
        const g = got.get(k)!;
        for (let i = 0; i < w.length; i++) if (g[i] !== ROUND[dtype](w[i])) bad++;
      }
      expect({ dtype, bad }).toEqual({ dtype, bad: 0 });
    }
  });

  it('deterministic: the same seed writes identical bytes, another seed different tensors', () => {
    const a = bytesOf(gen('det-a', ['--preset', 'tiny-clip', '--dtype', 'f16', '--seed', '3']));
    const b = bytesOf(gen('det-b', ['--preset', 'tiny-clip', '--dtype', 'f16', '--seed', '3']));
    const c = bytesOf(gen('det-c', ['--preset', 'tiny-clip', '--dtype', 'f16', '--seed', '4']));
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const f of Object.keys(a)) expect({ f, same: a[f].equals(b[f]) }).toEqual({ f, same: true });
    expect(c['config.json'].equals(a['config.json'])).toBe(true);
    expect(c['model.safetensors'].equals(a['model.safetensors'])).toBe(false);
  });

  it('refuses in one line when the disk lacks room, and writes nothing', () => {
    const out = path.join(tmp, 'full');
    const r = runCli(['random-weights', '--preset', 'tiny-llava', '--dtype', 'f32', '--out', out], { env: { HERO_LVLM_FREE_BYTES: String(2 ** 20) } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^hero-lvlm: error: random-weights: --out ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} needs \\d+\\.\\d\\d GiB, 0\\.00 GiB free\\n$`));
    expect(fs.existsSync(out) || fs.existsSync(`${out}.partial`)).toBe(false);
  });

  it('--help lists the flags and presets and says the tokenizer is the default model\'s', () => {
    const r = runCli(['random-weights', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: hero-lvlm random-weights --preset NAME --dtype f16\|bf16\|f32 --out DIR/);
    for (const s of ['llava-v1.6-vicuna-7b', 'llava-v1.6-vicuna-13b', 'clip-vit-large-patch14-336', '--seed', 'random-vocabulary']) expect(r.stdout).toContain(s);
    expect(r.stdout).not.toContain('--max-shard-bytes');
  });

  it.each([
    ['missing --preset', ['--dtype', 'f16', '--out', 'X'], /--preset: required/],
    ['unknown --preset', ['--preset', 'llava-70b', '--dtype', 'f16', '--out', 'X'], /--preset: 'llava-70b' is not one of/],
    ['bad --dtype', ['--preset', 'tiny-clip', '--dtype', 'f8', '--out', 'X'], /--dtype: 'f8' is not one of f32, f16, bf16/],
    ['missing --out', ['--preset', 'tiny-clip', '--dtype', 'f16'], /--out: required/],
    ['non-integer --seed', ['--preset', 'tiny-clip', '--dtype', 'f16', '--out', 'X', '--seed', '1.5'], /--seed: '1\.5' is not an integer/],
    ['unknown flag', ['--preset', 'tiny-clip', '--dtype', 'f16', '--out', 'X', '--shards', '3'], /unknown flag --shards/],
  ])('%s → one line, exit 2', (_what, args, re) => {
    const r = runCli(['random-weights', ...args.map((a) => (a === 'X' ? path.join(tmp, 'never') : a))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });
});

describe('hero-lvlm random-weights: up-front checks, interrupts, runnable tiny presets, marks (issue 24)', () => {
  beforeAll(() => fs.chmodSync(tmp, 0o755)); // the unprivileged runs below must reach their paths
  /** A directory an unprivileged user can read but not write (the spec runs the CLI as such a user when root). */
  const readOnlyDir = (): string => {
    fs.chmodSync(tmp, 0o755);
    const d = path.join(tmp, 'ro');
    fs.mkdirSync(d, { recursive: true });
    fs.chmodSync(d, 0o555);
    return d;
  };
  const aFile = (): string => { const f = path.join(tmp, 'a-file'); fs.writeFileSync(f, 'x'); return f; };

  it.each([
    ['--seed -1', () => ['--seed', '-1', '--out', path.join(tmp, 'never')], /^--seed: -1 is not an integer in \[0, 2\^32\)$/],
    ["--out ''", () => ['--out', ''], /^--out: empty path$/],
    ['--out under a file', () => ['--out', path.join(aFile(), 'x')], /^--out: '.*a-file' is not a directory, so '.*x' cannot be created there$/],
    ['--out /proc/x', () => ['--out', '/proc/x'], /^--out: '\/proc\/x' is on a pseudo file system \(proc at '\/proc'\), not a place for output files$/],
    ['--out under a read-only directory', () => ['--out', path.join(readOnlyDir(), 'x')], /^--out: '.*ro\/x' cannot be written: '.*ro' is not writable \(EACCES\)$/],
  ] as Array<[string, () => string[], RegExp]>)('%s → one line, exit 2, no stack trace, nothing written', (_what, args, re) => {
    const r = runCli(['random-weights', '--preset', 'tiny-llava', '--dtype', 'f16', ...args()], { timeoutMs: 60_000, unprivileged: true });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0].replace(/^hero-lvlm: error: /, '')).toMatch(re);
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });

  it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s while writing removes DIR.partial and says so (exit %i)', async (sig, code) => {
    const out = path.join(tmp, `interrupted-${sig}`);
    const root = path.join(__dirname, '..', '..');
    const child = spawn(process.execPath, ['-r', path.join(root, 'src', 'cli', 'register-ts.js'), path.join(root, 'src', 'cli', 'main.ts'),
      'random-weights', '--preset', 'clip-vit-large-patch14-336', '--dtype', 'f16', '--out', out], { cwd: root });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // once the first shard file exists, the writer is between tensors
    for (let i = 0; i < 600 && !fs.existsSync(path.join(`${out}.partial`, 'model.safetensors')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(`${out}.partial`)).toBe(true);
    child.kill(sig);
    expect(await exited).toBe(code);
    expect(stderr.trimEnd().split('\n')).toEqual([`hero-lvlm: error: random-weights: interrupted (${sig}); removed ${out}.partial`]);
    expect(fs.existsSync(`${out}.partial`) || fs.existsSync(out)).toBe(false);
  });

  it('tiny-llava + tiny-clip run through `run` (with --prompt: both tokenizers) and `trace`, and every output says RANDOM WEIGHTS', () => {
    const llava = gen('run-llava', ['--preset', 'tiny-llava', '--dtype', 'f16', '--seed', '5']);
    const clip = gen('run-clip', ['--preset', 'tiny-clip', '--dtype', 'f16', '--seed', '5']);
    // the processor's crop is the model's, every tokenizer id is inside the vocabulary, and both carry the mark
    const cfg = readJson(path.join(llava, 'config.json')) as { vision_config: { image_size: number }; text_config: { vocab_size: number }; image_token_index: number };
    expect((readJson(path.join(llava, 'preprocessor_config.json')).crop_size as { height: number }).height).toBe(cfg.vision_config.image_size);
    const ids = (dir: string): number[] => {
      const t = readJson(path.join(dir, 'tokenizer.json')) as { model: { vocab: Record<string, number> }; added_tokens: Array<{ id: number }> };
      return [...Object.values(t.model.vocab), ...t.added_tokens.map((a) => a.id)];
    };
    expect(Math.max(...ids(llava))).toBeLessThan(cfg.text_config.vocab_size);
    expect(Math.max(...ids(clip))).toBeLessThan((readJson(path.join(clip, 'config.json')).text_config as { vocab_size: number }).vocab_size);
    for (const dir of [llava, clip]) {
      expect(readJson(path.join(dir, 'config.json')).hero_lvlm_random_weights).toMatch(/^RANDOM WEIGHTS written by hero-lvlm random-weights/);
      const f = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
      try { expect(f.metadata.hero_lvlm_random_weights).toMatch(/^RANDOM WEIGHTS .*, seed 5$/); } finally { f.close(); }
    }
    const common = ['--model', llava, '--clip', clip, '--image', imagePath('square_h70_w80'), '--prompt', 'What is in the picture?',
      '--backend', 'cpu', '--max-new-tokens', '2', '--low-layers', '1,2', '--high-layers', '3'];
    const out = path.join(tmp, 'run-out');
    const r = runCli(['run', ...common, '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^!! RANDOM WEIGHTS: this checkpoint was written by hero-lvlm random-weights/);
    const rep = readJson(path.join(out, 'report.json'));
    expect(rep.random_weights).toBe(true);
    expect(rep.note).toMatch(/RANDOM WEIGHTS/);
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('RANDOM WEIGHTS: this checkpoint was written by hero-lvlm random-weights');
    const t = runCli(['trace', ...common, '--method', 'hero', '--out', path.join(tmp, 'run-trace.safetensors')]);
    expect({ code: t.code, stderr: t.code === 0 ? '' : t.stderr }).toEqual({ code: 0, stderr: '' });
    const tf = SafetensorsFile.open(path.join(tmp, 'run-trace.safetensors'));
    try { expect(tf.metadata.hero_lvlm_random_weights).toMatch(/^RANDOM WEIGHTS written by hero-lvlm random-weights/); } finally { tf.close(); }
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
