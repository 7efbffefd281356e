/**
 * Every `--method` through `hero-lvlm run` on the embedded default model (random weights, real geometry:
 * 24 vision layers, 32 decoder layers) with the method's own defaults: exit 0, and the kept token counts
 * those defaults imply. `run` must not force one --ratio on every method (it used to pass 0.2 to all).
 * One spawn per method (≈ 10–20 s each: the 24-layer tower on 3 crops dominates), one answer token.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../util/cli';
import { imagePath } from '../util/fixtures';
import { numImageTokens } from '../../src/llava/anyres';
import { SafetensorsFile } from '../../src/io/safetensors';
import { ensureDefaultWeights } from '../../src/weights/default_model';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-run-methods-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The default model's geometry (weights/README.md): 336-px crops, G = 24, N = 576, llava-v1.6 pinpoints.
const S = 336, G = 24, N = G * G;
const PINPOINTS: Array<[number, number]> = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]];
const IMAGE = 'wide_h30_w100'; // 30×100 (H×W): a 1×2 grid, 3 crops
const H = 30, W = 100;

/* eslint-disable @typescript-eslint/no-explicit-any */
function run(method: string, extra: string[] = []): any {
  const out = path.join(tmp, `${method}${extra.join('')}`);
  const t0 = performance.now();
  const r = runCli(['run', '--method', method, '--image', imagePath(IMAGE), '--prompt', 'hi', '--max-new-tokens', '1',
    '--out', out, '--json', ...extra], { timeoutMs: 280_000 });
  const wall = performance.now() - t0;
  expect({ method, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ method, code: 0, stderr: '' });
  return { ...JSON.parse(r.stdout), wall };
}

/** Stage timings: every stage measured (prefill > 0: the prompt's forward call), disjoint (sum ≤ the spawn's wall time). */
function checkTimings(rep: any, keys: string[]): void {
  expect(Object.keys(rep.timings_ms)).toEqual(keys);
  expect(rep.timings_ms.prefill).toBeGreaterThan(0);
  const times = Object.values(rep.timings_ms) as number[];
  for (const t of times) expect(t).toBeGreaterThanOrEqual(0);
  expect(sum(times)).toBeLessThanOrEqual(rep.wall);
}

/** Python's round(): half to even. */
const roundHalfEven = (x: number): number => {
  const f = Math.floor(x), d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : (f % 2 === 0 ? f : f + 1);
};

const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);

describe('trace on the embedded default model records the template and the alpha choice in its metadata', () => {
  it('--template llava-hf, default alpha', () => {
    const out = path.join(tmp, 'trace.safetensors');
    const { llavaDir } = ensureDefaultWeights({ log: () => undefined });
    const r = runCli(['trace', '--model', llavaDir, '--image', imagePath(IMAGE), '--prompt', 'hi',
      '--template', 'llava-hf', '--max-new-tokens', '0', '--out', out], { timeoutMs: 280_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const f = SafetensorsFile.open(out);
    try {
      expect(f.metadata).toMatchObject({ template: 'llava-hf', image_alpha: 'drop' });
      const ids = f.readNumbers('input_ids');
      expect(ids.slice(0, 5)).toEqual([1, 3148, 1001, 29901, 29871]); // <s> ▁US ER : ▁ — no system line
    } finally {
      f.close();
    }
  });
  it('a bad --template or --image-alpha is a one-line error naming the flag', () => {
    for (const [flag, v] of [['--template', 'chatml'], ['--image-alpha', 'black']]) {
      const r = runCli(['run', '--method', 'none', '--image', imagePath(IMAGE), '--prompt', 'hi', flag, v, '--out', path.join(tmp, 'bad')]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`${flag}: '${v}'`));
    }
  });
});

describe('run --method M on the embedded default model, each with its own defaults', () => {
  const full = numImageTokens([H, W], PINPOINTS, S, G);

  it('none: every visual token; the vicuna_v1 template and alpha drop are the defaults and are reported', () => {
    const rep = run('none');
    expect(rep.template).toBe('vicuna_v1');
    expect(rep.image.alpha).toBe('drop');
    const hf = run('none', ['--template', 'llava-hf', '--image-alpha', 'white']);
    expect(hf.template).toBe('llava-hf');
    expect(hf.image.alpha).toBe('composite-white');
    expect(rep.text_tokens - hf.text_tokens).toBe(30); // "A chat … questions." = 30 ids (ids 1..30 of the vicuna_v1 prompt)
    const P = rep.kept_per_crop.length;
    expect(rep.grid[0] * rep.grid[1] + 1).toBe(P);
    expect(rep.visual_tokens).toEqual({ full, kept: full });
    expect(rep.kept_per_crop[0]).toBe(N); // the tiles lose their unpadded-away rows (AnyRes-3)
  });

  it('hero: r = 0.2 of the patch tokens (HERO-4 floors each budget, so at most 1 lost per crop)', () => {
    const rep = run('hero');
    expect(rep.options.ratio).toBe(0.2);
    checkTimings(rep, ['preprocess', 'vision', 'clip_relevance', 'select', 'prefill', 'decode', 'load']);
    const kept = sum(rep.kept_per_crop);
    const P = rep.kept_per_crop.length;
    expect(kept).toBeLessThanOrEqual(Math.floor(0.2 * P * N));
    expect(kept).toBeGreaterThanOrEqual(Math.floor(0.2 * P * N) - P);
  });

  it('fastervlm: T = ⌊0.25·N⌋ = 144 per crop, M = T·P (FasterVLM-1)', () => {
    const rep = run('fastervlm');
    const P = rep.kept_per_crop.length;
    expect(rep.options.tokensPerCrop).toBe(144);
    expect(rep.kept_per_crop).toEqual(new Array(P).fill(144));
    expect(rep.visual_tokens.kept).toBe(144 * P);
  });

  it('hired: r = 0.2, at most ⌊P·N·0.2⌋ tokens (HiRED-1)', () => {
    const rep = run('hired');
    expect(rep.options).toMatchObject({ ratio: 0.2, alpha: 0.5 });
    const P = rep.kept_per_crop.length;
    expect(sum(rep.kept_per_crop)).toBeLessThanOrEqual(Math.floor(P * N * 0.2));
    expect(sum(rep.kept_per_crop)).toBeGreaterThan(0);
  });

  it('globalcom2: r = 0.25 (the thumbnail keeps 0.25·N = 144), --ratio overrides it', () => {
    const rep = run('globalcom2');
    expect(rep.options.ratio).toBe(0.25);
    expect(rep.kept_per_crop[0]).toBe(144);
    const half = run('globalcom2', ['--ratio', '0.5']);
    expect(half.options.ratio).toBe(0.5);
    expect(half.kept_per_crop[0]).toBe(288);
  });

  it('prumerge+: adaptive, fewer tokens than the full sequence', () => {
    const rep = run('prumerge+');
    expect(rep.visual_tokens.kept).toBeGreaterThan(0);
    expect(rep.visual_tokens.kept).toBeLessThan(full);
  });

  it('fastv: K = 2 on the 32-layer decoder, keeps round(0.5·M) image tokens from layer 2 on', () => {
    const rep = run('fastv');
    expect(rep.options).toEqual({ layer: 2, ratio: 0.5 });
    checkTimings(rep, ['preprocess', 'vision', 'select', 'prefill', 'decode', 'load']);
    expect(rep.visual_tokens.kept).toBe(full); // FastV drops inside the decoder, not before it
    expect(rep.visual_tokens.in_decoder).toEqual({ from_layer: 2, kept: roundHalfEven(0.5 * full) });
  });

  it('sparsevlm: prunes after decoder layers 2, 6, 15, 19 at r = 0.5; the visual tokens reach the decoder whole', () => {
    const rep = run('sparsevlm');
    expect(rep.options).toEqual({ layers: [2, 6, 15, 19], ratio: 0.5, seed: 0 });
    expect(rep.visual_tokens).toEqual({ full, kept: full }); // SparseVLM prunes inside the decoder
  });
});
