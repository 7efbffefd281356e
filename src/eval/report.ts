/**
 * The table model of `eval report` (the page is report/eval_html.ts, the file reading report/eval_inputs.ts):
 * RUN directories and sweeps → one JSON object, the paper's layout. A sweep is one table (rows = its
 * cells, columns = its tasks), each measured number beside the paper's own and their difference, the
 * protocol named per row, the mean visual tokens kept (of the total) and the prefill FLOPs at those token
 * counts. Loose RUN directories (no sweep) form one table of one row per run, grouped by task.
 *
 * Pure: the loader hands over what it read (settings, token sums of the prediction lines with the
 * model's FLOPs function applied, the score report, the model's marks); nothing here reads a file.
 */
import type { PredictionLine, RunSettings } from './run';
import type { ScoreReport } from './score';
import { expandSweep, type FlagValue, type SweepCell, type SweepConfig } from './sweep';

// ---- the sweep formats (written by `eval sweep`; configs in eval/configs/) ---------------------------------

export type { FlagValue, SweepConfig } from './sweep';
export type Figure = NonNullable<SweepConfig['figure']>;

/** One run of ROOT/sweep.json; its RUN directory is ROOT/<dir>. */
export interface SweepRun {
  readonly cell: string;
  readonly label: string;
  readonly task: string;
  readonly protocol: string;
  readonly dir: string;
  readonly complete: boolean;
  readonly questions: number;
  readonly answered: number;
}

/** ROOT/sweep.json. */
export interface SweepIndex {
  readonly config_file: string;
  readonly config: SweepConfig;
  readonly model: { readonly path: string; readonly configHash: string };
  readonly runs: readonly SweepRun[];
}

// ---- the cells and the paper's numbers: the config's own expansion (eval/sweep.ts expandSweep) -----------------

/**
 * A sweep's cells by id, as `eval sweep` ran them: each with its flags (the base's and its own) and the paper's
 * numbers per task. A run whose cell the config does not have (an edited sweep.json) gets no flags and no paper number.
 */
export function sweepCells(config: SweepConfig): ReadonlyMap<string, SweepCell> {
  return new Map(expandSweep(config).map((c) => [c.id, c]));
}

// ---- what the loader hands over ----------------------------------------------------------------------------

/** The model a RUN names, as the loader found it. */
export interface ModelInput {
  readonly path: string;
  readonly configHash: string;
  /** The random-weights mark (io/random_mark.ts, or the embedded default model); null = trained weights as far as we know. */
  readonly random: string | null;
  /** Where the FLOPs come from, or why they are unknown. */
  readonly flopsNote: string;
}

/** Sums over a run's prediction lines: all the means and FLOPs need (a run's lines are not kept). */
export interface TokenSums {
  readonly lines: number;
  readonly kept: number;
  readonly total: number;
  /** Σ text tokens of the prompts, Σ HERO-7 FLOPs at kept + text; null when unknown (no tokenizer or config). */
  readonly text: number | null;
  readonly flops: number | null;
}

/**
 * Sums over prediction lines; `textTokens[i]` is line i's prompt in its template, `flops(n)` the model's
 * HERO-7 prefill FLOPs for n tokens.
 */
export function tokenSums(lines: readonly PredictionLine[], textTokens: readonly number[] | null, flops: ((n: number) => number) | null): TokenSums {
  const text = textTokens && textTokens.length === lines.length ? textTokens : null;
  const sum = (f: (l: PredictionLine, i: number) => number): number => lines.reduce((a, l, i) => a + f(l, i), 0);
  return {
    lines: lines.length, kept: sum((l) => l.visual_tokens.kept), total: sum((l) => l.visual_tokens.total),
    text: text ? sum((_, i) => text[i]) : null,
    flops: text && flops ? sum((l, i) => flops(l.visual_tokens.kept + text[i])) : null,
  };
}

export interface RunInput {
  /** The RUN directory as the report shows it. */
  readonly dir: string;
  readonly settings: RunSettings;
  readonly tokens: TokenSums;
  /** Its sweep.json entry (sweeps only). */
  readonly sweep?: SweepRun;
  /** The score report (score.json, or scored from --data-root), or null with the reason. */
  readonly score: { readonly report: ScoreReport; readonly source: 'score.json' | 'data-root' } | null;
  readonly notScored?: string;
}

// ---- the report ---------------------------------------------------------------------------------------------

export interface TokenStats {
  /** Means over the run's prediction lines (null: no lines). */
  readonly visual_kept: number | null;
  readonly visual_total: number | null;
  readonly text: number | null;
  /** Mean over the lines of HERO-7 F(kept + text), in TFLOPs; null when the model's config or tokenizer is unknown. */
  readonly prefill_tflops: number | null;
}

export interface ReportCell extends TokenStats {
  readonly dir: string;
  readonly task: string;
  readonly protocol: string;
  /** 'scored', or 'not scored' (no score.json and no --data-root, or the protocol cannot score the task). */
  readonly status: 'scored' | 'not scored';
  readonly not_scored_reason: string | null;
  readonly complete: boolean | null;
  /** Questions of the task (null if unknown) and prediction lines written. */
  readonly questions: number | null;
  readonly answered: number;
  /** The headline metric's key and value (ScoreReport.main), where it came from. */
  readonly metric: string | null;
  readonly measured: number | null;
  readonly score_source: 'score.json' | 'data-root' | null;
  readonly paper: number | null;
  /** measured − paper. */
  readonly diff: number | null;
  readonly notes: readonly string[];
}

export interface ReportRow extends TokenStats {
  /** The sweep cell's id (null for a loose RUN). */
  readonly cell: string | null;
  readonly label: string;
  readonly method: { readonly name: string; readonly options: Readonly<Record<string, unknown>> };
  readonly flags: Readonly<Record<string, FlagValue>>;
  /** The protocols its runs were scored by (one unless a cell overrides it). */
  readonly protocols: readonly string[];
  /** Per task (the table's columns): its run, or null when the row has none. */
  readonly cells: Readonly<Record<string, ReportCell | null>>;
  /** Per task: the paper's number for this setting (null: the paper has none), run or not. */
  readonly paper: Readonly<Record<string, number | null>>;
}

export interface ReportTable {
  readonly kind: 'sweep' | 'runs';
  readonly name: string;
  readonly title: string;
  /** The sweep's root directory and config file (sweeps only). */
  readonly source: string | null;
  readonly config_file: string | null;
  readonly figure: Figure;
  readonly tasks: readonly string[];
  readonly models: ReadonlyArray<{ readonly path: string; readonly configHash: string; readonly random: string | null; readonly flops_note: string }>;
  readonly rows: readonly ReportRow[];
  /** The paper's numbers at every setting it reports (for the plots: the grid's points, the cells' flags). */
  readonly paper_points: ReadonlyArray<{ readonly flags: Readonly<Record<string, FlagValue>>; readonly scores: Readonly<Record<string, number | null>> }>;
}

export interface EvalReport {
  readonly format: 'hero-lvlm eval report 1';
  /** One line per random-weights model: the numbers are meaningless. */
  readonly random_weights: readonly string[];
  readonly tables: readonly ReportTable[];
}

const mean = (xs: readonly number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Means over the lines of one or more runs pooled (a row pools its runs'); FLOPs in TFLOPs. */
export function tokenStats(sums: readonly TokenSums[]): TokenStats {
  const n = sums.reduce((a, s) => a + s.lines, 0);
  const total = (k: 'kept' | 'total' | 'text' | 'flops'): number | null => (n === 0 || sums.some((s) => s[k] === null) ? null : sums.reduce((a, s) => a + s[k]!, 0) / n);
  const flops = total('flops');
  return { visual_kept: total('kept'), visual_total: total('total'), text: total('text'), prefill_tflops: flops === null ? null : flops / 1e12 };
}

function cellOf(run: RunInput, paper: number | null): ReportCell {
  const r = run.score?.report ?? null;
  const measured = r ? r.metrics[r.main] ?? null : null;
  const answered = run.sweep?.answered ?? run.tokens.lines;
  const questions = run.sweep?.questions ?? r?.questions ?? null;
  const complete = run.sweep?.complete ?? (questions === null ? null : answered >= questions);
  return {
    dir: run.dir, task: run.settings.task, protocol: run.sweep?.protocol ?? run.settings.protocol,
    status: r ? 'scored' : 'not scored', not_scored_reason: r ? null : run.notScored ?? 'no score.json and no --data-root',
    complete, questions, answered,
    metric: r?.main ?? null, measured, score_source: run.score?.source ?? null,
    paper, diff: measured !== null && paper !== null ? measured - paper : null,
    notes: r?.notes ?? [],
    ...tokenStats([run.tokens]),
  };
}

const modelSummary = (m: ModelInput): ReportTable['models'][number] => ({ path: m.path, configHash: m.configHash, random: m.random, flops_note: m.flopsNote });
const uniq = <T>(xs: readonly T[]): T[] => [...new Set(xs)];

/** One sweep's table: rows in the order of sweep.json's runs (a cell's first run), columns = the config's tasks. */
export function sweepTable(root: string, index: SweepIndex, runs: readonly RunInput[], model: (r: RunInput) => ModelInput): ReportTable {
  const cfg = index.config;
  const tasks = uniq([...cfg.tasks, ...runs.map((r) => r.settings.task)]);
  const byCell = new Map<string, RunInput[]>();
  for (const r of runs) {
    const id = r.sweep!.cell;
    byCell.set(id, [...(byCell.get(id) ?? []), r]);
  }
  const configured = sweepCells(cfg);
  const paperOf = (id: string, task: string): number | null => configured.get(id)?.paper[task] ?? null;
  const rows: ReportRow[] = [...byCell].map(([id, rs]) => {
    const cells: Record<string, ReportCell | null> = Object.fromEntries(tasks.map((t) => [t, null]));
    for (const r of rs) cells[r.settings.task] = cellOf(r, paperOf(id, r.settings.task));
    return {
      cell: id, label: rs[0].sweep!.label, method: rs[0].settings.method, flags: { ...configured.get(id)?.flags },
      protocols: uniq(rs.map((r) => r.sweep!.protocol)), cells,
      paper: Object.fromEntries(tasks.map((t) => [t, paperOf(id, t)])), ...tokenStats(rs.map((r) => r.tokens)),
    };
  });
  // The config's settings the sweep did not run (a --cells subset): rows with the paper's numbers only.
  for (const c of configured.values()) {
    if (byCell.has(c.id)) continue;
    rows.push({
      cell: c.id, label: c.label, method: { name: c.method, options: {} }, flags: { ...c.flags }, protocols: [c.protocol],
      cells: Object.fromEntries(tasks.map((t) => [t, null])), paper: Object.fromEntries(tasks.map((t) => [t, paperOf(c.id, t)])),
      ...tokenStats([]),
    });
  }
  // the paper's points: listed cells at their flags, the grid's entries at theirs
  const paper_points = [
    ...(cfg.cells ?? []).filter((c) => c.paper).map((c) => ({ flags: { ...cfg.base?.flags, ...c.flags }, scores: c.paper! })),
    ...(cfg.grid?.paper ?? []).map((p) => ({ flags: { ...cfg.base?.flags, ...p.at }, scores: p.scores })),
  ];
  const models = uniq(runs.map(model));
  return {
    kind: 'sweep', name: cfg.name, title: cfg.title, source: root, config_file: index.config_file, figure: cfg.figure ?? { kind: 'table' },
    tasks, models: models.map(modelSummary), rows, paper_points,
  };
}

/** Loose RUN directories: one row per run, sorted by task (then as given); no paper numbers. */
export function runsTable(runs: readonly RunInput[], model: (r: RunInput) => ModelInput): ReportTable {
  const tasks = uniq(runs.map((r) => r.settings.task)).sort();
  const sorted = [...runs].sort((a, b) => tasks.indexOf(a.settings.task) - tasks.indexOf(b.settings.task));
  const rows: ReportRow[] = sorted.map((r) => {
    const cells: Record<string, ReportCell | null> = Object.fromEntries(tasks.map((t) => [t, null]));
    cells[r.settings.task] = cellOf(r, null);
    return {
      cell: null, label: r.dir, method: r.settings.method, flags: {}, protocols: [r.settings.protocol], cells, paper: Object.fromEntries(tasks.map((t) => [t, null])),
      ...tokenStats([r.tokens]),
    };
  });
  return {
    kind: 'runs', name: 'runs', title: 'RUN directories', source: null, config_file: null, figure: { kind: 'table' },
    tasks, models: uniq(runs.map(model)).map(modelSummary), rows, paper_points: [],
  };
}

/** The whole report: the sweeps' tables in the order given, then the loose runs' table (if any). */
export function buildEvalReport(sweeps: ReadonlyArray<{ root: string; index: SweepIndex; runs: readonly RunInput[] }>,
  loose: readonly RunInput[], model: (r: RunInput) => ModelInput): EvalReport {
  const tables = sweeps.map((s) => sweepTable(s.root, s.index, s.runs, model));
  if (loose.length) tables.push(runsTable(loose, model));
  const all = [...sweeps.flatMap((s) => s.runs), ...loose].map(model);
  const random = uniq(all.filter((m) => m.random !== null).map((m) => `${m.path}: ${m.random}`));
  return { format: 'hero-lvlm eval report 1', random_weights: random, tables };
}
