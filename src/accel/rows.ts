/**
 * One-row products straight from the stored weight bytes: y = x Wᵀ (+ b) for x of a few rows (a decode
 * step: one), W an [out, in] weight as the safetensors file stores it (F16, BF16 or F32), without making an
 * fp32 copy of W. Each element is widened exactly (the f16/bf16 → fp32 of io/safetensors.ts decodeFloat) in
 * registers and multiplied at once, accumulated in fp32; only the order of the additions differs from the
 * reference (widen, then nn/linear.ts linear), hence the same-math tolerance (spec/accel/rows.spec.ts).
 *
 * The kernel is WebAssembly SIMD of our own (./rows.wat, assembled by scripts/build-wasm.ts into
 * ./rows_wasm.ts). A wasm32 memory is separate from the weights' host buffers and at most 4 GiB, so the
 * weight bytes are streamed into it in chunks of CHUNK_BYTES (a TypedArray.set, a memcpy, or a positioned
 * file read for weights on disk) and consumed while they are in cache: the weights cross DRAM about once.
 * f16 goes through dot_f16_scaled, which keeps the 2^112 rescaling of the widening out of the loop by
 * multiplying x by 2^112 once (exact), and falls back to the plain widening where a weight is inf/NaN or x is
 * too large for that (bench/README.md "One-row products": why, and what it gains). Where WebAssembly SIMD is missing, a plain-JS kernel over the same chunks does the same math (slower),
 * and `rowsKernel()` says which runs.
 *
 * Model code reaches it through nn/kernels.ts linear: `storedWeight` makes a stand-in for the weight tensor
 * (`storedLinear`: LinearParams with one), and `installStoredRows` wraps the installed linear so that such params go to
 * `storedRowsLinear` (the decoder workers do, for their slices of streamed layers on decode steps).
 */
import * as tf from '@tensorflow/tfjs-core';
import { activeKernels, setKernels } from '../nn/kernels';
import type { LinearParams } from '../nn/linear';
import { f16Table } from '../io/safetensors';
import type { ByteReader } from '../io/stored';
import { ROWS_WASM_BASE64 } from './rows_wasm';
import { align16, compileWasm, instantiateWasm, type WasmMemory } from './wasm_module';

/** The stored dtypes the kernel reads. */
export type RowsDType = 'F16' | 'BF16' | 'F32';

/** 'wasm-simd': ./rows.wat; 'js': the same loop in plain JS (where WebAssembly SIMD is missing). */
export type RowsKernel = 'wasm-simd' | 'js';

/** Writes the stored bytes of rows [r0, r1) of a matrix, only its `cols` columns, back to back into `into`. */
export type RowFill = (r0: number, r1: number, into: Uint8Array) => void;

/** An [rows, cols] weight as stored bytes, read through `fill` (a slice of a tensor, a file region, …). */
export interface StoredMatrix {
  readonly dtype: RowsDType;
  readonly rows: number;
  readonly cols: number;
  readonly fill: RowFill;
}

/**
 * Weight bytes per kernel call: a quarter of a MiB stays in a core's L2 cache (512 KiB on the EPYC and Xeon
 * machines measured in bench/README.md) next to x; bench/rows.ts measures others.
 */
export const CHUNK_BYTES = 256 * 1024;

const ELEM_BYTES: Readonly<Record<RowsDType, number>> = { F16: 2, BF16: 2, F32: 4 };

// ---------------------------------------------------------------------------------------------------------
// The kernels

interface WasmRows {
  readonly memory: WasmMemory;
  readonly dot: Readonly<Record<RowsDType, (w: number, x: number, y: number, rows: number, n: number) => void>>;
  /** dot_f16 with x pre-scaled by 2^112 (rows.wat): 0 when done, 1 when an inf/NaN weight needs dot_f16 */
  readonly dotF16Scaled: (w: number, xs: number, y: number, rows: number, n: number) => number;
}

let rowsModule: object | null | undefined; // undefined: not tried yet; null: no WebAssembly SIMD here

/**
 * A new instance of ./rows.wat's module, with a memory of its own (the one-row products here, the widening in
 * ./widen.ts), or null where WebAssembly SIMD is missing. The module is compiled once.
 */
export function instantiateRowsModule(): Record<string, unknown> | null {
  if (rowsModule === undefined) rowsModule = compileWasm(ROWS_WASM_BASE64);
  return rowsModule && instantiateWasm(rowsModule);
}

let wasm: WasmRows | null | undefined; // undefined: not tried yet; null: no WebAssembly SIMD here

function wasmRows(): WasmRows | null {
  if (wasm !== undefined) return wasm;
  const exports = instantiateRowsModule();
  if (!exports) return (wasm = null);
  const e = exports as unknown as { memory: WasmMemory; dot_f16: WasmRows['dot']['F16']; dot_bf16: WasmRows['dot']['F16']; dot_f32: WasmRows['dot']['F16']; dot_f16_scaled: WasmRows['dotF16Scaled'] };
  return (wasm = { memory: e.memory, dot: { F16: e.dot_f16, BF16: e.dot_bf16, F32: e.dot_f32 }, dotF16Scaled: e.dot_f16_scaled });
}

/** 2^112: an f16's bits shifted into an fp32 (rows.wat) are its value times 2^-112. */
const F16_SCALE = 2 ** 112;

/** Writes x · 2^112 into `into`; true when every value is finite (each is then exact), false otherwise (x too large, or not finite). */
export function scaleForF16(x: Float32Array, into: Float32Array): boolean {
  let ok = true;
  for (let i = 0; i < x.length; i++) {
    into[i] = x[i] * F16_SCALE; // exact in fp32, or ±inf from |x| ≥ 2^16 on (2^128 overflows)
    if (!Number.isFinite(into[i])) ok = false;
  }
  return ok;
}

/** The kernel that runs here: WebAssembly SIMD when this JS engine has it, else plain JS. */
export function rowsKernel(): RowsKernel {
  return wasmRows() ? 'wasm-simd' : 'js';
}


/**
 * y = x Wᵀ for x [m, cols] (row-major) and the stored W [rows, cols]: y [m, rows], fp32 accumulation. W is
 * read once, CHUNK_BYTES at a time, and every row of x consumes each chunk before the next is read.
 * `f16Scaled` false: F16 always through dot_f16 (the spec compares the two loops; bench/rows.ts times them).
 */
export function rowProduct(w: StoredMatrix, x: Float32Array, m: number, kernel: RowsKernel = rowsKernel(), chunkBytes = CHUNK_BYTES, f16Scaled = true): Float32Array {
  const { rows, cols, dtype } = w;
  if (x.length !== m * cols) throw new Error(`rowProduct: x has ${x.length} values, expected ${m}×${cols}`);
  const rowBytes = cols * ELEM_BYTES[dtype];
  const chunkRows = Math.max(1, Math.min(rows, Math.floor(chunkBytes / Math.max(1, rowBytes))));
  const y = new Float32Array(m * rows);
  if (rows === 0 || m === 0) return y;
  if (kernel === 'wasm-simd') {
    const k = wasmRows();
    if (!k) throw new Error('rowProduct: WebAssembly SIMD is not available in this JS engine (use the js kernel)');
    // Layout: x at 0, x · 2^112 after it (F16's faster loop), y after that, the weight chunk after y (16-byte aligned).
    const xAt = 0, xsAt = align16(4 * x.length), yAt = align16(xsAt + 4 * x.length), wAt = align16(yAt + 4 * y.length);
    const need = wAt + chunkRows * rowBytes;
    if (need > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
    const mem = k.memory.buffer;
    new Float32Array(mem, xAt, x.length).set(x);
    // F16: dot_f16_scaled when x · 2^112 is finite (exact then: a power-of-two scaling); it says when a chunk
    // holds an inf/NaN weight, and that chunk is recomputed by dot_f16 (same sums, bit for bit, either way).
    const scaled = f16Scaled && dtype === 'F16' && scaleForF16(x, new Float32Array(mem, xsAt, x.length));
    const chunk = new Uint8Array(mem, wAt, chunkRows * rowBytes);
    const dot = k.dot[dtype];
    for (let r0 = 0; r0 < rows; r0 += chunkRows) {
      const r1 = Math.min(rows, r0 + chunkRows);
      w.fill(r0, r1, chunk.subarray(0, (r1 - r0) * rowBytes));
      for (let j = 0; j < m; j++) {
        const yj = yAt + 4 * (j * rows + r0);
        if (scaled && k.dotF16Scaled(wAt, xsAt + 4 * j * cols, yj, r1 - r0, cols) === 0) continue;
        dot(wAt, xAt + 4 * j * cols, yj, r1 - r0, cols);
      }
    }
    y.set(new Float32Array(mem, yAt, y.length));
    return y;
  }
  // Plain JS: the same chunks, each element widened through io/safetensors.ts's f16 table (or the bf16 shift).
  const buf = new ArrayBuffer(align16(chunkRows * rowBytes));
  const chunk = new Uint8Array(buf), h = new Uint16Array(buf), f = new Float32Array(buf);
  const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
  for (let r0 = 0; r0 < rows; r0 += chunkRows) {
    const r1 = Math.min(rows, r0 + chunkRows);
    w.fill(r0, r1, chunk.subarray(0, (r1 - r0) * rowBytes));
    for (let j = 0; j < m; j++) {
      const xo = j * cols;
      for (let r = r0; r < r1; r++) {
        const o = (r - r0) * cols;
        let s = 0;
        if (dtype === 'F16') for (let i = 0; i < cols; i++) s = Math.fround(s + Math.fround(f16Table[h[o + i]] * x[xo + i]));
        else if (dtype === 'BF16') for (let i = 0; i < cols; i++) { bits[0] = h[o + i] << 16; s = Math.fround(s + Math.fround(asFloat[0] * x[xo + i])); }
        else for (let i = 0; i < cols; i++) s = Math.fround(s + Math.fround(f[o + i] * x[xo + i]));
        y[j * rows + r] = s;
      }
    }
  }
  return y;
}

/**
 * A stored matrix over a tensor's bytes (in memory, or read through io/stored.ts byteReader: a file region):
 * rows [r0, r1) and columns [c0, c1) of an [out, in] tensor (a decoder worker's shard, accel/decoder_pool.ts),
 * one copy or positioned read per chunk (rows), or per row (columns).
 */
export function storedMatrix(src: Uint8Array | ByteReader, dtype: RowsDType, shape: readonly number[], r: [number, number] = [0, shape[0]], c: [number, number] = [0, shape[1]]): StoredMatrix {
  if (!(dtype in ELEM_BYTES)) throw new Error(`storedMatrix: ${dtype} weights are not read by the one-row kernel (F16, BF16, F32)`);
  const eb = ELEM_BYTES[dtype], inner = shape[1] * eb, cols = c[1] - c[0];
  const whole = c[0] === 0 && c[1] === shape[1];
  const read: ByteReader = src instanceof Uint8Array ? (from, to, into, at) => into.set(src.subarray(from, to), at) : src;
  return {
    dtype, rows: r[1] - r[0], cols,
    fill: (r0, r1, into) => {
      if (whole) { read((r[0] + r0) * inner, (r[0] + r1) * inner, into, 0); return; }
      for (let i = r0; i < r1; i++) {
        const at = (r[0] + i) * inner + c[0] * eb;
        read(at, at + cols * eb, into, (i - r0) * cols * eb);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Behind nn/kernels.ts linear

const STORED = new WeakMap<object, StoredMatrix>();

/**
 * A stand-in for an [out, in] weight tensor that is the stored matrix `w` (no tensor is made): in LinearParams
 * it sends nn/kernels.ts linear to storedRowsLinear once installStoredRows is installed. It has no enumerable
 * fields (core/weights.ts leafTensors passes over it); anything else that reads its shape gets an error naming
 * the cause.
 */
export function storedWeight(w: StoredMatrix): tf.Tensor2D {
  const marker = Object.defineProperty({}, 'shape', {
    enumerable: false,
    get: () => { throw new Error('a stored-bytes weight reached a product other than accel/rows.ts (installStoredRows not installed?)'); },
  });
  STORED.set(marker, w);
  return marker as tf.Tensor2D;
}

/** LinearParams for a stored weight (storedWeight) and an ordinary bias tensor. */
export function storedLinear(w: StoredMatrix, bias?: tf.Tensor1D): LinearParams {
  return bias ? { weight: storedWeight(w), bias } : { weight: storedWeight(w) };
}

/** The stored matrix behind LinearParams made by storedLinear, if it is one. */
export function storedMatrixOf(p: LinearParams): StoredMatrix | undefined {
  return STORED.get(p.weight as object);
}

/** nn/linear.ts linear for a stored weight: y = x Wᵀ + b, x [..., in] → [..., out]; the bias added as the reference adds it. */
export function storedRowsLinear<T extends tf.Tensor>(p: LinearParams, x: T): T {
  const w = storedMatrixOf(p);
  if (!w) throw new Error('storedRowsLinear: the weight is not stored bytes (storedLinear)');
  const inF = x.shape[x.shape.length - 1];
  if (inF !== w.cols) throw new Error(`storedRowsLinear: x has ${inF} features, the weight ${w.cols} columns`);
  const m = x.size / inF;
  const y = tf.tensor2d(rowProduct(w, x.dataSync() as Float32Array, m), [m, w.rows]); // [rows, out]
  const yb = p.bias ? tf.add(y, p.bias) : y;
  return tf.reshape(yb, [...x.shape.slice(0, -1), w.rows]) as T; // [..., out]
}

/** Wraps the installed linear (nn/kernels.ts) so that stored-bytes params (storedLinear) go to storedRowsLinear. */
export function installStoredRows(): void {
  const k = activeKernels();
  if ((k.linear as { storedRows?: true }).storedRows) return;
  const inner = k.linear;
  const linear = Object.assign(<T extends tf.Tensor>(p: LinearParams, x: T): T => (STORED.has(p.weight as object) ? storedRowsLinear(p, x) : inner(p, x)), { storedRows: true as const });
  setKernels({ attend: k.attend, linear });
}
