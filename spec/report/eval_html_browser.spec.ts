/**
 * eval-report.html (`hero-lvlm eval report` on the spec's sweeps and RUN directories, spec/util/eval_report_fixture.ts)
 * in a real headless Chromium (Debian's /usr/bin/chromium via playwright-core, as html_browser.spec.ts): the
 * tables hold the measured and the paper's numbers, the plots decode, the page carries its own lettering
 * (plots drawn with the embedded bitmap font, no web fonts), logs no error and requests nothing.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { Browser } from 'playwright-core';
import { launchChromium, watchReportPage } from '../util/chromium';
import { runCli } from '../util/cli';
import { makeEvalFixture } from '../util/eval_report_fixture';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-eval-html-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('eval-report.html in headless Chromium', () => {
  it('tables with measured and paper cells, line plot and heatmaps decoded, no console errors, no network, no web fonts', async () => {
    const fx = await makeEvalFixture(path.join(tmp, 'fx'));
    const out = path.join(tmp, 'out');
    const r = runCli(['eval', 'report', fx.fig5, fx.fig4, ...fx.loose, '--out', out]);
    expect(r.code).toBe(0);
    const html = path.join(out, 'eval-report.html');

    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      const { errors, requests } = watchReportPage(page);
      await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });

      // in-page expressions as strings: the spec's TypeScript program has no DOM types
      expect(await page.evaluate("Array.from(document.querySelectorAll('section.eval-table'), (s) => s.id)")).toEqual(['table-fig5-mini', 'table-fig4-mini', 'table-runs']);
      expect(await page.evaluate("document.getElementById('random-weights')?.textContent ?? ''")).toMatch(/RANDOM WEIGHTS/);
      const cell = (table: string, cellId: string, task: string): Promise<unknown> => page.evaluate(`(() => {
        const tr = Array.from(document.querySelectorAll('#${table} tbody tr')).find((t) => t.getAttribute('data-cell') === ${JSON.stringify(cellId)});
        const q = (c) => tr.querySelector('td.' + c + '[data-task="${task}"]').textContent;
        return { measured: q('measured'), paper: q('paper'), diff: q('diff') };
      })()`);
      expect(await cell('table-fig5-mini', 'tau-v=0.01,tau-t=0.01', 'gqa')).toEqual({ measured: '75', paper: '60', diff: '+15' });
      expect(await cell('table-fig5-mini', 'tau-v=0.03,tau-t=0.01', 'gqa')).toEqual({ measured: '50 incomplete 2/4', paper: '61', diff: '−11' });
      expect(await cell('table-fig5-mini', 'tau-v=0.03,tau-t=0.05', 'pope')).toEqual({ measured: 'not scoredno score.json and no --data-root', paper: '86.1', diff: '—' });
      expect(await cell('table-fig4-mini', 'alpha-1', 'gqa')).toEqual({ measured: '75', paper: '63', diff: '+12' });
      expect(await page.evaluate("Array.from(document.querySelectorAll('#table-fig5-mini td.protocol'), (t) => t.textContent)")).toEqual(Array(4).fill('lmms-eval'));
      // the loose runs: grouped by task (a header row per task), one row per RUN
      expect(await page.evaluate("Array.from(document.querySelectorAll('#table-runs tr.group th'), (t) => t.textContent)")).toEqual(['GQA gqa', 'POPE pope']);

      const imgs = await page.evaluate("Array.from(document.images, (i) => ({ id: i.id, ok: i.complete && i.naturalWidth > 0, data: i.src.startsWith('data:image/png;base64,') }))");
      expect(imgs).toEqual(['fig-fig5-mini-gqa-measured', 'fig-fig5-mini-gqa-paper', 'fig-fig5-mini-pope-measured', 'fig-fig5-mini-pope-paper', 'fig-fig4-mini-gqa']
        .map((id) => ({ id, ok: true, data: true })));
      // lettering: the plots' text is pixels of the embedded bitmap font; the page loads no font and links nothing
      expect(await page.evaluate("document.fonts.size + document.querySelectorAll('link, script').length")).toBe(0);
      expect(await page.evaluate("Array.from(document.styleSheets).flatMap((s) => Array.from(s.cssRules, (r) => r.cssText)).filter((t) => t.includes('url(') || t.includes('@font-face'))")).toEqual([]);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser?.close();
    }
  });
});
