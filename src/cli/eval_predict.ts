/**
 * `hero-lvlm eval predict` and `eval sweep`: benchmark questions through the model. Both check everything
 * first (flags, the model's configs, the method's options through Method.configure, the task data with every
 * image, each RUN's recorded settings), then load the model once (src/runtime openRuntime, its pools kept
 * across images), and ask each question as `run` would ask it: the protocol's text (eval/tasks.ts) in the
 * chat template, greedy, the task's max new tokens. The loop, the RUN files and the scoring are src/eval/.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { parseFlags, required, type FlagSpecs, type ParsedFlags } from './args';
import { BACKEND_FLAGS, METHOD_FLAGS, WEIGHTS_FLAGS, INPUT_FLAGS, checkSequenceFlag, runtimeFlags, templateFlag, type Progress } from './common';
import { IMAGE_ASPECT_FLAGS, imageAspectFlag } from './image_aspect';
import { openRuntime, type Runtime } from '../runtime';
import { loadLlavaNextConfig } from '../llava/load';
import { llavaNextConfig, type LlavaNextConfig } from '../llava/config';
import type { ImageAspect } from '../llava/llava15';
import { loadClipModelConfig } from '../clip/load';
import { clipTextIds, llavaPromptIds, loadTokenizer, type PromptTemplate, type Tokenizer } from '../io/tokenizer';
import { readImage, readImageBytes, type AlphaMode, type RgbImage } from '../io/image';
import { ensureDefaultWeights, llavaConfigJson } from '../weights/default_model';
import { randomWeightsMark } from '../io/random_mark';
import { RANDOM_CHECKPOINT_NOTE, RANDOM_NOTE } from '../report/summary';
import { runPipeline } from '../pipeline';
import { methodByName, type MethodSpec } from '../methods';
import { loadTask, matchPredictions, readPredictions, type LoadedTask } from '../eval/load';
import { scoreTask, type ScoreReport } from '../eval/score';
import { planPredict, predictLoop, progressLine, type Answered, type PredictPlan } from '../eval/predict';
import { answeredIds, checkRun, openRun, writeFileWhole, PREDICTIONS_FILE } from '../eval/run_file';
import type { RunSettings } from '../eval/run';
import { parseShard, type Shard } from '../eval/shard';
import { expandSweep, flagArgv, parseSweepConfig, pick, type FlagType, type SweepCell, type SweepConfig } from '../eval/sweep';
import { PROTOCOLS, TASKS, TASK_IDS, type EvalQuestion, type Protocol, type TaskId } from '../eval/tasks';

// ---- flags ------------------------------------------------------------------------------------------------

/** The method flags of `run`, less the per-prompt CLIP text (each question gives its own: --clip-text-from). */
const { 'clip-text': _ct, 'clip-input-ids': _ci, ...EVAL_METHOD_FLAGS } = METHOD_FLAGS;
void _ct; void _ci;

/** What HERO's CLIP relevance scores per question. @choice docs/eval.md "HERO's CLIP text" */
export const CLIP_TEXT_FROM = ['prompt', 'question'] as const;
export type ClipTextFrom = typeof CLIP_TEXT_FROM[number];

const MODEL_FLAGS: FlagSpecs = {
  model: { type: 'string', arg: 'DIR', help: 'LLaVA-NeXT or LLaVA-1.5 checkpoint directory (llava-hf layout); default: the embedded default model (RANDOM WEIGHTS: its answers are meaningless)' },
  template: INPUT_FLAGS.template,
  'image-alpha': INPUT_FLAGS['image-alpha'],
  ...IMAGE_ASPECT_FLAGS,
  'clip-text-from': { type: 'string', arg: 'prompt|question', default: 'prompt', help: "what HERO's CLIP relevance scores: prompt (the protocol's text, question + instruction suffix, as run --prompt gives it) | question (the dataset's question alone)" },
};

const RUN_FLAGS: FlagSpecs = {
  limit: { type: 'int', arg: 'N', help: 'only the first N questions (of the shard)' },
  shard: { type: 'string', arg: 'i/N', help: 'only every N-th question from the i-th (i from 0): one shard per GPU or machine; eval merge joins them' },
  'max-new-tokens': { type: 'int', arg: 'N', help: "overrides the protocol's max new tokens (quick checks; the scores are then not the protocol's; recorded in settings.json)" },
  'progress-every': { type: 'int', arg: 'N', default: 10, help: 'without a terminal: a progress line on stderr every N questions' },
};

export const PREDICT_FLAGS: FlagSpecs = {
  task: { type: 'string', arg: 'TASK', help: `one of ${TASK_IDS.join(', ')}` },
  data: { type: 'string', arg: 'DIR', help: "the task's data: LLaVA's playground/data/eval/<task> folder, or a folder of the lmms-lab dataset's parquet files" },
  out: { type: 'string', arg: 'RUN', help: 'the RUN directory: settings.json, predictions.jsonl (appended; a rerun resumes), score.json when complete' },
  protocol: { type: 'string', arg: 'NAME', default: 'lmms-eval', help: 'lmms-eval | llava: the prompt, the max new tokens and the scorer' },
  ...MODEL_FLAGS,
  ...EVAL_METHOD_FLAGS,
  ...RUN_FLAGS,
  ...WEIGHTS_FLAGS,
  ...BACKEND_FLAGS,
};

export const SWEEP_FLAGS: FlagSpecs = {
  'data-root': { type: 'string', arg: 'DIR', help: 'one folder per task: DIR/<task id> (either layout)' },
  out: { type: 'string', arg: 'ROOT', help: 'ROOT/<cell id>/<task>/ is a RUN per cell and task; ROOT/sweep.json lists them' },
  tasks: { type: 'string', arg: 'a,b', help: "only these of the config's tasks" },
  cells: { type: 'string', arg: 'id,id', help: "only these of the config's cells" },
  'dry-run': { type: 'boolean', help: "print the expanded grid and check every cell's flags against the model config; load nothing" },
  clip: METHOD_FLAGS.clip,
  ...MODEL_FLAGS,
  ...RUN_FLAGS,
  ...WEIGHTS_FLAGS,
  ...BACKEND_FLAGS,
};

/** The flags a sweep cell may set: the method flags of run but --method itself and the CLIP paths. */
export function sweepFlagTypes(): Record<string, FlagType> {
  const { method: _m, clip: _c, ...rest } = EVAL_METHOD_FLAGS;
  void _m; void _c;
  return Object.fromEntries(Object.entries(rest).map(([k, s]) => [k, s.type]));
}

// ---- what a RUN records ---------------------------------------------------------------------------------------

/** sha256 of a model folder's config files (every *.json: config, processor, tokenizer, generation), name and bytes. */
export function configHash(dir: string): string {
  const h = crypto.createHash('sha256');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
    h.update(f).update('\0').update(fs.readFileSync(path.join(dir, f))).update('\0');
  }
  return h.digest('hex');
}

/** hero-lvlm's version (package.json). */
export function projectVersion(): string {
  return (require('../../package.json') as { version: string }).version;
}

/**
 * What `eval score --json` prints, and what predict writes as RUN/score.json: the score report with the data
 * layout, the split files and the predictions file. `predictions`: a JSONL file or a RUN directory.
 */
export function scoreJson(task: TaskId, protocol: Protocol, loaded: LoadedTask, predictions: string,
  warn: (s: string) => void = () => {}): ScoreReport & { layout: string; data: readonly string[]; predictions: string } {
  const { file, entries, droppedPartialLine } = readPredictions(predictions);
  if (droppedPartialLine) warn(`${file}: last line has no newline (a killed run?) and is left out`);
  const report = scoreTask(task, protocol, loaded.questions, matchPredictions(file, entries, loaded.questions, task));
  return { ...report, layout: loaded.layout, data: loaded.sources, predictions: file };
}

// ---- the model side, shared by predict and sweep --------------------------------------------------------------

interface ModelChoice {
  readonly dir: string;
  readonly config: LlavaNextConfig;
  /** the default model's CLIP folder, or --clip */
  readonly clipDir?: string;
  /** said once every input is checked: RANDOM WEIGHTS (the default model, or a random-weights checkpoint) */
  readonly note: string | null;
}

/** --model, or the embedded default model (generated on first use, said loudly); its config, read before any weight. */
function chooseModel(flags: ParsedFlags, log: (s: string) => void): ModelChoice {
  const given = flags.model as string | undefined;
  if (given === undefined) {
    const d = ensureDefaultWeights({ log });
    return { dir: d.llavaDir, config: loadLlavaNextConfig(d.llavaDir), clipDir: (flags.clip as string | undefined) ?? d.clipDir, note: `the embedded default model — ${RANDOM_NOTE}` };
  }
  if (!fs.existsSync(path.join(given, 'config.json'))) throw new HeroError(`--model: '${given}' has no config.json (expected a llava-hf LLaVA-NeXT or LLaVA-1.5 directory)`);
  const clipDir = flags.clip as string | undefined;
  const marked = [given, clipDir].some((d) => d !== undefined && randomWeightsMark(d) !== null);
  return { dir: given, config: loadLlavaNextConfig(given), clipDir, note: marked ? RANDOM_CHECKPOINT_NOTE : null };
}

/** A method as one setting configures it: its options and, when it reads CLIP, that model's folder. */
interface Setting {
  readonly name: string;
  readonly options: Record<string, unknown>;
  /** the CLIP model this setting reads (null: none) */
  readonly clipDir: string | null;
  readonly decoderHook: boolean;
}

/** Method.configure on the flags (as run configures it), and the CLIP folder the options need. */
function configureSetting(flags: ParsedFlags, config: LlavaNextConfig, clipDir: string | undefined): Setting {
  const m = methodByName(flags.method as string);
  const options = m.configure(flags, config) as Record<string, unknown>;
  let clip: string | null = null;
  if (m.clip && m.clip.needed(options)) {
    if (clipDir === undefined) throw new HeroError(m.clip.missing);
    if (!fs.existsSync(path.join(clipDir, 'config.json'))) throw new HeroError(`--clip: '${clipDir}' has no config.json (expected an HF CLIPModel directory)`);
    clip = clipDir;
  }
  return { name: m.name, options: options ?? {}, clipDir: clip, decoderHook: m.decoder !== undefined };
}

/** Per-question inputs that do not change between questions. */
interface AskContext {
  readonly rt: Runtime;
  readonly tok: Tokenizer;
  readonly template: PromptTemplate;
  readonly alpha: AlphaMode;
  readonly aspect: ImageAspect | undefined;
  readonly clipFrom: ClipTextFrom;
  readonly clipTok: { tok: Tokenizer; limit: number } | null;
  readonly log: (s: string) => void;
}

/** The question's image as `run --image` reads it: a file, or the bytes a parquet row / TSV cell embeds. */
async function questionImage(q: EvalQuestion, loaded: LoadedTask, alpha: AlphaMode): Promise<RgbImage> {
  if (q.image === null) throw new HeroError(`question ${q.id} of ${loaded.sources[0]} has no image (text-only questions are not asked)`);
  return 'path' in q.image ? readImage(q.image.path, { alpha }) : readImageBytes(q.image.bytes, `${loaded.sources[0]}#${q.id}`, { alpha });
}

/** `ask` for predictLoop: one question through runPipeline, exactly as `run --prompt TEXT --max-new-tokens N` runs it. */
function asker(ctx: AskContext, setting: Setting, loaded: LoadedTask, maxNew: number): (q: EvalQuestion, text: string) => Promise<Answered> {
  const { rt } = ctx;
  let truncated = 0;
  return async (q, text) => {                                                // (maxNew: the task's, or --max-new-tokens)
    const image = await questionImage(q, loaded, ctx.alpha);
    const ids = llavaPromptIds(ctx.tok, text, rt.model.config.image_token_index, { template: ctx.template });
    checkSequenceFlag(rt.model.config, ids, image, setting.name, maxNew);
    let method = { name: setting.name, options: setting.options } as unknown as MethodSpec;
    if (methodByName(setting.name).clip) {
      if (setting.clipDir !== null && ctx.clipTok) {
        const r = clipTextIds(ctx.clipTok.tok, ctx.clipFrom === 'question' ? q.question : text, ctx.clipTok.limit);
        if (r.truncated && truncated++ === 0) ctx.log(`warning: question ${q.id}: the CLIP text was truncated to ${ctx.clipTok.limit} tokens (later ones are counted, not said)`);
        method = { ...rt.method, name: setting.name, options: setting.options, clipTextIds: r.ids } as unknown as MethodSpec;
      } else {
        method = { name: setting.name, options: setting.options, clipTextIds: null } as unknown as MethodSpec;
      }
    }
    const result = await runPipeline(rt.model, {
      visionEncoder: rt.visionEncoder, decoder: rt.decoder, image, imageAspect: ctx.aspect, inputIds: ids, method, maxNewTokens: maxNew,
      onStage: (s) => rt.atStage(s),
    });
    const answer = ctx.tok.decode(result.newIds, { skipSpecialTokens: true }).trim();
    return { answer, visualTokens: { kept: result.visualTokens, total: result.visualTokensFull }, timesMs: result.timings };
  };
}

/** One RUN to fill: a task's questions under one setting. */
interface Job {
  readonly task: TaskId;
  readonly protocol: Protocol;
  readonly loaded: LoadedTask;
  readonly dataDir: string;
  readonly setting: Setting;
  readonly settings: RunSettings;
  readonly out: string;
  readonly plan: PredictPlan;
}

interface Common {
  readonly model: ModelChoice;
  readonly template: PromptTemplate;
  readonly alpha: AlphaMode;
  readonly aspect: ImageAspect | undefined;
  readonly clipFrom: ClipTextFrom;
  readonly shard: Shard | null;
  readonly limit: number | null;
  /** --max-new-tokens (null: the protocol's) */
  readonly maxNew: number | null;
}

function commonFlags(flags: ParsedFlags, model: ModelChoice): Common {
  const template = templateFlag(flags);
  const a = flags['image-alpha'] as string;
  if (a !== 'drop' && a !== 'white') throw new HeroError(`--image-alpha: '${a}' is not 'drop' or 'white'`);
  const clipFrom = flags['clip-text-from'] as string;
  if (!(CLIP_TEXT_FROM as readonly string[]).includes(clipFrom)) throw new HeroError(`--clip-text-from: '${clipFrom}' is not one of ${CLIP_TEXT_FROM.join(', ')}`);
  const limit = flags.limit as number | undefined;
  if (limit !== undefined && limit < 1) throw new HeroError(`--limit: ${limit} must be at least 1`);
  const maxNew = flags['max-new-tokens'] as number | undefined;
  if (maxNew !== undefined && maxNew < 1) throw new HeroError(`--max-new-tokens: ${maxNew} must be at least 1`);
  if ((flags['progress-every'] as number) < 1) throw new HeroError(`--progress-every: ${String(flags['progress-every'])} must be at least 1`);
  return {
    model, template, alpha: a === 'white' ? 'composite-white' : 'drop', aspect: imageAspectFlag(flags, model.config, model.dir),
    clipFrom: clipFrom as ClipTextFrom, shard: flags.shard === undefined ? null : parseShard(flags.shard as string), limit: limit ?? null,
    maxNew: maxNew ?? null,
  };
}

function checkProtocol(p: string, flag: string): Protocol {
  if (!(PROTOCOLS as readonly string[]).includes(p)) throw new HeroError(`${flag}: '${p}' is not one of ${PROTOCOLS.join(', ')}`);
  return p as Protocol;
}

/** The job's RUN settings, its plan from what the RUN holds, checked against the RUN on disk (nothing written). */
function makeJob(c: Common, task: TaskId, protocol: Protocol, loaded: LoadedTask, dataDir: string, setting: Setting, out: string): Job {
  const settings: RunSettings = JSON.parse(JSON.stringify({
    task, protocol, data: { layout: loaded.layout, sources: loaded.sources },
    model: { path: c.model.dir, configHash: configHash(c.model.dir) },
    method: { name: setting.name, options: setting.options },
    clip: setting.clipDir === null ? null : { path: setting.clipDir, configHash: configHash(setting.clipDir), text: c.clipFrom },
    image: { alpha: c.alpha, aspect: c.aspect ?? null },
    template: c.template, maxNewTokens: c.maxNew ?? TASKS[task].maxNewTokens[protocol], shard: c.shard, version: projectVersion(),
  } satisfies RunSettings));
  checkRun(out, settings);
  const plan = planPredict(loaded.questions, answeredIds(out), c.shard, c.limit);
  const textless = plan.todo.find((q) => q.image === null);
  if (textless) throw new HeroError(`--data ${dataDir}: question ${textless.id} has no image (text-only questions are not asked)`);
  return { task, protocol, loaded, dataDir, setting, settings, out, plan };
}

/** Before the model loads: the first question still to ask fits the model's positions (the others are checked as they come). */
async function checkFirst(c: Common, job: Job, tok: Tokenizer): Promise<void> {
  const q = job.plan.todo[0];
  if (q === undefined) return;
  const image = await questionImage(q, job.loaded, c.alpha);
  const ids = llavaPromptIds(tok, TASKS[job.task].text(q, job.protocol), c.model.config.image_token_index, { template: c.template });
  checkSequenceFlag(c.model.config, ids, image, job.setting.name, job.settings.maxNewTokens);
}

/** Progress on stderr: on a terminal one line rewritten in place; otherwise a line every `every` questions and the last. */
function questionProgress(label: string, total: number, every: number, tty = process.stderr.isTTY === true): (line: string) => void {
  let n = 0;
  return (line) => {
    n++;
    if (tty) {
      const done = Number(line.split('/')[0]), w = 24, k = Math.round((done / Math.max(total, 1)) * w);
      process.stderr.write(`\r${label} [${'#'.repeat(k)}${'.'.repeat(w - k)}] ${line}   `);
      if (done >= total) process.stderr.write('\n');
    } else if (n % every === 0 || Number(line.split('/')[0]) >= total) {
      process.stderr.write(`${label} ${line}\n`);
    }
  };
}

/** Asks a job's questions and writes score.json once every owned question is answered and the split scores offline. */
async function runJob(job: Job, ctx: AskContext, every: number, label: string): Promise<{ answered: number; complete: boolean; score: unknown }> {
  const run = openRun(job.out, job.settings);
  if (run.droppedBytes > 0) ctx.log(`${job.out}: cut ${run.droppedBytes} bytes of a half-written last line (a killed run); that question is asked again`);
  const have = new Set(run.done);
  const plan = { owned: job.plan.owned, todo: job.plan.owned.filter((q) => !have.has(q.id)) };
  try {
    if (plan.todo.length < plan.owned.length) ctx.log(`${label}: ${plan.owned.length - plan.todo.length} of ${plan.owned.length} questions already answered, resuming`);
    await predictLoop(job.task, job.protocol, plan, run, asker(ctx, job.setting, job.loaded, job.settings.maxNewTokens), questionProgress(label, plan.owned.length, every));
  } finally {
    run.close();
  }
  return finishJob(job);
}

/** score.json (exactly `eval score --json`'s object) when the RUN holds every owned question and the split scores offline. */
function finishJob(job: Job): { answered: number; complete: boolean; score: unknown } {
  const have = new Set(answeredIds(job.out));
  const answered = job.plan.owned.filter((q) => have.has(q.id)).length;
  const complete = answered === job.plan.owned.length;
  let score: unknown = null;
  if (complete && TASKS[job.task].scores.includes(job.protocol)) {
    score = scoreJson(job.task, job.protocol, job.loaded, job.out);
    writeFileWhole(path.join(job.out, 'score.json'), JSON.stringify(score) + '\n');
  }
  return { answered, complete, score };
}

/** The runtime for these jobs: one CLIP model if any setting reads one, the in-process decoder if any has a hook. */
async function openFor(flags: ParsedFlags, c: Common, jobs: readonly Job[], log: (s: string) => void): Promise<Runtime> {
  const clipDir = jobs.find((j) => j.setting.clipDir !== null)?.setting.clipDir ?? undefined;
  const first = jobs[0].setting;
  const silent: Progress = { stage: (s) => log(`${s} …`), bar: () => {}, end: () => {} };
  const rf = runtimeFlags(flags, c.model.dir, { name: first.name, options: first.options, clipDir, ...(clipDir ? { clipTextIds: null } : {}) }, log, silent);
  const promptTokens = Math.max(...jobs.flatMap((j) => j.plan.todo.map((q) => Buffer.byteLength(TASKS[j.task].text(q, j.protocol), 'utf8') + 128)));
  const maxNewTokens = Math.max(...jobs.map((j) => j.settings.maxNewTokens));
  const hook = jobs.find((j) => j.setting.decoderHook);
  return openRuntime({
    ...rf, residency: { ...rf.residency, promptTokens, maxNewTokens }, keepPools: true, backgroundReads: true,
    inProcessDecoder: hook ? `with --method ${hook.setting.name}, whose decoder hook needs the in-process decoder` : undefined,
  });
}

function askContext(rt: Runtime, c: Common, clipDir: string | null, log: (s: string) => void): AskContext {
  const clipTok = clipDir === null ? null : { tok: loadTokenizer(clipDir), limit: loadClipModelConfig(clipDir).text.max_position_embeddings };
  return { rt, tok: loadTokenizer(c.model.dir), template: c.template, alpha: c.alpha, aspect: c.aspect, clipFrom: c.clipFrom, clipTok, log };
}

// ---- eval predict -----------------------------------------------------------------------------------------------

export async function predict(flags: ParsedFlags): Promise<number> {
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  const task = required<string>(flags, 'task');
  if (!(TASK_IDS as string[]).includes(task)) throw new HeroError(`--task: unknown task '${task}' (one of ${TASK_IDS.join(', ')})`);
  const protocol = checkProtocol(flags.protocol as string, '--protocol');
  const dataDir = required<string>(flags, 'data');
  const out = required<string>(flags, 'out');
  const model = chooseModel(flags, log);
  const c = commonFlags(flags, model);
  const setting = configureSetting(flags, model.config, model.clipDir);
  const loaded = await loadTask(task as TaskId, dataDir, { checkImages: true, withImageBytes: true });
  const job = makeJob(c, task as TaskId, protocol, loaded, dataDir, setting, out);
  const tok = loadTokenizer(model.dir);
  await checkFirst(c, job, tok);
  if (setting.clipDir) loadTokenizer(setting.clipDir);                      // the CLIP tokenizer exists, before any weight
  if (model.note) log(`model: ${model.note}`);
  log(`eval predict: ${task} (${protocol}), ${job.plan.owned.length} questions${c.shard ? ` in shard ${c.shard.index}/${c.shard.count}` : ''}, ${job.plan.todo.length} to ask; method ${setting.name}`);
  if (job.plan.todo.length === 0) {
    const r = finishJob(job);
    process.stdout.write(`${out}: all ${job.plan.owned.length} questions already answered${r.score ? '; wrote score.json' : ''}\n`);
    return 0;
  }
  const rt = await openFor(flags, c, [job], log);
  try {
    const r = await runJob(job, askContext(rt, c, setting.clipDir, log), flags['progress-every'] as number, task);
    const s = r.score as { main: string; metrics: Record<string, number | null> } | null;
    process.stdout.write(`wrote ${path.join(out, PREDICTIONS_FILE)}: ${r.answered}/${job.plan.owned.length} questions${s ? `; score.json: ${s.main} ${String(s.metrics[s.main])}` : ''}` +
      `${model.note ? ' (RANDOM WEIGHTS: meaningless answers)' : ''}\n`);
    return 0;
  } finally {
    await rt.close();
  }
}

// ---- eval sweep ---------------------------------------------------------------------------------------------------

/** A cell's flags as run parses them, then configured: errors name the config file and the cell. */
function cellSetting(file: string, cell: SweepCell, config: LlavaNextConfig, clipDir: string | undefined): Setting {
  try {
    const flags = parseFlags(['--method', cell.method, ...flagArgv(cell.flags)], EVAL_METHOD_FLAGS, `${file} cell ${cell.id}`);
    return configureSetting(flags, config, clipDir);
  } catch (e) {
    if (e instanceof HeroError) throw new HeroError(`${file}: cell ${cell.id}: ${e.message}`);
    throw e;
  }
}

/** Reads and expands a sweep config file (one line naming the file for any problem). */
export function readSweepConfig(file: string): { config: SweepConfig; cells: SweepCell[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new HeroError(`${file}: cannot read the sweep config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const config = parseSweepConfig(text, file, sweepFlagTypes());
  return { config, cells: expandSweep(config) };
}

/**
 * Every cell's flags parsed as run parses them and checked by Method.configure against a model config (the
 * --dry-run check; spec/eval/configs.spec.ts runs it on every eval/configs/*.json). `clipGiven`: a CLIP model
 * will be there for the cells that need one. Returns each cell's options.
 */
export function checkSweepCells(file: string, cells: readonly SweepCell[], config: LlavaNextConfig, clipGiven: boolean): Array<Record<string, unknown>> {
  return cells.map((cell) => {
    try {
      const f = parseFlags(['--method', cell.method, ...flagArgv(cell.flags)], EVAL_METHOD_FLAGS, `${file} cell ${cell.id}`);
      const m = methodByName(f.method as string);
      const options = (m.configure(f, config) ?? {}) as Record<string, unknown>;
      if (m.clip && m.clip.needed(options) && !clipGiven) throw new HeroError(m.clip.missing);
      return options;
    } catch (e) {
      if (e instanceof HeroError) throw new HeroError(`${file}: cell ${cell.id}: ${e.message}`);
      throw e;
    }
  });
}

interface SweepRun { cell: string; label: string; task: TaskId; protocol: Protocol; dir: string; complete: boolean; questions: number; answered: number }

export async function sweep(flags: ParsedFlags, positionals: readonly string[]): Promise<number> {
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  if (positionals.length !== 1) throw new HeroError(`eval sweep: give exactly one CONFIG file (got ${positionals.length})`);
  const file = positionals[0];
  const { config, cells: all } = readSweepConfig(file);
  const cells = pick(all, (x) => x.id, flags.cells as string | undefined, '--cells');
  const tasks = pick(config.tasks, (x) => x, flags.tasks as string | undefined, '--tasks');

  if (flags['dry-run']) {
    // The model's config only: --model's config.json, else the embedded default model's (written nowhere).
    const given = flags.model as string | undefined;
    if (given !== undefined && !fs.existsSync(path.join(given, 'config.json'))) throw new HeroError(`--model: '${given}' has no config.json`);
    const mc = given !== undefined ? loadLlavaNextConfig(given) : llavaNextConfig(llavaConfigJson(), 'the embedded default model');
    const settings = checkSweepCells(file, cells, mc, flags.clip !== undefined || given === undefined);
    const lines = [`${config.title} (${config.name}): ${cells.length} cells × ${tasks.length} tasks = ${cells.length * tasks.length} runs; protocol ${config.protocol}; paper model ${config.model}`];
    cells.forEach((cell, i) => {
      lines.push(`  ${cell.id}  [${cell.method}${cell.protocol !== config.protocol ? `, ${cell.protocol}` : ''}] ${flagArgv(cell.flags).join(' ') || '(defaults)'}  tasks ${tasks.join(',')}`);
      lines.push(`      options ${JSON.stringify(settings[i])}`);
    });
    lines.push(`every cell's flags check against ${given ?? 'the embedded default model'}'s config (nothing loaded)`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  }

  const dataRoot = required<string>(flags, 'data-root');
  const root = required<string>(flags, 'out');
  const model = chooseModel(flags, log);
  const c = commonFlags(flags, model);
  const settings = cells.map((cell) => cellSetting(file, cell, model.config, model.clipDir));
  const clipDirs = [...new Set(settings.map((s) => s.clipDir).filter((d): d is string => d !== null))];
  if (clipDirs.length > 1) throw new HeroError(`${file}: cells read different CLIP models (${clipDirs.join(', ')})`);
  // Every task's data, every image, every RUN's settings: before the model loads.
  const loaded = new Map<TaskId, LoadedTask>();
  for (const t of tasks) loaded.set(t, await loadTask(t, path.join(dataRoot, t), { checkImages: true, withImageBytes: true }));
  const tok = loadTokenizer(model.dir);
  const jobs: Array<{ job: Job; cell: SweepCell }> = [];
  for (const t of tasks) {
    for (const [i, cell] of cells.entries()) {
      const job = makeJob(c, t, cell.protocol, loaded.get(t)!, path.join(dataRoot, t), settings[i], path.join(root, cell.id, t));
      await checkFirst(c, job, tok);
      jobs.push({ job, cell });
    }
  }
  if (model.note) log(`model: ${model.note}`);
  const runs: SweepRun[] = jobs.map(({ job, cell }) => {
    const have = new Set(answeredIds(job.out));
    const answered = job.plan.owned.filter((q) => have.has(q.id)).length;
    return { cell: cell.id, label: cell.label, task: job.task, protocol: job.protocol, dir: path.join(cell.id, job.task), complete: answered === job.plan.owned.length, questions: job.plan.owned.length, answered };
  });
  const writeSweep = (): void => writeFileWhole(path.join(root, 'sweep.json'), JSON.stringify({
    config_file: file, config, model: { path: model.dir, configHash: configHash(model.dir) }, runs,
  }, null, 2) + '\n');
  const todo = jobs.filter(({ job }) => job.plan.todo.length > 0);
  log(`eval sweep ${config.name}: ${jobs.length} runs (${cells.length} cells × ${tasks.length} tasks), ${todo.length} with questions to ask`);
  writeSweep();
  const rt = todo.length ? await openFor(flags, c, todo.map((x) => x.job), log) : null;
  try {
    for (const [k, { job, cell }] of jobs.entries()) {
      const r = rt && job.plan.todo.length
        ? await runJob(job, askContext(rt, c, job.setting.clipDir, log), flags['progress-every'] as number, `${cell.id}/${job.task}`)
        : finishJob(job);
      runs[k] = { ...runs[k], complete: r.complete, answered: r.answered };
      writeSweep();
    }
  } finally {
    await rt?.close();
  }
  process.stdout.write(`wrote ${path.join(root, 'sweep.json')}: ${runs.filter((r) => r.complete).length}/${runs.length} runs complete${model.note ? ' (RANDOM WEIGHTS: meaningless answers)' : ''}\n`);
  return 0;
}
