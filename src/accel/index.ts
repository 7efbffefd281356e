/**
 * The accelerations, in one place. The reference math lives in src/nn/ and the model folders; what is
 * here computes the same math faster on some backend, behind the same signatures:
 *   - attention head by head (./attention.ts), for tfjs-wasm's BatchMatMul;
 *   - the linear layout policy (./linear.ts), for tfjs-wasm's transposeB;
 *   - a matrix product of our own in WebAssembly SIMD for the linear layers and attention's products (./gemm.ts),
 *     where no BLAS is used;
 *   - the vision tower over worker threads (./vision_pool.ts), one tfjs instance per core;
 *   - the decoder's layers over worker threads by heads and MLP columns (./decoder_pool.ts);
 *   - the system's BLAS for the linear layers and attention's products (./blas.ts), on wasm and cpu;
 *   - streamed weights widened by WebAssembly SIMD straight into the backend's memory (./widen.ts);
 *   - the webgpu backend's start-up checks (./webgpu.ts) and the split of weights over its binding (./binding_split.ts).
 * `installAccelerations` chooses them explicitly at start-up, installs the kernels behind nn/kernels.ts,
 * and returns the choice with the one line the CLI prints. Nothing is installed unless it is called
 * (the specs' golden runs use the reference; spec/accel/ checks each acceleration against it).
 * docs/architecture.md shows where they plug in.
 */
import { HeroError } from '../core/errors';
import type { ClipVisionConfig } from '../clip/config';
import type { ClipVisionParams } from '../clip/vision';
import { installKernels, ATTENTION_KERNELS, LINEAR_KERNELS, type AttentionKernel, type KernelChoice, type LinearKernel } from './kernels';
import { VisionPool, type VisionPoolOptions } from './vision_pool';
import { HostKvCache } from './kv_host';
import type { KvCache } from '../llama/kv_cache';
import type { WeightResidency } from '../io/loader';
import type { LlamaConfig } from '../llama/config';
import type { LlamaParams } from '../llama/decoder';
import { DecoderPool } from './decoder_pool';
import { BLAS_ENV, blasCandidates, blasThreadsFor, describeBlas, findBlas, type Blas } from './blas';
import { widenKernel, WIDEN_KERNELS, type WidenKernel } from './widen';
import { gemmAvailable, gemmVariant } from './gemm';

export { installKernels, installedKernels, REFERENCE_CHOICE, type KernelChoice, type AttentionKernel, type LinearKernel } from './kernels';
export { LazyVisionPool, VisionPool, type VisionPoolOptions } from './vision_pool';
export { HostKvCache } from './kv_host';
export { checkSplit, DecoderPool, PoolKvCache } from './decoder_pool';
export { BLAS_ENV, DEFAULT_BLAS_LIBRARIES, describeBlas, findBlas, type Blas } from './blas';

/**
 * Where the large products run (`--accel`, $HERO_LVLM_ACCEL): 'blas' = the system's BLAS (./blas.ts; an
 * error when none is found), 'wasm' = the WebAssembly kernels (our product ./gemm.ts on wasm and cpu, tfjs's
 * for the rest), 'auto' = the BLAS on wasm and cpu when one is found, else 'wasm' with a line saying why.
 */
export const ACCEL_MODES = ['auto', 'blas', 'wasm'] as const;
export type AccelMode = (typeof ACCEL_MODES)[number];
/** The environment variable that chooses the mode when --accel is not given. */
export const ACCEL_ENV = 'HERO_LVLM_ACCEL';
/** The mode from --accel, else $HERO_LVLM_ACCEL, else 'auto'; a HeroError naming its source when it is not a mode. */
export function requestedAccel(flag?: string, env: NodeJS.ProcessEnv = process.env): AccelMode {
  const mode = flag ?? (env[ACCEL_ENV] || 'auto');
  if (!(ACCEL_MODES as readonly string[]).includes(mode)) {
    throw new HeroError(`${flag !== undefined ? '--accel' : `$${ACCEL_ENV}`}: '${mode}' is not one of ${ACCEL_MODES.join(', ')}`);
  }
  return mode as AccelMode;
}

/** The backends whose tensors a host kernel (the BLAS, our WebAssembly product) reads in place (./host_tensor.ts). */
const HOST_BACKENDS: readonly string[] = ['wasm', 'cpu'];

/**
 * The KV cache that goes with a weight residency: on the host next to streamed (or disk) weights (./kv_host.ts:
 * the backend then holds one layer's keys and values at a time), else undefined (llama/kv_cache.ts KvCache
 * on the backend). HostKvCache reads each chunk synchronously, so on webgpu (no synchronous reads in Node)
 * the cache stays on the backend even with streamed weights.
 */
export function kvCacheFor(residency: WeightResidency, backend: string): ((numLayers: number) => KvCache) | undefined {
  return residency !== 'resident' && backend !== 'webgpu' ? (n) => new HostKvCache(n) : undefined;
}

export interface AccelOptions {
  /** 'auto' (default): 'blas' with a BLAS, else 'wasm-gemm' on wasm and cpu (without WebAssembly SIMD 'per-head' on wasm), the reference 'batched' elsewhere. */
  readonly attention?: AttentionKernel | 'auto';
  /** 'auto' (default): 'blas' with a BLAS, else 'wasm-gemm' on wasm and cpu ('transpose-policy' without WebAssembly SIMD), 'reference' on webgpu. */
  readonly linear?: LinearKernel | 'auto';
  /** How streamed weights are widened on each use: 'auto' (default) = 'wasm-simd' where WebAssembly SIMD runs (./widen.ts). */
  readonly widen?: WidenKernel | 'auto';
  /** Worker threads for the vision tower; 1 (default) = in-process `visionModel`. */
  readonly visionWorkers?: number;
  /** Worker threads for the decoder's layers (split by heads and MLP columns); 1 (default) = in-process `llamaForward`. */
  readonly decoderWorkers?: number;
  /** The BLAS kernel (ACCEL_MODES); 'wasm' (default in the library; the CLI's default is 'auto'): the WebAssembly kernels. */
  readonly accel?: AccelMode;
  /** The BLAS libraries to try (default: $HERO_LVLM_BLAS, else DEFAULT_BLAS_LIBRARIES). */
  readonly blasLibraries?: readonly string[];
}

export interface Accelerations {
  readonly backend: string;
  readonly kernels: KernelChoice;
  readonly visionWorkers: number;
  readonly decoderWorkers: number;
  /** The BLAS the 'blas' kernels call, when chosen. */
  readonly blas?: Blas;
  /** With 'auto' and no usable BLAS: the line saying why and what runs instead (printed before `line`). */
  readonly fallback?: string;
  /**
   * The start-up line, e.g. `accel: attention=per-head (wasm), linear=transpose-policy, vision=2 workers`, or with
   * the BLAS `accel: linear=openblas (libopenblas.so.0, core Zen, 2 threads), attention=openblas, vision=in-process`.
   */
  readonly line: string;
}

/** The BLAS the mode asks for on this backend, or why there is none ('auto' without one); throws for 'blas' without one. */
function chooseBlas(backend: string, mode: AccelMode, libraries: readonly string[]): { blas?: Blas; why?: string } {
  if (mode === 'wasm') return {};
  if (!HOST_BACKENDS.includes(backend)) {
    if (mode === 'blas') throw new HeroError(`accel 'blas' (--accel, $${ACCEL_ENV}): the BLAS kernel multiplies the host memory of the ${HOST_BACKENDS.join(' or ')} backend, not ${backend}`);
    return {}; // auto on a GPU: its own kernels, nothing falls back
  }
  const found = findBlas(libraries);
  if (typeof found !== 'string') return { blas: found };
  if (mode === 'blas') throw new HeroError(`accel 'blas' (--accel, $${ACCEL_ENV}): no BLAS library: ${found}`);
  return { why: found };
}

/** The choice for a backend, without installing anything. */
export function chooseAccelerations(backend: string, options: AccelOptions = {}): Accelerations {
  const attention = options.attention ?? 'auto';
  const linear = options.linear ?? 'auto';
  const visionWorkers = options.visionWorkers ?? 1;
  const decoderWorkers = options.decoderWorkers ?? 1;
  if (attention !== 'auto' && !(ATTENTION_KERNELS as readonly string[]).includes(attention)) throw new HeroError(`attention: '${attention}' is not one of auto, ${ATTENTION_KERNELS.join(', ')}`);
  if (linear !== 'auto' && !(LINEAR_KERNELS as readonly string[]).includes(linear)) throw new HeroError(`linear: '${linear}' is not one of auto, ${LINEAR_KERNELS.join(', ')}`);
  const widen = options.widen ?? 'auto';
  if (widen !== 'auto' && !(WIDEN_KERNELS as readonly string[]).includes(widen)) throw new HeroError(`widen: '${widen}' is not one of auto, ${WIDEN_KERNELS.join(', ')}`);
  if (!(Number.isInteger(visionWorkers) && visionWorkers >= 1)) throw new HeroError(`vision workers: expected an integer ≥ 1, got ${visionWorkers}`);
  if (!(Number.isInteger(decoderWorkers) && decoderWorkers >= 1)) throw new HeroError(`decoder workers: expected an integer ≥ 1, got ${decoderWorkers}`);
  const mode = options.accel ?? 'wasm';
  if (!(ACCEL_MODES as readonly string[]).includes(mode)) throw new HeroError(`accel: '${mode}' is not one of ${ACCEL_MODES.join(', ')}`);
  const { blas, why: noBlas } = chooseBlas(backend, mode, options.blasLibraries ?? blasCandidates());
  // Without a BLAS, the host-memory backends multiply with our WebAssembly product (./gemm.ts), faster than XNNPACK
  // (bench/README.md), where the engine runs WebAssembly SIMD.
  const ownProduct = !blas && HOST_BACKENDS.includes(backend) && gemmAvailable();
  // The BLAS's threads are shared by the worker threads that call it at once (its setting is process-wide).
  const threads = blasThreadsFor(Math.max(visionWorkers, decoderWorkers));
  const kernels: KernelChoice = {
    // our product runs per-head below 48 query rows (./gemm.ts attendGemm)
    attention: attention === 'auto' ? (blas ? 'blas' : ownProduct ? 'wasm-gemm' : backend === 'wasm' ? 'per-head' : 'batched') : attention,
    // transpose-policy's copy of Wᵀ is for tfjs-wasm's XNNPACK where the engine has no WebAssembly SIMD. On webgpu
    // the reference's transposeB product is as fast, and a copy of a weight over the binding (./binding_split.ts)
    // could not be made.
    linear: linear === 'auto' ? (blas ? 'blas' : ownProduct ? 'wasm-gemm' : backend === 'webgpu' ? 'reference' : 'transpose-policy') : linear,
    widen: widen === 'auto' ? widenKernel() : widen,
    ...(blas ? { blas: { library: blas.library, threads } } : {}),
  };
  if ((kernels.attention === 'blas' || kernels.linear === 'blas') && !blas) throw new HeroError("a 'blas' kernel needs accel 'auto' or 'blas' and a BLAS library");
  const attentionText = kernels.attention === 'batched' ? 'batched (reference)' : kernels.attention === 'blas' ? blas!.kind
    : kernels.attention === 'wasm-gemm' ? 'wasm-gemm' : `${kernels.attention} (${backend})`;
  const linearText = kernels.linear === 'blas' ? describeBlas(blas!, threads) : kernels.linear === 'wasm-gemm' ? `wasm-gemm (${gemmVariant()})` : kernels.linear;
  const widenText = kernels.widen === 'wasm-simd' ? ', widen=wasm-simd' : '';      // the reference widening is not named
  const workersText = `vision=${visionWorkers > 1 ? `${visionWorkers} workers` : 'in-process'}` +
    (decoderWorkers > 1 ? `, decoder=${decoderWorkers} workers` : ''); // the in-process decoder is not named (the line as before)
  const line = kernels.linear === 'blas'
    ? `accel: linear=${linearText}, attention=${attentionText}${widenText}, ${workersText}`
    : `accel: attention=${attentionText}, linear=${linearText}${widenText}, ${workersText}`;
  const fallback = noBlas === undefined ? undefined
    : `accel: no BLAS library, so linear runs on ${linearText} and attention on ${attentionText}: ${noBlas} ` +
      `(apt-get install libopenblas0-pthread, or set $${BLAS_ENV}; --accel wasm chooses this without the search)`;
  return { backend, kernels, visionWorkers, decoderWorkers, blas, fallback, line };
}

/** Chooses (see chooseAccelerations) and installs the kernels; the caller prints `.fallback` (when set) and `.line`. */
export function installAccelerations(backend: string, options: AccelOptions = {}): Accelerations {
  const a = chooseAccelerations(backend, options);
  installKernels(a.kernels);
  return a;
}

/**
 * The vision encoder the accelerations ask for: a VisionPool holding `params` when more than one worker
 * was chosen (its workers install the same kernels), else undefined (the in-process reference `visionModel`).
 */
export function startVisionEncoder(a: Accelerations, params: ClipVisionParams, config: ClipVisionConfig, options: VisionPoolOptions = {}): VisionPool | undefined {
  return a.visionWorkers > 1 ? VisionPool.start(params, config, a.visionWorkers, a.kernels, options) : undefined;
}

/**
 * The decoder forward the accelerations ask for: a DecoderPool holding `params` when more than one worker
 * was chosen (its workers install the same kernels; it is the pipeline's `decoder`), else
 * undefined (the in-process reference `llamaForward`).
 */
export function startDecoderPool(a: Accelerations, params: LlamaParams, config: LlamaConfig): DecoderPool | undefined {
  return a.decoderWorkers > 1 ? DecoderPool.start(params, config, a.decoderWorkers, a.kernels) : undefined;
}
