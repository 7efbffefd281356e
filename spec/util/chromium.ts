/**
 * Headless Chromium for the browser specs (report.html, layers.html, eval-report.html, the explorer page):
 * Debian's /usr/bin/chromium (or $HERO_CHROMIUM) through playwright-core, started with the flags this machine
 * needs (no background networking: its connections would be refused), and a page's errors and requests collected.
 */
import * as fs from 'fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.HERO_CHROMIUM ?? '/usr/bin/chromium';

/** Headless, no sandbox (root), nothing started in the background. */
export const HEADLESS_FLAGS: readonly string[] = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** The above without a GPU process (every page but the explorer's WebGPU run). */
export const NO_GPU_FLAGS: readonly string[] = [...HEADLESS_FLAGS, '--disable-gpu'];

/** Chromium started with `args`; a missing binary is one error naming the package. */
export async function launchChromium(args: readonly string[] = NO_GPU_FLAGS): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install -y chromium; .ci/run does) or point HERO_CHROMIUM at a Chromium binary`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: [...args] });
}

/**
 * What a self-contained report page must not do, collected as it happens: console errors and warnings, page
 * errors, failed requests (`errors`), and any request that is not a file: or data: URL (`requests`).
 */
export function watchReportPage(page: Page): { errors: string[]; requests: string[] } {
  const errors: string[] = [], requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (q) => errors.push(`requestfailed: ${q.url()}`));
  page.on('request', (q) => { if (!q.url().startsWith('file:') && !q.url().startsWith('data:')) requests.push(q.url()); });
  return { errors, requests };
}
