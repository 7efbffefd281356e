/**
 * Sweep roots and RUN directories in the exact shapes `eval predict` / `eval sweep` write (sweep.json,
 * settings.json, predictions.jsonl, score.json = the object `eval score --json` prints), built on the mini
 * parquet datasets (spec/fixtures/eval/mini/parquet) and scored by the project's own scorer. For the
 * `eval report` specs.
 *
 *   fig5: heatmap over tau-v × tau-t (2 × 2), tasks gqa + pope, every grid point in the paper; the
 *         gqa run at tau-v=0.03,tau-t=0.01 is incomplete (2 of 4 answered), the pope run at
 *         tau-v=0.03,tau-t=0.05 has no score.json (scored only with --data-root).
 *   fig4: listed cells α = 0 / 0.5 / 1 (line over `alpha`), task gqa, the paper's numbers per cell.
 *   loose: two RUN directories without a sweep (gqa by LLaVA's protocol, pope by lmms-eval's).
 * The model folder has the default model's config.json and tokenizer.json and the random-weights mark.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadTask } from '../../src/eval/load';
import { scoreTask } from '../../src/eval/score';
import { TASKS, type Protocol, type TaskId } from '../../src/eval/tasks';
import { formatLine, type PredictionLine, type RunSettings } from '../../src/eval/run';
import type { SweepConfig, SweepIndex, SweepRun } from '../../src/eval/report';
import { RANDOM_WEIGHTS_KEY } from '../../src/io/random_mark';
import { llavaConfigJson, llamaTokenizerJson } from '../../src/weights/default_model';

export const MINI_PARQUET = path.join(__dirname, '..', 'fixtures', 'eval', 'mini', 'parquet');

export interface EvalFixture {
  readonly model: string;
  readonly fig5: string;
  readonly fig4: string;
  readonly loose: readonly string[];
  /** The headline score each scored run got, by RUN directory. */
  readonly scores: ReadonlyMap<string, number>;
}

const answersOf = (task: string): Map<string, string> => new Map(fs.readFileSync(path.join(MINI_PARQUET, task, 'answers.jsonl'), 'utf8')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l) as { question_id: string; answer: string }).map((o) => [o.question_id, o.answer]));

/** A wrong answer for a question (gqa: another word; pope: the other of yes/no). */
const wrong = (task: string, a: string): string => (task === 'pope' ? (a === 'yes' ? 'no' : 'yes') : `not ${a}`);

export async function makeEvalFixture(root: string): Promise<EvalFixture> {
  const model = path.join(root, 'model');
  fs.mkdirSync(model, { recursive: true });
  fs.writeFileSync(path.join(model, 'config.json'), JSON.stringify({ ...llavaConfigJson(), [RANDOM_WEIGHTS_KEY]: 'RANDOM WEIGHTS written for the eval report spec' }));
  fs.writeFileSync(path.join(model, 'tokenizer.json'), JSON.stringify(llamaTokenizerJson()));
  const scores = new Map<string, number>();

  /** One RUN: the first `right` answers right, the rest wrong, `answered` lines; score.json when `scored`. */
  const writeRun = async (dir: string, task: TaskId, protocol: Protocol, method: RunSettings['method'], right: number,
    opts: { answered?: number; scored?: boolean; kept?: number } = {}): Promise<{ questions: number; answered: number }> => {
    const loaded = await loadTask(task, path.join(MINI_PARQUET, task));
    const truth = answersOf(task);
    const asked = loaded.questions.slice(0, opts.answered ?? loaded.questions.length);
    const lines: PredictionLine[] = asked.map((q, i) => ({
      question_id: q.id, prompt: TASKS[task].text(q, protocol), answer: i < right ? truth.get(q.id)! : wrong(task, truth.get(q.id)!),
      visual_tokens: { kept: (opts.kept ?? 1000) + i, total: 2880 }, times_ms: { vision: 10, prefill: 20, decode: 5 },
    }));
    const settings: RunSettings = {
      task, protocol, data: { layout: 'parquet', sources: [path.join(MINI_PARQUET, task)] }, model: { path: model, configHash: 'c0ffee0123456789' },
      method, template: 'vicuna_v1', maxNewTokens: TASKS[task].maxNewTokens[protocol], shard: null, version: '0.0.0-spec',
    };
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
    fs.writeFileSync(path.join(dir, 'predictions.jsonl'), lines.map(formatLine).join(''));
    if (opts.scored ?? true) {
      const r = scoreTask(task, protocol, loaded.questions, new Map(lines.map((l) => [String(l.question_id), l.answer])));
      fs.writeFileSync(path.join(dir, 'score.json'), JSON.stringify({ ...r, layout: loaded.layout, data: loaded.sources, predictions: path.join(dir, 'predictions.jsonl') }) + '\n');
      scores.set(dir, r.metrics[r.main]!);
    }
    return { questions: loaded.questions.length, answered: lines.length };
  };

  const writeSweep = async (dir: string, config: SweepConfig, cells: ReadonlyArray<{ id: string; label: string; flags: Record<string, number> }>,
    special: (cell: string, task: string) => { right: number; answered?: number; scored?: boolean }): Promise<void> => {
    const runs: SweepRun[] = [];
    for (const [ci, c] of cells.entries()) {
      for (const task of config.tasks) {
        const s = special(c.id, task);
        const options = Object.fromEntries(Object.entries({ ...config.base?.flags, ...c.flags }).map(([k, v]) => [k.replace(/-([a-z])/g, (_, x: string) => x.toUpperCase()), v]));
        const got = await writeRun(path.join(dir, c.id, task), task as TaskId, config.protocol, { name: 'hero', options }, s.right, { ...s, kept: 500 + 100 * ci });
        runs.push({ cell: c.id, label: c.label, task, protocol: config.protocol, dir: `${c.id}/${task}`, complete: got.answered === got.questions, ...got });
      }
    }
    const index: SweepIndex = { config_file: `eval/configs/${config.name}.json`, config, model: { path: model, configHash: 'c0ffee0123456789' }, runs };
    fs.writeFileSync(path.join(dir, 'sweep.json'), JSON.stringify(index, null, 2) + '\n');
  };

  const fig5 = path.join(root, 'fig5');
  const taus = [0.01, 0.03], taut = [0.01, 0.05];
  const fig5Config: SweepConfig = {
    name: 'fig5-mini', title: 'Fig. 5 (mini): τ_v × τ_t', figure: { kind: 'heatmap', x: 'tau-v', y: 'tau-t' }, model: 'llava-v1.6-vicuna-7b',
    protocol: 'lmms-eval', tasks: ['gqa', 'pope'], base: { method: 'hero', flags: { ratio: 0.4 } },
    grid: {
      method: 'hero', axes: { 'tau-v': taus, 'tau-t': taut },
      paper: taus.flatMap((v, i) => taut.map((t, j) => ({ at: { 'tau-v': v, 'tau-t': t }, scores: { gqa: 60 + i + j / 10, pope: 85 + i + j / 10 } }))),
    },
  };
  const points = taus.flatMap((v) => taut.map((t) => ({ 'tau-v': v, 'tau-t': t })));
  await writeSweep(fig5, fig5Config, points.map((p) => ({ id: `tau-v=${p['tau-v']},tau-t=${p['tau-t']}`, label: `τv ${p['tau-v']}, τt ${p['tau-t']}`, flags: p })),
    (cell, task) => (cell === 'tau-v=0.03,tau-t=0.01' && task === 'gqa' ? { right: 1, answered: 2 }
      : cell === 'tau-v=0.03,tau-t=0.05' && task === 'pope' ? { right: 9, scored: false }
        : { right: task === 'gqa' ? 3 : 10 }));

  const fig4 = path.join(root, 'fig4');
  const alphas = [0, 0.5, 1];
  const fig4Config: SweepConfig = {
    name: 'fig4-mini', title: 'Fig. 4 (mini): α', figure: { kind: 'line', x: 'alpha' }, model: 'llava-v1.6-vicuna-7b', protocol: 'lmms-eval', tasks: ['gqa'],
    base: { method: 'hero', flags: { ratio: 0.2 } },
    cells: alphas.map((a, i) => ({ id: `alpha-${a}`, label: `α = ${a}`, flags: { alpha: a }, paper: { gqa: 61 + i } })),
  };
  await writeSweep(fig4, fig4Config, alphas.map((a) => ({ id: `alpha-${a}`, label: `α = ${a}`, flags: { alpha: a } })), (cell) => ({ right: 1 + alphas.indexOf(Number(cell.slice(6))) }));

  const loose = [path.join(root, 'run-gqa'), path.join(root, 'run-pope')];
  await writeRun(loose[0], 'gqa', 'llava', { name: 'fastv', options: { ratio: 0.5, k: 2 } }, 2);
  await writeRun(loose[1], 'pope', 'lmms-eval', { name: 'none', options: {} }, 12);
  return { model, fig5, fig4, loose, scores };
}
