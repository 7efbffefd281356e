/**
 * The system's BLAS for the large products: nn/linear.ts `linear` (y = x Wᵀ + b) and nn/attention.ts
 * `attend`'s two batched products (q kᵀ and probs·v) as `cblas_sgemm` calls on the tensors' host memory.
 * Same math (spec/accel/blas.spec.ts, within TOL.sameMath).                          @eq NN-linear @eq Attn-1
 *
 * Why it exists: tfjs-wasm's XNNPACK reaches ≈ 18 GFLOP/s per core (4-wide SIMD, no FMA) and is
 * single-threaded; OpenBLAS reaches ≈ 89 GFLOP/s on one core of the same machine and uses every core
 * (bench/README.md, "The BLAS kernel"). The library is called through `koffi` (an npm FFI whose native
 * binaries ship inside the package; an optional dependency), found at start-up (findBlas), and chosen
 * explicitly (src/accel/index.ts, `--accel` / $HERO_LVLM_ACCEL); where none is found the tfjs kernels run
 * and the CLI says why, in one line.
 *
 * Host memory, no copies of the weights: on wasm the operands are views of the tfjs-wasm heap
 * (`typedArrayFromHeap`, the backend's own accessor) and the result is written straight into a freshly
 * allocated heap tensor; on cpu they are the backend's own arrays (`dataSync` returns them). So nothing is
 * cached per weight and nothing is re-read per call. Every view is taken after the last allocation of the
 * call (a heap growth detaches earlier views) and used synchronously.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { linear as linearReference, type LinearParams } from '../nn/linear';
import type { AttendOptions } from '../nn/attention';
import { attendOnHost, type HostAttentionProducts } from './attention_host';
import { hostView, newHostFilledTensor } from './host_tensor';

/** $HERO_LVLM_BLAS: a library name or path tried instead of DEFAULT_BLAS_LIBRARIES. */
export const BLAS_ENV = 'HERO_LVLM_BLAS';
/**
 * The libraries tried, in order: Debian/Ubuntu's OpenBLAS (libopenblas0-pthread), Intel's MKL single
 * dynamic library, BLIS (libblis4-*), and the unversioned names other systems install.
 */
export const DEFAULT_BLAS_LIBRARIES = ['libopenblas.so.0', 'libopenblas.so', 'libmkl_rt.so.2', 'libmkl_rt.so', 'libblis.so.4', 'libblis.so', 'libopenblas.dylib'] as const;

type Sgemm = (order: number, transA: number, transB: number, m: number, n: number, k: number, alpha: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number) => void;
type Sgemv = (order: number, trans: number, m: number, n: number, alpha: number, a: Float32Array, lda: number,
  x: Float32Array, incx: number, beta: number, y: Float32Array, incy: number) => void;

/** How the kernel names itself in errors. */
const BLAS_NAME = 'BLAS kernel';

/** CBLAS constants (cblas.h). */
const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

/** A loaded BLAS: what it is, and its sgemm. */
export interface Blas {
  readonly kind: 'openblas' | 'mkl' | 'blis';
  /** the name or path it was loaded by */
  readonly library: string;
  /** the kernel the library runs (openblas_get_corename, BLIS's architecture; MKL does not say) */
  readonly core: string;
  /** the threads it uses now */
  threads(): number;
  setThreads(n: number): void;
  readonly sgemm: Sgemm;
  readonly sgemv: Sgemv;
}

/** The BLAS's description for the start-up line: `openblas (libopenblas.so.0, core Zen, 2 threads)`. */
export function describeBlas(b: Blas, n = b.threads()): string {
  return `${b.kind} (${b.library}, core ${b.core}, ${n} thread${n === 1 ? '' : 's'})`;
}

interface Koffi {
  load(path: string): { func(decl: string): (...a: unknown[]) => unknown };
}

/** koffi, or why it cannot be loaded (it is an optional dependency). */
function requireKoffi(): Koffi | string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('koffi') as Koffi;
  } catch (e) {
    return `the FFI package 'koffi' cannot be loaded (${(e as Error).message.split('\n')[0]}; npm install koffi)`;
  }
}

/** Opens one library: its kind from the symbols it exports, its sgemm, threads and core; or why not. */
function openBlas(koffi: Koffi, library: string): Blas | string {
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = koffi.load(library);
  } catch (e) {
    return `${library}: ${(e as Error).message.split('\n')[0]}`;
  }
  const fn = (decl: string): ((...a: unknown[]) => unknown) | undefined => { try { return lib.func(decl); } catch { return undefined; } };
  const sgemm = fn('void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int)');
  const sgemv = fn('void cblas_sgemv(int, int, int, int, float, const float *, int, const float *, int, float, float *, int)');
  if (!sgemm || !sgemv) return `${library}: no cblas_sgemm / cblas_sgemv`;
  const products = { sgemm: sgemm as Sgemm, sgemv: sgemv as Sgemv };
  const openblasCore = fn('const char *openblas_get_corename()');
  if (openblasCore) {
    const set = fn('void openblas_set_num_threads(int)')!, get = fn('int openblas_get_num_threads()')!;
    return { kind: 'openblas', library, core: String(openblasCore()), threads: () => get() as number, setThreads: (n) => { set(n); }, ...products };
  }
  const mklGet = fn('int MKL_Get_Max_Threads()');
  if (mklGet) {
    const set = fn('void MKL_Set_Num_Threads(int)')!;
    return { kind: 'mkl', library, core: 'MKL (cpu dispatch)', threads: () => mklGet() as number, setThreads: (n) => { set(n); }, ...products };
  }
  const bliArch = fn('int bli_arch_query_id()');
  if (bliArch) {
    const name = fn('const char *bli_arch_string(int)'), set = fn('void bli_thread_set_num_threads(int64_t)'), get = fn('int64_t bli_thread_get_num_threads()');
    return {
      kind: 'blis', library, core: name ? String(name(bliArch())) : 'unknown', threads: () => Number(get?.() ?? 1),
      setThreads: (n) => { set?.(n); }, ...products,
    };
  }
  return `${library}: exports cblas_sgemm but is not OpenBLAS, MKL or BLIS`;
}

/**
 * Checks sgemm on a small product with odd sizes against a plain loop (a library built with 64-bit
 * integers, or a broken one, fails here instead of in the model); undefined when it agrees.
 */
function selfTest(b: Blas): string | undefined {
  const M = 3, N = 5, K = 7;
  const A = Float32Array.from({ length: M * K }, (_, i) => ((i * 7) % 11) - 5);
  const B = Float32Array.from({ length: N * K }, (_, i) => ((i * 5) % 13) - 6);
  const C = new Float32Array(M * N);
  b.sgemm(ROW_MAJOR, NO_TRANS, TRANS, M, N, K, 1, A, K, B, K, 0, C, N);
  const v = new Float32Array(N);
  b.sgemv(ROW_MAJOR, NO_TRANS, N, K, 1, B, K, A.subarray(K), 1, 0, v, 1);      // row 1 of A times Bᵀ
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += A[i * K + k] * B[j * K + k];
    if (C[i * N + j] !== s) return `${b.library}: cblas_sgemm gave ${C[i * N + j]} instead of ${s} on a 3×5×7 self-test`;
    if (i === 1 && v[j] !== s) return `${b.library}: cblas_sgemv gave ${v[j]} instead of ${s} on a 5×7 self-test`;
  }
  return undefined;
}

/** The libraries findBlas tries: $HERO_LVLM_BLAS alone when set, else DEFAULT_BLAS_LIBRARIES. */
export function blasCandidates(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const named = env[BLAS_ENV]?.trim();
  return named ? [named] : DEFAULT_BLAS_LIBRARIES;
}

/**
 * The first of `libraries` that loads, has cblas_sgemm and passes the self-test, or one line saying why
 * none did (each library's reason). Loading is cached per library within a thread.
 */
export function findBlas(libraries: readonly string[] = blasCandidates()): Blas | string {
  const koffi = requireKoffi();
  if (typeof koffi === 'string') return koffi;
  const why: string[] = [];
  for (const library of libraries) {
    const b = opened.get(library) ?? openBlas(koffi, library);
    if (typeof b === 'string') { why.push(b); continue; }
    const bad = opened.has(library) ? undefined : selfTest(b);
    if (bad) { why.push(bad); continue; }
    opened.set(library, b);
    return b;
  }
  return `none of ${libraries.join(', ')} could be used (${why.join('; ')})`;
}
const opened = new Map<string, Blas>();

/** The BLAS threads for this machine: one per core, shared among the worker threads that call it at once. */
export function blasThreadsFor(concurrentCallers: number, cores = os.availableParallelism?.() ?? os.cpus().length): number {
  return Math.max(1, Math.floor(cores / Math.max(1, concurrentCallers)));
}

let active: Blas | undefined;

/**
 * Makes `library` the BLAS the kernels below call, with `threads` threads (the library's setting is
 * process-wide: every worker thread that installs the same choice sets the same number). Throws a
 * HeroError when it cannot be loaded (installKernels in ./kernels.ts calls this).
 */
export function useBlas(library: string, threads: number): Blas {
  const b = findBlas([library]);
  if (typeof b === 'string') throw new HeroError(`BLAS kernel: ${b}`);
  if (b.threads() !== threads) b.setThreads(threads);
  active = b;
  return b;
}

function blas(): Blas {
  if (!active) throw new HeroError('BLAS kernel: no BLAS library installed (useBlas)');
  return active;
}

/**
 * Rows up to which linearBlas multiplies row by row with cblas_sgemv: OpenBLAS 0.3.21's sgemm packs all of W
 * even for one row (481 ms for one row at 4096 × 11008 against 93 ms with sgemv, one thread); the two
 * cross at 4 rows (bench/README.md, "The BLAS kernel"). A decode step has one row.
 */
export const GEMV_MAX_ROWS = 3;

/**
 * y = x Wᵀ + b as one cblas_sgemm (W read in its stored [out, in] layout, transposed by the BLAS itself), or
 * up to GEMV_MAX_ROWS rows as one cblas_sgemv each (W·xᵣ); the bias is put in the output first and added by
 * the product (beta = 1).
 * @param x [..., in]
 * @returns [..., out]
 */
export function linearBlas<T extends tf.Tensor>(p: LinearParams, x: T): T {
  const inF = x.shape[x.shape.length - 1];
  const outF = p.weight.shape[0];
  const rows = inF === 0 ? 0 : x.size / inF;
  if (rows === 0 || inF === 0 || outF === 0) return linearReference(p, x); // an empty product: nothing for the BLAS (it wants lda ≥ 1)
  const g = blas();
  return newHostFilledTensor([...x.shape.slice(0, -1), outF], (Y) => {    // [..., out]
    const X = hostView(x, BLAS_NAME), W = hostView(p.weight, BLAS_NAME);
    if (p.bias) {
      const B = hostView(p.bias, BLAS_NAME);
      for (let r = 0; r < rows; r++) Y.set(B, r * outF);
    }
    const beta = p.bias ? 1 : 0;
    if (rows > GEMV_MAX_ROWS) g.sgemm(ROW_MAJOR, NO_TRANS, TRANS, rows, outF, inF, 1, X, inF, W, inF, beta, Y, outF); // [rows, in]·[out, in]ᵀ
    else for (let r = 0; r < rows; r++) g.sgemv(ROW_MAJOR, NO_TRANS, outF, inF, 1, W, inF, X.subarray(r * inF), 1, beta, Y.subarray(r * outF), 1); // [out, in]·[in]
  }) as T;
}

/** Attention's two products per (batch, head) as cblas_sgemm calls (./attention_host.ts). The scale is the first
 * product's alpha: (q·k)·scale, which the reference writes as (q·scale)·k or (q·k)/(1/scale) — the same value up
 * to the last bit. */
const BLAS_ATTENTION: HostAttentionProducts = {
  name: BLAS_NAME,
  scores(Q, K, S, Tq, Tk, Dh, scale) { blas().sgemm(ROW_MAJOR, NO_TRANS, TRANS, Tq, Tk, Dh, scale, Q, Dh, K, Dh, 0, S, Tk); },
  weighted(P, V, O, Tq, Tk, Dh) { blas().sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, Tq, Dh, Tk, 1, P, Tk, V, Dh, 0, O, Dh); },
};

/**
 * o = softmax(q kᵀ · scale + mask) v with both products as one cblas_sgemm per (batch, head), on blocks of
 * heads; the mask and softmax in tfjs as in the reference (./attention_host.ts attendOnHost).
 * @param q [B, H, Tq, Dh]
 * @param k [B, H, Tk, Dh]
 * @param v [B, H, Tk, Dh]
 * @param opts.mask additive, [Tq, Tk] or [B|1, H|1, Tq, Tk]
 * @returns out [B, H, Tq, Dh]; probs [B, H, Tq, Tk] only with keepProbs
 */
export function attendBlas(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number,
  opts: AttendOptions = {}): { out: tf.Tensor4D; probs?: tf.Tensor4D } {
  return attendOnHost(BLAS_ATTENTION, q, k, v, scale, opts);
}
