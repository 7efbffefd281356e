/**
 * What every bench suite shares: the parsed options, the timing statistics, the results writer and the
 * PyTorch peer (bench/peer/peer.py, run by the Python named by --python / $HERO_LVLM_PYTHON).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import type { BackendName } from '../src/backend';
import { describeBlas, findBlas, installedKernels, type AccelMode, type AttentionKernel } from '../src/accel';

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
  /** where the large products run (src/accel/index.ts ACCEL_MODES): 'wasm' (default), 'blas', 'auto' */
  readonly accel: AccelMode;
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
  // A forced attention implementation is a side experiment: its results do not replace the default ones;
  // the BLAS kernel's go beside them (<suite>_<backend>_blas.json), so both kernel choices stay on record.
  const k = installedKernels();
  const name = (opts.attention === 'auto' ? suite : `${suite}_attention-${opts.attention}`) + (k.linear === 'blas' ? '_blas' : '');
  const meta = {
    suite: name, date: new Date().toISOString(), machine: `${os.cpus().length}× ${os.cpus()[0]?.model}`, runs: opts.runs, attention: k.attention,
    linear: k.linear, blas: k.blas ? blasLine(k.blas.library, k.blas.threads) : undefined, openblas_env: openblasEnv(),
  };
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), `${JSON.stringify({ ...meta, ...data }, null, 2)}\n`);
}

/** The BLAS the tfjs side ran on: `openblas (libopenblas.so.0, core Zen, 2 threads)`. */
function blasLine(library: string, threads: number): string {
  const b = findBlas([library]);
  return typeof b === 'string' ? b : describeBlas(b, threads);
}

/**
 * The OpenBLAS variables that force a kernel or a cache size (set on some machines to an older core, which
 * slows OpenBLAS down several times), as this process has them: the tfjs side's BLAS reads them too, the
 * peer unsets them for itself (bench/peer/peer.py).
 */
export function openblasEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(OPENBLAS_FORCING.filter((k) => env[k] !== undefined).map((k) => [k, env[k]!]));
}
export const OPENBLAS_FORCING = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;

/** What every peer line carries besides its timings: torch's version, the BLAS it runs on, the CPU. */
export interface PeerInfo {
  torch: string;
  /** the library mapped into the peer, its kind, and (OpenBLAS) the kernel it runs and its threads at each timed setting */
  blas: { libraries: string[]; kind: string; core?: string; threads_by_setting?: Record<string, number> };
  cpu: string;
  /** OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as the peer found them and removed them before loading torch */
  openblas_env_unset?: Record<string, string>;
}

/** The peer's BLAS in words: `PyTorch 1.13.1 on openblas BLAS (core Zen; OpenBLAS threads 1/2 at torch 1/2), AMD EPYC; unset: OPENBLAS_CORETYPE=Haswell`. */
export function peerBlasLine(p: PeerInfo): string {
  const settings = Object.entries(p.blas.threads_by_setting ?? {});
  const threads = settings.length ? `; OpenBLAS threads ${settings.map(([, n]) => n ?? '?').join('/')} at torch ${settings.map(([t]) => t).join('/')}` : '';
  const unset = Object.entries(p.openblas_env_unset ?? {}).map(([k, v]) => `${k}=${v}`);
  return `PyTorch ${p.torch} on ${p.blas.kind} BLAS (core ${p.blas.core ?? 'not reported'}${threads}), ${p.cpu}` + (unset.length ? `; unset for the peer: ${unset.join(', ')}` : '');
}

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
