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
  /** Position ids of the cached keys, per layer (layers after a decoder hook dropped or merged rows hold fewer). */
  private readonly pos: number[][];
  /** Per layer, the position id the next chunk starts at (= len unless a method renumbered the rows). */
  private readonly next: number[];
  private len = 0;

  constructor(readonly numLayers: number) {
    this.k = new Array(numLayers).fill(undefined);
    this.v = new Array(numLayers).fill(undefined);
    this.pos = Array.from({ length: numLayers }, () => []);
    this.next = new Array(numLayers).fill(0);
  }

  /**
   * The position id a new chunk starts at in a layer: the number of positions fed so far, or, after a
   * decoder hook renumbered the rows, the layer's own count of cached keys.
   */
  nextPosition(layer: number): number {
    return this.next[layer];
  }

  /** Position ids of the keys cached at a layer. */
  positions(layer: number): readonly number[] {
    return this.pos[layer];
  }

  /** Positions fed so far (Tc), whatever the layers kept. */
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
  append(layer: number, k: tf.Tensor3D, v: tf.Tensor3D, positions?: readonly number[]): { k: tf.Tensor3D; v: tf.Tensor3D } {
    const T = k.shape[1];
    this.pos[layer].push(...(positions ?? Array.from({ length: T }, (_, t) => this.len + t)));
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

  /**
   * Marks the end of a forward call of `T` new positions; `next` gives each layer's next position id
   * (default: every layer moves on by T).
   */
  advance(T: number, next?: readonly number[]): void {
    this.len += T;
    for (let l = 0; l < this.numLayers; l++) this.next[l] = next?.[l] ?? this.next[l] + T;
  }

  dispose(): void {
    for (const t of [...this.k, ...this.v]) t?.dispose();
    this.k.fill(undefined);
    this.v.fill(undefined);
    this.pos.forEach((p) => { p.length = 0; });
    this.next.fill(0);
    this.len = 0;
  }
}
