/** The predict loop with a stand-in model: order, shard + limit, resume, lines, progress. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { planPredict, predictLoop, progressLine } from '../../src/eval/predict';
import { openRun, readRun } from '../../src/eval/run_file';
import { mergeShards } from '../../src/eval/shard';
import { loadTask } from '../../src/eval/load';
import type { RunSettings } from '../../src/eval/run';
import type { EvalQuestion } from '../../src/eval/tasks';

const MINI = path.join(__dirname, '..', 'fixtures', 'eval', 'mini');
const settings = (shard: { index: number; count: number } | null): RunSettings => ({ task: 'pope', protocol: 'llava', data: { layout: 'llava', sources: [] },
  model: { path: 'm', configHash: 'h' }, method: { name: 'none', options: {} }, template: 'vicuna_v1', maxNewTokens: 128, shard, version: '0' });
/** A stand-in model: answers from the question text, so every run gives the same lines. */
const ask = async (q: EvalQuestion, text: string, max: number): Promise<{ answer: string; visualTokens: { kept: number; total: number }; timesMs: Record<string, number> }> =>
  ({ answer: `${q.question.length % 2 ? 'Yes' : 'No'} (${max})`, visualTokens: { kept: text.length, total: 2 * text.length }, timesMs: { decode: 0 } });
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'hero-predict-'));

describe('eval predict loop (model stood in)', () => {
  it('asks each question once with its protocol prompt and token limit; a rerun asks nothing', async () => {
    const { questions } = await loadTask('pope', path.join(MINI, 'llava', 'pope'));
    const d = tmp();
    let run = openRun(d, settings(null));
    const progress: string[] = [];
    expect(await predictLoop('pope', 'llava', planPredict(questions, run.done, null, 5), run, ask, (l) => progress.push(l))).toBe(5);
    run.close();
    run = openRun(d, settings(null));
    expect(await predictLoop('pope', 'llava', planPredict(questions, run.done, null, null), run, ask)).toBe(questions.length - 5);
    run.close();
    run = openRun(d, settings(null));
    expect(planPredict(questions, run.done, null, null).todo).toEqual([]);
    run.close();
    const lines = readRun(d).lines;
    expect(lines.map((l) => l.question_id)).toEqual(questions.map((q) => q.id));
    expect(lines[0].prompt).toBe(questions[0].llavaText);
    expect(lines[0].answer).toMatch(/\(128\)$/);
    expect(progress[4]).toMatch(/^5\/5 · /);
  });

  it('sharded runs merged equal the unsharded run', async () => {
    const { questions } = await loadTask('pope', path.join(MINI, 'parquet', 'pope'));
    const whole = tmp();
    const r = openRun(whole, settings(null));
    await predictLoop('pope', 'lmms-eval', planPredict(questions, [], null, null), r, ask);
    r.close();
    const shards = await Promise.all([0, 1, 2, 3].map(async (i) => {
      const d = tmp();
      const s = openRun(d, settings({ index: i, count: 4 }));
      await predictLoop('pope', 'lmms-eval', planPredict(questions, [], { index: i, count: 4 }, null), s, ask);
      s.close();
      return { name: d, lines: readRun(d).lines };
    }));
    expect(mergeShards(questions.map((q) => q.id), shards)).toEqual(readRun(whole).lines);
  });

  it('progress: questions per minute and ETA', () => {
    expect(progressLine(30, 120, 10, 60_000)).toBe('30/120 · 10.0 q/min · ETA 9m');
    expect(progressLine(10, 1000, 10, 60_000)).toBe('10/1000 · 10.0 q/min · ETA 1h 39m');
    expect(progressLine(0, 5, 0, 0)).toBe('0/5 · 0.0 q/min · ETA –');
  });
});
