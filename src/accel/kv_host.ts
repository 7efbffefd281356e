/**
 * The KV cache on the host: llama/kv_cache.ts KvCache with each layer's keys and values kept in host
 * memory instead of on the backend, and handed to the backend only while that layer attends. Same
 * numbers (the values are copied, never recomputed; spec/accel/kv_host.spec.ts); it trades a copy per
 * layer and step for backend memory — the fp32 cache of 2673 positions × 32 layers of Vicuna-7B is 2.8 GB,
 * more than is left of tfjs-wasm's 4 GiB heap next to a streamed layer. Chosen with streamed weights
 * (src/accel/index.ts). Reads each new chunk synchronously (dataSync): for the wasm and cpu backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import { KvCache } from '../llama/kv_cache';

/** One layer's keys or values on the host: [Hkv, cap, Dh] with the first `len` positions of each head filled. */
class HostRows {
  private data = new Float32Array(0);
  private cap = 0;
  len = 0;

  constructor(private readonly heads: number, private readonly dh: number) {}

  /** Appends x [Hkv, T, Dh] (host values, head-major). */
  push(x: Float32Array, T: number): void {
    const { heads: H, dh: Dh } = this;
    if (this.len + T > this.cap) {
      const cap = Math.max(this.len + T, 2 * this.cap);
      const grown = new Float32Array(H * cap * Dh);
      for (let h = 0; h < H; h++) grown.set(this.data.subarray(h * this.cap * Dh, (h * this.cap + this.len) * Dh), h * cap * Dh);
      this.data = grown;
      this.cap = cap;
    }
    for (let h = 0; h < H; h++) this.data.set(x.subarray(h * T * Dh, (h + 1) * T * Dh), (h * this.cap + this.len) * Dh);
    this.len += T;
  }

  /** [Hkv, len, Dh] as a new tensor. */
  tensor(): tf.Tensor3D {
    const { heads: H, dh: Dh, len } = this;
    const out = new Float32Array(H * len * Dh);
    for (let h = 0; h < H; h++) out.set(this.data.subarray(h * this.cap * Dh, (h * this.cap + len) * Dh), h * len * Dh);
    return tf.tensor3d(out, [H, len, Dh]);
  }

  get bytes(): number { return 4 * this.data.length; }
}

export class HostKvCache extends KvCache {
  private readonly hk: (HostRows | undefined)[];
  private readonly hv: (HostRows | undefined)[];

  constructor(numLayers: number) {
    super(numLayers);
    this.hk = new Array(numLayers).fill(undefined);
    this.hv = new Array(numLayers).fill(undefined);
  }

  /** The whole [Hkv, Tc + T, Dh], as new tensors that the caller's scope frees (the layer's tidy). */
  protected override store(layer: number, k: tf.Tensor3D, v: tf.Tensor3D): { k: tf.Tensor3D; v: tf.Tensor3D } {
    const [H, T, Dh] = k.shape;
    this.hk[layer] ??= new HostRows(H, Dh);
    this.hv[layer] ??= new HostRows(H, Dh);
    this.hk[layer]!.push(k.dataSync() as Float32Array, T);
    this.hv[layer]!.push(v.dataSync() as Float32Array, T);
    return { k: this.hk[layer]!.tensor(), v: this.hv[layer]!.tensor() };
  }

  /** [Hkv, Tc, Dh], a new tensor the caller disposes. */
  override keys(layer: number): tf.Tensor3D | undefined { return this.hk[layer]?.tensor(); }

  /** [Hkv, Tc, Dh], a new tensor the caller disposes. */
  override values(layer: number): tf.Tensor3D | undefined { return this.hv[layer]?.tensor(); }

  /** Host bytes held (capacity included). */
  get hostBytes(): number {
    return [...this.hk, ...this.hv].reduce((a, r) => a + (r?.bytes ?? 0), 0);
  }

  override dispose(): void {
    super.dispose();
    this.hk.fill(undefined);
    this.hv.fill(undefined);
  }
}
