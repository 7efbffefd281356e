/**
 * The accelerations, in one place. The reference math lives in src/nn/ and the model folders; what is
 * here computes the same math faster on some backend, behind the same signatures:
 *   - attention head by head (./attention.ts), for tfjs-wasm's BatchMatMul;
 *   - the linear layout policy (./linear.ts), for tfjs-wasm's transposeB;
 *   - the vision tower over worker threads (./vision_pool.ts), one tfjs instance per core;
 *   - the decoder's layers over worker threads by heads and MLP columns (./decoder_pool.ts);
 *   - the webgpu backend's start-up checks (./webgpu.ts).
 * `installAccelerations` chooses them explicitly at start-up, installs the kernels behind nn/kernels.ts,
 * and returns the choice with the one line the CLI prints. Nothing is installed unless it is called
 * (the specs' golden runs use the reference; spec/accel/ checks each acceleration against it).
 * docs/architecture.md shows where they plug in.
 */
import { HeroError } from '../core/errors';
import type { ClipVisionConfig } from '../clip/config';
import type { ClipVisionParams } from '../clip/vision';
import { installKernels, ATTENTION_KERNELS, LINEAR_KERNELS, type AttentionKernel, type KernelChoice, type LinearKernel } from './kernels';
import { VisionPool } from './vision_pool';
import { HostKvCache } from './kv_host';
import type { KvCache } from '../llama/kv_cache';
import type { WeightResidency } from '../io/loader';
import type { LlamaConfig } from '../llama/config';
import type { LlamaParams } from '../llama/decoder';
import { DecoderPool } from './decoder_pool';

export { installKernels, installedKernels, REFERENCE_CHOICE, type KernelChoice, type AttentionKernel, type LinearKernel } from './kernels';
export { LazyVisionPool, VisionPool } from './vision_pool';
export { HostKvCache } from './kv_host';
export { checkSplit, DecoderPool, PoolKvCache } from './decoder_pool';

/**
 * The KV cache that goes with a weight residency: on the host next to streamed weights (./kv_host.ts:
 * the backend then holds one layer's keys and values at a time), else undefined (llama/kv_cache.ts KvCache
 * on the backend). HostKvCache reads each chunk synchronously, so on webgpu (no synchronous reads in Node)
 * the cache stays on the backend even with streamed weights.
 */
export function kvCacheFor(residency: WeightResidency, backend: string): ((numLayers: number) => KvCache) | undefined {
  return residency === 'streamed' && backend !== 'webgpu' ? (n) => new HostKvCache(n) : undefined;
}

export interface AccelOptions {
  /** 'auto' (default): 'per-head' on wasm, the reference 'batched' elsewhere. */
  readonly attention?: AttentionKernel | 'auto';
  /** 'auto' (default): 'transpose-policy' (on every backend, as before the split). */
  readonly linear?: LinearKernel | 'auto';
  /** Worker threads for the vision tower; 1 (default) = in-process `visionModel`. */
  readonly visionWorkers?: number;
  /** Worker threads for the decoder's layers (split by heads and MLP columns); 1 (default) = in-process `llamaForward`. */
  readonly decoderWorkers?: number;
}

export interface Accelerations {
  readonly backend: string;
  readonly kernels: KernelChoice;
  readonly visionWorkers: number;
  readonly decoderWorkers: number;
  /** The start-up line, e.g. `accel: attention=per-head (wasm), linear=transpose-policy, vision=2 workers`. */
  readonly line: string;
}

/** The choice for a backend, without installing anything. */
export function chooseAccelerations(backend: string, options: AccelOptions = {}): Accelerations {
  const attention = options.attention ?? 'auto';
  const linear = options.linear ?? 'auto';
  const visionWorkers = options.visionWorkers ?? 1;
  const decoderWorkers = options.decoderWorkers ?? 1;
  if (attention !== 'auto' && !(ATTENTION_KERNELS as readonly string[]).includes(attention)) throw new HeroError(`attention: '${attention}' is not one of auto, ${ATTENTION_KERNELS.join(', ')}`);
  if (linear !== 'auto' && !(LINEAR_KERNELS as readonly string[]).includes(linear)) throw new HeroError(`linear: '${linear}' is not one of auto, ${LINEAR_KERNELS.join(', ')}`);
  if (!(Number.isInteger(visionWorkers) && visionWorkers >= 1)) throw new HeroError(`vision workers: expected an integer ≥ 1, got ${visionWorkers}`);
  if (!(Number.isInteger(decoderWorkers) && decoderWorkers >= 1)) throw new HeroError(`decoder workers: expected an integer ≥ 1, got ${decoderWorkers}`);
  const kernels: KernelChoice = {
    attention: attention === 'auto' ? (backend === 'wasm' ? 'per-head' : 'batched') : attention,
    linear: linear === 'auto' ? 'transpose-policy' : linear,
  };
  const line = `accel: attention=${kernels.attention === 'batched' ? 'batched (reference)' : `${kernels.attention} (${backend})`}, ` +
    `linear=${kernels.linear}, vision=${visionWorkers > 1 ? `${visionWorkers} workers` : 'in-process'}` +
    (decoderWorkers > 1 ? `, decoder=${decoderWorkers} workers` : ''); // the in-process decoder is not named (the line as before)
  return { backend, kernels, visionWorkers, decoderWorkers, line };
}

/** Chooses (see chooseAccelerations) and installs the kernels; the caller prints `.line`. */
export function installAccelerations(backend: string, options: AccelOptions = {}): Accelerations {
  const a = chooseAccelerations(backend, options);
  installKernels(a.kernels);
  return a;
}

/**
 * The vision encoder the accelerations ask for: a VisionPool holding `params` when more than one worker
 * was chosen (its workers install the same kernels), else undefined (the in-process reference `visionModel`).
 */
export function startVisionEncoder(a: Accelerations, params: ClipVisionParams, config: ClipVisionConfig): VisionPool | undefined {
  return a.visionWorkers > 1 ? VisionPool.start(params, config, a.visionWorkers, a.kernels) : undefined;
}

/**
 * The decoder forward the accelerations ask for: a DecoderPool holding `params` when more than one worker
 * was chosen (its workers install the same kernels; it is the pipeline's `decoder`), else
 * undefined (the in-process reference `llamaForward`).
 */
export function startDecoderPool(a: Accelerations, params: LlamaParams, config: LlamaConfig): DecoderPool | undefined {
  return a.decoderWorkers > 1 ? DecoderPool.start(params, config, a.decoderWorkers, a.kernels) : undefined;
}
