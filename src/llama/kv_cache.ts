import * as tf from '@tensorflow/tfjs-core';

/**
 * Per-layer keys (after RoPE) and values of the positions seen so far.              @eq Llama-KV
 * A lifecycle object: it owns its
 * tensors across forward calls (tf.keep), frees the old ones when a chunk is appended, and frees all on
 * dispose(). `length` advances once per forward call, after the last layer appended.
 */
export class KvCache {
  private readonly k: (tf.Tensor3D | undefined)[];
  private readonly v: (tf.Tensor3D | undefined)[];
  private len = 0;

  constructor(readonly numLayers: number) {
    this.k = new Array(numLayers).fill(undefined);
    this.v = new Array(numLayers).fill(undefined);
  }

  /** Positions fed so far (Tc): the position id the next chunk starts at. */
  get length(): number {
    return this.len;
  }

  /** [Hkv, Tc, Dh] */
  keys(layer: number): tf.Tensor3D | undefined {
    return this.k[layer];
  }

  /** [Hkv, Tc, Dh] */
  values(layer: number): tf.Tensor3D | undefined {
    return this.v[layer];
  }

  /**
   * Appends one chunk's keys and values [Hkv, T, Dh] to a layer and returns the full cached ones
   * [Hkv, Tc + T, Dh] (owned by the cache: do not dispose them).
   */
  append(layer: number, k: tf.Tensor3D, v: tf.Tensor3D): { k: tf.Tensor3D; v: tf.Tensor3D } {
    return this.store(layer, k, v);
  }

  /** Keeps a chunk's keys and values [Hkv, T, Dh] after the layer's, returning the whole [Hkv, Tc + T, Dh]. */
  protected store(layer: number, k: tf.Tensor3D, v: tf.Tensor3D): { k: tf.Tensor3D; v: tf.Tensor3D } {
    const oldK = this.k[layer], oldV = this.v[layer];
    const nk = tf.keep(oldK ? tf.concat([oldK, k], 1) : tf.clone(k));
    const nv = tf.keep(oldV ? tf.concat([oldV, v], 1) : tf.clone(v));
    oldK?.dispose();
    oldV?.dispose();
    this.k[layer] = nk;
    this.v[layer] = nv;
    return { k: nk, v: nv };
  }

  /** Marks the end of a forward call of `T` new positions. */
  advance(T: number): void {
    this.len += T;
  }

  dispose(): void {
    for (const t of [...this.k, ...this.v]) t?.dispose();
    this.k.fill(undefined);
    this.v.fill(undefined);
    this.len = 0;
  }
}
