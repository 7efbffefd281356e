/**
 * `hero-lvlm eval <predict|sweep|score|submit|check|merge|report>`: benchmarks as the paper's protocols ask and
 * score them (src/eval/, docs/eval.md). score, submit, check, merge and report read data, predictions and scores
 * only, no weights; `eval predict` and `eval sweep` run the model: cli/eval_predict.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError, check } from '../core/errors';
import { helpText, parseFlags, required, splitPositionals, type FlagSpecs } from './args';
import type { Command } from './main';
import { loadTask, matchPredictions, readPredictions, readJsonl } from '../eval/load';
import { PREDICT_FLAGS, SWEEP_FLAGS, predict, scoreJson, sweep } from './eval_predict';
import { scoreTask, type ScoreReport } from '../eval/score';
import { uploadFile } from '../eval/submit';
import { mergeShards } from '../eval/shard';
import { readRun, writeRun } from '../eval/run_file';
import { settingsDiff } from '../eval/run';
import { PROTOCOLS, TASKS, TASK_IDS, type Protocol, type TaskId } from '../eval/tasks';
import { buildEvalReport } from '../eval/report';
import { readReportInputs } from '../report/eval_inputs';
import { evalFigures, renderEvalReportHtml } from '../report/eval_html';
import { encodePng } from '../io/image';
import { probeOutDir, writeFilesAtomic } from '../io/out';

const TASK_FLAG = { type: 'string', arg: 'TASK', help: `one of ${TASK_IDS.join(', ')}` } as const;
const DATA_FLAG = { type: 'string', arg: 'DIR', help: "the task's data: LLaVA's playground/data/eval/<task> folder, or a folder of the lmms-lab dataset's parquet files" } as const;
const PREDICTIONS_FLAG = { type: 'string', arg: 'P', help: 'predictions JSONL file or RUN directory' } as const;
const PROTOCOL_FLAG = { type: 'string', arg: 'NAME', default: 'lmms-eval', help: 'lmms-eval | llava' } as const;

const SUBCOMMANDS: Record<string, { usage: string; description: string; flags: FlagSpecs; positional?: boolean; run(flags: Record<string, unknown>, positionals: string[]): Promise<number> }> = {
  predict: {
    usage: 'usage: hero-lvlm eval predict --task TASK --data DIR --out RUN [--model DIR --clip DIR] [--method M and its flags] [--protocol lmms-eval|llava] [--template T] [--limit N] [--shard i/N] [--backend B]',
    description:
      "Asks every question of a task's split as the protocol asks it (its prompt text in the chat template, greedy, the task's\n" +
      'max new tokens) with the method dropping visual tokens, and appends one JSON line per question to RUN/predictions.jsonl\n' +
      '(flushed: a killed run resumes where it stopped; RUN/settings.json records every setting and a RUN made with other\n' +
      'settings is refused). Everything is checked before the model loads, and the model loads once. When every question\n' +
      "is answered and the split has answers, RUN/score.json is what 'eval score --json' prints. Without --model: the\n" +
      'embedded default model, whose weights are RANDOM (meaningless answers; the selection and the speed are real).',
    flags: PREDICT_FLAGS,
    run: (f) => predict(f as never),
  },
  sweep: {
    usage: 'usage: hero-lvlm eval sweep CONFIG --data-root DIR --out ROOT [--model DIR --clip DIR] [--tasks a,b] [--cells id,id] [--limit N] [--shard i/N] [--dry-run]',
    description:
      "Runs a paper experiment (eval/configs/*.json: tasks × cells, each cell a method and its flags): loads the model once,\n" +
      'predicts every task of every cell into ROOT/<cell id>/<task>/ (a RUN: resumable, as eval predict) and scores it, and\n' +
      'rewrites ROOT/sweep.json after each RUN. --data-root holds one folder per task, named by its id. --dry-run prints the\n' +
      "expanded grid and checks every cell's flags against the model's config, loading nothing. docs/eval.md has the format.",
    flags: SWEEP_FLAGS,
    positional: true,
    run: (f, pos) => sweep(f as never, pos),
  },
  score: {
    usage: 'usage: hero-lvlm eval score --task TASK --data DIR --predictions P.jsonl|RUN [--protocol lmms-eval|llava] [--json]',
    description:
      'Scores predictions exactly as the protocol does (lmms-eval v0.2.4 or LLaVA c121f043 with the official GQA/MME\n' +
      'tools): the EvalAI normaliser, VQA soft accuracy, GQA exact match, POPE per split and pooled, MME perception and\n' +
      'cognition, MMBench circular (rule-based; unparsed answers counted), ChartQA relaxed, OCRBench, ScienceQA.\n' +
      'P.jsonl: lines with question_id and answer (eval predict) or text (LLaVA answer files); a RUN directory means\n' +
      'RUN/predictions.jsonl. Questions without a prediction are left out and counted.',
    flags: {
      task: TASK_FLAG, data: DATA_FLAG,
      predictions: PREDICTIONS_FLAG,
      protocol: PROTOCOL_FLAG,
      json: { type: 'boolean', help: 'print one JSON object (the score report)' },
    },
    run: score,
  },
  submit: {
    usage: 'usage: hero-lvlm eval submit --task vqav2_testdev|vizwiz_test|mmbench_en_test --data DIR --predictions P --out FILE',
    description: "Writes the upload file of a split only a server scores (EvalAI for VQAv2 test-dev and VizWiz test, OpenCompass\nfor MMBench test), as LLaVA's convert_*_for_submission.py scripts write them.",
    flags: {
      task: TASK_FLAG, data: DATA_FLAG,
      predictions: PREDICTIONS_FLAG,
      out: { type: 'string', arg: 'FILE', help: 'the upload file to write (.json; MMBench: .tsv)' },
    },
    run: submit,
  },
  check: {
    usage: 'usage: hero-lvlm eval check --task TASK --data DIR [--protocol lmms-eval|llava]',
    description: 'Reads a task\'s data as predict would (every image must exist) and prints the question count and the first prompt.',
    flags: { task: TASK_FLAG, data: DATA_FLAG, protocol: PROTOCOL_FLAG },
    run: checkData,
  },
  merge: {
    usage: 'usage: hero-lvlm eval merge --task TASK --data DIR --shards RUN0,RUN1,… --out RUN',
    description: 'Merges the RUN directories of `--shard i/N` runs into the RUN an unsharded run writes: the shards must share\nevery setting but the shard, be disjoint and cover every question; lines come out in the data\'s order.',
    flags: {
      task: TASK_FLAG, data: DATA_FLAG,
      shards: { type: 'string', arg: 'RUN,…', help: 'the shard RUN directories, comma-separated' },
      out: { type: 'string', arg: 'RUN', help: 'the merged RUN directory (must not hold predictions yet)' },
    },
    run: merge,
  },
  report: {
    usage: 'usage: hero-lvlm eval report RUN_OR_SWEEP… --out DIR [--data-root DIR] [--json]',
    description:
      'Writes DIR/eval-report.html and DIR/eval-report.json (whole or not at all) from RUN directories and sweep\n' +
      'directories (ROOT/sweep.json of eval sweep): one table per sweep in the paper\'s layout (rows = its cells,\n' +
      'columns = its tasks), each measured score beside the paper\'s number and the difference, the protocol per\n' +
      'row, mean visual tokens kept / total and prefill TFLOPs (HERO-7, from the model\'s config.json and tokenizer\n' +
      'when the model folder is here); a line plot (figure line) or heatmaps (figure heatmap) for the sweeps; loose\n' +
      'RUN directories as one table grouped by task. A run without score.json is scored from --data-root/<task>,\n' +
      'else marked "not scored"; an incomplete run is marked with answered/questions.',
    flags: {
      out: { type: 'string', arg: 'DIR', help: 'where eval-report.html and eval-report.json go' },
      'data-root': { type: 'string', arg: 'DIR', help: 'score runs without score.json from DIR/<task> (the task\'s --data folder)' },
      json: { type: 'boolean', help: 'also print the report object (eval-report.json) on stdout' },
    },
    positional: true,
    run: report,
  },
};

function taskOf(flags: Record<string, unknown>): TaskId {
  const t = required<string>(flags as never, 'task');
  if (!(TASK_IDS as string[]).includes(t)) throw new HeroError(`--task: unknown task '${t}' (one of ${TASK_IDS.join(', ')})`);
  return t as TaskId;
}
function protocolOf(flags: Record<string, unknown>): Protocol {
  const p = flags.protocol as string;
  if (!(PROTOCOLS as readonly string[]).includes(p)) throw new HeroError(`--protocol: '${p}' is not one of ${PROTOCOLS.join(', ')}`);
  return p as Protocol;
}

async function loadPredictions(flags: Record<string, unknown>, task: TaskId, questions: Parameters<typeof matchPredictions>[2]): Promise<{ file: string; answers: Map<string, string> }> {
  const p = required<string>(flags as never, 'predictions');
  if (!fs.existsSync(p)) throw new HeroError(`--predictions ${p}: no such file or directory`);
  const { file, entries, droppedPartialLine } = readPredictions(p);
  if (droppedPartialLine) process.stderr.write(`hero-lvlm: warning: ${file}: last line has no newline (a killed run?) and is left out\n`);
  return { file, answers: matchPredictions(file, entries, questions, task) };
}

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : Number.isInteger(v) ? String(v) : v.toFixed(2));

function printReport(r: ScoreReport, layout: string): void {
  const spec = TASKS[r.task];
  const lines = [`task ${r.task} (paper: ${spec.paper}) · protocol ${r.protocol} · ${layout} layout · ${r.scored}/${r.questions} questions scored`];
  lines.push(`${r.main}: ${fmt(r.metrics[r.main])}`);
  for (const [k, v] of Object.entries(r.metrics)) if (k !== r.main) lines.push(`  ${k}: ${fmt(v)}`);
  for (const [g, m] of Object.entries(r.groups ?? {})) lines.push(`  [${g || '-'}] ${Object.entries(m).map(([k, v]) => `${k} ${fmt(v)}`).join(' · ')}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  process.stdout.write(lines.join('\n') + '\n');
}

async function score(flags: Record<string, unknown>): Promise<number> {
  const task = taskOf(flags);
  const protocol = protocolOf(flags);
  const data = required<string>(flags as never, 'data');
  scoreTask(task, protocol, [], new Map());                                 // a protocol that cannot score the task: say so before reading
  const loaded = await loadTask(task, data);
  const p = required<string>(flags as never, 'predictions');
  if (!fs.existsSync(p)) throw new HeroError(`--predictions ${p}: no such file or directory`);
  const report = scoreJson(task, protocol, loaded, p, (s) => process.stderr.write(`hero-lvlm: warning: ${s}\n`));
  if (flags.json) process.stdout.write(JSON.stringify(report) + '\n');   // = predict's RUN/score.json
  else printReport(report, loaded.layout);
  return 0;
}

async function submit(flags: Record<string, unknown>): Promise<number> {
  const task = taskOf(flags);
  const out = required<string>(flags as never, 'out');
  check(TASKS[task].serverOnly, `--task ${task}: scored locally, use 'hero-lvlm eval score' (server uploads: vqav2_testdev, vizwiz_test, mmbench_en_test)`);
  const data = required<string>(flags as never, 'data');
  const loaded = await loadTask(task, data);
  const { answers } = await loadPredictions(flags, task, loaded.questions);
  // VQAv2: the server wants every test2015 id; LLaVA's data has the full list next to test-dev's.
  const full = path.join(data, 'llava_vqav2_mscoco_test2015.jsonl');
  const allIds = task === 'vqav2_testdev' && fs.existsSync(full) ? readJsonl<{ question_id: unknown }>(full, 'question').map((x) => String(x.question_id)) : undefined;
  const up = uploadFile(task, loaded.questions, answers, allIds);
  const tmp = `${out}.tmp-${process.pid}`;
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(tmp, up.text);
  fs.renameSync(tmp, out);
  process.stdout.write(`wrote ${out}: ${up.answered} of ${up.total} questions answered${up.answered < up.total ? ' (the others as "")' : ''}\n`);
  return 0;
}

async function checkData(flags: Record<string, unknown>): Promise<number> {
  const task = taskOf(flags);
  const protocol = protocolOf(flags);
  const loaded = await loadTask(task, required<string>(flags as never, 'data'), { checkImages: true });
  const q = loaded.questions[0];
  process.stdout.write(`task ${task}: ${loaded.questions.length} questions, ${loaded.layout} layout (${loaded.sources.join(', ')}); every image found\n` +
    `max new tokens (${protocol}): ${TASKS[task].maxNewTokens[protocol]}\nfirst prompt (${protocol}): ${JSON.stringify(TASKS[task].text(q, protocol))}\n`);
  return 0;
}

async function merge(flags: Record<string, unknown>): Promise<number> {
  const task = taskOf(flags);
  const shards = required<string>(flags as never, 'shards').split(',').map((s) => s.trim()).filter(Boolean);
  const out = required<string>(flags as never, 'out');
  const runs = shards.map((d) => ({ name: d, ...readRun(d) }));
  check(runs.length > 0, '--shards: no RUN directories given');
  const counts = new Set(runs.map((r) => r.settings.shard?.count ?? 0));
  check(counts.size === 1 && !counts.has(0), '--shards: every RUN must come from --shard i/N with the same N');
  const n = [...counts][0];
  const indices = runs.map((r) => r.settings.shard!.index).sort((a, b) => a - b);
  check(indices.length === n && indices.every((x, i) => x === i), `--shards: need shards 0..${n - 1} once each (got ${indices.join(', ')})`);
  const base = { ...runs[0].settings, shard: null };
  for (const r of runs.slice(1)) {
    const diff = settingsDiff(base, { ...r.settings, shard: null });
    check(diff.length === 0, `${r.name}: made with other settings than ${runs[0].name} (${diff.join(', ')})`);
  }
  check(base.task === task, `--task ${task}: the shards ran task ${base.task}`);
  const loaded = await loadTask(task, required<string>(flags as never, 'data'));
  const lines = mergeShards(loaded.questions.map((q) => q.id), runs);
  writeRun(out, base, lines);
  process.stdout.write(`wrote ${out}: ${lines.length} predictions from ${n} shards\n`);
  return 0;
}

/** `eval report`: everything is read and checked (report/eval_inputs.ts) before the two files are written together. */
async function report(flags: Record<string, unknown>, args: string[]): Promise<number> {
  const out = probeOutDir(required<string>(flags as never, 'out'));
  const inputs = await readReportInputs(args, flags['data-root'] as string | undefined);
  const rep = buildEvalReport(inputs.sweeps, inputs.loose, inputs.model);
  const figures = await Promise.all(evalFigures(rep).map(async (f) => ({ ...f, png: await encodePng(f.image, `${f.id}.png`) })));
  const html = renderEvalReportHtml(rep, figures);
  const json = JSON.stringify(rep, null, 2) + '\n';
  writeFilesAtomic([[path.join(out, 'eval-report.html'), html], [path.join(out, 'eval-report.json'), json]]);
  const runs = rep.tables.reduce((n, t) => n + t.rows.reduce((m, r) => m + Object.values(r.cells).filter(Boolean).length, 0), 0);
  if (rep.random_weights.length) process.stderr.write(`hero-lvlm: warning: ${rep.random_weights.join('; ')}: the scores are meaningless\n`);
  if (flags.json) process.stdout.write(json);
  else process.stdout.write(`wrote ${path.join(out, 'eval-report.html')} and eval-report.json: ${rep.tables.length} table(s), ${runs} run(s), ${figures.length} figure(s)\n`);
  return 0;
}

export const command: Command = {
  name: 'eval',
  summary: 'benchmark predictions (predict, sweep), scored as lmms-eval / LLaVA do; server upload files; shard merge',
  async main(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    const list = Object.keys(SUBCOMMANDS).map((s) => `  ${s.padEnd(8)} ${SUBCOMMANDS[s].usage.replace(/^usage: /, '')}`).join('\n');
    if (sub === undefined || sub === '--help' || sub === '-h') {
      process.stdout.write(`usage: hero-lvlm eval <subcommand> [flags]\n\n${list}\n\nRun 'hero-lvlm eval <subcommand> --help' for its flags. docs/eval.md has the protocols.\n`);
      return sub === undefined ? 2 : 0;
    }
    const s = SUBCOMMANDS[sub];
    if (!s) throw new HeroError(`eval: unknown subcommand '${sub}' (${Object.keys(SUBCOMMANDS).join(', ')})`);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(helpText(s.usage, s.description, s.flags));
      return 0;
    }
    if (s.positional) {
      const { positionals, flags } = splitPositionals(rest, s.flags);
      return s.run(parseFlags(flags, s.flags, `hero-lvlm eval ${sub}`), positionals);
    }
    return s.run(parseFlags(rest, s.flags, `hero-lvlm eval ${sub}`), []);
  },
};
