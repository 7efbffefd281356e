/**
 * `hero-lvlm eval predict` and `eval sweep` through the command line, on the embedded default model (random
 * weights, the real geometry) and the mini datasets (spec/fixtures/eval/mini/): every task of both layouts is
 * asked and scored; predictions equal `run`'s answer for the same image and prompt text; shards merged equal the
 * unsharded run; a run killed with SIGKILL and rerun equals an uninterrupted one; bad input is one line with
 * nothing written. Lines are compared without `times_ms` (wall times differ from run to run).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../util/cli';
import { TASKS, type TaskId } from '../../src/eval/tasks';

const ROOT = path.join(__dirname, '..', '..');
const MINI = path.join(ROOT, 'spec', 'fixtures', 'eval', 'mini');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-cli-eval-predict-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const T = 600_000;

const oneErrorLine = (r: { code: number; stderr: string }, re: RegExp): void => {
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^hero-lvlm: error: .+\n$/);
  expect(r.stderr).toMatch(re);
};
const ok = (r: { code: number; stderr: string }): void => expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
const lines = (run: string): Array<Record<string, unknown>> =>
  fs.readFileSync(path.join(run, 'predictions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
/** A prediction line without its wall times (they differ between runs). */
const untimed = (run: string): unknown[] => lines(run).map(({ times_ms: _t, ...rest }) => rest);
const json = (f: string): Record<string, unknown> => JSON.parse(fs.readFileSync(f, 'utf8'));

// A two-question GQA in LLaVA's layout (the mini one's first two questions), so each run stays short.
const GQA2 = path.join(tmp, 'gqa2');
fs.cpSync(path.join(MINI, 'llava', 'gqa'), GQA2, { recursive: true });
const qfile = path.join(GQA2, 'llava_gqa_testdev_balanced.jsonl');
fs.writeFileSync(qfile, fs.readFileSync(qfile, 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
const PREDICT = ['eval', 'predict', '--task', 'gqa', '--data', GQA2];
const R1 = path.join(tmp, 'r1');

describe('eval predict on the default model (LLaVA layout)', () => {
  it('answers every question, records the settings, scores it (score.json = eval score --json); a rerun asks nothing', () => {
    const r = runCli([...PREDICT, '--out', R1], { timeoutMs: T });
    ok(r);
    expect(r.stderr).toMatch(/model: the embedded default model — RANDOM WEIGHTS/);
    expect(r.stdout).toMatch(/2\/2 questions; score\.json: exact_match 0 \(RANDOM WEIGHTS/);
    const got = lines(R1);
    expect(got.map((l) => l.question_id)).toEqual(['200', '201']);
    expect(got[0].prompt).toBe('What color is the square?\nAnswer the question using a single word or phrase.'); // lmms-eval's gqa text
    expect(Object.keys(got[0].times_ms as object)).toEqual(expect.arrayContaining(['vision', 'prefill', 'decode']));
    const s = json(path.join(R1, 'settings.json'));
    expect(s).toMatchObject({
      task: 'gqa', protocol: 'lmms-eval', data: { layout: 'llava', sources: [qfile, path.join(GQA2, 'data', 'testdev_balanced_questions.json')] },
      method: { name: 'hero', options: { ratio: 0.2, alpha: 0.5, lowLayers: [5, 6, 7, 8] } }, template: 'vicuna_v1', maxNewTokens: TASKS.gqa.maxNewTokens['lmms-eval'],
      shard: null, version: json(path.join(ROOT, 'package.json')).version, clip: { text: 'prompt' }, image: { alpha: 'drop', aspect: null },
    });
    expect((s.model as { configHash: string }).configHash).toMatch(/^[0-9a-f]{64}$/);
    const score = runCli(['eval', 'score', '--task', 'gqa', '--data', GQA2, '--predictions', R1, '--json']);
    expect(json(path.join(R1, 'score.json'))).toEqual(JSON.parse(score.stdout));
    expect(JSON.parse(score.stdout)).toMatchObject({ questions: 2, scored: 2, missing: 0 });

    const again = runCli([...PREDICT, '--out', R1], { timeoutMs: T });
    ok(again);
    expect(again.stdout).toMatch(/all 2 questions already answered/);
    expect(again.stderr).not.toMatch(/loading the model/);
    expect(lines(R1)).toEqual(got);
  }, T);

  it('a prediction equals what run answers for the same image and prompt text', () => {
    const first = lines(R1)[0];
    const out = path.join(tmp, 'run');
    const r = runCli(['run', '--image', path.join(GQA2, 'data', 'images', 'red1.png'), '--prompt', first.prompt as string,
      '--max-new-tokens', String(TASKS.gqa.maxNewTokens['lmms-eval']), '--out', out, '--json'], { timeoutMs: T });
    ok(r);
    const rep = JSON.parse(r.stdout);
    expect(rep.answer).toBe(first.answer);
    expect({ kept: rep.visual_tokens.kept, total: rep.visual_tokens.full }).toEqual(first.visual_tokens);
  }, T);

  it('--shard 0/2 and 1/2 merged (eval merge) = the unsharded run', () => {
    const shards = [0, 1].map((i) => {
      const dir = path.join(tmp, `s${i}`);
      ok(runCli([...PREDICT, '--out', dir, '--shard', `${i}/2`], { timeoutMs: T }));
      expect(json(path.join(dir, 'settings.json')).shard).toEqual({ index: i, count: 2 });
      return dir;
    });
    const merged = path.join(tmp, 'merged');
    ok(runCli(['eval', 'merge', '--task', 'gqa', '--data', GQA2, '--shards', shards.join(','), '--out', merged]));
    expect(untimed(merged)).toEqual(untimed(R1));
    expect(json(path.join(merged, 'settings.json'))).toEqual(json(path.join(R1, 'settings.json')));
  }, T);

  it('a run killed with SIGKILL after its first line, then rerun, = an uninterrupted run', async () => {
    const run = path.join(tmp, 'killed');
    const child = spawn(process.execPath, ['-r', path.join(ROOT, 'src', 'cli', 'register-ts.js'), path.join(ROOT, 'src', 'cli', 'main.ts'), ...PREDICT, '--out', run],
      { cwd: ROOT, stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const pfile = path.join(run, 'predictions.jsonl');
    const deadline = Date.now() + T / 2;
    while (!(fs.existsSync(pfile) && fs.readFileSync(pfile, 'utf8').includes('\n')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await exited;
    expect(lines(run)).toHaveLength(1);                                      // killed while asking the second question
    const r = runCli([...PREDICT, '--out', run], { timeoutMs: T });
    ok(r);
    expect(r.stderr).toMatch(/1 of 2 questions already answered, resuming/);
    expect(untimed(run)).toEqual(untimed(R1));
    expect(fs.existsSync(path.join(run, 'score.json'))).toBe(true);
  }, T);
});

describe('eval predict: bad input is one line, exit 2, nothing written (checked before the model loads)', () => {
  it('a missing split file, a missing image, a RUN made with other settings, a bad flag', () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    const out = path.join(tmp, 'never');
    oneErrorLine(runCli(['eval', 'predict', '--task', 'pope', '--data', empty, '--out', out]), /no POPE question file/);
    const noImage = path.join(tmp, 'gqa-noimage');
    fs.cpSync(GQA2, noImage, { recursive: true });
    fs.rmSync(path.join(noImage, 'data', 'images', 'green2.png'));
    oneErrorLine(runCli(['eval', 'predict', '--task', 'gqa', '--data', noImage, '--out', out]), /question 201 names image data\/images\/green2\.png, which is missing/);
    oneErrorLine(runCli([...PREDICT, '--out', out, '--ratio', '2']), /--ratio: 2 is outside/);
    oneErrorLine(runCli([...PREDICT, '--out', out, '--shard', '2/2']), /--shard '2\/2'/);
    expect(fs.existsSync(out)).toBe(false);
    // R1 was made with ratio 0.2: another ratio must not append to it
    const before = fs.readFileSync(path.join(R1, 'predictions.jsonl'), 'utf8');
    oneErrorLine(runCli([...PREDICT, '--out', R1, '--ratio', '0.5']), /r1: this RUN was made with other settings \(method\.options\.ratio\); use another --out/);
    oneErrorLine(runCli([...PREDICT, '--out', R1, '--protocol', 'llava']), /other settings \(maxNewTokens, protocol\)/);
    expect(fs.readFileSync(path.join(R1, 'predictions.jsonl'), 'utf8')).toBe(before);
  });
});

/** The mini datasets as a --data-root: one folder per task id (LLaVA's folders have their own names: linked). */
function dataRoot(layout: 'llava' | 'parquet'): { root: string; tasks: TaskId[] } {
  if (layout === 'parquet') {
    return { root: path.join(MINI, 'parquet'), tasks: fs.readdirSync(path.join(MINI, 'parquet')).filter((t) => t in TASKS).sort() as TaskId[] };
  }
  const names: Partial<Record<TaskId, string>> = { gqa: 'gqa', mme: 'MME', mmbench_en_dev: 'mmbench', pope: 'pope', scienceqa_img: 'scienceqa', textvqa_val: 'textvqa_val', vizwiz_val: 'vizwiz', vizwiz_test: 'vizwiz', vqav2_testdev: 'vqav2' };
  const root = path.join(tmp, 'llava-root');
  fs.mkdirSync(root, { recursive: true });
  for (const [t, d] of Object.entries(names)) if (!fs.existsSync(path.join(root, t))) fs.symlinkSync(path.join(MINI, 'llava', d), path.join(root, t));
  return { root, tasks: Object.keys(names).sort() as TaskId[] };
}

describe('eval sweep', () => {
  it.each(['parquet', 'llava'] as const)('every mini task of the %s layout: one model load, a RUN per task, scored where the split scores offline', (layout) => {
    const { root, tasks } = dataRoot(layout);
    const cfgFile = path.join(tmp, `all-${layout}.json`);
    fs.writeFileSync(cfgFile, JSON.stringify({ name: `all-${layout}`, title: 'every task', model: 'default', protocol: 'lmms-eval', tasks, cells: [{ id: 'none', label: 'all tokens', method: 'none' }] }));
    const out = path.join(tmp, `sweep-${layout}`);
    // --max-new-tokens 1: a random model never stops early, and the protocols allow up to 1024 tokens
    const r = runCli(['eval', 'sweep', cfgFile, '--data-root', root, '--out', out, '--limit', '1', '--max-new-tokens', '1'], { timeoutMs: T });
    ok(r);
    expect(r.stderr.match(/loading the model/g)).toHaveLength(1);
    const sw = json(path.join(out, 'sweep.json')) as { config: unknown; runs: Array<{ task: TaskId; complete: boolean; answered: number; dir: string }> };
    expect(sw.config).toEqual(json(cfgFile));
    expect(sw.runs.map((x) => x.task)).toEqual(tasks);
    for (const run of sw.runs) {
      expect(run).toMatchObject({ complete: true, answered: 1, questions: 1, dir: path.join('none', run.task) });
      const dir = path.join(out, run.dir);
      expect(lines(dir)).toHaveLength(1);
      expect(fs.existsSync(path.join(dir, 'score.json'))).toBe(TASKS[run.task].scores.includes('lmms-eval'));
    }
  }, T);

  it('the mini config: cells run into ROOT/<cell>/<task>, sweep.json lists them; a rerun asks nothing; --dry-run loads nothing', () => {
    const cfg = path.join(ROOT, 'spec', 'fixtures', 'eval', 'sweep-mini.json');
    const out = path.join(tmp, 'sweep-mini');
    const args = ['eval', 'sweep', cfg, '--data-root', path.join(MINI, 'parquet'), '--out', out, '--tasks', 'gqa', '--cells', 'hero-r0.4,none', '--limit', '1'];
    ok(runCli(args, { timeoutMs: T }));
    const sw = json(path.join(out, 'sweep.json'));
    expect(sw).toMatchObject({ config_file: cfg, model: { configHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      runs: [{ cell: 'hero-r0.4', label: 'HERO r = 0.4', task: 'gqa', protocol: 'lmms-eval', dir: path.join('hero-r0.4', 'gqa'), complete: true, questions: 1, answered: 1 },
        { cell: 'none', task: 'gqa', complete: true }] });
    expect(json(path.join(out, 'hero-r0.4', 'gqa', 'settings.json')).method).toEqual(expect.objectContaining({ name: 'hero', options: expect.objectContaining({ ratio: 0.4, alpha: 0.5 }) }));
    expect(json(path.join(out, 'none', 'gqa', 'score.json'))).toMatchObject({ task: 'gqa', scored: 1 });
    const before = untimed(path.join(out, 'none', 'gqa'));
    const again = runCli(args, { timeoutMs: T });
    ok(again);
    expect(again.stderr).not.toMatch(/loading the model/);
    expect(untimed(path.join(out, 'none', 'gqa'))).toEqual(before);

    const dry = runCli(['eval', 'sweep', cfg, '--dry-run']);
    ok(dry);
    expect(dry.stdout).toMatch(/^A tiny sweep for the specs \(mini GQA\) \(sweep-mini\): 4 cells × 2 tasks = 8 runs/);
    expect(dry.stdout).toMatch(/tau-v=0\.01,low-layers=5\+6\+7\+8  \[hero\] --alpha 0\.5 --tau-v 0\.01 --low-layers 5,6,7,8  tasks gqa,pope/);
    expect(dry.stderr).toBe('');
  }, T);

  it('bad configs and flags: one line naming the file and key, nothing written', () => {
    const out = path.join(tmp, 'sweep-never');
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ name: 'bad', title: 't', model: 'm', protocol: 'lmms-eval', tasks: ['gqa'], cells: [{ id: 'a', label: 'A', flags: { 'tau-x': 1 } }] }));
    oneErrorLine(runCli(['eval', 'sweep', bad, '--data-root', MINI, '--out', out]), /bad\.json: unknown key 'cells\[0\]\.flags\.tau-x'/);
    fs.writeFileSync(bad, JSON.stringify({ name: 'bad', title: 't', model: 'm', protocol: 'lmms-eval', tasks: ['gqa'], cells: [{ id: 'a', label: 'A', flags: { 'low-layers': [99] } }] }));
    oneErrorLine(runCli(['eval', 'sweep', bad, '--dry-run']), /bad\.json: cell a: .*99/);
    oneErrorLine(runCli(['eval', 'sweep', path.join(tmp, 'nope.json'), '--dry-run']), /nope\.json: cannot read the sweep config/);
    oneErrorLine(runCli(['eval', 'sweep', path.join(ROOT, 'spec', 'fixtures', 'eval', 'sweep-mini.json'), '--data-root', path.join(tmp, 'empty'), '--out', out]), /--data \S+gqa: no such directory/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
