/**
 * Tensors whose values are written in place on the host: on tfjs-wasm straight into the backend's heap (the
 * backend's own accessors), elsewhere into an array the tensor takes over; and tensors' values read in place.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';

export interface WasmHeapBackend { typedArrayFromHeap(t: tf.TensorInfo): Float32Array; makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo }
export const isWasmHeap = (b: unknown): b is WasmHeapBackend => typeof (b as WasmHeapBackend).typedArrayFromHeap === 'function' && typeof (b as WasmHeapBackend).makeOutput === 'function';

/**
 * A new float32 tensor of `shape` whose values `fill` writes: on tfjs-wasm into the tensor's own heap memory
 * (no copy of a host array; the view is taken after the allocation and used at once), elsewhere into an
 * array the tensor then takes over. accel/blas.ts writes its products' outputs this way, accel/widen.ts widened weights.
 */
export function newHostFilledTensor(shape: number[], fill: (out: Float32Array) => void): tf.Tensor {
  const b = tf.backend();
  if (isWasmHeap(b)) {
    const info = b.makeOutput(shape, 'float32');
    try {
      fill(b.typedArrayFromHeap(info));
    } catch (e) {
      tf.engine().makeTensorFromTensorInfo(info).dispose();
      throw e;
    }
    return tf.engine().makeTensorFromTensorInfo(info);
  }
  const out = new Float32Array(shape.reduce((a, d) => a * d, 1));
  fill(out);
  return tf.tensor(out, shape, 'float32');
}

/** tfjs-backend-cpu's storage: each tensor's values, as its own kernels read them. */
interface CpuStorage { readonly data: { get(dataId: object): { values?: unknown } | undefined } }

/**
 * A float32 tensor's values as the backend holds them, for reading only, at once (a later allocation in the
 * wasm heap can detach the view); `kernel` names the caller. On wasm a view of the heap, on cpu the backend's
 * own array, as a backend kernel reads its inputs: not a synchronous read through readSync (which
 * accel/sync_reads.ts guards), since a host kernel runs only on these host-memory backends. Elsewhere dataSync.
 */
export function hostView(t: tf.Tensor, kernel: string): Float32Array {
  if (t.dtype !== 'float32') throw new HeroError(`${kernel}: expected a float32 tensor, got ${t.dtype}`);
  const b = tf.backend();
  if (isWasmHeap(b)) return b.typedArrayFromHeap(t);
  const values = (b as unknown as Partial<CpuStorage>).data?.get(t.dataId)?.values;
  return values instanceof Float32Array ? values : t.dataSync() as Float32Array;
}
