/**
 * The paper's experiments as files (`eval/configs/*.json`, docs/eval.md "Sweep configs"): a SweepConfig
 * read, checked key by key, and expanded into its cells (the explicit `cells`, then the `grid`'s cartesian
 * product in key order), each a method, a protocol and the `run` flags it sets. Pure: the command
 * (cli/eval_predict.ts) reads the file, checks every cell's flags with Method.configure against the model's
 * config, and runs them.
 */
import { HeroError } from '../core/errors';
import { PROTOCOLS, TASK_IDS, type Protocol, type TaskId } from './tasks';

export type FlagValue = number | string | boolean | number[];

export interface SweepConfig {
  /** file-safe id (= the file's base name) */
  readonly name: string;
  /** e.g. "Table 3 (LLaVA-NeXT-7B)" */
  readonly title: string;
  /** how `eval report` draws it; x/y: flag names; default table */
  readonly figure?: { readonly kind: 'table' } | { readonly kind: 'line'; readonly x: string } | { readonly kind: 'heatmap'; readonly x: string; readonly y: string };
  /** the checkpoint the paper ran (informational; the user passes --model) */
  readonly model: string;
  readonly protocol: Protocol;
  readonly tasks: readonly TaskId[];
  /** applied to every cell, cell values win */
  readonly base?: { readonly method?: string; readonly flags?: Readonly<Record<string, FlagValue>> };
  readonly cells?: ReadonlyArray<{
    readonly id: string; readonly label: string; readonly method?: string; readonly protocol?: Protocol;
    readonly flags?: Readonly<Record<string, FlagValue>>;
    /** the paper's number per task id */
    readonly paper?: Readonly<Record<string, number | null>>;
  }>;
  /** cartesian product, in key order */
  readonly grid?: {
    readonly method?: string;
    readonly axes: Readonly<Record<string, readonly FlagValue[]>>;
    readonly paper?: ReadonlyArray<{ readonly at: Readonly<Record<string, FlagValue>>; readonly scores: Readonly<Record<string, number | null>> }>;
  };
}

/** One expanded cell: what one RUN per task runs. */
export interface SweepCell {
  readonly id: string;
  readonly label: string;
  readonly method: string;
  readonly protocol: Protocol;
  /** base flags overlaid with the cell's (or the grid point's) */
  readonly flags: Readonly<Record<string, FlagValue>>;
  /** the paper's numbers per task, where the config gives them */
  readonly paper: Readonly<Record<string, number | null>>;
}

/** How a flag's value is typed on the command line (cli/args.ts FlagSpec.type). */
export type FlagType = 'string' | 'number' | 'int' | 'boolean' | 'intList';

/** The method when neither the cell, the grid nor the base names one (`run`'s --method default). */
export const SWEEP_DEFAULT_METHOD = 'hero';

const FILE_SAFE = /^[A-Za-z0-9._=,+-]+$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Refuses keys outside `allowed`, naming the file and the key's path. */
function onlyKeys(o: Obj, allowed: readonly string[], file: string, at: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new HeroError(`${file}: unknown key '${at}${k}' (allowed here: ${allowed.join(', ')})`);
}

function need(cond: boolean, file: string, what: string): asserts cond {
  if (!cond) throw new HeroError(`${file}: ${what}`);
}

/** A flag value of the type its flag takes. */
function checkFlag(file: string, at: string, key: string, v: unknown, types: Readonly<Record<string, FlagType>>): void {
  const t = types[key];
  if (t === undefined) throw new HeroError(`${file}: unknown key '${at}${key}' (not a method flag of run: ${Object.keys(types).join(', ')})`);
  const ok = t === 'boolean' ? typeof v === 'boolean'
    : t === 'string' ? typeof v === 'string'
      : t === 'number' ? typeof v === 'number' && Number.isFinite(v)
        : t === 'int' ? Number.isSafeInteger(v)
          : Array.isArray(v) && v.length > 0 && v.every((x) => Number.isSafeInteger(x));
  need(ok, file, `'${at}${key}': ${JSON.stringify(v)} is not a${t === 'intList' ? 'n integer list' : t === 'int' ? 'n integer' : ` ${t}`}`);
}

function checkFlags(file: string, at: string, flags: unknown, types: Readonly<Record<string, FlagType>>): void {
  if (flags === undefined) return;
  need(isObj(flags), file, `'${at}' must be an object of flag: value`);
  for (const [k, v] of Object.entries(flags)) checkFlag(file, `${at}.`, k, v, types);
}

function checkScores(file: string, at: string, v: unknown): void {
  if (v === undefined) return;
  need(isObj(v), file, `'${at}' must be an object of task id: number | null`);
  for (const [k, x] of Object.entries(v)) {
    need((TASK_IDS as string[]).includes(k), file, `unknown key '${at}.${k}' (not a task id: ${TASK_IDS.join(', ')})`);
    need(x === null || (typeof x === 'number' && Number.isFinite(x)), file, `'${at}.${k}': ${JSON.stringify(x)} is not a number or null`);
  }
}

/**
 * Reads a sweep config from its text, checking every key and value: an unknown key or a wrong value is one
 * error naming `file` and the key. `flagTypes`: the method flags `run` takes (cli/common.ts METHOD_FLAGS),
 * so new flags need no change here.
 */
export function parseSweepConfig(text: string, file: string, flagTypes: Readonly<Record<string, FlagType>>): SweepConfig {
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch (e) {
    throw new HeroError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  need(isObj(c), file, 'a sweep config is a JSON object');
  onlyKeys(c, ['name', 'title', 'figure', 'model', 'protocol', 'tasks', 'base', 'cells', 'grid'], file, '');
  need(typeof c.name === 'string' && FILE_SAFE.test(c.name), file, "'name' must be a file-safe id");
  const base = (file.split(/[\\/]/).pop() ?? file).replace(/\.json$/, '');
  need(c.name === base, file, `'name' is '${String(c.name)}' but the file is ${base}.json (they must match)`);
  need(typeof c.title === 'string' && c.title.length > 0, file, "'title' must be a non-empty string");
  need(typeof c.model === 'string', file, "'model' must be a string (the checkpoint the paper ran)");
  need((PROTOCOLS as readonly unknown[]).includes(c.protocol), file, `'protocol' must be one of ${PROTOCOLS.join(', ')}`);
  need(Array.isArray(c.tasks) && c.tasks.length > 0, file, "'tasks' must be a non-empty list of task ids");
  for (const t of c.tasks) need((TASK_IDS as unknown[]).includes(t), file, `'tasks': unknown task '${String(t)}' (one of ${TASK_IDS.join(', ')})`);
  need(new Set(c.tasks).size === c.tasks.length, file, "'tasks' lists a task twice");
  if (c.figure !== undefined) {
    const f = c.figure;
    need(isObj(f) && ['table', 'line', 'heatmap'].includes(f.kind as string), file, "'figure.kind' must be table, line or heatmap");
    onlyKeys(f, f.kind === 'table' ? ['kind'] : f.kind === 'line' ? ['kind', 'x'] : ['kind', 'x', 'y'], file, 'figure.');
    for (const k of f.kind === 'line' ? ['x'] : f.kind === 'heatmap' ? ['x', 'y'] : []) {
      need(typeof f[k] === 'string' && flagTypes[f[k] as string] !== undefined, file, `'figure.${k}' must name a method flag of run`);
    }
  }
  if (c.base !== undefined) {
    need(isObj(c.base), file, "'base' must be an object");
    onlyKeys(c.base, ['method', 'flags'], file, 'base.');
    need(c.base.method === undefined || typeof c.base.method === 'string', file, "'base.method' must be a string");
    checkFlags(file, 'base.flags', c.base.flags, flagTypes);
  }
  need(c.cells !== undefined || c.grid !== undefined, file, "give 'cells', 'grid' or both");
  if (c.cells !== undefined) {
    need(Array.isArray(c.cells) && c.cells.length > 0, file, "'cells' must be a non-empty list");
    c.cells.forEach((cell: unknown, i: number) => {
      const at = `cells[${i}]`;
      need(isObj(cell), file, `'${at}' must be an object`);
      onlyKeys(cell, ['id', 'label', 'method', 'protocol', 'flags', 'paper'], file, `${at}.`);
      need(typeof cell.id === 'string' && FILE_SAFE.test(cell.id), file, `'${at}.id' must be a file-safe id (letters, digits, . _ = , + -)`);
      need(typeof cell.label === 'string', file, `'${at}.label' must be a string`);
      need(cell.method === undefined || typeof cell.method === 'string', file, `'${at}.method' must be a string`);
      need(cell.protocol === undefined || (PROTOCOLS as readonly unknown[]).includes(cell.protocol), file, `'${at}.protocol' must be one of ${PROTOCOLS.join(', ')}`);
      checkFlags(file, `${at}.flags`, cell.flags, flagTypes);
      checkScores(file, `${at}.paper`, cell.paper);
    });
  }
  if (c.grid !== undefined) {
    const g = c.grid;
    need(isObj(g), file, "'grid' must be an object");
    onlyKeys(g, ['method', 'axes', 'paper'], file, 'grid.');
    need(g.method === undefined || typeof g.method === 'string', file, "'grid.method' must be a string");
    need(isObj(g.axes) && Object.keys(g.axes).length > 0, file, "'grid.axes' must be an object of flag: [values]");
    for (const [k, vs] of Object.entries(g.axes)) {
      need(Array.isArray(vs) && vs.length > 0, file, `'grid.axes.${k}' must be a non-empty list`);
      for (const v of vs) checkFlag(file, 'grid.axes.', k, v, flagTypes);
    }
    if (g.paper !== undefined) {
      need(Array.isArray(g.paper), file, "'grid.paper' must be a list of {at, scores}");
      g.paper.forEach((p: unknown, i: number) => {
        need(isObj(p), file, `'grid.paper[${i}]' must be an object`);
        onlyKeys(p, ['at', 'scores'], file, `grid.paper[${i}].`);
        need(isObj(p.at), file, `'grid.paper[${i}].at' must be an object of flag: value`);
        for (const k of Object.keys(p.at)) need(k in (g.axes as Obj), file, `unknown key 'grid.paper[${i}].at.${k}' (not a grid axis)`);
        checkScores(file, `grid.paper[${i}].scores`, p.scores);
      });
    }
  }
  const cfg = c as unknown as SweepConfig;
  const ids = expandSweep(cfg).map((x) => x.id);
  const dup = ids.find((x, i) => ids.indexOf(x) !== i);
  need(dup === undefined, file, `cell id '${dup}' occurs twice`);
  return cfg;
}

/** A value as it appears in a grid point's id: numbers as JSON writes them, lists joined with '+'. */
export function formatFlagValue(v: FlagValue): string {
  return Array.isArray(v) ? v.join('+') : String(v);
}

/** A value written in a cell id or a config as its flag value: booleans, numbers, number lists (`5+6`, `5,6`, `5-8`); else the string. */
function parseFlagText(s: string): FlagValue {
  const num = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  if (s === 'true' || s === 'false') return s === 'true';
  if (num.test(s)) return Number(s);
  const parts = s.split(/[,+-]/);
  if (parts.length > 1 && parts.every((p) => num.test(p))) return parts.map(Number);
  return s;
}

/**
 * Two flag values are the same setting (a grid.paper `at` against an axis value): numbers by value (`'0.010'` =
 * 0.01), lists element-wise, a one-element list is its element (`high-layers: 21` = `[21]`).
 */
export function sameFlagValue(a: FlagValue, b: FlagValue): boolean {
  const norm = (v: FlagValue): FlagValue => (typeof v === 'string' ? parseFlagText(v) : Array.isArray(v) && v.length === 1 ? v[0] : v);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** The cells of a (parsed) config, in config order: `cells`, then the grid's points (first axis slowest). */
export function expandSweep(c: SweepConfig): SweepCell[] {
  const baseFlags = c.base?.flags ?? {};
  const out: SweepCell[] = (c.cells ?? []).map((cell) => ({
    id: cell.id, label: cell.label, method: cell.method ?? c.base?.method ?? SWEEP_DEFAULT_METHOD, protocol: cell.protocol ?? c.protocol,
    flags: { ...baseFlags, ...(cell.flags ?? {}) }, paper: { ...(cell.paper ?? {}) },
  }));
  if (c.grid) {
    const axes = Object.entries(c.grid.axes);
    let points: Array<Array<[string, FlagValue]>> = [[]];
    for (const [k, vs] of axes) points = points.flatMap((p) => vs.map((v): Array<[string, FlagValue]> => [...p, [k, v]]));
    for (const p of points) {
      const parts = p.map(([k, v]) => `${k}=${formatFlagValue(v)}`);
      const paper = c.grid.paper?.find((x) => Object.entries(x.at).every(([k, v]) => p.some(([pk, pv]) => pk === k && sameFlagValue(pv, v))));
      out.push({
        id: parts.join(','), label: parts.join(' '), method: c.grid.method ?? c.base?.method ?? SWEEP_DEFAULT_METHOD, protocol: c.protocol,
        flags: { ...baseFlags, ...Object.fromEntries(p) }, paper: { ...(paper?.scores ?? {}) },
      });
    }
  }
  return out;
}

/** A cell's flags as `run` arguments (`--tau-v 0.01`, `--low-layers 5,6,7`, `--flag` for true; false is left out). */
export function flagArgv(flags: Readonly<Record<string, FlagValue>>): string[] {
  return Object.entries(flags).flatMap(([k, v]) => (v === false ? [] : v === true ? [`--${k}`] : [`--${k}`, Array.isArray(v) ? v.join(',') : String(v)]));
}

/** `--cells a,b` / `--tasks a,b`: the chosen subset, in config order; an unknown name is an error naming the flag. */
export function pick<T>(all: readonly T[], key: (x: T) => string, asked: string | undefined, flag: string): T[] {
  if (asked === undefined) return [...all];
  const names = asked.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!all.some((x) => key(x) === n)) throw new HeroError(`${flag}: '${n}' is not in the config (${all.map(key).join(', ')})`);
  return all.filter((x) => names.includes(key(x)));
}
