/**
 * `hero-lvlm analyze …` through the command line: --help for each analysis; bad input (no images in a
 * directory, a layer out of range, a crop that does not exist, --caption) gets one line and exit 2 before
 * the model loads; each analysis on the tiny LLaVA-NeXT or the embedded default model writes its files
 * whole; one page opens in headless Chromium without console errors (the html_browser.spec.ts pattern).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { chromium, type Browser } from 'playwright-core';
import { runCli } from '../util/cli';
import { imagePath, modelDir } from '../util/fixtures';
import { cropIndex, layerList, takeImagesFlag } from '../../src/cli/analyze';
import { SafetensorsFile } from '../../src/io/safetensors';

const CHROMIUM = process.env.HERO_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = path.join(__dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'docs', 'assets', 'example.png');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-analyze-spec-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const TINY = ['--model', modelDir('llava-next-tiny'), '--backend', 'cpu'];

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
  it('an unknown measure, --caption (not yet available)', () => {
    expectRefused(['layers', '--images', imagePath('square_h70_w80'), ...TINY, '--measure', 'l2'], /--measure: 'l2' is not one of cosine, pearson, spearman, topk-iou/);
    expectRefused(['tokens', '--images', imagePath('square_h70_w80'), ...TINY, '--caption'], /--caption: not yet available/);
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
    if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) or point HERO_CHROMIUM at a Chromium binary`);
    const out = path.join(tmp, 'page');
    const r = runCli(['analyze', 'layers', '--images', EXAMPLE, '--out', out], { timeoutMs: 280_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
      const page = await browser.newPage();
      const errors: string[] = [], requests: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`); });
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('request', (q) => { if (!q.url().startsWith('file:') && !q.url().startsWith('data:')) requests.push(q.url()); });
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
