/**
 * What `eval report` reads: each argument is a sweep root (ROOT/sweep.json, its runs at ROOT/<dir>) or a
 * RUN directory (settings.json, predictions.jsonl, score.json once predict finished). A run without
 * score.json is scored from --data-root/<task> when given. Per model: its config.json (decoder dims for
 * the FLOPs, HERO-7), its tokenizer (text tokens of each prompt), its random-weights mark. Everything is
 * read and checked before anything is written; bad input is one HeroError naming the path.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { readJsonFile, readJsonObject } from '../io/json';
import { randomWeightsMark } from '../io/random_mark';
import { llavaPromptIds, loadTokenizer, PROMPT_TEMPLATES, type PromptTemplate, type Tokenizer } from '../io/tokenizer';
import { loadTask, matchPredictions, readPredictions } from '../eval/load';
import { readRun, SETTINGS_FILE } from '../eval/run_file';
import type { RunSettings } from '../eval/run';
import { scoreTask, type ScoreReport } from '../eval/score';
import { TASKS, TASK_IDS, type Protocol, type TaskId } from '../eval/tasks';
import { tokenSums, type ModelInput, type RunInput, type SweepIndex, type SweepRun } from '../eval/report';
import { prefillFlops } from '../flops/flops';
import { dimsFromConfig } from '../flops/presets';
import { DEFAULT_MODEL_DIR } from '../weights/default_model';

export const SWEEP_FILE = 'sweep.json';
export const SCORE_FILE = 'score.json';

export interface ReportInputs {
  readonly sweeps: Array<{ root: string; index: SweepIndex; runs: RunInput[] }>;
  readonly loose: RunInput[];
  /** The model of a run (one object per model path). */
  readonly model: (r: RunInput) => ModelInput;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** score.json: the object `eval score --json` prints; checked enough that the table can read it. */
export function readScoreFile(file: string, task: string, protocol: string): ScoreReport {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new HeroError(`${file}: unreadable score.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const bad = (why: string): never => { throw new HeroError(`${file}: unreadable score.json (${why})`); };
  if (!isObj(v)) bad('not a JSON object');
  const r = v as Record<string, unknown>;
  if (typeof r.main !== 'string' || !isObj(r.metrics) || !(r.main in r.metrics)) bad('no "main" metric in "metrics"');
  const m = (r.metrics as Record<string, unknown>)[r.main as string];
  if (m !== null && typeof m !== 'number') bad(`metrics.${r.main as string} is not a number`);
  if (r.task !== task) bad(`it scores task ${JSON.stringify(r.task)}, the RUN ran ${task}`);
  if (r.protocol !== protocol) bad(`it scores by protocol ${JSON.stringify(r.protocol)}, the RUN ran ${protocol}`);
  for (const k of ['questions', 'scored', 'missing']) if (typeof r[k] !== 'number') bad(`no "${k}" count`);
  return { ...(v as unknown as ScoreReport), notes: Array.isArray(r.notes) ? (r.notes as string[]) : [] };
}

function readSweep(root: string): SweepIndex {
  const file = path.join(root, SWEEP_FILE);
  const v = readJsonFile<unknown>(file, 'sweep.json');
  const bad = (why: string): never => { throw new HeroError(`${file}: ${why}`); };
  if (!isObj(v) || !isObj(v.config) || !Array.isArray(v.runs)) bad('expected {config_file, config, model, runs: [...]}');
  const idx = v as unknown as SweepIndex;
  if (typeof idx.config.name !== 'string' || !Array.isArray(idx.config.tasks)) bad('config has no name or tasks');
  idx.runs.forEach((r, i) => {
    if (!isObj(r) || typeof r.cell !== 'string' || typeof r.task !== 'string' || typeof r.dir !== 'string') bad(`runs[${i}]: needs cell, task and dir`);
  });
  return idx;
}

/** A model as the loader uses it: its FLOPs function and tokenizer besides what the report shows. */
interface LoadedModel extends ModelInput {
  readonly flops: ((n: number) => number) | null;
  readonly tok: Tokenizer | null;
  /** Text tokens of a prompt in a template (the image token stands for the visual tokens: not counted), memoised. */
  textTokens(prompt: string, template: PromptTemplate): number;
}

/** The model's FLOPs, tokenizer and random mark, once per path. */
class Models {
  private readonly byPath = new Map<string, LoadedModel>();

  get(model: { path: string; configHash: string }): LoadedModel {
    const hit = this.byPath.get(model.path);
    if (hit) return hit;
    const dir = model.path;
    const isDefault = path.resolve(dir) === DEFAULT_MODEL_DIR;
    const random = randomWeightsMark(dir) ?? (isDefault ? 'RANDOM WEIGHTS: the embedded default model is untrained' : null);
    let flops: ((n: number) => number) | null = null, tok: Tokenizer | null = null, imageToken = 32000;
    let note: string;
    const cfgFile = path.join(dir, 'config.json');
    if (!fs.existsSync(cfgFile)) note = `FLOPs unknown: ${cfgFile} is not on this machine`;
    else {
      try {
        const cfg = readJsonObject(cfgFile, 'config.json');
        const dims = dimsFromConfig(cfg, cfgFile);
        if (typeof cfg.image_token_index === 'number') imageToken = cfg.image_token_index;
        if (fs.existsSync(path.join(dir, 'tokenizer.json'))) {
          tok = loadTokenizer(dir);
          flops = (n: number) => prefillFlops(n, dims);
          note = `HERO-7 prefill FLOPs of ${cfgFile} (${dims.layers} layers, d ${dims.hidden}) at kept visual + prompt tokens`;
        } else note = `FLOPs unknown: ${dir} has no tokenizer.json to count the prompt's tokens`;
      } catch (e) {
        flops = null; tok = null;                                                  // a config or tokenizer we cannot read: no FLOPs, said so
        note = `FLOPs unknown: ${(e as Error).message}`;
      }
    }
    // The cells of a sweep ask the same prompts: count each (template, prompt) once.
    const counted = new Map<string, number>();
    const textTokens = (prompt: string, template: PromptTemplate): number => {
      const key = `${template}\u0000${prompt}`;
      let n = counted.get(key);
      if (n === undefined) counted.set(key, (n = llavaPromptIds(tok!, prompt, imageToken, { template }).length - 1));
      return n;
    };
    const m: LoadedModel = { path: dir, configHash: model.configHash, random, flops, flopsNote: note, tok, textTokens };
    this.byPath.set(model.path, m);
    return m;
  }
}

async function readOneRun(dir: string, shown: string, sweep: SweepRun | undefined, dataRoot: string | undefined, models: Models): Promise<RunInput> {
  let run: ReturnType<typeof readRun>;
  try {
    run = readRun(dir);
  } catch (e) {
    if (e instanceof HeroError) throw e;
    throw new HeroError(`${path.join(dir, SETTINGS_FILE)}: unreadable settings.json (${(e as Error).message})`);
  }
  const { settings, lines } = run;
  const task = settings.task;
  const protocol = (sweep?.protocol ?? settings.protocol) as Protocol;
  let score: RunInput['score'] = null, notScored: string | undefined;
  const scoreFile = path.join(dir, SCORE_FILE);
  if (fs.existsSync(scoreFile)) score = { report: readScoreFile(scoreFile, task, protocol), source: 'score.json' };
  else if (dataRoot === undefined) notScored = 'no score.json and no --data-root';
  else if (!(TASK_IDS as string[]).includes(task)) notScored = `unknown task ${task}`;
  else if (!TASKS[task as TaskId].scores.includes(protocol)) notScored = `${task} has no offline ${protocol} scorer`;
  else {
    const data = path.join(dataRoot, task);
    if (!fs.existsSync(data)) notScored = `no score.json and no data at ${data}`;
    else {
      const loaded = await loadTask(task as TaskId, data);
      const { file, entries } = readPredictions(dir);
      score = { report: scoreTask(task as TaskId, protocol, loaded.questions, matchPredictions(file, entries, loaded.questions, task as TaskId)), source: 'data-root' };
    }
  }
  const m = models.get(settings.model);
  const template = settings.template as PromptTemplate;
  let textTokens: number[] | null = null;
  try {
    if (m.tok && PROMPT_TEMPLATES.includes(template)) textTokens = lines.map((l) => m.textTokens(l.prompt, template));
  } catch (e) {
    if (!(e instanceof HeroError)) throw e;                                    // a prompt holding the image placeholder: no count, so no FLOPs for this run
  }
  return { dir: shown, settings, tokens: tokenSums(lines, textTokens, m.flops), sweep, score, notScored };
}

/** A run sweep.json lists with no answer and no RUN directory yet: shown as not started, 0/questions. */
function notStarted(dir: string, r: SweepRun, index: SweepIndex): RunInput {
  const cell = index.config.cells?.find((c) => c.id === r.cell);
  const method = cell?.method ?? index.config.grid?.method ?? index.config.base?.method ?? '';
  const settings: RunSettings = {
    task: r.task, protocol: r.protocol, data: { layout: '', sources: [] }, model: index.model, method: { name: method, options: {} },
    template: '', maxNewTokens: 0, shard: null, version: '',
  };
  return { dir, settings, tokens: tokenSums([], null, null), sweep: r, score: null, notScored: 'not started (no RUN directory yet)' };
}

/** Reads every argument (sweep roots and RUN directories) in order. */
export async function readReportInputs(args: readonly string[], dataRoot?: string): Promise<ReportInputs> {
  if (args.length === 0) throw new HeroError('eval report: give at least one RUN directory or sweep directory');
  if (dataRoot !== undefined && !(fs.existsSync(dataRoot) && fs.statSync(dataRoot).isDirectory())) throw new HeroError(`--data-root ${dataRoot}: no such directory`);
  const models = new Models();
  const sweeps: ReportInputs['sweeps'] = [];
  const loose: RunInput[] = [];
  for (const a of args) {
    if (!fs.existsSync(a) || !fs.statSync(a).isDirectory()) throw new HeroError(`${a}: no such directory`);
    if (fs.existsSync(path.join(a, SWEEP_FILE))) {
      const index = readSweep(a);
      const runs: RunInput[] = [];
      for (const r of index.runs) {
        const dir = path.join(a, r.dir);
        if (fs.existsSync(path.join(dir, SETTINGS_FILE))) runs.push(await readOneRun(dir, dir, r, dataRoot, models));
        else if (r.answered === 0) runs.push(notStarted(dir, r, index));       // a sweep stopped before this run began
        else throw new HeroError(`${path.join(a, SWEEP_FILE)}: run ${r.cell}/${r.task} names ${dir}, which is not a RUN directory`);
      }
      sweeps.push({ root: a, index, runs });
    } else if (fs.existsSync(path.join(a, SETTINGS_FILE))) {
      loose.push(await readOneRun(a, a, undefined, dataRoot, models));
    } else {
      throw new HeroError(`${a}: neither a RUN directory (${SETTINGS_FILE}) nor a sweep (${SWEEP_FILE})`);
    }
  }
  return { sweeps, loose, model: (r) => models.get(r.settings.model) };
}
