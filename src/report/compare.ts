/**
 * Tensor-by-tensor comparison of two traces (`hero-lvlm compare REF PORT`): the data-flow order in which a
 * trace is walked, the default tolerance of each tensor, per-tensor error statistics in float64, and the
 * text and JSON renderings. Files are read only through the `TraceSource` interface (the CLI wraps
 * SafetensorsFile), element range by element range, so neither trace has to fit in memory.
 */
import { TRACE_TOL, type Tol } from '../core/tolerances';
import type { DType } from '../io/safetensors';

// ---------------------------------------------------------------------------------------------------------
// Data-flow order

/**
 * The order in which a trace is walked: one row per stage, in data-flow order, so that the first tensor out
 * of tolerance is where a port starts to diverge. `{i}` matches a decimal index; the rows of one stage that
 * hold `{i}` are walked index by index (hidden_states.0, attentions.0, hidden_states.1, …: attention l is
 * computed before hidden state l+1). `<method>.*` is any other `prefix.rest` method tensor (hero.* not
 * listed, fastv.*, hired.*, …), by name. The method's tensors come before `image_features_packed`, which
 * they decide, and the expanded `input_ids` after it (its length is the packed count). Names no row matches
 * come last, by name. Names compare with digit runs as numbers (`x.10` after `x.9`). @choice: data flow
 * rather than the row order of docs/trace.md's tables, so that the first failure is the cause.
 */
export const TRACE_ORDER: ReadonlyArray<readonly string[]> = [
  ['pixel_values'],
  ['image_sizes'],
  ['vision.hidden_states.{i}', 'vision.attentions.{i}'],
  ['image_features_projected'],
  ['hero.global_scores', 'hero.tile_scores', 'hero.cls_similarity', 'hero.saliency', 'hero.clip_similarity',
    'hero.relevance', 'hero.valid_mask', 'hero.density', 'hero.importance', 'hero.budgets', 'hero.global_keep',
    'hero.tile_keep'],
  ['<method>.*'],
  ['image_features_packed'],
  ['input_ids'],
  ['inputs_embeds'],
  ['logits'],
  ['generated_ids'],
];

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One TRACE_ORDER entry as a regular expression (capture 1 = the `{i}` index, when there is one). */
function entryRegex(entry: string): RegExp {
  if (entry === '<method>.*') return /^(?!vision\.)[^.]+\..+$/;
  return new RegExp(`^${entry.split('{i}').map(escapeRe).join('(\\d+)')}$`);
}

const ORDER_RULES = TRACE_ORDER.flatMap((row, stage) => row.map((entry, pos) => ({ stage, pos, re: entryRegex(entry) })));

/** Compares two names with digit runs taken as numbers: 'a.9' < 'a.10'. */
export function naturalCompare(a: string, b: string): number {
  const split = (s: string): string[] => s.match(/\d+|\D+/g) ?? [];
  const x = split(a), y = split(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const nx = /^\d/.test(x[i]), ny = /^\d/.test(y[i]);
    if (nx && ny && Number(x[i]) !== Number(y[i])) return Number(x[i]) - Number(y[i]);
    return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Sort key of a name: [stage, index, position within the stage]; unmatched names get stage = rows. */
function orderKey(name: string): [number, number, number] {
  for (const r of ORDER_RULES) {
    const m = r.re.exec(name);
    if (m) return [r.stage, m[1] === undefined ? 0 : Number(m[1]), r.pos];
  }
  return [TRACE_ORDER.length, 0, 0];
}

/** `names` sorted in data-flow order (TRACE_ORDER), ties by natural name order. */
export function traceOrder(names: Iterable<string>): string[] {
  const keyed = [...names].map((n) => ({ n, k: orderKey(n) }));
  keyed.sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.k[2] - b.k[2] || naturalCompare(a.n, b.n));
  return keyed.map((x) => x.n);
}

// ---------------------------------------------------------------------------------------------------------
// Tolerances

export type TolKind = keyof typeof TRACE_TOL;

/** Default tolerance class of a float tensor by name (first match wins); integer dtypes are always exact. */
export const FLOAT_TOL_BY_NAME: ReadonlyArray<readonly [RegExp, TolKind]> = [
  [/^pixel_values$/, 'pixels'],
  [/^vision\.attentions\.\d+$/, 'probs'],
  [/^/, 'golden'],
];

/**
 * --atol / --rtol: `atol` replaces the absolute term of every float tolerance (and turns off its scaling by
 * max|e|); `rtol` replaces the relative term. Integer / U8 / BOOL tensors stay exact.
 */
export interface TolOverrides { readonly atol?: number; readonly rtol?: number }

export const isIntegerDType = (d: DType): boolean => !['F64', 'F32', 'F16', 'BF16'].includes(d);

/** The tolerance `compare` applies to a tensor of REF's `dtype` named `name`. */
export function toleranceFor(name: string, dtype: DType, overrides: TolOverrides = {}): { kind: TolKind | 'custom'; tol: Tol } {
  if (isIntegerDType(dtype)) return { kind: 'exact', tol: TRACE_TOL.exact };
  const kind = FLOAT_TOL_BY_NAME.find(([re]) => re.test(name))![1];
  const base: Tol = TRACE_TOL[kind];
  if (overrides.atol === undefined && overrides.rtol === undefined) return { kind, tol: base };
  return {
    kind: 'custom',
    tol: {
      atol: overrides.atol ?? base.atol,
      rtol: overrides.rtol ?? base.rtol,
      scaleByMax: overrides.atol === undefined ? base.scaleByMax : false,
      why: 'set by --atol / --rtol',
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Per-tensor statistics (float64)

export interface DiffStats {
  /** elements compared */
  readonly numel: number;
  /** max |a − e| over elements finite on both sides (0 when none) */
  readonly maxAbs: number;
  /** max |a − e| / |e| over elements finite on both sides with e ≠ 0 (0 when none) */
  readonly maxRel: number;
  /** elements with |a − e| > atol + rtol·|e|, plus every non-finite failure */
  readonly outOfTol: number;
  /** elements NaN on one side only, or ±inf not matched exactly by the other side */
  readonly nonFinite: number;
  /** the first element out of tolerance (flat row-major index), or null */
  readonly firstBad: { readonly index: number; readonly actual: number; readonly expected: number } | null;
}

export const NO_DIFF: DiffStats = { numel: 0, maxAbs: 0, maxRel: 0, outOfTol: 0, nonFinite: 0, firstBad: null };

/** max |e| over the finite values of `e` (0 when none). */
export function maxAbsFinite(e: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < e.length; i++) if (Number.isFinite(e[i])) m = Math.max(m, Math.abs(e[i]));
  return m;
}

/**
 * Statistics of actual `a` against expected `e` (same length) with |a − e| ≤ atol + rtol·|e| per element.
 * NaN fails unless the expected element is NaN too (@choice: the trace writes NaN for quantities a method
 * did not compute, e.g. hero.relevance with α = 1, so a trace must match itself); ±inf must match exactly.
 * `offset` is the flat index of a[0].
 */
export function diffStats(a: ArrayLike<number>, e: ArrayLike<number>, atol: number, rtol: number, offset = 0): DiffStats {
  if (a.length !== e.length) throw new Error(`diffStats: ${a.length} vs ${e.length} elements`);
  let maxAbs = 0, maxRel = 0, outOfTol = 0, nonFinite = 0;
  let firstBad: DiffStats['firstBad'] = null;
  for (let i = 0; i < e.length; i++) {
    const x = a[i], y = e[i];
    let bad: boolean;
    if (Number.isFinite(x) && Number.isFinite(y)) {
      const d = Math.abs(x - y);
      if (d > maxAbs) maxAbs = d; // false once maxAbs is NaN: a NaN row stays NaN
      if (y !== 0 && d / Math.abs(y) > maxRel) maxRel = d / Math.abs(y);
      bad = d > atol + rtol * Math.abs(y);
    } else {
      // NaN matches only NaN (the trace writes NaN for what a method did not compute); ±inf only itself
      bad = Number.isNaN(x) !== Number.isNaN(y) || (!Number.isNaN(x) && x !== y);
      if (bad) {
        nonFinite++;
        // the row shows what such an element holds: |a − e| is NaN (a NaN on one side, NaN wins) or ∞
        const d = Math.abs(x - y);
        if (Number.isNaN(d) || !Number.isNaN(maxAbs)) { maxAbs = Number.isNaN(d) ? NaN : Math.max(maxAbs, d); maxRel = maxAbs; }
      }
    }
    if (bad) {
      outOfTol++;
      if (firstBad === null) firstBad = { index: offset + i, actual: x, expected: y };
    }
  }
  return { numel: e.length, maxAbs, maxRel, outOfTol, nonFinite, firstBad };
}

/** Statistics of two consecutive ranges of one tensor (x before y). */
export function mergeStats(x: DiffStats, y: DiffStats): DiffStats {
  return {
    numel: x.numel + y.numel, maxAbs: Math.max(x.maxAbs, y.maxAbs), maxRel: Math.max(x.maxRel, y.maxRel), // NaN wins, as in diffStats
    outOfTol: x.outOfTol + y.outOfTol, nonFinite: x.nonFinite + y.nonFinite, firstBad: x.firstBad ?? y.firstBad,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Walking two traces

/** A trace to compare: names, dtype and shape per name, and float64 values of an element range. */
export interface TraceSource {
  /** what to call it in messages (the file name) */
  readonly label: string;
  names(): string[];
  info(name: string): { readonly dtype: DType; readonly shape: readonly number[] };
  /** elements [from, to) in row-major order, as float64 */
  read(name: string, from: number, to: number): Float64Array;
}

export type Problem = 'shape' | 'dtype' | 'values';

export interface TensorComparison {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly portShape: readonly number[];
  readonly portDtype: DType;
  readonly tolKind: TolKind | 'custom';
  /** the absolute term actually applied (after scaling by max(1, max|e|) where the class says so) */
  readonly atol: number;
  readonly rtol: number;
  /** null when the shapes differ (values are not compared) */
  readonly stats: DiffStats | null;
  /** empty when the tensor passes */
  readonly problems: readonly Problem[];
}

export interface CompareResult {
  readonly ref: string;
  readonly port: string;
  /** true when every tensor passes and no REF tensor is missing from PORT */
  readonly ok: boolean;
  /** the first tensor in data-flow order that fails (shape, dtype or values), or null */
  readonly divergence: string | null;
  /** the tensors present in both, in data-flow order */
  readonly tensors: readonly TensorComparison[];
  /** in REF, not in PORT (a failure) */
  readonly missing: readonly string[];
  /** in PORT, not in REF (reported, not a failure) */
  readonly extra: readonly string[];
}

export interface CompareOptions {
  readonly overrides?: TolOverrides;
  /** names to compare (default all) */
  readonly only?: (name: string) => boolean;
  /** elements read per range; bounds memory to ~2 × 8 × chunk bytes (default 2^20) */
  readonly chunk?: number;
}

/** Compares one tensor present in both traces, reading `chunk` elements at a time. */
export function compareTensor(ref: TraceSource, port: TraceSource, name: string, overrides: TolOverrides = {},
  chunk = 1 << 20): TensorComparison {
  const r = ref.info(name), p = port.info(name);
  const { kind, tol } = toleranceFor(name, r.dtype, overrides);
  const problems: Problem[] = [];
  if (p.dtype !== r.dtype) problems.push('dtype');
  const sameShape = r.shape.length === p.shape.length && r.shape.every((d, i) => d === p.shape[i]);
  const base = { name, shape: r.shape, dtype: r.dtype, portShape: p.shape, portDtype: p.dtype, tolKind: kind, rtol: tol.rtol };
  if (!sameShape) return { ...base, atol: tol.atol, stats: null, problems: ['shape', ...problems] };
  const n = r.shape.reduce((a, d) => a * d, 1);
  let scale = 1;
  if (tol.scaleByMax) {
    // a first pass over REF for max|e|
    let m = 0;
    for (let from = 0; from < n; from += chunk) m = Math.max(m, maxAbsFinite(ref.read(name, from, Math.min(n, from + chunk))));
    scale = Math.max(1, m);
  }
  const atol = tol.atol * scale;
  let stats = NO_DIFF;
  for (let from = 0; from < n; from += chunk) {
    const to = Math.min(n, from + chunk);
    stats = mergeStats(stats, diffStats(port.read(name, from, to), ref.read(name, from, to), atol, tol.rtol, from));
  }
  if (stats.outOfTol > 0) problems.push('values');
  return { ...base, atol, stats, problems };
}

/** Walks both traces in data-flow order; see CompareResult for what fails. */
export function compareTraces(ref: TraceSource, port: TraceSource, opts: CompareOptions = {}): CompareResult {
  const keep = opts.only ?? ((): boolean => true);
  const refNames = new Set(ref.names().filter(keep));
  const portNames = new Set(port.names().filter(keep));
  const tensors = traceOrder([...refNames].filter((n) => portNames.has(n)))
    .map((n) => compareTensor(ref, port, n, opts.overrides, opts.chunk));
  const missing = traceOrder([...refNames].filter((n) => !portNames.has(n)));
  const extra = traceOrder([...portNames].filter((n) => !refNames.has(n)));
  const divergence = tensors.find((t) => t.problems.length > 0)?.name ?? null;
  return { ref: ref.label, port: port.label, ok: divergence === null && missing.length === 0, divergence, tensors, missing, extra };
}

// ---------------------------------------------------------------------------------------------------------
// --only

/**
 * `--only PATTERN`: comma-separated globs matched against whole names; `*` is any run of characters (dots
 * included), `?` one character; everything else is literal. 'vision.*,logits' keeps the vision taps and logits.
 */
export function globFilter(pattern: string): (name: string) => boolean {
  const res = pattern.split(',').map((g) => g.trim()).filter((g) => g !== '')
    .map((g) => new RegExp(`^${g.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRe(c))).join('')}$`));
  return (name) => res.some((re) => re.test(name));
}

// ---------------------------------------------------------------------------------------------------------
// Rendering

const num = (x: number): string => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));
const shapeStr = (s: readonly number[]): string => `[${s.join(',')}]`;

/** One row per tensor (name, shape, dtype, max|a−e|, max rel, out of tolerance, bound, status) and a summary. */
export function formatCompareText(r: CompareResult): string {
  const head = ['tensor', 'shape', 'dtype', 'max|a-e|', 'max rel', 'out of tol', 'atol + rtol·|e|', 'status'];
  const rows = r.tensors.map((t) => [
    t.name,
    t.problems.includes('shape') ? `${shapeStr(t.shape)}≠${shapeStr(t.portShape)}` : shapeStr(t.shape),
    t.problems.includes('dtype') ? `${t.dtype}≠${t.portDtype}` : t.dtype,
    t.stats ? num(t.stats.maxAbs) : '-',
    t.stats ? num(t.stats.maxRel) : '-',
    t.stats ? `${t.stats.outOfTol}/${t.stats.numel}` : '-',
    t.tolKind === 'exact' ? 'exact' : `${num(t.atol)} + ${num(t.rtol)}·|e|`,
    t.problems.length === 0 ? 'ok' : `FAIL (${t.problems.join(', ')})`,
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]): string => cells.map((s, c) => (c === cells.length - 1 ? s : s.padEnd(w[c]))).join('  ');
  const out = [`REF  ${r.ref}`, `PORT ${r.port}`, '', line(head), ...rows.map(line), ''];
  if (r.missing.length) out.push(`missing in PORT (fails): ${r.missing.join(', ')}`);
  if (r.extra.length) out.push(`extra in PORT (not compared): ${r.extra.join(', ')}`);
  const failed = r.tensors.filter((t) => t.problems.length > 0).length;
  if (r.divergence !== null) {
    const t = r.tensors.find((x) => x.name === r.divergence)!;
    const at = t.stats?.firstBad ? ` (first at flat index ${t.stats.firstBad.index}: port ${t.stats.firstBad.actual}, ref ${t.stats.firstBad.expected})` : '';
    out.push(`divergence: ${r.divergence} — ${t.problems.join(', ')}${at}; ${failed} of ${r.tensors.length} tensors fail`);
  } else if (r.missing.length) {
    out.push(`FAIL: all ${r.tensors.length} compared tensors are within tolerance, but ${r.missing.length} are missing in PORT`);
  } else {
    out.push(`OK: all ${r.tensors.length} tensors within tolerance`);
  }
  return `${out.join('\n')}\n`;
}

/** Non-finite numbers as the strings "NaN", "Infinity", "-Infinity" (JSON has no such numbers). */
const jsonNum = (x: number): number | string => (Number.isFinite(x) ? x : String(x));

/** The `--json` object (keys documented in docs/trace.md, "Comparing a port layer by layer"). */
export function compareJson(r: CompareResult): Record<string, unknown> {
  return {
    ref: r.ref, port: r.port, ok: r.ok, divergence: r.divergence,
    compared: r.tensors.length, failed: r.tensors.filter((t) => t.problems.length > 0).length,
    missing: r.missing, extra: r.extra,
    tensors: r.tensors.map((t) => ({
      name: t.name, ok: t.problems.length === 0, problems: t.problems,
      shape: t.shape, port_shape: t.portShape, dtype: t.dtype, port_dtype: t.portDtype,
      tolerance: t.tolKind, atol: t.atol, rtol: t.rtol,
      numel: t.stats?.numel ?? null, max_abs: t.stats ? jsonNum(t.stats.maxAbs) : null, max_rel: t.stats ? jsonNum(t.stats.maxRel) : null,
      out_of_tol: t.stats?.outOfTol ?? null, non_finite: t.stats?.nonFinite ?? null,
      first_bad: t.stats?.firstBad
        ? { index: t.stats.firstBad.index, port: jsonNum(t.stats.firstBad.actual), ref: jsonNum(t.stats.firstBad.expected) }
        : null,
    })),
  };
}
