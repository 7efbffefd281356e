/**
 * `hero-lvlm run` through the command line: the report on the golden tiny model agrees with a
 * `trace --method hero` of the same run; the embedded default model writes its PNGs and report.json and
 * says its weights are random; every bad input is one line naming the argument, with a non-zero exit.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { runCli } from '../util/cli';
import { imagePath, loadCase, modelDir, FIXTURES } from '../util/fixtures';
import { SafetensorsFile } from '../../src/io/safetensors';
import { findBlas } from '../../src/accel/blas';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-run-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A PNG whose header claims `w`×`h` (IHDR + an empty IDAT): enough for the size checks before decoding. */
function fakePng(file: string, w: number, h: number): string {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  fs.writeFileSync(file, Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(0))), chunk('IEND', Buffer.alloc(0))]));
  return file;
}

const TINY = ['--model', modelDir('llava-next-tiny'), '--clip', modelDir('clip-tiny'), '--backend', 'cpu'];

describe('HERO-7 HERO-8 · run on the golden tiny model matches trace of the same run', () => {
  it('budgets, kept tokens and visual token counts in run --json equal the trace', () => {
    const gc = loadCase('hero_square_r50_a80');
    const s = gc.json.settings;
    const ids = gc.numbers('input_ids').filter((t, i, a) => t !== 1000 || a[i - 1] !== 1000).join(',');
    const common = ['--image', imagePath('square_h70_w80'), '--input-ids', ids, '--clip-input-ids', gc.numbers('clip_input_ids').join(','),
      '--ratio', String(s.R), '--alpha', String(s.alpha), '--tau-v', String(s.T_cls), '--tau-t', String(s.T_clip),
      '--low-layers', s.low_layers.join(','), '--high-layers', s.high_layers.join(','), '--max-new-tokens', '3', '--method', 'hero'];
    const out = path.join(tmp, 'tiny');
    const r = runCli(['run', ...TINY, ...common, '--out', out, '--json']);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const rep = JSON.parse(r.stdout);
    expect(rep).toEqual(JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')));
    for (const f of ['overlay.png', 'attention_maps.png', 'report.html']) expect(fs.statSync(path.join(out, f)).size).toBeGreaterThan(100);
    expect(rep.outputs).toEqual({
      overlay: path.join(out, 'overlay.png'), attention_maps: path.join(out, 'attention_maps.png'),
      report: path.join(out, 'report.json'), report_html: path.join(out, 'report.html'),
    });
    expect(rep.prompt).toBeNull(); // --input-ids
    expect(rep.random_weights).toBe(false);

    const traceFile = path.join(tmp, 'tiny.safetensors');
    const t = runCli(['trace', ...TINY, ...common, '--out', traceFile]);
    expect(t.code).toBe(0);
    const f = SafetensorsFile.open(traceFile);
    try {
      expect(rep.tiles.map((x: { budget: number }) => x.budget)).toEqual(f.readNumbers('hero.budgets'));
      expect(rep.tiles.map((x: { importance: number }) => x.importance)).toEqual(Array.from(f.readFloat32('hero.importance')));
      expect(rep.tiles.map((x: { saliency: number }) => x.saliency)).toEqual(Array.from(f.readFloat32('hero.saliency')));
      expect(rep.tiles.map((x: { relevance: number }) => x.relevance)).toEqual(Array.from(f.readFloat32('hero.relevance')));
      const tileKeep = f.readNumbers('hero.tile_keep');
      const N = 16;
      const keptTiles = rep.tiles.map((_: unknown, k: number) => tileKeep.slice(k * N, (k + 1) * N).reduce((a, b) => a + b, 0));
      expect(rep.kept_per_crop).toEqual([f.readNumbers('hero.global_keep').reduce((a, b) => a + b, 0), ...keptTiles]);
      expect(rep.visual_tokens.kept).toBe(f.info('image_features_packed').shape[0]);
      expect(rep.visual_tokens.kept).toBe(gc.json.hero_info.num_image_features_M);
      expect(rep.answer_ids).toEqual(f.readNumbers('generated_ids').slice(f.info('input_ids').shape[1]));
      // the real Vicuna-7B figures come from the HERO-7/8 model at the two token counts
      expect(rep.vicuna_7b.tokens.full - rep.vicuna_7b.tokens.pruned).toBe(rep.visual_tokens.full - rep.visual_tokens.kept);
      expect(rep.vicuna_7b.prefill_tflops.ratio).toBeCloseTo(rep.vicuna_7b.prefill_tflops.full / rep.vicuna_7b.prefill_tflops.pruned, 10);
      // ... and equal HERO-7/8 worked by hand for this run: 70×80 image on the tiny model (G = 4, 2×2 grid of 56-px
      // tiles): 16 thumbnail + 8·8 grid (v4.45.1 unpad: new_h = int(70·8/80) = 7, pad (8 − 7)//2 = 0, all 8 rows)
      // + 8 newlines = 88 visual tokens; kept: 8 + (5+12+6+7) + 8 newlines = 46 (hero_info.num_image_features_M);
      // text: the 7 prompt ids minus the placeholder = 6. n = 94 and 52.
      expect(rep.text_tokens).toBe(6);
      expect(rep.visual_tokens).toEqual({ full: 88, kept: 46 });
      expect(rep.vicuna_7b.tokens).toEqual({ full: 94, pruned: 52 });
      // F(n) = 2·32·(4n·4096² + 2n²·4096 + 3n·4096·11008): F(94) = 1 222 121 619 456, F(52) = 674 922 233 856
      expect(rep.vicuna_7b.prefill_tflops.full).toBeCloseTo(1.222121619456, 9);
      expect(rep.vicuna_7b.prefill_tflops.pruned).toBeCloseTo(0.674922233856, 9);
      // KV: 2·32·n·4096·2 B / 2²⁰ = n/2 MiB
      expect(rep.vicuna_7b.kv_cache_mib).toEqual({ full: 47, pruned: 26 });
      // tile table: 2×2 grid row-major; each tile's kept count is its tile_keep row's sum, and HERO keeps its budget
      expect(rep.tiles.map((x: { row: number; col: number }) => [x.row, x.col])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1]]);
      expect(rep.tiles.map((x: { kept: number }) => x.kept)).toEqual(keptTiles);
      expect(rep.tiles.map((x: { kept: number }) => x.kept)).toEqual([5, 12, 6, 7]);
      expect(rep.tiles.map((x: { cls_similarity: number }) => x.cls_similarity)).toEqual(Array.from(f.readFloat32('hero.cls_similarity')));
      expect(rep.tiles.map((x: { clip_score: number }) => x.clip_score)).toEqual(Array.from(f.readFloat32('hero.clip_similarity')));
      expect(rep.tiles.map((x: { density: number }) => x.density)).toEqual(Array.from(f.readFloat32('hero.density')));
    } finally {
      f.close();
    }
  });
});

describe('run on the embedded default model (random weights, real geometry)', () => {
  it('answers, reports, writes the PNGs and report.json, and says the weights are random', () => {
    const out = path.join(tmp, 'default');
    const r = runCli(['run', '--image', imagePath('square_h70_w80'), '--prompt', 'What is in the picture?', '--max-new-tokens', '2', '--out', out], { timeoutMs: 280_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/RANDOM WEIGHTS/);
    expect(r.stdout).toMatch(/real Vicuna-7B prefill \(HERO-7\/8\)/);
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(rep.random_weights).toBe(true);
    expect(rep.note).toMatch(/RANDOM WEIGHTS/);
    expect(rep.method).toBe('hero');
    // 70×80 fits in 336×336: every pinpoint ties on effective resolution and waste, and HF keeps the first,
    // 336×672 (h×w) → a 1×2 grid of 336-px tiles (the real LLaVA-NeXT geometry).
    expect(rep.grid).toEqual([1, 2]);
    expect(rep.kept_per_crop[0]).toBe(Math.floor(576 * 0.2));
    expect(rep.tiles.reduce((a: number, t: { budget: number }) => a + t.budget, 0)).toBeLessThanOrEqual(Math.floor(2 * 576 * 0.2));
    // 24×48 token grid; W/H = 80/70 < 2 → new_w = int(80·24/70) = 27, pad (48 − 27)//2 = 10 → 28 columns kept:
    // 576 + 24·28 + 24 newlines = 1272
    expect(rep.visual_tokens.full).toBe(1272);
    for (const f of ['overlay.png', 'attention_maps.png', 'report.html']) expect(fs.statSync(path.join(out, f)).size).toBeGreaterThan(1000);
    expect(rep.prompt).toBe('What is in the picture?');
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('What is in the picture?');
    expect(html).toContain(`data:image/png;base64,${fs.readFileSync(path.join(out, 'overlay.png')).toString('base64')}`);
  });
});

describe('run: bad input is one line naming the argument, non-zero exit', () => {
  const img = imagePath('wide_h30_w100');
  const cases: Array<[string, () => string[], RegExp]> = [
    ['missing image', () => ['--image', path.join(tmp, 'nope.png'), '--prompt', 'q'], /nope\.png/],
    ['non-image file', () => ['--image', path.join(FIXTURES, 'cases', 'llava_wide.json'), '--prompt', 'q'], /llava_wide\.json/],
    ['image of 0×0', () => ['--image', fakePng(path.join(tmp, 'zero.png'), 0, 0), '--prompt', 'q'], /zero\.png/],
    ['image over the size limit', () => ['--image', fakePng(path.join(tmp, 'huge.png'), 30000, 30000), '--prompt', 'q'], /huge\.png.*(limit|large)/],
    ['ratio 0', () => ['--image', img, '--prompt', 'q', '--ratio', '0'], /--ratio: 0 is outside \(0, 1\]/],
    ['ratio 1.5', () => ['--image', img, '--prompt', 'q', '--ratio', '1.5'], /--ratio: 1\.5 is outside/],
    ['ratio NaN', () => ['--image', img, '--prompt', 'q', '--ratio', 'NaN'], /--ratio: 'NaN' is not a number/],
    ['unknown method', () => ['--image', img, '--prompt', 'q', '--method', 'magic'], /--method: unknown method 'magic'/],
    ['model dir without config.json', () => ['--image', img, '--prompt', 'q', '--model', tmp], /--model: .* has no config\.json/],
    ['CLIP missing when relevance is needed', () => ['--image', img, '--input-ids', '1,1000,2', '--model', modelDir('llava-next-tiny'), '--low-layers', '0,1', '--high-layers', '2'], /--clip: HERO needs a CLIP model/],
  ];
  it.each(cases)('%s', (_what, args, re) => {
    const r = runCli(['run', '--backend', 'cpu', '--out', path.join(tmp, 'err'), ...args()]);
    expect(r.code).not.toBe(0);
    const errors = r.stderr.trim().split('\n').filter((l) => l.startsWith('hero-lvlm:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^hero-lvlm: error: /);
    expect(errors[0]).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('run --decoder-workers (src/accel/decoder_pool.ts)', () => {
  const args = (method: string, workers: number, extra: string[] = []): string[] => ['run', ...TINY, '--image', imagePath('square_h70_w80'),
    '--input-ids', '1,5,1000,7,9', '--max-new-tokens', '4', '--method', method, '--decoder-workers', String(workers),
    '--out', path.join(tmp, `dec-${method}-${workers}`), '--json', ...extra];

  it('2 workers: the answer of the in-process decoder, the choice on the accel line and one line for the pool', () => {
    const one = runCli(args('none', 1)), two = runCli(args('none', 2));
    expect([one.code, two.code]).toEqual([0, 0]);
    expect(JSON.parse(two.stdout).answer_ids).toEqual(JSON.parse(one.stdout).answer_ids);
    expect(two.stderr).toMatch(/^accel: .*, decoder=2 workers$/m);
    expect(two.stderr).toMatch(/^decoder: 2 worker threads/m);
    expect(two.stderr).toMatch(/^decoder: 2 worker threads \(--decoder-workers 2; /m);
    expect(one.stderr).toMatch(/^decoder: in-process \(--decoder-workers 1\)$/m);
    expect(one.stderr).not.toMatch(/decoder=/); // the accel line names only a decoder pool
  });

  it('without the flag: the tiny model stays in-process, and the line says it is the default and why', () => {
    const r = runCli(['run', ...TINY, '--image', imagePath('square_h70_w80'), '--input-ids', '1,5,1000,7,9', '--max-new-tokens', '2', '--method', 'none',
      '--out', path.join(tmp, 'dec-default'), '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^vision tower: in-process \(default for this model: [\d.]+ GFLOP per crop, below the 1 GFLOP that pays for worker threads\)$/m);
    expect(r.stderr).toMatch(/^decoder: in-process \(default for this model: [\d.]+ GFLOP per token, below the 0.1 GFLOP that pays for worker threads\)$/m);
  });

  it('a method with a decoder hook keeps the in-process decoder and says so; an uneven split is one line naming the flag', () => {
    const fastv = runCli(args('fastv', 2, ['--fastv-layer', '1']));
    expect(fastv.code).toBe(0);
    expect(fastv.stderr).toMatch(/^decoder: in-process \(--decoder-workers 2 is not used with --method fastv/m);
    const odd = runCli(args('none', 3));
    expect(odd.code).not.toBe(0);
    expect(odd.stderr.trim().split('\n').filter((l) => l.startsWith('hero-lvlm: error:'))).toEqual([
      'hero-lvlm: error: --decoder-workers 3: 3 workers cannot split the decoder evenly (num_attention_heads 4, num_key_value_heads 4, intermediate_size 128 not divisible by 3)',
    ]);
  });
});

describe('run: --out and the configs are checked before any work (issue 24)', () => {
  const img = imagePath('wide_h30_w100');
  beforeAll(() => fs.chmodSync(tmp, 0o755)); // the unprivileged run below must reach its path
  const aFile = (): string => { const f = path.join(tmp, 'a-file'); fs.writeFileSync(f, 'x'); return f; };
  const readOnly = (): string => { const d = path.join(tmp, 'ro'); fs.mkdirSync(d, { recursive: true }); fs.chmodSync(d, 0o555); return path.join(d, 'out'); };

  // The default model: the --out probe comes before its weights are generated, the image read or the backend started,
  // so the error is the only line; /proc/… used to hang at 100 % CPU (Node's recursive mkdirSync loops there).
  it.each([
    ['an existing file', () => aFile(), /^--out: '.*a-file' exists and is a file, not a directory$/],
    ['a path under a file', () => path.join(aFile(), 'sub'), /^--out: '.*a-file' is not a directory, so '.*sub' cannot be created there$/],
    ["''", () => '', /^--out: empty path$/],
    ['/proc/hero-out', () => '/proc/hero-out', /^--out: '\/proc\/hero-out' is on a pseudo file system \(proc at '\/proc'\)/],
    ['a read-only directory', readOnly, /^--out: '.*ro\/out' cannot be written: '.*ro' is not writable \(EACCES\)$/],
  ] as Array<[string, () => string, RegExp]>)('--out %s → the one line printed, exit 2', (_what, out, re) => {
    const r = runCli(['run', '--image', img, '--prompt', 'q', '--out', out()], { timeoutMs: 60_000, unprivileged: true });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0].replace(/^hero-lvlm: error: /, '')).toMatch(re);
  });

  it('a config.json that is null is one line naming it, exit 2 (was a TypeError, exit 70)', () => {
    const dir = path.join(tmp, 'null-config');
    fs.cpSync(modelDir('llava-next-tiny'), dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), 'null');
    const r = runCli(['run', '--model', dir, '--backend', 'cpu', '--image', img, '--input-ids', '1,IMG,2', '--method', 'none', '--out', path.join(tmp, 'never')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('hero-lvlm:'))).toEqual([`hero-lvlm: error: ${path.join(dir, 'config.json')}: model config must be a JSON object, got null`]);
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });

  it('flags: --ratio 0x1 is refused (not read as 1), --max-new-tokens \'\' is empty (not 0), --vision-workers 100 is over 64', () => {
    for (const [flag, v, re] of [['--ratio', '0x1', /^--ratio: '0x1' is not a number \(decimal notation only\)$/], ['--max-new-tokens', '', /^--max-new-tokens: empty value \(expected an integer\)$/],
      ['--vision-workers', '100', /^--vision-workers: 100 is more than the most allowed, 64$/]] as Array<[string, string, RegExp]>) {
      const r = runCli(['run', '--image', img, '--prompt', 'q', flag, v]);
      expect({ flag, code: r.code }).toEqual({ flag, code: 2 });
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trimEnd().replace(/^hero-lvlm: error: /, '')).toMatch(re);
    }
  });

  it('outputs are written whole or not at all: when one cannot be written, none of the four appears', () => {
    const out = path.join(tmp, 'half');
    fs.mkdirSync(path.join(out, 'report.json'), { recursive: true }); // a directory where report.json must go
    const r = runCli(['run', ...TINY, '--image', img, '--input-ids', '1,319,IMG,29,13', '--method', 'none', '--max-new-tokens', '1', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('hero-lvlm:'))).toEqual([expect.stringMatching(/^hero-lvlm: error: --out: cannot write '.*report\.json' \(EISDIR\)$/)]);
    expect(fs.readdirSync(out)).toEqual(['report.json']);
  });
});

describe('run --accel (src/accel/blas.ts): the BLAS kernel, the line when none is found, bad values', () => {
  let n = 0;
  const args = (extra: string[] = []): string[] => ['run', ...TINY, '--image', imagePath('square_h70_w80'), '--input-ids', '1,5,1000,7,9',
    '--max-new-tokens', '4', '--method', 'none', '--out', path.join(tmp, `accel-${n++}`), '--json', ...extra];
  const BOGUS = { HERO_LVLM_BLAS: 'libhero-lvlm-no-such-blas.so.0' };

  it('no library found ($HERO_LVLM_BLAS names none): one line saying why and what runs, the answer of --accel wasm; --accel blas is one error line', () => {
    const plain = runCli(args(['--accel', 'wasm'])), none = runCli(args(), { env: BOGUS });
    expect([plain.code, none.code]).toEqual([0, 0]);
    expect(JSON.parse(none.stdout).answer_ids).toEqual(JSON.parse(plain.stdout).answer_ids);
    expect(none.stderr).toMatch(/^accel: no BLAS library, so linear runs on wasm-gemm \(fma\) and attention on wasm-gemm: none of libhero-lvlm-no-such-blas\.so\.0 could be used \(.+\) \(apt-get install libopenblas0-pthread.*\)$/m);
    expect(none.stderr).toMatch(/^accel: attention=wasm-gemm, linear=wasm-gemm \(fma\), widen=wasm-simd, vision=in-process$/m);
    expect(plain.stderr).not.toMatch(/BLAS/);
    const must = runCli(args(['--accel', 'blas']), { env: BOGUS });
    expect(must.code).toBe(2);
    expect(must.stderr.trim().split('\n').filter((l) => l.startsWith('hero-lvlm: error:'))).toEqual([
      expect.stringMatching(/^hero-lvlm: error: accel 'blas' \(--accel, \$HERO_LVLM_ACCEL\): no BLAS library: none of libhero-lvlm-no-such-blas\.so\.0/),
    ]);
    const bad = runCli(args(), { env: { HERO_LVLM_ACCEL: 'fast' } });
    expect([bad.code, bad.stderr.trim()]).toEqual([2, "hero-lvlm: error: $HERO_LVLM_ACCEL: 'fast' is not one of auto, blas, wasm"]);
  });

  const blas = findBlas();
  (typeof blas === 'string' ? it.skip : it)(`by default with a BLAS (${typeof blas === 'string' ? `skipped: ${blas}` : blas.library}): the line names it, and the answer is --accel wasm's`, () => {
    if (typeof blas === 'string') return;
    const plain = runCli(args(['--accel', 'wasm'])), fast = runCli(args()), two = runCli(args(['--decoder-workers', '2']));
    expect([plain.code, fast.code, two.code]).toEqual([0, 0, 0]);
    expect(fast.stderr).toMatch(new RegExp(`^accel: linear=${blas.kind} \\(${blas.library.replace(/\./g, '\\.')}, core .+, \\d+ threads?\\), attention=${blas.kind}, widen=wasm-simd, vision=in-process$`, 'm'));
    expect(JSON.parse(fast.stdout).answer_ids).toEqual(JSON.parse(plain.stdout).answer_ids);
    expect(two.stderr).toMatch(/^accel: linear=.*, 1 thread\), attention=.*, decoder=2 workers$/m); // 2 cores / 2 workers calling at once
    expect(JSON.parse(two.stdout).answer_ids).toEqual(JSON.parse(plain.stdout).answer_ids);
  });
});

describe('run: method options and the sequence length are checked before any weight is read (issue 24)', () => {
  const img = imagePath('wide_h30_w100');
  // Each refusal is the only line on stderr: nothing of the start-up (backend, weights, loading) comes before it.
  const only = (r: { code: number; stderr: string }, re: RegExp): void => {
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re);
  };
  it.each([
    ['--ratio 0', ['--method', 'hero', '--ratio', '0'], /^hero-lvlm: error: --ratio: 0 is outside \(0, 1\]$/],
    ['--ratio 1.5', ['--method', 'hero', '--ratio', '1.5'], /^hero-lvlm: error: --ratio: 1\.5 is outside \(0, 1\]$/],
    ['--alpha 2', ['--method', 'hero', '--alpha', '2', '--low-layers', '1,2', '--high-layers', '3'], /^hero-lvlm: error: HERO alpha: 2 is outside \[0, 1\]$/],
    ['a high layer out of range', ['--method', 'hero', '--low-layers', '1,2', '--high-layers', '99'], /^hero-lvlm: error: .*(layer|high).*99/i],
  ] as Array<[string, string[], RegExp]>)('%s → one line, exit 2', (_what, extra, re) => {
    only(runCli(['run', ...TINY, '--image', img, '--input-ids', '1,IMG,2', '--out', path.join(tmp, 'never-opts'), ...extra]), re);
    expect(fs.existsSync(path.join(tmp, 'never-opts'))).toBe(false);
  });

  it('a prompt longer than max_position_embeddings (256 here) is refused for its length, before loading', () => {
    const ids = ['1', 'IMG', ...Array.from({ length: 300 }, () => '5')].join(',');
    only(runCli(['run', ...TINY, '--image', img, '--input-ids', ids, '--method', 'none', '--out', path.join(tmp, 'never-long')]),
      /^hero-lvlm: error: the prompt is \d+ tokens \(image features included\) .* beyond max_position_embeddings 256$/);
  });
});
