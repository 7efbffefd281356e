/** `hero-lvlm eval report` through the command line, on sweeps and RUN directories built from the mini datasets. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../util/cli';
import { makeEvalFixture, MINI_PARQUET, type EvalFixture } from '../util/eval_report_fixture';
import type { EvalReport, ReportCell } from '../../src/eval/report';
import { DEFAULT_MODEL_DIR } from '../../src/weights/default_model';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-cli-eval-report-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let fx: EvalFixture;
beforeAll(async () => { fx = await makeEvalFixture(path.join(tmp, 'fx')); });

const oneErrorLine = (r: { code: number; stderr: string }, re: RegExp): void => {
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^hero-lvlm: error: .+\n$/);
  expect(r.stderr).toMatch(re);
};
const cellOf = (rep: EvalReport, table: string, cell: string, task: string): ReportCell =>
  rep.tables.find((t) => t.name === table)!.rows.find((r) => r.cell === cell)!.cells[task]!;

describe('hero-lvlm eval report', () => {
  it('writes eval-report.html and eval-report.json: one table per sweep, then the loose runs; scores as score.json has them', () => {
    const out = path.join(tmp, 'out');
    const r = runCli(['eval', 'report', fx.fig5, fx.fig4, ...fx.loose, '--out', out]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringMatching(/^hero-lvlm: warning: .*RANDOM WEIGHTS.*meaningless\n$/) });
    expect(fs.readdirSync(out).sort()).toEqual(['eval-report.html', 'eval-report.json']);
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'eval-report.json'), 'utf8')) as EvalReport;
    expect(rep.tables.map((t) => [t.kind, t.name, t.tasks])).toEqual([['sweep', 'fig5-mini', ['gqa', 'pope']], ['sweep', 'fig4-mini', ['gqa']], ['runs', 'runs', ['gqa', 'pope']]]);
    expect(rep.random_weights).toEqual([`${fx.model}: RANDOM WEIGHTS written for the eval report spec`]);
    // 3 of 4 GQA answers right → 75 % exact match, beside the paper's 60 (the grid entry at τv 0.01, τt 0.01)
    expect(cellOf(rep, 'fig5-mini', 'tau-v=0.01,tau-t=0.01', 'gqa')).toMatchObject({ measured: 75, paper: 60, diff: 15, status: 'scored', score_source: 'score.json', complete: true });
    expect(cellOf(rep, 'fig5-mini', 'tau-v=0.03,tau-t=0.01', 'gqa')).toMatchObject({ measured: 50, complete: false, answered: 2, questions: 4 });
    expect(cellOf(rep, 'fig5-mini', 'tau-v=0.03,tau-t=0.05', 'pope')).toMatchObject({ status: 'not scored', measured: null, paper: 86.1 });
    expect(cellOf(rep, 'fig4-mini', 'alpha-0.5', 'gqa')).toMatchObject({ measured: 50, paper: 62, diff: -12 });
    for (const t of rep.tables) for (const row of t.rows) for (const c of Object.values(row.cells)) if (c?.status === 'scored') expect(c.measured).toBe(fx.scores.get(c.dir));
    // the model's config.json and tokenizer are here: tokens and FLOPs known
    const row = rep.tables[0].rows[0];
    expect(row.visual_kept).toBe((4 * 501.5 + 12 * 505.5) / 16);                  // kept 500+i over gqa's 4 and pope's 12 lines: (4·501.5 + 12·505.5) / 16
    expect(row.text).toBeGreaterThan(0);
    expect(row.prefill_tflops).toBeGreaterThan(0);
  });

  it('--data-root scores a run without score.json as `eval score` does', () => {
    const out = path.join(tmp, 'out-data');
    const r = runCli(['eval', 'report', fx.fig5, '--out', out, '--data-root', MINI_PARQUET, '--json']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as EvalReport;
    expect(rep).toEqual(JSON.parse(fs.readFileSync(path.join(out, 'eval-report.json'), 'utf8')));
    const dir = path.join(fx.fig5, 'tau-v=0.03,tau-t=0.05', 'pope');
    const score = runCli(['eval', 'score', '--task', 'pope', '--data', path.join(MINI_PARQUET, 'pope'), '--predictions', dir, '--json']);
    expect(score.code).toBe(0);
    expect(cellOf(rep, 'fig5-mini', 'tau-v=0.03,tau-t=0.05', 'pope')).toMatchObject({ status: 'scored', score_source: 'data-root', measured: JSON.parse(score.stdout).metrics.f1, metric: 'f1' });
  });

  it('a model folder that is not on this machine: FLOPs unknown, said so; the embedded default model: RANDOM WEIGHTS', () => {
    const run = path.join(tmp, 'elsewhere');
    fs.cpSync(fx.loose[0], run, { recursive: true });
    const s = JSON.parse(fs.readFileSync(path.join(run, 'settings.json'), 'utf8'));
    fs.writeFileSync(path.join(run, 'settings.json'), JSON.stringify({ ...s, model: { path: path.join(tmp, 'no-such-model'), configHash: 'x' } }));
    const r = runCli(['eval', 'report', run, '--out', path.join(tmp, 'out-elsewhere'), '--json']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const rep = JSON.parse(r.stdout) as EvalReport;
    expect(rep.random_weights).toEqual([]);
    expect(rep.tables[0].models[0].flops_note).toMatch(/^FLOPs unknown: .*config\.json is not on this machine/);
    expect(rep.tables[0].rows[0].prefill_tflops).toBeNull();
    // the embedded default model is random weights even where its folder is not generated yet
    fs.writeFileSync(path.join(run, 'settings.json'), JSON.stringify({ ...s, model: { path: DEFAULT_MODEL_DIR, configHash: 'x' } }));
    const d = runCli(['eval', 'report', run, '--out', path.join(tmp, 'out-default'), '--json']);
    expect(d.code).toBe(0);
    expect((JSON.parse(d.stdout) as EvalReport).random_weights).toEqual([`${DEFAULT_MODEL_DIR}: RANDOM WEIGHTS: the embedded default model is untrained`]);
    expect(d.stderr).toMatch(/^hero-lvlm: warning: .*embedded default model.*meaningless\n$/);
  });

  it('bad input is one line naming the path, exit 2, nothing written', () => {
    const out = path.join(tmp, 'out-bad');
    oneErrorLine(runCli(['eval', 'report', MINI_PARQUET, '--out', out]), new RegExp(`${MINI_PARQUET}: neither a RUN directory`));
    oneErrorLine(runCli(['eval', 'report', path.join(tmp, 'nope'), '--out', out]), /nope: no such directory/);
    oneErrorLine(runCli(['eval', 'report', '--out', out]), /at least one RUN directory or sweep/);
    const sweep = path.join(tmp, 'broken-sweep');
    fs.cpSync(fx.fig4, sweep, { recursive: true });
    fs.rmSync(path.join(sweep, 'alpha-1'), { recursive: true });
    oneErrorLine(runCli(['eval', 'report', fx.fig5, sweep, '--out', out]), /broken-sweep\/sweep\.json: run alpha-1\/gqa names .*alpha-1\/gqa, which is not a RUN directory/);
    // a run that never began (answered 0, as eval sweep lists a stopped sweep's later runs) is not bad input
    const idx = JSON.parse(fs.readFileSync(path.join(sweep, 'sweep.json'), 'utf8'));
    Object.assign(idx.runs.find((r: { cell: string }) => r.cell === 'alpha-1'), { answered: 0, complete: false });
    fs.writeFileSync(path.join(sweep, 'sweep.json'), JSON.stringify(idx));
    const started = runCli(['eval', 'report', sweep, '--out', path.join(tmp, 'out-started'), '--json']);
    expect(started.code).toBe(0);
    expect(cellOf(JSON.parse(started.stdout), 'fig4-mini', 'alpha-1', 'gqa')).toMatchObject({ status: 'not scored', not_scored_reason: 'not started (no RUN directory yet)', complete: false, answered: 0, questions: 4, paper: 63 });
    const run = path.join(tmp, 'bad-score');
    fs.cpSync(fx.loose[1], run, { recursive: true });
    fs.writeFileSync(path.join(run, 'score.json'), '{"task": "pope", "metrics": ');
    oneErrorLine(runCli(['eval', 'report', fx.loose[0], run, '--out', out]), /bad-score\/score\.json: unreadable score\.json/);
    fs.writeFileSync(path.join(run, 'score.json'), JSON.stringify({ task: 'gqa', main: 'f1', metrics: { f1: 1 }, questions: 1, scored: 1, missing: 0 }));
    oneErrorLine(runCli(['eval', 'report', run, '--out', out]), /score\.json: unreadable score\.json \(it scores task "gqa", the RUN ran pope\)/);
    fs.writeFileSync(path.join(run, 'score.json'), JSON.stringify({ task: 'pope', protocol: 'llava', main: 'f1', metrics: { f1: 1 }, questions: 1, scored: 1, missing: 0 }));
    oneErrorLine(runCli(['eval', 'report', run, '--out', out]), /score\.json: unreadable score\.json \(it scores by protocol "llava", the RUN ran lmms-eval\)/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('--help names every flag', () => {
    const r = runCli(['eval', 'report', '--help']);
    expect(r.code).toBe(0);
    for (const f of ['--out', '--data-root', '--json', 'RUN_OR_SWEEP']) expect(r.stdout).toContain(f);
  });
});
