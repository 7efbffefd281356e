/**
 * Which kernel implementation runs behind nn/kernels.ts, by name: the choice is explicit, made once at
 * start-up (installAccelerations in ./index.ts, or a vision worker repeating its parent's choice), and
 * printed. Every choice computes the reference math.
 */
import { setKernels } from '../nn/kernels';
import { HeroError } from '../core/errors';
import { attendPerHead } from './attention';
import { linearTransposePolicy } from './linear';
import { attendBlas, linearBlas, useBlas } from './blas';
import { attendGemm, gemmAvailable, linearGemm } from './gemm';
import { setStoredWidening } from '../io/stored';
import { widening, WIDEN_KERNELS, type WidenKernel } from './widen';

/** 'batched': nn/attention.ts as written (the reference); 'per-head': ./attention.ts; 'wasm-gemm': ./gemm.ts attendGemm; 'blas': ./blas.ts attendBlas. */
export const ATTENTION_KERNELS = ['batched', 'per-head', 'wasm-gemm', 'blas'] as const;
export type AttentionKernel = (typeof ATTENTION_KERNELS)[number];
/** 'reference': nn/linear.ts as written; 'transpose-policy': ./linear.ts; 'wasm-gemm': ./gemm.ts; 'blas': ./blas.ts linearBlas. */
export const LINEAR_KERNELS = ['reference', 'transpose-policy', 'wasm-gemm', 'blas'] as const;
export type LinearKernel = (typeof LINEAR_KERNELS)[number];

export interface KernelChoice {
  readonly attention: AttentionKernel;
  readonly linear: LinearKernel;
  /** How streamed weights are widened to fp32 on each use (./widen.ts); absent: 'reference'. */
  readonly widen?: WidenKernel;
  /** The BLAS library (its name or path, as findBlas loaded it) and its thread count: needed by a 'blas' kernel. */
  readonly blas?: { readonly library: string; readonly threads: number };
}

/** The reference everywhere: what runs when nothing has been installed. */
export const REFERENCE_CHOICE: KernelChoice = { attention: 'batched', linear: 'reference' };

let installed: KernelChoice = REFERENCE_CHOICE;

/** Puts the chosen kernels behind nn/kernels.ts (process-wide; each worker thread has its own). */
export function installKernels(choice: KernelChoice): void {
  if (!(ATTENTION_KERNELS as readonly string[]).includes(choice.attention)) throw new HeroError(`attention kernel: '${choice.attention}' is not one of ${ATTENTION_KERNELS.join(', ')}`);
  if (!(LINEAR_KERNELS as readonly string[]).includes(choice.linear)) throw new HeroError(`linear kernel: '${choice.linear}' is not one of ${LINEAR_KERNELS.join(', ')}`);
  if (choice.widen !== undefined && !(WIDEN_KERNELS as readonly string[]).includes(choice.widen)) throw new HeroError(`widen kernel: '${choice.widen}' is not one of ${WIDEN_KERNELS.join(', ')}`);
  if (choice.attention === 'blas' || choice.linear === 'blas') {
    if (!choice.blas) throw new HeroError("a 'blas' kernel needs the BLAS library and thread count (KernelChoice.blas)");
    useBlas(choice.blas.library, choice.blas.threads); // loads it in this thread (a worker repeating its parent's choice too)
  }
  if ((choice.linear === 'wasm-gemm' || choice.attention === 'wasm-gemm') && !gemmAvailable()) throw new HeroError("kernel 'wasm-gemm': this JS engine has no WebAssembly SIMD");
  setKernels({
    ...(choice.attention === 'per-head' ? { attend: attendPerHead }
      : choice.attention === 'wasm-gemm' ? { attend: attendGemm }
        : choice.attention === 'blas' ? { attend: attendBlas } : {}),
    ...(choice.linear === 'transpose-policy' ? { linear: linearTransposePolicy }
      : choice.linear === 'wasm-gemm' ? { linear: linearGemm }
        : choice.linear === 'blas' ? { linear: linearBlas } : {}),
  });
  setStoredWidening(widening(choice.widen ?? 'reference')); // io/stored.ts: streamed groups, the decoder workers' slices
  installed = { ...choice };
}

/** The choice installed now. */
export function installedKernels(): KernelChoice { return installed; }
