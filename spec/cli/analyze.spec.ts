/**
 * `hero-lvlm analyze …` through the command line: --help for each analysis; bad input (no images in a
 * directory, a layer out of range, a crop that does not exist, --caption with a CLIPModel or without a
 * tokenizer) gets one line and exit 2 before the model loads; tokens --caption writes two captions per image; each analysis on the tiny LLaVA-NeXT or the embedded default model writes its files
 * whole; one page opens in headless Chromium without console errors (the html_browser.spec.ts pattern).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { Browser } from 'playwright-core';
import { launchChromium, watchReportPage } from '../util/chromium';
import { runCli } from '../util/cli';
import { imagePath, modelDir } from '../util/fixtures';
import { cropIndex, layerList, takeImagesFlag } from '../../src/cli/analyze';
import { SafetensorsFile } from '../../src/io/safetensors';
import { llamaTokenizerJson } from '../../src/weights/default_model';

const ROOT = path.join(__dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'docs', 'assets', 'example.png');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-analyze-spec-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const TINY = ['--model', modelDir('llava-next-tiny'), '--backend', 'cpu'];

/**
 * The tiny LLaVA-NeXT with a tokenizer (its fixture has none): the files linked, tokenizer.json the generated
 * Llama one cut to the tiny vocabulary (`<image>` = its image_token_index 1000), as random-weights' tiny presets.
 */
function tinyWithTokenizer(): string {
  const dir = path.join(tmp, 'llava-next-tiny-tok');
  if (fs.existsSync(dir)) return dir;
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(modelDir('llava-next-tiny'))) fs.symlinkSync(path.join(modelDir('llava-next-tiny'), f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(llamaTokenizerJson({ unk: 0, bos: 1, eos: 2, image: 1000, pad: 1001 })));
  return dir;
}

/** One stderr line `hero-lvlm: error: …`, exit 2, and nothing loaded. */
function expectRefused(args: string[], re: RegExp): void {
  const r = runCli(['analyze', ...args], { timeoutMs: 120_000 });
  expect({ code: r.code, lines: r.stderr.trim().split('\n').length }).toEqual({ code: 2, lines: 1 });
  expect(r.stderr).toMatch(/^hero-lvlm: error: /);
  expect(r.stderr).toMatch(re);
  expect(r.stderr).not.toMatch(/loading the model/);
}

describe('analyze: flags', () => {
  it('--images takes every argument up to the next flag; a directory is expanded', () => {
    expect(takeImagesFlag(['--images', 'a.png', 'b', '--model', 'm'])).toEqual({ images: ['a.png', 'b'], rest: ['--model', 'm'] });
    expect(layerList('low', '4-8', 24)).toEqual([4, 5, 6, 7, 8]);
    expect(layerList('layers', '0,3', 4)).toEqual([0, 3]);
    expect(() => layerList('high', '12-23', 4)).toThrow(/--high: layer 12 is out of range: the vision tower has 4 layers/);
    expect(cropIndex('tile 1,0', [2, 2], 'x')).toBe(3);
    expect(() => cropIndex('tile 0,2', [1, 2], 'x')).toThrow(/does not exist in x: its tile grid is 1×2/);
  });

  it.each(['layers', 'maps', 'tiles', 'tokens', 'budgets'])('analyze %s --help', (a) => {
    const r = runCli(['analyze', a, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: hero-lvlm analyze ${a} `));
    expect(r.stdout).toMatch(/--model DIR/);
  });

  it('analyze --help lists the analyses; an unknown one is refused', () => {
    expect(runCli(['analyze', '--help']).stdout).toMatch(/layers\s+Fig\. 2/);
    expectRefused(['pictures'], /unknown analysis 'pictures'/);
  });
});

describe('analyze: bad input gets one line before the model loads', () => {
  it('no images in a directory', () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    fs.writeFileSync(path.join(empty, 'notes.txt'), 'x');
    expectRefused(['layers', '--images', empty, ...TINY], /--images: no images in '.*empty'/);
  });
  it('a layer out of range', () => {
    expectRefused(['maps', '--images', imagePath('square_h70_w80'), ...TINY, '--layers', '0,7'], /--layers: layer 7 is out of range: the vision tower has 4 layers/);
    expectRefused(['tokens', '--images', imagePath('square_h70_w80'), ...TINY], /--low: layer 4 is out of range: the vision tower has 4 layers/);
  });
  it('a crop that does not exist', () => {
    expectRefused(['maps', '--images', imagePath('wide_h30_w100'), ...TINY, '--crop', 'tile 1,0'], /--crop: 'tile 1,0' does not exist in .*wide_h30_w100\.png: its tile grid is 1×2/);
  });
  it('an unknown measure', () => {
    expectRefused(['layers', '--images', imagePath('square_h70_w80'), ...TINY, '--measure', 'l2'], /--measure: 'l2' is not one of cosine, pearson, spearman, topk-iou/);
  });
  it('--caption with a CLIPModel --model, without a tokenizer, beyond the positions, with --max-new-tokens 0', () => {
    const img = imagePath('square_h70_w80'), sets = ['--low', '0-1', '--high', '2-3'];
    expectRefused(['tokens', '--images', img, '--model', modelDir('clip-tiny'), '--backend', 'cpu', ...sets, '--caption'],
      /--caption: needs a LLaVA-NeXT --model .*is an HF CLIPModel/);
    expectRefused(['tokens', '--images', img, ...TINY, ...sets, '--caption'], /--caption: '.*llava-next-tiny' has no tokenizer\.json/);
    // the tiny model has 256 positions; vicuna_v1's system line spelt in its 1000-token vocabulary nearly fills them
    expectRefused(['tokens', '--images', img, '--model', tinyWithTokenizer(), '--backend', 'cpu', ...sets, '--caption'], /--caption: the prompt is \d+ tokens .*beyond max_position_embeddings 256/);
    expectRefused(['tokens', '--images', img, '--model', tinyWithTokenizer(), '--backend', 'cpu', ...sets, '--caption', '--max-new-tokens', '0'], /--max-new-tokens: 0 must be an integer ≥ 1/);
  });
});

describe('analyze on the tiny LLaVA-NeXT', () => {
  it('layers --crops all --measure spearman: a symmetric matrix with a unit diagonal, s* in 1..L−1, per image', () => {
    const out = path.join(tmp, 'layers');
    const r = runCli(['analyze', 'layers', '--images', imagePath('square_h70_w80'), imagePath('wide_h30_w100'), ...TINY, '--crops', 'all', '--measure', 'spearman', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'layers.json'), 'utf8'));
    expect([rep.measure, rep.crops, rep.layers, rep.images.length]).toEqual(['spearman', 'all', 4, 2]);
    expect(rep.images.map((i: { crops: string[] }) => i.crops.length)).toEqual([5, 3]); // a 2×2 and a 1×2 grid, thumbnail first
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(rep.matrix[i][j]).toBeCloseTo(rep.matrix[j][i], 12);
    rep.matrix.forEach((row: number[], i: number) => expect(row[i]).toBeCloseTo(1, 6));
    expect(rep.split).toBeGreaterThanOrEqual(1);
    expect(rep.split).toBeLessThanOrEqual(3);
    const st = SafetensorsFile.open(path.join(out, 'layers.safetensors'));
    expect(st.info('similarity').shape).toEqual([4, 4]);
    expect(st.info('cls_maps.1').shape).toEqual([3, 4, 16]);
    expect(fs.readdirSync(out).sort()).toEqual(['layers.html', 'layers.json', 'layers.safetensors', 'layers_heatmap.png']);
  });

  it('maps --crop "tile 0,1" and tokens --low 0-1 --high 2-3 --keep 0.25', () => {
    const out = path.join(tmp, 'maps');
    let r = runCli(['analyze', 'maps', '--images', imagePath('wide_h30_w100'), ...TINY, '--crop', 'tile 0,1', '--layers', '1-3', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'maps.json'), 'utf8')).images[0].crop).toBe(2);
    expect(SafetensorsFile.open(path.join(out, 'maps.safetensors')).info('cls_maps.0').shape).toEqual([3, 16]);
    r = runCli(['analyze', 'tokens', '--images', imagePath('square_h70_w80'), ...TINY, '--low', '0-1', '--high', '2-3', '--keep', '0.25', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const t = JSON.parse(fs.readFileSync(path.join(out, 'tokens.json'), 'utf8')).images[0];
    expect(t.k).toBe(4);
    expect(t.iou).toBeGreaterThanOrEqual(0);
    const st = SafetensorsFile.open(path.join(out, 'tokens.safetensors'));
    expect(st.readNumbers('low_keep.0').reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('tokens --caption: two captions per image, side by side in tokens.json, the printed lines and tokens.html; the LLM saw each set\'s k tokens alone', () => {
    const out = path.join(tmp, 'caption');
    const r = runCli(['analyze', 'tokens', '--images', imagePath('square_h70_w80'), imagePath('wide_h30_w100'), '--model', tinyWithTokenizer(), '--backend', 'cpu',
      '--low', '0-1', '--high', '2-3', '--keep', '0.25', '--caption', '--template', 'llava-hf', '--max-new-tokens', '5', '--out', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'tokens.json'), 'utf8'));
    expect(rep.caption).toMatchObject({ prompt: 'Describe the image.', template: 'llava-hf', max_new_tokens: 5, decoding: 'greedy' });
    expect(rep.caption.judge).toMatch(/GPT-4o .* not part of this command/);
    expect(rep.images).toHaveLength(2);
    for (const im of rep.images) {
      for (const set of ['low', 'high']) {
        const c = im.captions[set];
        expect(c.visual_tokens).toBe(im.k); // the thumbnail's k kept tokens, no newline (KM-LAYOUT)
        expect(c.ids.length).toBeGreaterThanOrEqual(1);
        expect(c.ids.length).toBeLessThanOrEqual(5);
        expect(typeof c.text).toBe('string');
      }
    }
    expect(r.stdout.match(/^ {2}low {2}\(0-1\): ".*"$/gm)).toHaveLength(2);
    expect(r.stdout.match(/^ {2}high \(2-3\): ".*"$/gm)).toHaveLength(2);
    const html = fs.readFileSync(path.join(out, 'tokens.html'), 'utf8');
    expect(html.match(/<td class="l">low layers 0-1<\/td>/g)).toHaveLength(2);
    expect(html.match(/<td class="l">high layers 2-3<\/td>/g)).toHaveLength(2);
  });
});

describe('analyze on the embedded default model', () => {
  it('tiles and budgets: 4 tiles with both scores; the 5 × 5 τ grid', () => {
    const out = path.join(tmp, 'default');
    let r = runCli(['analyze', 'tiles', '--image', EXAMPLE, '--prompt', 'How many crucifixes are there?', '--out', out], { timeoutMs: 280_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const tiles = JSON.parse(fs.readFileSync(path.join(out, 'tiles.json'), 'utf8')).tiles;
    expect(tiles.map((t: { tile: string }) => t.tile)).toEqual(['tile 0,0', 'tile 0,1', 'tile 1,0', 'tile 1,1']);
    expect(Math.max(...tiles.map((t: { clip_score_minmax: number }) => t.clip_score_minmax))).toBe(1);
    r = runCli(['analyze', 'budgets', '--images', EXAMPLE, '--prompt', 'How many crucifixes are there?', '--out', out], { timeoutMs: 280_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const cells = JSON.parse(fs.readFileSync(path.join(out, 'budgets.json'), 'utf8')).images[0].cells;
    expect(cells).toHaveLength(25);
    expect(fs.readdirSync(out).filter((f) => f.startsWith('budgets_'))).toEqual(['budgets_0_example.png']);
    expect(cells.find((c: { tauV: number; tauT: number }) => c.tauV === 0.05 && c.tauT === 0.05).changedTokens).toBe(0);
  });

  it('layers: layers.html opens in headless Chromium, its image decodes, no console errors, no network', async () => {
    const out = path.join(tmp, 'page');
    const r = runCli(['analyze', 'layers', '--images', EXAMPLE, '--out', out], { timeoutMs: 280_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      const { errors, requests } = watchReportPage(page);
      await page.goto(pathToFileURL(path.join(out, 'layers.html')).href, { waitUntil: 'load' });
      const imgs = await page.evaluate('Array.from(document.images, (i) => ({ id: i.id, ok: i.complete && i.naturalWidth > 0 }))');
      expect(imgs).toEqual([{ id: 'heatmap-img', ok: true }]);
      expect(await page.evaluate("Array.from(document.querySelectorAll('section'), (s) => s.id)")).toEqual(['heatmap', 'per-image', 'contrast']);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser?.close();
    }
  });
});
