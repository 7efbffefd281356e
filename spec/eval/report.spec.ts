/** The table model of `eval report` (src/eval/report.ts): a sweep's cells and the paper's numbers, means, FLOPs. */
import {
  buildEvalReport, sweepCells, sweepTable, tokenStats, tokenSums,
  type ModelInput, type RunInput, type SweepConfig, type SweepIndex,
} from '../../src/eval/report';
import type { PredictionLine, RunSettings } from '../../src/eval/run';
import type { ScoreReport } from '../../src/eval/score';
import { sameFlagValue } from '../../src/eval/sweep';
import { prefillFlops } from '../../src/flops/flops';
import { PRESETS } from '../../src/flops/presets';

/** Means of a few small integers: exact in float64 up to the last bit of a division. */
const MEAN_TOL = 1e-12;

const FIG5: SweepConfig = {
  name: 'fig5', title: 'Fig. 5', figure: { kind: 'heatmap', x: 'tau-v', y: 'tau-t' }, model: 'llava-v1.6-vicuna-7b', protocol: 'lmms-eval',
  tasks: ['gqa', 'mme'], base: { method: 'hero', flags: { ratio: 0.4 } },
  grid: {
    axes: { 'tau-v': [0.01, 0.03], 'tau-t': [0.01, 0.05] },
    paper: [
      { at: { 'tau-t': 0.05, 'tau-v': 0.01 }, scores: { gqa: 62.5, mme: 1500.1 } },          // keys in the other order
      { at: { 'tau-v': 0.03, 'tau-t': 0.01 }, scores: { gqa: null, mme: 1490 } },
    ],
  },
};

const TABLE3: SweepConfig = {
  name: 'table3', title: 'Table 3', model: 'llava-v1.6-vicuna-7b', protocol: 'lmms-eval', tasks: ['gqa', 'mme'],
  cells: [
    { id: 'hero-40', label: '+ HERO (40%)', method: 'hero', flags: { ratio: 0.4 }, paper: { gqa: 64.2, mme: 1534.3 } },
    { id: 'fastv-50', label: '+ FastV (50%)', method: 'fastv', protocol: 'llava', flags: { ratio: 0.5 }, paper: { gqa: 61.8 } },
  ],
};

describe("a sweep's cells (eval/sweep.ts expandSweep, read by sweepCells)", () => {
  it('grid ids: flag=value joined by commas, axes in order; every grid point once, with the base flags', () => {
    const cells = sweepCells(FIG5);
    expect([...cells.keys()]).toEqual(['tau-v=0.01,tau-t=0.01', 'tau-v=0.01,tau-t=0.05', 'tau-v=0.03,tau-t=0.01', 'tau-v=0.03,tau-t=0.05']);
    expect(cells.get('tau-v=0.01,tau-t=0.05')!.flags).toEqual({ ratio: 0.4, 'tau-v': 0.01, 'tau-t': 0.05 });
    expect(cells.get('tau-v=0.01,tau-t=0.05')!.label).toBe('tau-v=0.01 tau-t=0.05');
  });
  it("a listed cell: its paper[task]; a task it lacks: none", () => {
    const cells = sweepCells(TABLE3);
    expect(cells.get('hero-40')!.paper.mme).toBe(1534.3);
    expect(cells.get('fastv-50')!.paper.mme).toBeUndefined();
    expect(cells.get('fastv-50')!.protocol).toBe('llava');
  });
  it('a grid point: the entry whose `at` matches its flags, whatever the key order; none → none; a null score stays null', () => {
    const cells = sweepCells(FIG5);
    expect(cells.get('tau-v=0.01,tau-t=0.05')!.paper.mme).toBe(1500.1);
    expect(cells.get('tau-v=0.01,tau-t=0.01')!.paper).toEqual({});
    expect(cells.get('tau-v=0.03,tau-t=0.01')!.paper).toEqual({ gqa: null, mme: 1490 });
  });
  it('same setting: numbers by value, numeric strings as numbers, lists element-wise, a one-element list is its element', () => {
    expect(sameFlagValue(0.01, '0.010')).toBe(true);
    expect(sameFlagValue([5, 6], [5, 6])).toBe(true);
    expect(sameFlagValue([5, 6], [5, 7])).toBe(false);
    expect(sameFlagValue(0.01, 0.03)).toBe(false);
    expect(sameFlagValue([21], 21)).toBe(true);
    expect(sameFlagValue('5+6', [5, 6])).toBe(true);
    const t6: SweepConfig = { ...FIG5, grid: { axes: { 'high-layers': [[21], [20, 22]] }, paper: [{ at: { 'high-layers': 21 }, scores: { mme: 1 } }] } };
    expect(sweepCells(t6).get('high-layers=21')!.paper).toEqual({ mme: 1 });
  });
});

// ---- runs as the loader hands them over ----------------------------------------------------------------------

const settings = (task: string, protocol = 'lmms-eval', method = 'hero'): RunSettings => ({
  task, protocol, data: { layout: 'parquet', sources: [] }, model: { path: '/m', configHash: 'h' }, method: { name: method, options: {} },
  template: 'vicuna_v1', maxNewTokens: 16, shard: null, version: 't',
});
const line = (i: number, kept: number, total: number): PredictionLine => ({ question_id: String(i), prompt: 'q', answer: 'a', visual_tokens: { kept, total }, times_ms: {} });
const score = (task: string, main: string, v: number, questions: number, scored: number): ScoreReport => ({
  task: task as ScoreReport['task'], protocol: 'lmms-eval', questions, scored, missing: questions - scored, main, metrics: { [main]: v }, notes: [],
});
const MODEL: ModelInput = { path: '/m', configHash: 'h', random: 'RANDOM WEIGHTS (spec)', flopsNote: 'vicuna-7b' };
const FLOPS = (n: number): number => prefillFlops(n, PRESETS['vicuna-7b']);

describe('token means and prefill FLOPs', () => {
  it("means of kept and total; TFLOPs = mean over the lines of HERO-7 at kept + text (the flops module's own function)", () => {
    const lines = [line(0, 100, 2880), line(1, 300, 2880), line(2, 560, 2304)];
    const text = [50, 70, 66];
    const s = tokenStats([tokenSums(lines, text, FLOPS)]);
    expect(Math.abs(s.visual_kept! - 320)).toBeLessThanOrEqual(MEAN_TOL * 320);
    expect(Math.abs(s.visual_total! - 2688)).toBeLessThanOrEqual(MEAN_TOL * 2688);
    expect(Math.abs(s.text! - 62)).toBeLessThanOrEqual(MEAN_TOL * 62);
    const want = (prefillFlops(150, PRESETS['vicuna-7b']) + prefillFlops(370, PRESETS['vicuna-7b']) + prefillFlops(626, PRESETS['vicuna-7b'])) / 3 / 1e12;
    expect(Math.abs(s.prefill_tflops! - want)).toBeLessThanOrEqual(MEAN_TOL * want);
  });
  it("the paper's Table 4 row: 2673 tokens on Vicuna-7B is 38.4 TFLOPs", () => {
    const s = tokenStats([tokenSums([line(0, 2600, 2880)], [73], FLOPS)]);
    expect(s.prefill_tflops!.toFixed(1)).toBe('38.4');
  });
  it('no tokenizer (text unknown) or no config: FLOPs unknown, the visual means still there', () => {
    expect(tokenStats([tokenSums([line(0, 10, 20)], null, FLOPS)])).toEqual({ visual_kept: 10, visual_total: 20, text: null, prefill_tflops: null });
    expect(tokenStats([tokenSums([line(0, 10, 20)], [5], null)]).prefill_tflops).toBeNull();
    expect(tokenStats([tokenSums([], [], FLOPS)])).toEqual({ visual_kept: null, visual_total: null, text: null, prefill_tflops: null });
  });
  it('pooled runs: means over all their lines, not the mean of the runs\' means; one unknown run makes the pool unknown', () => {
    const a = tokenSums([line(0, 100, 1000)], [10], FLOPS), b = tokenSums([line(0, 400, 1000), line(1, 700, 1000)], [20, 20], FLOPS);
    const s = tokenStats([a, b]);
    expect(Math.abs(s.visual_kept! - 400)).toBeLessThanOrEqual(MEAN_TOL * 400);
    const want = (FLOPS(110) + FLOPS(420) + FLOPS(720)) / 3 / 1e12;
    expect(Math.abs(s.prefill_tflops! - want)).toBeLessThanOrEqual(MEAN_TOL * want);
    expect(tokenStats([a, tokenSums([line(0, 1, 2)], null, FLOPS)]).prefill_tflops).toBeNull();
  });
});

describe('a sweep as a table', () => {
  const run = (cell: string, task: string, protocol: string, lines: PredictionLine[], s: ScoreReport | null, complete = true, questions = lines.length): RunInput => ({
    dir: `/s/${cell}/${task}`, settings: settings(task, protocol), tokens: tokenSums(lines, lines.map(() => 10), FLOPS),
    sweep: { cell, label: cell, task, protocol, dir: `${cell}/${task}`, complete, questions, answered: lines.length },
    score: s ? { report: s, source: 'score.json' } : null, notScored: s ? undefined : 'no score.json and no --data-root',
  });
  const index: SweepIndex = { config_file: 'eval/configs/table3.json', config: TABLE3, model: { path: '/m', configHash: 'h' }, runs: [] };
  const runs = [
    run('hero-40', 'gqa', 'lmms-eval', [line(0, 100, 1000), line(1, 200, 1000)], score('gqa', 'exact_match', 65, 2, 2)),
    run('hero-40', 'mme', 'lmms-eval', [line(0, 400, 1000)], score('mme', 'perception', 1500, 4, 1), false, 4),
    run('fastv-50', 'gqa', 'llava', [line(0, 500, 1000)], null),
  ];
  const t = sweepTable('/s', index, runs, () => MODEL);

  it("rows = cells in the runs' order, columns = the config's tasks, the protocol per row", () => {
    expect(t.tasks).toEqual(['gqa', 'mme']);
    expect(t.rows.map((r) => [r.cell, r.label, r.protocols])).toEqual([['hero-40', 'hero-40', ['lmms-eval']], ['fastv-50', 'fastv-50', ['llava']]]);
    expect(t.rows[1].cells.mme).toBeNull();                                             // not run
  });
  it("each measured number beside the paper's, the difference measured − paper", () => {
    const c = t.rows[0].cells.gqa!;
    expect([c.measured, c.paper, c.status, c.complete]).toEqual([65, 64.2, 'scored', true]);
    expect(Math.abs(c.diff! - 0.8)).toBeLessThanOrEqual(1e-12);                      // 65 − 64.2 in float64
  });
  it('an incomplete run says answered/questions; a run without score is "not scored" with the reason', () => {
    expect(t.rows[0].cells.mme).toMatchObject({ complete: false, answered: 1, questions: 4, measured: 1500, paper: 1534.3 });
    expect(t.rows[1].cells.gqa).toMatchObject({ status: 'not scored', measured: null, paper: 61.8, diff: null, not_scored_reason: 'no score.json and no --data-root' });
  });
  it("a row's token means pool its runs' lines; its FLOPs average HERO-7 over them", () => {
    expect(t.rows[0].visual_kept).toBeCloseTo((100 + 200 + 400) / 3, 12);
    const want = [110, 210, 410].reduce((a, n) => a + prefillFlops(n, PRESETS['vicuna-7b']), 0) / 3 / 1e12;
    expect(Math.abs(t.rows[0].prefill_tflops! - want)).toBeLessThanOrEqual(MEAN_TOL * want);
  });
  it('the whole report: loose runs grouped by task without paper numbers, the random-weights banner once per model', () => {
    const loose: RunInput[] = [
      { dir: '/r/pope', settings: settings('pope'), tokens: tokenSums([line(0, 5, 10)], null, FLOPS), score: { report: score('pope', 'f1', 80, 1, 1), source: 'data-root' } },
      { dir: '/r/gqa', settings: settings('gqa', 'llava', 'fastv'), tokens: tokenSums([line(0, 5, 10)], null, FLOPS), score: null, notScored: 'x' },
    ];
    const rep = buildEvalReport([{ root: '/s', index, runs }], loose, () => MODEL);
    expect(rep.random_weights).toEqual(['/m: RANDOM WEIGHTS (spec)']);
    const l = rep.tables[1];
    expect([l.kind, l.tasks, l.rows.map((r) => r.label)]).toEqual(['runs', ['gqa', 'pope'], ['/r/gqa', '/r/pope']]);
    expect(l.rows[1].cells.pope).toMatchObject({ measured: 80, paper: null, score_source: 'data-root', protocol: 'lmms-eval' });
    expect(l.rows[1].prefill_tflops).toBeNull();                                        // no tokenizer → no text count
  });
  it("the config's settings the sweep did not run (a --cells subset): rows with the paper's numbers, no runs", () => {
    const part = sweepTable('/s', index, runs.slice(0, 2), () => MODEL);
    expect(part.rows.map((r) => r.cell)).toEqual(['hero-40', 'fastv-50']);
    expect(part.rows[1]).toMatchObject({ label: '+ FastV (50%)', method: { name: 'fastv' }, protocols: ['llava'], cells: { gqa: null, mme: null }, paper: { gqa: 61.8, mme: null }, visual_kept: null });
    const grid = sweepTable('/g', { ...index, config: FIG5 }, [], () => MODEL);
    expect(grid.rows.map((r) => [r.cell, r.paper])).toEqual([
      ['tau-v=0.01,tau-t=0.01', { gqa: null, mme: null }], ['tau-v=0.01,tau-t=0.05', { gqa: 62.5, mme: 1500.1 }],
      ['tau-v=0.03,tau-t=0.01', { gqa: null, mme: 1490 }], ['tau-v=0.03,tau-t=0.05', { gqa: null, mme: null }],
    ]);
  });
  it("the paper's points for the plots: listed cells at their flags, grid entries at theirs (base flags included)", () => {
    expect(t.paper_points.map((p) => p.flags)).toEqual([{ ratio: 0.4 }, { ratio: 0.5 }]);
    const g = sweepTable('/g', { ...index, config: FIG5 }, [], () => MODEL);
    expect(g.paper_points).toEqual([
      { flags: { ratio: 0.4, 'tau-t': 0.05, 'tau-v': 0.01 }, scores: { gqa: 62.5, mme: 1500.1 } },
      { flags: { ratio: 0.4, 'tau-v': 0.03, 'tau-t': 0.01 }, scores: { gqa: null, mme: 1490 } },
    ]);
  });
});
