/** eval-report.html without a browser (src/report/eval_html.ts): which figures a table asks for, escaping, number formats. */
import { evalFigures, fmtScore, renderEvalReportHtml } from '../../src/report/eval_html';
import { GREY, getPixel } from '../../src/report/draw';
import type { EvalReport, ReportCell, ReportRow, ReportTable } from '../../src/eval/report';

const NO_TOKENS = { visual_kept: null, visual_total: null, text: null, prefill_tflops: null };
const cell = (task: string, measured: number | null, paper: number | null): ReportCell => ({
  dir: `/r/${task}`, task, protocol: 'lmms-eval', status: measured === null ? 'not scored' : 'scored', not_scored_reason: measured === null ? 'no score.json and no --data-root' : null,
  complete: true, questions: 4, answered: 4, metric: 'accuracy', measured, score_source: measured === null ? null : 'score.json', paper,
  diff: measured !== null && paper !== null ? measured - paper : null, notes: [], ...NO_TOKENS,
});
const row = (label: string, flags: ReportRow['flags'], cells: ReportRow['cells']): ReportRow => ({
  cell: label, label, method: { name: 'hero', options: {} }, flags, protocols: ['lmms-eval'], cells, paper: {}, ...NO_TOKENS,
});
const table = (t: Partial<ReportTable>): ReportTable => ({
  kind: 'sweep', name: 'x', title: 'X', source: '/s', config_file: 'c.json', figure: { kind: 'table' }, tasks: ['gqa'], models: [], rows: [], paper_points: [], ...t,
});
const report = (...tables: ReportTable[]): EvalReport => ({ format: 'hero-lvlm eval report 1', random_weights: [], tables });

describe('figures', () => {
  it("line: one plot per task that has a point (measured or the paper's); a table figure draws none", () => {
    const t = table({
      name: 'fig4', figure: { kind: 'line', x: 'alpha' }, tasks: ['gqa', 'mme', 'pope'],
      rows: [row('a0', { alpha: 0 }, { gqa: cell('gqa', 60, null), mme: null, pope: cell('pope', null, null) }), row('a1', { alpha: 1 }, { gqa: cell('gqa', 62, null), mme: null, pope: null })],
      paper_points: [{ flags: { alpha: 0.5 }, scores: { mme: 1500, gqa: null } }],
    });
    expect(evalFigures(report(t)).map((f) => f.id)).toEqual(['fig-fig4-gqa', 'fig-fig4-mme']);
    expect(evalFigures(report({ ...t, figure: { kind: 'table' } }))).toEqual([]);
  });
  it('heatmap: measured and paper per task, the paper\'s only where it has numbers; a grid point without a number is grey', () => {
    const t = table({
      name: 'fig5', figure: { kind: 'heatmap', x: 'tau-v', y: 'tau-t' }, tasks: ['gqa'],
      rows: [row('p', { 'tau-v': 0.01, 'tau-t': 0.01 }, { gqa: cell('gqa', 60, 61) }), row('q', { 'tau-v': 0.03, 'tau-t': 0.01 }, { gqa: cell('gqa', 70, null) })],
      paper_points: [{ flags: { 'tau-v': 0.01, 'tau-t': 0.05 }, scores: { gqa: null } }],
    });
    const figs = evalFigures(report(t));
    expect(figs.map((f) => f.id)).toEqual(['fig-fig5-gqa-measured']);               // no paper number anywhere → no paper heatmap
    const withPaper = evalFigures(report({ ...t, paper_points: [{ flags: { 'tau-v': 0.01, 'tau-t': 0.05 }, scores: { gqa: 64 } }] }));
    expect(withPaper.map((f) => f.id)).toEqual(['fig-fig5-gqa-measured', 'fig-fig5-gqa-paper']);
    // rows τt ∈ {0.01, 0.05}, columns τv ∈ {0.01, 0.03}: the measured map has nothing at τt 0.05 → grey cells there
    const img = withPaper[0].image;
    let grey = 0;
    for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (getPixel(img, x, y).every((c, i) => c === GREY[i])) grey++;
    expect(grey).toBeGreaterThan(2 * 90 * 90);                                          // two missing cells of ≥ 96 px (minus text)
  });
});

describe('the page', () => {
  it('escapes every text from the runs', () => {
    const t = table({ title: '<script>alert(1)</script>', rows: [row('<b>x</b>', {}, { gqa: cell('gqa', 1, 2) })] });
    const html = renderEvalReportHtml(report(t), []);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
  });
  it('scores in the paper\'s format: counts as integers, the rest with one decimal', () => {
    expect([fmtScore(501), fmtScore(1534.34), fmtScore(64.25 + 1e-9), fmtScore(null)]).toEqual(['501', '1534.3', '64.3', '—']);
  });
});
