/**
 * report.html as a pure function of the report and the PNG bytes: every section for HERO (and only the
 * ones that apply for other methods), the images inlined byte for byte, nothing fetched from anywhere,
 * all user text escaped, and the HERO table's column heads naming their equations.
 */
import { escapeHtml, niceStep, renderReportHtml, SECTION_IDS, HERO_ONLY_SECTIONS } from '../../src/report/html';
import type { RunReport } from '../../src/report/summary';

const PNG_A = Uint8Array.from([137, 80, 78, 71, 1, 2, 3]), PNG_B = Uint8Array.from([137, 80, 78, 71, 9, 8, 7, 6]);
const EVIL = `<script>alert("x")</script> & 'q'`;

function report(method: string): RunReport {
  const hero = method === 'hero';
  return {
    random_weights: true, note: 'RANDOM WEIGHTS: test', model: '/m/<llava>', clip: hero ? '/m/clip' : null, backend: 'cpu', weights: 'resident', method,
    options: hero ? { ratio: 0.2, alpha: 0.5, tauV: 0.05, tauT: 0.05, lowLayers: [5, 6, 7, 8], highLayers: [21], densityWeight: 0.2, variant: 'code' } : {},
    prompt: EVIL, image: { file: 'img<1>.png', height: 480, width: 640, alpha: 'drop' }, template: 'vicuna_v1', grid: [1, 2],
    tiles: [0, 1].map((k) => ({
      tile: k, row: 0, col: k, cls_similarity: hero ? 0.7916 : null, saliency: hero ? 0.4791 : null, clip_score: hero ? -0.0421 : null,
      relevance: hero ? 0.6782 : null, density: hero ? 0.25 : null, importance: hero ? 0.5131 + k : null, budget: hero ? 236 - 100 * k : null, kept: 236 - 100 * k,
    })),
    kept_per_crop: [115, 236, 136], visual_tokens: { full: 1272, kept: 500 }, text_tokens: 18,
    vicuna_7b: { tokens: { full: 1290, pruned: 518 }, prefill_tflops: { full: 17.5, pruned: 6.9, ratio: 2.536 }, kv_cache_mib: { full: 645, pruned: 259 } },
    timings_ms: { preprocess: 10, vision: 300, select: 5 }, answer: EVIL, answer_ids: [1, 2], outputs: { report_html: 'out/report.html' },
  };
}

const ids = (html: string): string[] => [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);

describe('renderReportHtml', () => {
  it('HERO: every section in page order, the two images inlined byte for byte', () => {
    const html = renderReportHtml(report('hero'), { overlay: PNG_A, attentionMaps: PNG_B });
    expect(ids(html)).toEqual([...SECTION_IDS]);
    const srcs = [...html.matchAll(/<img[^>]*src="([^"]*)"/g)].map((m) => m[1]);
    expect(srcs).toEqual([`data:image/png;base64,${Buffer.from(PNG_A).toString('base64')}`, `data:image/png;base64,${Buffer.from(PNG_B).toString('base64')}`]);
  });
  it('other methods: no HERO table and no budget chart, the rest present', () => {
    for (const m of ['none', 'fastervlm', 'hired', 'globalcom2', 'prumerge+', 'fastv']) {
      const html = renderReportHtml(report(m), { overlay: PNG_A, attentionMaps: PNG_B });
      expect(ids(html)).toEqual(SECTION_IDS.filter((s) => !HERO_ONLY_SECTIONS.includes(s)));
      expect(html).not.toMatch(/HERO-4/);
    }
  });
  it('is self-contained: no external URL, script, stylesheet link or font', () => {
    const html = renderReportHtml(report('hero'), { overlay: PNG_A, attentionMaps: PNG_B });
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<script|<link|@import|url\(|@font-face/i);
    expect(html).not.toMatch(/src="(?!data:image\/png;base64,)/);
  });
  it('escapes the prompt, the answer, file names and paths', () => {
    const html = renderReportHtml(report('hero'), { overlay: PNG_A, attentionMaps: PNG_B });
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('img<1>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;');
    expect(html).toContain('/m/&lt;llava&gt;');
    expect(escapeHtml(`a<b>&"'`)).toBe('a&lt;b&gt;&amp;&quot;&#39;');
  });
  it('the HERO table: column heads name HERO-1, -2, -D, -3, -4, rows hold the report values', () => {
    const html = renderReportHtml(report('hero'), { overlay: PNG_A, attentionMaps: PNG_B });
    const table = html.slice(html.indexOf('<section id="hero-tiles"'), html.indexOf('<section id="budgets"'));
    const heads = [...table.matchAll(/<small>(HERO-[0-9A-Z]+)<\/small><\/th>/g)].map((m) => m[1]);
    expect(heads).toEqual(['HERO-1', 'HERO-1', 'HERO-2', 'HERO-2', 'HERO-D', 'HERO-3', 'HERO-4', 'HERO-6']);
    expect(table).toContain('<td>0.792</td><td>0.479</td><td>-0.042</td><td>0.678</td><td>0.250</td><td>1.513</td><td>136</td><td>136</td>');
    // the budget chart has one bar per crop with its value
    const chart = html.slice(html.indexOf('<section id="budgets"'), html.indexOf('<section id="crops"'));
    expect([...chart.matchAll(/<rect /g)]).toHaveLength(3);
    expect(chart).toContain('>236</text>');
  });
  it('the efficiency table shows the HERO-7/8 and KV figures before and after', () => {
    const html = renderReportHtml(report('none'), { overlay: PNG_A, attentionMaps: PNG_B });
    expect(html).toContain('<td>17.50</td><td>6.90</td><td>2.54×</td>');
    expect(html).toContain('<td>645.0</td><td>259.0</td>');
  });
  it('niceStep picks 1, 2 or 5 × 10^k', () => {
    expect([0.3, 7, 12, 60, 236].map(niceStep)).toEqual([1, 10, 20, 100, 500]);
  });
});
