/**
 * f16 / bf16 weight bytes widened to fp32 by WebAssembly SIMD of our own (./rows.wat widen_f16 / widen_bf16),
 * written straight into the tensor's memory on tfjs-wasm: the same bits as io/safetensors.ts decodeFloatInto
 * (a 65536-entry table for f16, a shift for bf16) for every class — spec/accel/widen.spec.ts checks all
 * 2^16 patterns of each. Why: a streamed or on-disk layer is widened on every use (each prefill, each vision
 * encode), 13.5 GB of f16 for one Vicuna-7B prefill; the table loop and the copy into the wasm heap that
 * tf.tensor makes took ≈ 0.8 s per layer and worker there (bench/widen.ts measures both ways).
 *
 * Installed with the kernels (./kernels.ts, KernelChoice.widen), so every worker thread repeats the choice;
 * io/stored.ts and the decoder workers reach it through io/stored.ts's seam (setStoredWidening). Where
 * WebAssembly SIMD is missing the choice is 'reference'.
 */
import { REFERENCE_WIDENING, type StoredWidening } from '../io/stored';
import { instantiateRowsModule } from './rows';
import type { WasmMemory } from './wasm_module';
import { newHostFilledTensor } from './host_tensor';

/** 'reference': io/safetensors.ts decodeFloatInto and tf.tensor; 'wasm-simd': this file. */
export const WIDEN_KERNELS = ['reference', 'wasm-simd'] as const;
export type WidenKernel = (typeof WIDEN_KERNELS)[number];

/** Elements per kernel call: 64 KiB of f16 in, 128 KiB of fp32 out, both in a core's L2 cache. */
export const WIDEN_CHUNK = 32 * 1024;

type Widen = (src: number, dst: number, n: number) => void;
interface WasmWiden { readonly memory: WasmMemory; readonly f16: Widen; readonly bf16: Widen }

let wasm: WasmWiden | null | undefined; // undefined: not tried; null: no WebAssembly SIMD here

/** An instance of its own (its memory is not the one accel/rows.ts lays its products out in). */
function wasmWiden(): WasmWiden | null {
  if (wasm !== undefined) return wasm;
  const exports = instantiateRowsModule();
  if (!exports) return (wasm = null);
  const e = exports as unknown as { memory: WasmMemory; widen_f16: Widen; widen_bf16: Widen };
  const need = 6 * WIDEN_CHUNK;                                   // 2 bytes in + 4 bytes out per element
  if (e.memory.buffer.byteLength < need) e.memory.grow(Math.ceil((need - e.memory.buffer.byteLength) / 65536));
  return (wasm = { memory: e.memory, f16: e.widen_f16, bf16: e.widen_bf16 });
}

/** The widening this machine can run: 'wasm-simd' where WebAssembly SIMD validates, else 'reference'. */
export function widenKernel(): WidenKernel {
  return wasmWiden() ? 'wasm-simd' : 'reference';
}

/**
 * decodeFloatInto's contract (little-endian F32 / F16 / BF16 bytes → fp32 values into `out` from `at` on), the
 * 16-bit dtypes through the SIMD kernel, WIDEN_CHUNK elements at a time: copy in, widen, copy out.
 */
export function widenInto(b: Uint8Array, dtype: 'F32' | 'F16' | 'BF16', out: Float32Array, at: number): void {
  const k = wasmWiden();
  if (dtype === 'F32' || !k) return REFERENCE_WIDENING.widenInto(b, dtype, out, at);
  const n = b.length >> 1;
  if (at < 0 || at + n > out.length) throw new Error(`widenInto: ${n} values at ${at} do not fit ${out.length}`);
  const run = dtype === 'F16' ? k.f16 : k.bf16;
  const src = 0, dst = 2 * WIDEN_CHUNK;
  const mem = new Uint8Array(k.memory.buffer);
  const res = new Float32Array(k.memory.buffer, dst, WIDEN_CHUNK);
  for (let i = 0; i < n; i += WIDEN_CHUNK) {
    const m = Math.min(WIDEN_CHUNK, n - i);
    mem.set(b.subarray(2 * i, 2 * (i + m)), src);
    run(src, dst, m);
    out.set(m === WIDEN_CHUNK ? res : res.subarray(0, m), at + i);
  }
}

/** The SIMD widening as io/stored.ts's seam takes it. */
export const SIMD_WIDENING: StoredWidening = { kind: 'wasm-simd', widenInto, newTensor: newHostFilledTensor };

/** The widening for a choice (the reference where WebAssembly SIMD is missing). */
export function widening(kind: WidenKernel): StoredWidening {
  return kind === 'wasm-simd' && wasmWiden() ? SIMD_WIDENING : REFERENCE_WIDENING;
}
