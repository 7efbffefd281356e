/**
 * What every bench suite shares: the parsed options, the timing statistics, the results writer and the
 * PyTorch peer (bench/peer/peer.py, run by the Python named by --python / $HERO_LVLM_PYTHON).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import type { BackendName } from '../src/backend';
import { installedKernels, type AttentionKernel } from '../src/accel';

export const ROOT = path.join(__dirname, '..');
export const RESULTS = path.join(ROOT, 'bench', 'results');
export const SUITES = ['vision', 'hero', 'decoder', 'memory', 'scale'] as const;
/** The suites run without --suite (scale takes tens of minutes and GBs of disk: only when asked for). */
export const DEFAULT_SUITES: readonly SuiteName[] = ['vision', 'hero', 'decoder', 'memory'];
export type SuiteName = typeof SUITES[number];
/** The Python the peer runs with unless --python or $HERO_LVLM_PYTHON says otherwise. */
export const DEFAULT_PYTHON = '/usr/bin/python3';
export const PYTHON_ENV = 'HERO_LVLM_PYTHON';

/** The bench's flags, parsed (bench/run.ts). */
export interface BenchOptions {
  readonly suites: readonly SuiteName[];
  readonly runs: number;
  readonly backends: readonly BackendName[];
  /** false with --no-peer */
  readonly peer: boolean;
  /** the Python interpreter of the PyTorch peer */
  readonly python: string;
  /** worker threads for the vision tower (VisionPool); 0 = in-process */
  readonly visionWorkers: number;
  /** worker threads for the decoder suite (DecoderPool); ≤ 1 = in-process */
  readonly decoderWorkers: number;
  /** also time the in-process vision path once */
  readonly plain: boolean;
  /** attention implementation (src/nn/attention.ts `attend`); 'auto' = per-head on wasm, batched elsewhere */
  readonly attention: AttentionKernel | 'auto';
  readonly decoderLayers: number;
  readonly prefillChunk: number;
  /** a scratch folder for the peer's safetensors files */
  readonly tmp: string;
  /** scale: the 7B-shaped and the CLIP-L/336-shaped checkpoints (generated there in f16 when absent) */
  readonly scaleModel: string;
  readonly scaleClip: string;
  /** scale: also r = 1.0 */
  readonly scaleFull: boolean;
}

/** median [min, max] of `runs` timings, milliseconds (the key names are those of the results JSON). */
export interface Stat { median: number; min: number; max: number; runs: number }

export function stat(ts: readonly number[]): Stat {
  const s = [...ts].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], runs: s.length };
}

/** `warmup` untimed calls, then `runs` timed ones. */
export async function timeIt(fn: () => void | Promise<void>, runs: number, warmup = 1): Promise<Stat> {
  for (let i = 0; i < warmup; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  return stat(ts);
}

export const fmt = (s: Stat): string => `${s.median.toFixed(0)} ms [${s.min.toFixed(0)}, ${s.max.toFixed(0)}]`;

/** Writes bench/results/<name>.json: the run's metadata, then the suite's result. */
export function save(opts: BenchOptions, suite: string, data: object): void {
  fs.mkdirSync(RESULTS, { recursive: true });
  // A forced attention implementation is a side experiment: its results do not replace the default ones.
  const name = opts.attention === 'auto' ? suite : `${suite}_attention-${opts.attention}`;
  const meta = { suite: name, date: new Date().toISOString(), machine: `${os.cpus().length}× ${os.cpus()[0]?.model}`, runs: opts.runs, attention: installedKernels().attention };
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), `${JSON.stringify({ ...meta, ...data }, null, 2)}\n`);
}

/** What every peer line carries besides its timings: torch's version, the BLAS it runs on, the CPU. */
export interface PeerInfo { torch: string; blas: { libraries: string[]; kind: string }; cpu: string }

/**
 * The peer's BLAS is a fair baseline: OpenBLAS, MKL or BLIS. Debian's python3-torch without
 * libopenblas0-pthread runs on the reference BLAS, tens of times slower: a ratio against it would flatter
 * tfjs, so none is reported (the reason is printed instead).
 */
export function fairBlas(p: PeerInfo): string | undefined {
  return ['openblas', 'mkl', 'blis'].includes(p.blas?.kind) ? undefined
    : `PyTorch runs on the '${p.blas?.kind ?? 'unknown'}' BLAS (${(p.blas?.libraries ?? []).join(', ') || 'none found'}); no ratio is reported (apt-get install libopenblas0-pthread)`;
}

/** The fastest of the peer's thread counts for one figure: { threads, ms }. */
export function bestThreads(byThreads: Record<string, Stat | undefined>): { threads: number; median: number } {
  const entries = Object.entries(byThreads).filter((e): e is [string, Stat] => e[1] !== undefined).map(([k, v]) => ({ threads: Number(/\d+$/.exec(k)![0]), median: v.median }));
  return entries.reduce((a, b) => (b.median < a.median ? b : a));
}

/**
 * Runs bench/peer/peer.py `suite file args` with opts.python; its parsed last stdout line, or a string
 * saying why there is none ("skipped (--no-peer)", "PyTorch peer unavailable: …"), which is also printed
 * to stderr, loudly, so a missing Python or torch is never mistaken for a result.
 */
export function peer<T>(opts: BenchOptions, suite: 'vision' | 'decoder', file: string, a: Record<string, unknown>): T | string {
  if (!opts.peer) return 'skipped (--no-peer)';
  const r = spawnSync(opts.python, [path.join(ROOT, 'bench', 'peer', 'peer.py'), suite, file, JSON.stringify(a)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) {
    const why = r.error
      ? `cannot run '${opts.python}' (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); set --python or $${PYTHON_ENV}`
      : (r.stderr || '').trim().split('\n').pop() ?? `exit ${r.status}`;
    const msg = `PyTorch peer unavailable: ${why}`;
    console.error(`!! ${msg}`);
    return msg;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}
