/**
 * A matrix product of our own in WebAssembly SIMD (./gemm.wat) for nn/linear.ts `linear` (y = x Wᵀ + b) and
 * nn/attention.ts `attend`'s two products, where no BLAS is found. Same math (spec/accel/gemm.spec.ts, within
 * TOL.sameMath).                                                                   @eq NN-linear @eq Attn-1
 *
 * Why it exists: tfjs-wasm hands a product to XNNPACK, whose WebAssembly build reaches ≈ 14–17 GFLOP/s per
 * core here, and only after copying Wᵀ (accel/linear.ts); a packed GEMM of our own reaches more on the same
 * instructions (bench/README.md, "An own WebAssembly product"). The GotoBLAS layout: W is copied, a block of
 * GEMM_BLOCK_COLS of its rows at a time, into this module's own memory and packed into panels of 8 rows,
 * k-major; x is copied once (padded to a multiple of 4 rows); a 4 × 8 micro-kernel accumulates each tile of
 * the block's output over depth blocks of 256, and the block's columns are copied into the output tensor,
 * which the bias (or zeros) initialised. Operands are read in place from the backend (accel/host_tensor.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { linear as linearReference, type LinearParams } from '../nn/linear';
import { linearTransposePolicy, TRANSPOSE_MIN_ROWS } from './linear';
import type { AttendOptions } from '../nn/attention';
import { attendPerHead, PER_HEAD_MIN_QUERIES } from './attention';
import { attendOnHost, type HostAttentionProducts } from './attention_host';
import { hostView, newHostFilledTensor } from './host_tensor';
import { GEMM_WASM_BASE64 } from './gemm_wasm';
import { GEMM_FMA_WASM_BASE64 } from './gemm_fma_wasm';
import { align16, compileWasm, instantiateWasm, type WasmMemory } from './wasm_module';

/** Output columns (rows of W) packed and multiplied per block: the block's packed depth slab (256 × 256 × 4 B) stays in L2. */
export const GEMM_BLOCK_COLS = 256;
/** Rows of x multiplied per pass over W (so the module's memory stays bounded; W is packed again per pass). */
export const GEMM_PASS_BYTES = 256 * 2 ** 20;
/**
 * Rows from which linearGemm runs; fewer go to the transpose policy (./linear.ts), as before this kernel: a
 * decode step's one row would pay for packing all of W, and the decoder workers keep Wᵀ for it.
 */
export const GEMM_MIN_ROWS = TRANSPOSE_MIN_ROWS;

const NAME = 'wasm GEMM kernel';

interface GemmModule {
  readonly memory: WasmMemory;
  /** pack_w(w, rows, k, out): rows of W at byte w into ⌈rows/8⌉ k-major panels of 8 at byte out */
  readonly packW: (w: number, rows: number, k: number, out: number) => void;
  /** gemm(x, m, k, p, panels, c, ldc): C[m × 8·panels] += X[m × k] · panelsᵀ, m a multiple of 4, ldc in bytes */
  readonly gemm: (x: number, m: number, k: number, p: number, panels: number, c: number, ldc: number) => void;
}

/**
 * 'fma': gemm.wat with its multiply-adds fused (relaxed SIMD's f32x4.relaxed_madd, one rounding per step; Node
 * ≥ 22, browsers since 2023, Node 20 with --experimental-wasm-relaxed-simd, which allowRelaxedSimd sets);
 * 'mul+add': as written (WebAssembly SIMD, a rounding after the product and after the sum).
 */
export const GEMM_VARIANTS = ['fma', 'mul+add'] as const;
export type GemmVariant = (typeof GEMM_VARIANTS)[number];

const BYTES: Record<GemmVariant, string> = { fma: GEMM_FMA_WASM_BASE64, 'mul+add': GEMM_WASM_BASE64 };
const instances = new Map<GemmVariant, GemmModule | null>(); // null: this engine cannot compile the variant

/**
 * Node 20's V8 has relaxed SIMD behind --experimental-wasm-relaxed-simd (Node 22 ships it on): set for the
 * process (worker threads included) before the 'fma' variant is first compiled, so that `node` needs no flag.
 * Elsewhere (a browser, where 'v8' is a stub that throws) nothing is set.
 */
function allowRelaxedSimd(): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (typeof process === 'object' && process.versions?.node) (require('v8') as { setFlagsFromString(f: string): void }).setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch { /* not Node: the engine decides */ }
}

function gemmModule(variant: GemmVariant): GemmModule | null {
  if (instances.has(variant)) return instances.get(variant)!;
  let compiled = compileWasm(BYTES[variant]);
  if (!compiled && variant === 'fma') {
    allowRelaxedSimd();
    compiled = compileWasm(BYTES[variant]);
  }
  let m: GemmModule | null = null;
  if (compiled) {
    const e = instantiateWasm(compiled) as unknown as { memory: WasmMemory; pack_w: GemmModule['packW']; gemm: GemmModule['gemm'] };
    m = { memory: e.memory, packW: e.pack_w, gemm: e.gemm };
  }
  instances.set(variant, m);
  return m;
}

/** The variant gemmNT uses by default here: 'fma' where the engine has relaxed SIMD, else 'mul+add', else null (no WebAssembly SIMD). */
export function gemmVariant(): GemmVariant | null {
  return GEMM_VARIANTS.find((v) => gemmModule(v) !== null) ?? null;
}

/** True when this JS engine runs WebAssembly SIMD (the kernel needs it). */
export function gemmAvailable(): boolean { return gemmVariant() !== null; }

/** The blocking gemmNT uses (the spec makes both small, to cross every block edge on small products), and its variant. */
export interface GemmBlocking {
  /** default: gemmVariant() */
  readonly variant?: GemmVariant;
  /** output columns per packed block, a multiple of 8 (default GEMM_BLOCK_COLS) */
  readonly blockCols?: number;
  /** bytes of x and of the block's output per pass over W (default GEMM_PASS_BYTES) */
  readonly passBytes?: number;
}

/**
 * Y[m × n] = Y + X[m × k] · Wᵀ for W [n, k], all row-major fp32 (Y holds the bias or zeros on entry). Each
 * Y[i, j] is its initial value plus the products X[i, t]·W[j, t] added one at a time for t = 0…k−1: with
 * 'mul+add' each product and each sum rounded to fp32, with 'fma' each step rounded once (gemm.wat; the spec
 * checks both bit for bit).
 */
export function gemmNT(m: number, n: number, k: number, X: Float32Array, W: Float32Array, Y: Float32Array, blocking: GemmBlocking = {}): void {
  const variant = blocking.variant ?? gemmVariant();
  const g = variant && gemmModule(variant);
  if (!g) throw new HeroError(`${NAME}: this JS engine cannot run ${variant === 'fma' ? "the 'fma' variant (relaxed SIMD)" : 'WebAssembly SIMD'}`);
  if (X.length < m * k || W.length < n * k || Y.length < m * n) throw new HeroError(`${NAME}: operands smaller than ${m}×${k}, ${n}×${k}, ${m}×${n}`);
  const blockCols = blocking.blockCols ?? GEMM_BLOCK_COLS, passBytes = blocking.passBytes ?? GEMM_PASS_BYTES;
  if (!(Number.isInteger(blockCols) && blockCols >= 8 && blockCols % 8 === 0)) throw new HeroError(`${NAME}: block of ${blockCols} columns is not a positive multiple of 8`);
  if (m === 0 || n === 0 || k === 0) return;
  const nc = Math.min(blockCols, Math.ceil(n / 8) * 8);
  const passRows = Math.max(4, Math.floor(passBytes / (4 * (k + nc)) / 4) * 4);
  for (let r0 = 0; r0 < m; r0 += passRows) {
    const rows = Math.min(passRows, m - r0), mp = Math.ceil(rows / 4) * 4;
    // Layout: x [mp × k] at 0, the block's C [mp × nc], W's staged rows [nc × k], their panels [⌈nc/8⌉·8 × k].
    const xAt = 0, cAt = align16(4 * mp * k), wAt = align16(cAt + 4 * mp * nc), pAt = align16(wAt + 4 * nc * k), end = pAt + 4 * nc * k;
    if (end > g.memory.buffer.byteLength) g.memory.grow(Math.ceil((end - g.memory.buffer.byteLength) / 65536));
    const mem = g.memory.buffer;                                                   // views after the growth
    const xm = new Float32Array(mem, xAt, mp * k), cm = new Float32Array(mem, cAt, mp * nc), wm = new Float32Array(mem, wAt, nc * k);
    xm.set(X.subarray(r0 * k, (r0 + rows) * k));
    xm.fill(0, rows * k);                                                           // padding rows
    for (let c0 = 0; c0 < n; c0 += nc) {
      const cols = Math.min(nc, n - c0);
      wm.set(W.subarray(c0 * k, (c0 + cols) * k));
      g.packW(wAt, cols, k, pAt);
      for (let r = 0; r < rows; r++) cm.set(Y.subarray((r0 + r) * n + c0, (r0 + r) * n + c0 + cols), r * nc);  // C's start: Y's
      g.gemm(xAt, mp, k, pAt, Math.ceil(cols / 8), cAt, 4 * nc);
      for (let r = 0; r < rows; r++) Y.set(cm.subarray(r * nc, r * nc + cols), (r0 + r) * n + c0);
    }
  }
}

/**
 * y = x Wᵀ + b through gemmNT, the bias put in the output first; fewer than GEMM_MIN_ROWS rows go to the
 * transpose policy, empty products to the reference.
 * @param x [..., in]
 * @returns [..., out]
 */
export function linearGemm<T extends tf.Tensor>(p: LinearParams, x: T): T {
  const inF = x.shape[x.shape.length - 1];
  const outF = p.weight.shape[0];
  const rows = inF === 0 ? 0 : x.size / inF;
  if (inF === 0 || outF === 0) return linearReference(p, x);                     // an empty product
  if (rows < GEMM_MIN_ROWS) return linearTransposePolicy(p, x);
  return newHostFilledTensor([...x.shape.slice(0, -1), outF], (Y) => {        // [..., out]
    const X = hostView(x, NAME), W = hostView(p.weight, NAME);
    if (p.bias) {
      const B = hostView(p.bias, NAME);
      for (let r = 0; r < rows; r++) Y.set(B, r * outF);
    } else {
      Y.fill(0);
    }
    gemmNT(rows, outF, inF, X, W, Y);                                              // [rows, in]·[out, in]ᵀ
  }) as T;
}

/** A [rows, cols] row-major array's transpose, into `into` ([cols, rows]). */
function transposeInto(a: Float32Array, rows: number, cols: number, into: Float32Array): Float32Array {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) into[c * rows + r] = a[r * cols + c];
  return into;
}

let vT = new Float32Array(0);                                                      // one pair's Vᵀ, reused

/**
 * Attention's two products per (batch, head) through gemmNT (./attention_host.ts): S = Q·Kᵀ, then each score
 * times scale (one rounding, as a BLAS's alpha); O = P·V as P·(Vᵀ)ᵀ, V transposed on the host first.
 */
const GEMM_ATTENTION: HostAttentionProducts = {
  name: NAME,
  scores(Q, K, S, Tq, Tk, Dh, scale) {
    S.fill(0);
    gemmNT(Tq, Tk, Dh, Q, K, S);
    for (let i = 0; i < Tq * Tk; i++) S[i] *= scale;
  },
  weighted(P, V, O, Tq, Tk, Dh) {
    if (vT.length < Tk * Dh) vT = new Float32Array(Tk * Dh);
    O.fill(0);
    gemmNT(Tq, Dh, Tk, P, transposeInto(V, Tk, Dh, vT), O);
  },
};

/**
 * o = softmax(q kᵀ · scale + mask) v with both products through gemmNT, on blocks of heads, from
 * PER_HEAD_MIN_QUERIES query rows; fewer (a decode step) go to ./attention.ts attendPerHead, as before this kernel.
 * @param q [B, H, Tq, Dh]
 * @param k [B, H, Tk, Dh]
 * @param v [B, H, Tk, Dh]
 * @param opts.mask additive, [Tq, Tk] or [B|1, H|1, Tq, Tk]
 * @returns out [B, H, Tq, Dh]; probs [B, H, Tq, Tk] only with keepProbs
 */
export function attendGemm(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number,
  opts: AttendOptions = {}): { out: tf.Tensor4D; probs?: tf.Tensor4D } {
  if (q.shape[2] < PER_HEAD_MIN_QUERIES) return attendPerHead(q, k, v, scale, opts);
  return attendOnHost(GEMM_ATTENTION, q, k, v, scale, opts);
}
