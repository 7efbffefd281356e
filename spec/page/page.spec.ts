/**
 * The explorer page (`npm run page`, src/page/) in Debian's headless Chromium (playwright-core, as
 * spec/report/html_browser.spec.ts; .ci/run installs chromium): built once, opened from file://, fed the
 * tiny golden models as picked files. Its exported trace of a golden case equals Node's `hero-lvlm trace`
 * of the same flags (`hero-lvlm compare` exit 0: compare's per-tensor tolerances, docs/trace.md), on wasm
 * and on WebGPU through SwiftShader; moving r changes the kept-token count; a bad file gets a message on
 * the page; no console errors. Without Chromium this test fails and says how to install it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { Browser, Page } from 'playwright-core';
import { HEADLESS_FLAGS, launchChromium } from '../util/chromium';
import { runCli } from '../util/cli';
import { FIXTURES, loadCase } from '../util/fixtures';
import { heroTraceArgs, llavaWideTraceArgs } from '../util/golden_traces';
import { buildPage } from '../../scripts/page';

const WEBGPU_FLAGS = [...HEADLESS_FLAGS, '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--use-webgpu-adapter=swiftshader'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-page-'));
const html = path.join(tmp, 'hero-lvlm.html');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The value after `flag` in trace args. */
const flagValue = (args: readonly string[], flag: string): string => args[args.indexOf(flag) + 1];

/** A page with its console errors, page errors and non-file requests collected. */
async function open(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console.error: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (q) => { if (!/^(file|data|blob):/.test(q.url())) errors.push(`request: ${q.url()}`); });
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
  return { page, errors };
}

/** Picks checkpoint folders (copied side by side into one folder, as a person would pick their parent). */
async function pickModels(page: Page, models: readonly string[]): Promise<void> {
  const dir = path.join(tmp, `pick-${models.join('+')}`);
  for (const m of models) fs.cpSync(path.join(FIXTURES, 'models', m), path.join(dir, m), { recursive: true });
  await page.setInputFiles('#model-folder', dir);
  // the page reads the picked files asynchronously: a run started before it is done would use the default model
  await page.waitForFunction("document.getElementById('model-status').textContent.startsWith('picked:')", null, { timeout: 30_000 });
}

/** Sets the controls from trace args (image, ids, method and its knobs), runs, and waits for the end. */
async function runWith(page: Page, args: readonly string[], backend: string): Promise<void> {
  await page.setInputFiles('#image', flagValue(args, '--image'));
  await page.fill('#input-ids', flagValue(args, '--input-ids'));
  await page.fill('#max-new', flagValue(args, '--max-new-tokens'));
  const method = args.includes('--method') ? flagValue(args, '--method') : 'none';
  await page.selectOption('#method', method);
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i].slice(2);
    if (await page.$(`#knob-${flag}`)) await page.fill(`#knob-${flag}`, args[i + 1]);
  }
  await page.selectOption('#backend', backend);
  await page.check('#record'); // every tensor, for the export
  await page.click('#run');
  await page.waitForFunction("!document.getElementById('run').disabled", null, { timeout: 240_000 });
}

/**
 * Exports the page's trace, runs `hero-lvlm trace` of the same args in Node, and expects `hero-lvlm compare` of
 * the two to exit 0 (every tensor within its tolerance).
 */
async function expectExportEqualsNode(page: Page, args: readonly string[], name: string): Promise<void> {
  const pageTrace = path.join(tmp, `${name}.page.safetensors`), node = path.join(tmp, `${name}.node.safetensors`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  await download.saveAs(pageTrace);
  const t = runCli(['trace', ...args, '--accel', 'wasm', '--out', node], { timeoutMs: 120_000 });
  expect({ code: t.code, stderr: t.code === 0 ? '' : t.stderr }).toEqual({ code: 0, stderr: '' });
  const c = runCli(['compare', node, pageTrace]);
  expect({ code: c.code, out: c.code === 0 ? '' : c.stdout + c.stderr }).toEqual({ code: 0, out: '' });
}

let browser: Browser | undefined;
beforeAll(async () => {
  await buildPage(html);
  browser = await launchChromium();
});
afterAll(async () => { await browser?.close(); });

describe('the explorer page in headless Chromium (wasm)', () => {
  it('llava_wide: the exported trace equals `hero-lvlm trace` (compare exit 0), no console errors', async () => {
    const { page, errors } = await open(browser!);
    await pickModels(page, ['llava-next-tiny']);
    const args = llavaWideTraceArgs();
    await runWith(page, args, 'wasm');
    expect(await page.isVisible('#error') ? await page.textContent('#error') : '').toBe('');
    await expectExportEqualsNode(page, args, 'llava_wide');
    // the answer's ids are the golden's generated ids
    const gen = loadCase('llava_wide').numbers('generated_ids');
    expect(await page.textContent('#answer')).toContain(gen.slice(gen.length - Number(flagValue(args, '--max-new-tokens'))).join(','));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('HERO: the exported trace equals Node\'s, r moves the kept-token count, HERO-1…6 shown, a bad image and a bad drop get a message', async () => {
    const { page, errors } = await open(browser!);
    await pickModels(page, ['llava-next-tiny', 'clip-tiny']);
    const args = heroTraceArgs(loadCase('hero_paper_square_r50_a80'));
    await runWith(page, args, 'wasm');
    expect(await page.isVisible('#error')).toBe(false);
    await expectExportEqualsNode(page, args, 'hero');
    const keptAt = async (): Promise<number> => Number(await page.getAttribute('#tokens', 'data-kept'));
    const atHalf = await keptAt();
    expect(await page.$$eval('#steps .step', (s) => s.map((e) => e.id))).toEqual(['step-HERO-1', 'step-HERO-2', 'step-HERO-D', 'step-HERO-3', 'step-HERO-4', 'step-HERO-5', 'step-HERO-6']);
    // r = 0.25 keeps fewer tokens than r = 0.5 (the budget of HERO-4 scales with r)
    await page.fill('#knob-ratio', '0.25');
    await page.click('#run');
    await page.waitForFunction("!document.getElementById('run').disabled", null, { timeout: 120_000 });
    const atQuarter = await keptAt();
    expect(atQuarter).toBeLessThan(atHalf);
    expect(atQuarter).toBeGreaterThan(0);
    // a file that is not an image: a message on the page, the page still there
    await page.setInputFiles('#image', { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not a png') });
    await page.waitForFunction("document.getElementById('error').textContent.includes('broken.png')", null, { timeout: 10_000 }); // decoding fails asynchronously
    expect(await page.textContent('#error')).toMatch(/^hero-lvlm: error: broken\.png: /);
    expect(await page.isVisible('#run')).toBe(true);
    // a dropped file that is no checkpoint: the drop zone's message names what was missing
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['{"model_type": "clip"}'], 'config.json'));
      document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);
    await page.waitForFunction("document.getElementById('error').textContent.includes('no LLaVA checkpoint')", null, { timeout: 10_000 });
    expect(await page.textContent('#error')).toMatch(/^hero-lvlm: error: no LLaVA checkpoint among the picked files: .*found: files \(clip\)/);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('the explorer page in headless Chromium (WebGPU on SwiftShader)', () => {
  it('llava_wide on webgpu: the exported trace equals `hero-lvlm trace` on wasm (compare exit 0)', async () => {
    const gpu = await launchChromium(WEBGPU_FLAGS);
    try {
      const { page, errors } = await open(gpu);
      await pickModels(page, ['llava-next-tiny']);
      const args = llavaWideTraceArgs();
      await runWith(page, args, 'webgpu');
      expect(await page.isVisible('#error') ? await page.textContent('#error') : '').toBe('');
      // the run was on the browser's WebGPU, and that adapter is SwiftShader's
      expect(await page.textContent('#log')).toMatch(/webgpu: the browser's adapter \(.*swiftshader/i);
      await expectExportEqualsNode(page, args, 'llava_wide_webgpu');
      expect(errors).toEqual([]);
    } finally {
      await gpu.close();
    }
  });
});
