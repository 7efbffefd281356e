/**
 * A guard against synchronous tensor reads (dataSync, arraySync, bufferSync: all reach the backend's
 * `readSync`). tfjs-backend-webgpu cannot read a GPU tensor synchronously in Node (docs/gpu.md "Synchronous
 * reads"): webgpu.ts installs this guard so such a read fails with one clear line, and
 * spec/pipeline_async.spec.ts installs it on cpu and wasm to prove the pipeline makes no synchronous read.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';

/** The two read entry points of a tfjs KernelBackend. */
interface Reads {
  readSync(dataId: object, ...rest: unknown[]): unknown;
  read(dataId: object, ...rest: unknown[]): Promise<unknown>;
}

export interface SyncReadGuard {
  /** which synchronous reads to refuse (default: every one) */
  readonly refuse?: (dataId: object) => boolean;
  /** the HeroError's message */
  readonly message?: string;
}

/**
 * True while no kernel runs: a read made by our code (t.dataSync()), not one a kernel makes of its own
 * inputs (tfjs-wasm's Slice, Concat and GatherV2 read small inputs on the CPU with readSync).
 */
export function outsideKernels(): boolean {
  return tf.engine().state.kernelDepth === 0;
}

/**
 * Makes `backend.readSync` throw a HeroError for the reads `guard.refuse` picks; asynchronous reads
 * (data(), array(): `backend.read`) go through, including the readSync that cpu's and wasm's `read` calls
 * synchronously before it returns. Returns the function that restores the backend.
 */
export function forbidSyncReads(backend: tf.KernelBackend, guard: SyncReadGuard = {}): () => void {
  const b = backend as unknown as Reads;
  const own = { readSync: Object.prototype.hasOwnProperty.call(b, 'readSync'), read: Object.prototype.hasOwnProperty.call(b, 'read') };
  const readSync = b.readSync, read = b.read;
  const refuse = guard.refuse ?? (() => true);
  const message = guard.message ?? 'a synchronous read (dataSync/arraySync) where only asynchronous reads are allowed; use data()/array()';
  let inRead = 0; // > 0 while an asynchronous read runs its synchronous part
  b.readSync = function (dataId, ...rest) {
    if (inRead === 0 && refuse(dataId)) throw new HeroError(message);
    return readSync.call(b, dataId, ...rest);
  };
  b.read = function (dataId, ...rest) {
    inRead++;
    try { return read.call(b, dataId, ...rest); } finally { inRead--; }
  };
  return () => {
    for (const [k, f] of [['readSync', readSync], ['read', read]] as const) {
      if (own[k]) (b as unknown as Record<string, unknown>)[k] = f;
      else delete (b as unknown as Record<string, unknown>)[k];
    }
  };
}
