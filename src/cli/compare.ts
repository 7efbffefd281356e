/**
 * `hero-lvlm compare REF.safetensors PORT.safetensors`: walks two traces tensor by tensor in data-flow order
 * and names the first tensor out of tolerance. No tfjs: values are read range by range from disk and
 * compared in float64 (src/report/compare.ts). Exit 0 when everything passes, 1 when not, 2 on bad input.
 */
import { HeroError } from '../core/errors';
import { SafetensorsFile } from '../io/safetensors';
import { TRACE_TOL } from '../core/tolerances';
import { compareJson, compareTraces, formatCompareText, globFilter, type TraceSource } from '../report/compare';
import { helpText, parseFlags, splitPositionals, type FlagSpecs } from './args';
import type { Command } from './main';

const FLAGS: FlagSpecs = {
  atol: { type: 'number', arg: 'A', help: 'absolute term for every float tensor, replacing the defaults (no scaling by max|e|)' },
  rtol: { type: 'number', arg: 'R', help: 'relative term for every float tensor (defaults: 0)' },
  only: { type: 'string', arg: 'PATTERN', help: "compare only names matching comma-separated globs (* = any characters, ? = one), e.g. 'vision.*,logits'" },
  json: { type: 'boolean', help: 'print one JSON object (keys ok, divergence, missing, extra, tensors, …; docs/trace.md)' },
};

const sci = (x: number): string => x.toExponential();
const USAGE = 'usage: hero-lvlm compare REF.safetensors PORT.safetensors [--atol A] [--rtol R] [--only PATTERN] [--json]';
const DESCRIPTION =
  'Compares a port\'s trace (PORT, actual a) with a reference trace (REF, expected e, e.g. from `hero-lvlm trace`)\n' +
  'tensor by tensor in data-flow order (docs/trace.md): shape, dtype, max |a − e|, max |a − e|/|e|, and the count of\n' +
  'elements with |a − e| > atol + rtol·|e| (NaN fails unless REF has NaN there, ±inf must match exactly). The\n' +
  'first failing tensor is the divergence point. Default tolerances (the golden specs\' own):\n' +
  `  floats                 atol ${sci(TRACE_TOL.golden.atol)} · max(1, max|e|), rtol ${TRACE_TOL.golden.rtol}\n` +
  `  vision.attentions.*    atol ${sci(TRACE_TOL.probs.atol)} (probabilities)\n` +
  `  pixel_values           atol ${sci(TRACE_TOL.pixels.atol)}\n` +
  '  ints, U8, BOOL         exact (ids, sizes, budgets, masks; --atol/--rtol do not apply)\n' +
  'A tensor of REF missing in PORT fails; a tensor only in PORT is listed, not a failure.\n' +
  'Exit status: 0 all within tolerance, 1 not, 2 bad input (unreadable or invalid file, bad flag).';

/** A SafetensorsFile as a TraceSource (reads element ranges as float64). */
function source(f: SafetensorsFile): TraceSource {
  return {
    label: f.file,
    names: () => f.names(),
    info: (name) => f.info(name),
    read: (name, from, to) => f.readFloat64(name, from, to),
  };
}

function tolFlag(flags: Record<string, unknown>, name: string): number | undefined {
  const v = flags[name] as number | undefined;
  if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new HeroError(`--${name}: must be a finite number ≥ 0 (got ${v})`);
  return v;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
    return 0;
  }
  const { positionals, flags: flagArgs } = splitPositionals(argv, FLAGS);
  const flags = parseFlags(flagArgs, FLAGS, 'hero-lvlm compare');
  if (positionals.length !== 2) {
    throw new HeroError(`compare: expected two files, REF.safetensors PORT.safetensors (got ${positionals.length}; see 'hero-lvlm compare --help')`);
  }
  const overrides = { atol: tolFlag(flags, 'atol'), rtol: tolFlag(flags, 'rtol') };
  const only = flags.only === undefined ? undefined : globFilter(flags.only as string);
  const ref = SafetensorsFile.open(positionals[0]);
  let port: SafetensorsFile | undefined;
  try {
    if (ref.names().length === 0) throw new HeroError(`${ref.file}: REF holds no tensors; there is nothing to compare against`);
    port = SafetensorsFile.open(positionals[1]);
    if (only && ![...ref.names(), ...port.names()].some(only)) {
      throw new HeroError(`--only: '${flags.only}' matches no tensor in ${ref.file} or ${port.file}`);
    }
    const result = compareTraces(source(ref), source(port), { overrides, only });
    process.stdout.write(flags.json ? `${JSON.stringify(compareJson(result))}\n` : formatCompareText(result));
    return result.ok ? 0 : 1;
  } finally {
    ref.close();
    port?.close();
  }
}

export const command: Command = { name: 'compare', summary: 'compare two traces (a port and a reference) tensor by tensor; name the first divergence', main };
