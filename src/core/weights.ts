import * as tf from '@tensorflow/tfjs-core';

/**
 * A group of weights (one decoder layer, one encoder layer, the embedding table) that is either resident —
 * the params tree holds its fp32 tensors — or streamed: the tree holds a WeightSource that keeps the
 * weights on the host in their stored dtype (f16 / bf16 / f32, io/stored.ts) and materialises them as
 * fp32 tensors for one use. f16 → fp32 and bf16 → fp32 are exact, so a streamed model computes the same
 * numbers as a resident one (spec/io/stored.spec.ts); it only trades time for memory.
 *
 * Model code reads a group through `useWeights(group, (w) => …)` and never asks which kind it has.
 */
export interface WeightSource<T> {
  readonly kind: 'weight-source';
  /** the group's tensors in fp32, owned by the caller (useWeights disposes them) */
  materialise(): T;
  /** bytes the group takes on the host in its stored dtype */
  readonly hostBytes: number;
  /** bytes the group takes when materialised (fp32) */
  readonly fp32Bytes: number;
  /** bytes left in the weight files and read on every use (`--weights disk`, io/stored.ts); absent: none */
  readonly diskBytes?: number;
  /** the group's leaves on the host as fp32, by dotted path inside the group (a copy each call) */
  hostLeaves(): Array<{ path: string; shape: readonly number[]; data: Float32Array }>;
  /** the group's leaves' shapes, by dotted path inside the group (nothing is read or widened) */
  leafShapes(): Array<{ path: string; shape: readonly number[] }>;
  /**
   * Rows `ids` of the 2-D leaf at `path` as fp32 [ids.length, cols], reading only those rows (an embedding
   * lookup needs a few of V rows, not the whole table widened); optional: `gatherRows` materialises the group
   * where a source has none.
   */
  rows?(path: string, ids: readonly number[]): tf.Tensor2D;
}

/** A weight group: its tensors, or a source for them. */
export type Weights<T> = T | WeightSource<T>;

export function isWeightSource(x: unknown): x is WeightSource<unknown> {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'weight-source';
}

/**
 * Runs `use` on a weight group. Resident: `use(w)`. Streamed: the group is materialised, used, and its
 * tensors freed as soon as `use` returns (or throws), so one group at a time occupies the backend.
 * `use` must not return the weights themselves.
 */
export function useWeights<T, R>(w: Weights<T>, use: (p: T) => R): R {
  if (!isWeightSource(w)) return use(w);
  const p = (w as WeightSource<T>).materialise();
  try {
    return use(p);
  } finally {
    for (const t of leafTensors(p)) t.dispose();
  }
}

/**
 * Every leaf of a params tree by dotted path (`a.b.0.c`): its tensors, and each streamed group as one leaf
 * (not entered). The one walk behind leafTensors, weightBytes, weightShapes and io/checkpoint.ts flattenTree.
 */
export function weightLeaves(tree: unknown, prefix = '', out: Array<[string, tf.Tensor | WeightSource<unknown>]> = []): Array<[string, tf.Tensor | WeightSource<unknown>]> {
  if (tree instanceof tf.Tensor || isWeightSource(tree)) out.push([prefix, tree]);
  else if (tree && typeof tree === 'object') for (const [k, v] of Object.entries(tree)) weightLeaves(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

/** Every tensor reachable from a tree (arrays and plain objects); weight sources are not entered. */
export function leafTensors(tree: unknown): tf.Tensor[] {
  return weightLeaves(tree).flatMap(([, x]) => (x instanceof tf.Tensor ? [x] : []));
}

/** Bytes of a params tree: resident tensors in fp32, sources' host bytes and the bytes they read from files, split by kind. */
export function weightBytes(tree: unknown): { resident: number; streamedHost: number; largestStreamedFp32: number; onDisk: number; largestOnDisk: number } {
  const acc = { resident: 0, streamedHost: 0, largestStreamedFp32: 0, onDisk: 0, largestOnDisk: 0 };
  const seen = new Set<tf.Tensor>(); // a tied lm_head holds the embedding's tensor: counted once
  for (const [, x] of weightLeaves(tree)) {
    if (x instanceof tf.Tensor) {
      if (!seen.has(x)) acc.resident += 4 * x.size;
      seen.add(x);
    } else {
      acc.streamedHost += x.hostBytes;
      acc.largestStreamedFp32 = Math.max(acc.largestStreamedFp32, x.fp32Bytes);
      acc.onDisk += x.diskBytes ?? 0;
      acc.largestOnDisk = Math.max(acc.largestOnDisk, x.diskBytes ?? 0);
    }
  }
  return acc;
}

/** The shape of the leaf at `path` inside a group (resident or streamed; nothing is read). */
export function leafShape(w: Weights<unknown>, path: string): readonly number[] {
  const leaf = isWeightSource(w) ? w.leafShapes().find((l) => l.path === path) : weightLeaves(w).find(([k]) => k === path)?.[1];
  const found = leaf instanceof tf.Tensor || (leaf && !isWeightSource(leaf)) ? leaf.shape : undefined;
  if (!found) throw new Error(`leafShape: no leaf '${path}' in the group`);
  return found;
}

/**
 * Rows `ids` of a group's 2-D leaf `path` (an embedding lookup), [ids.length, cols]: tf.gather on a resident
 * tensor; a streamed group reads just those rows (WeightSource.rows) where it can, any other source is
 * materialised for the lookup. The same values every way: gather copies rows, and widening is exact
 * (spec/core/weights.spec.ts, spec/io/stored.spec.ts).
 */
export function gatherRows(w: Weights<unknown>, path: string, ids: readonly number[]): tf.Tensor2D {
  if (isWeightSource(w) && w.rows) return w.rows(path, ids);
  return useWeights(w, (p) => {
    const leaf = weightLeaves(p).find(([k]) => k === path)?.[1];
    if (!(leaf instanceof tf.Tensor) || leaf.rank !== 2) throw new Error(`gatherRows: no 2-D leaf '${path}' in the group`);
    return tf.tidy(() => tf.gather(leaf, tf.tensor1d(ids as number[], 'int32'))) as tf.Tensor2D; // [T, D]: the T rows looked up (an embedding table's width D)
  });
}

/** A group seen through `f` (e.g. a tied lm_head: the embedding table's weight); a source stays a source. */
export function mapWeights<T, U>(w: Weights<T>, f: (p: T) => U): Weights<U> {
  if (!isWeightSource(w)) return f(w);
  const src = w as WeightSource<T>;
  return {
    kind: 'weight-source', hostBytes: 0, fp32Bytes: src.fp32Bytes, // the host bytes are counted once, under `w`
    materialise: () => {
      const p = src.materialise();
      const out = f(p);
      const kept = new Set(leafTensors(out));
      for (const t of leafTensors(p)) if (!kept.has(t)) t.dispose(); // what f leaves out is not the caller's to free
      return out;
    },
    hostLeaves: () => src.hostLeaves(),
    leafShapes: () => src.leafShapes(),
  };
}

/** The tensors of a resident group; throws for a streamed one (code that needs the tensors themselves, e.g. tests). */
export function residentWeights<T>(w: Weights<T>, what = 'weight group'): T {
  if (isWeightSource(w)) throw new Error(`${what} is streamed from the host; use useWeights`);
  return w as T;
}

/** Every weight's shape by dotted path: resident tensors and the leaves of streamed groups alike. */
export function weightShapes(tree: unknown): Array<[string, readonly number[]]> {
  return weightLeaves(tree).flatMap(([path, x]): Array<[string, readonly number[]]> =>
    (x instanceof tf.Tensor ? [[path, x.shape]] : x.leafShapes().map((l) => [`${path}.${l.path}`, l.shape])));
}
