/**
 * Weight groups kept on the host in their stored dtype (core/weights.ts WeightSource): the raw
 * little-endian bytes of each tensor as the safetensors file has them (F16, BF16 or F32), widened to fp32
 * and handed to the backend only while the group is used. Widening is exact (decodeFloat), so a streamed
 * group materialises the very tensors the resident loader would have made.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WeightSource } from '../core/weights';
import { decodeFloat, type DType } from './safetensors';
import { nestByPath } from './checkpoint';

/** One float tensor on the host, as stored (the loader reads it with readFloatBytes, which refuses other dtypes). */
export interface StoredTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: Buffer;
}

/** A group of stored tensors by dotted path inside the group (`self_attn.q_proj.weight`, …). */
export class StoredWeights<T> implements WeightSource<T> {
  readonly kind = 'weight-source' as const;
  readonly hostBytes: number;
  readonly fp32Bytes: number;

  /** @param tensors the stored bytes (read by accel/decoder_pool.ts, which hands each worker its slices) */
  constructor(readonly name: string, readonly tensors: ReadonlyMap<string, StoredTensor>) {
    let host = 0, numel = 0;
    for (const t of tensors.values()) {
      host += t.bytes.length;
      numel += t.shape.reduce((a, d) => a * d, 1);
    }
    this.hostBytes = host;
    this.fp32Bytes = 4 * numel;
  }

  materialise(): T {
    const made = new Map<string, tf.Tensor>();
    try {
      for (const [path, t] of this.tensors) made.set(path, tf.tensor(decodeFloat(t.bytes, t.dtype), t.shape as number[], 'float32'));
    } catch (e) {
      for (const x of made.values()) x.dispose();
      throw e;
    }
    return nestByPath(made) as T;
  }

  leafShapes(): Array<{ path: string; shape: readonly number[] }> {
    return [...this.tensors].map(([path, t]) => ({ path, shape: t.shape }));
  }

  hostLeaves(): Array<{ path: string; shape: readonly number[]; data: Float32Array }> {
    return [...this.tensors].map(([path, t]) => ({ path, shape: t.shape, data: decodeFloat(t.bytes, t.dtype) }));
  }
}
