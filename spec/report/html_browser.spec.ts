/**
 * report.html of the default run (`hero-lvlm run` on docs/assets/example.png with the embedded default
 * model) in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core; .ci/run
 * installs it): every section is there, every image decodes, and the page logs no error and requests
 * nothing from the network. Without Chromium this test fails and says how to install it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { Browser } from 'playwright-core';
import { launchChromium, watchReportPage } from '../util/chromium';
import { runCli } from '../util/cli';
import { SECTION_IDS } from '../../src/report/html';

const ROOT = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-html-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Width and height from a PNG's IHDR. */
const pngSize = (file: string): [number, number] => { const b = fs.readFileSync(file); return [b.readUInt32BE(16), b.readUInt32BE(20)]; };

describe('report.html in headless Chromium', () => {
  it('default run: every section present, every image loaded, no console errors, no network', async () => {
    const out = path.join(tmp, 'out');
    const r = runCli(['run', '--image', path.join(ROOT, 'docs', 'assets', 'example.png'), '--prompt', 'What is in the <picture>?', '--max-new-tokens', '2', '--out', out], { timeoutMs: 280_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const html = path.join(out, 'report.html');

    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const { errors, requests } = watchReportPage(page);
      await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });

      // in-page expressions as strings: the spec's TypeScript program has no DOM types
      const found = await page.evaluate(`${JSON.stringify(SECTION_IDS)}.filter((id) => document.getElementById(id)?.tagName === 'SECTION')`);
      expect(found).toEqual([...SECTION_IDS]);
      const imgs = await page.evaluate('Array.from(document.images, (i) => ({ id: i.id, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight }))') as Array<{ w: number }>;
      expect(imgs).toEqual([
        { id: 'overlay-img', complete: true, w: pngSize(path.join(out, 'overlay.png'))[0], h: pngSize(path.join(out, 'overlay.png'))[1] },
        { id: 'attention-img', complete: true, w: pngSize(path.join(out, 'attention_maps.png'))[0], h: pngSize(path.join(out, 'attention_maps.png'))[1] },
      ]);
      expect(imgs.every((i) => i.w > 0)).toBe(true);
      // the prompt is shown as text (escaped), not parsed as markup
      expect(await page.evaluate("document.querySelector('#summary').textContent")).toContain('What is in the <picture>?');
      expect(await page.evaluate("document.querySelectorAll('#hero-tiles tbody tr').length")).toBe(1 + JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).tiles.length);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser?.close();
    }
  });
});
