/**
 * A small strict flag parser: `--name value`, `--name=value`, boolean `--flag`. Unknown flags, missing
 * values and malformed numbers are HeroErrors naming the flag.
 */
import { HeroError } from '../core/errors';

export interface FlagSpec {
  /** 'string' | 'number' | 'int' | 'boolean' | 'list' (comma-separated ints) */
  readonly type: 'string' | 'number' | 'int' | 'boolean' | 'intList';
  readonly help: string;
  readonly default?: string | number | boolean;
  /** placeholder shown in --help */
  readonly arg?: string;
  /** intList: words accepted in place of an id, kept as strings (e.g. IMG for --input-ids; resolveIdWords) */
  readonly words?: readonly string[];
  /** int: the largest value accepted */
  readonly max?: number;
}
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;
export type ParsedFlags = Record<string, string | number | boolean | number[] | Array<number | string> | undefined>;

export function parseFlags(argv: readonly string[], specs: FlagSpecs, command: string): ParsedFlags {
  const out: ParsedFlags = {};
  for (const [k, s] of Object.entries(specs)) if (s.default !== undefined) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new HeroError(`${command}: unexpected argument '${a}' (see '${command} --help')`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (!spec) throw new HeroError(`${command}: unknown flag --${name} (see '${command} --help')`);
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new HeroError(`--${name}: takes no value`);
      out[name] = true;
      continue;
    }
    let v: string | undefined;
    if (eq >= 0) v = a.slice(eq + 1);
    else { v = argv[++i]; }
    if (v === undefined) throw new HeroError(`--${name}: missing value`);
    out[name] = convert(name, v, spec);
  }
  return out;
}

/** Decimal numbers only: Number() would also read '0x1', '0b1', '1_0'-free forms such as '' (0) and ' ' (0). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

function convert(name: string, v: string, spec: FlagSpec): string | number | Array<number | string> {
  switch (spec.type) {
    case 'string': return v;
    case 'number': {
      if (v.trim() === '') throw new HeroError(`--${name}: empty value (expected a number)`);
      if (!DECIMAL.test(v.trim())) throw new HeroError(`--${name}: '${v}' is not a number (decimal notation only)`);
      return Number(v);
    }
    case 'int': {
      if (v.trim() === '') throw new HeroError(`--${name}: empty value (expected an integer)`);
      const n = Number(v);
      if (!INTEGER.test(v.trim()) || !Number.isSafeInteger(n)) throw new HeroError(`--${name}: '${v}' is not an integer`);
      if (spec.max !== undefined && n > spec.max) throw new HeroError(`--${name}: ${n} is more than the most allowed, ${spec.max}`);
      return n;
    }
    case 'intList': {
      const parts = v.split(',').map((s) => s.trim());
      const words = spec.words ?? [];
      const ok = (s: string): boolean => words.includes(s) || (INTEGER.test(s) && Number.isSafeInteger(Number(s)));
      if (parts.some((s) => !ok(s))) {
        throw new HeroError(`--${name}: '${v}' is not a comma-separated list of integers${words.length ? ` (or ${words.join(', ')})` : ''}`);
      }
      return parts.map((s) => (words.includes(s) ? s : Number(s)));
    }
    default: throw new HeroError(`--${name}: bad flag type`);
  }
}

/** An intList value with its words replaced by their ids (e.g. { IMG: config image_token_index }). */
export function resolveIdWords(list: ReadonlyArray<number | string>, ids: Readonly<Record<string, number>>): number[] {
  return list.map((t) => (typeof t === 'number' ? t : ids[t]));
}

/** Renders a --help text from a usage line, a description and the flag specs. */
export function helpText(usage: string, description: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([k, s]) => {
    const left = `  --${k}${s.type === 'boolean' ? '' : ` ${s.arg ?? s.type.toUpperCase()}`}`;
    const def = s.default !== undefined ? ` (default: ${s.default})` : '';
    return `${left.padEnd(30)} ${s.help}${def}`;
  });
  return `${usage}\n\n${description}\n\nFlags:\n${rows.join('\n')}\n  --help                       show this help\n`;
}

/** Requires a flag to be present. */
export function required<T>(flags: ParsedFlags, name: string): T {
  const v = flags[name];
  if (v === undefined) throw new HeroError(`--${name}: required`);
  return v as T;
}

/**
 * Splits argv into positional arguments and flags (with their values), for commands that take files
 * positionally. A non-boolean flag without `=` takes the next argument as its value, as parseFlags does.
 */
export function splitPositionals(argv: readonly string[], specs: FlagSpecs): { positionals: string[]; flags: string[] } {
  const positionals: string[] = [], flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { positionals.push(a); continue; }
    flags.push(a);
    const spec = specs[a.slice(2)];
    if (spec && spec.type !== 'boolean' && i + 1 < argv.length) flags.push(argv[++i]);
  }
  return { positionals, flags };
}
