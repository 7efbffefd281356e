/**
 * The one loader skeleton every model folder's load.ts uses:
 *   open dir → parse config.json → key spec → load tensors → build tree → close
 * A model folder supplies what differs (its config parser, its key spec, its error wording); the file
 * handling, the checks on the tensors (io/checkpoint.ts resolveKeys) and the closing live here once.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { readJsonObject } from './json';
import { isFloatDType, SafetensorsDir, type DType } from './safetensors';
import { startBackgroundReads, type PendingRead } from './background_read';
import * as tf from '@tensorflow/tfjs-core';
import { buildTree, resolveKeys, type KeySpec } from './checkpoint';
import { StoredWeights, type DiskRegion, type StoredTensor } from './stored';

/** What a model folder tells the skeleton. `C` is its parsed (typed) config. */
export interface CheckpointRecipe<C> {
  /** the one-line error when `dir` has no config.json (names the flag or the directory) */
  readonly noConfig: (dir: string) => string;
  /** what config.json is called in readJsonObject's errors ('model config', 'CLIP config') */
  readonly configWhat: string;
  /** config.json object → typed config; refusals are HeroErrors naming `file`. May read the directory's other files. */
  readonly parseConfig: (json: Record<string, unknown>, file: string, dir: string) => C;
  /** every tensor the checkpoint must hold, by canonical name, with its shape from the config */
  readonly keys: (config: C) => KeySpec;
  /** true for LLaVA-NeXT checkpoints (io/checkpoint.ts canonicalKey) */
  readonly llavaLayout?: boolean;
  /**
   * The weight groups that may be streamed (core/weights.ts): a canonical name whose start matches one of
   * these belongs to the group named by the match (e.g. `model.layers.3.`). Everything else stays resident.
   */
  readonly streamGroups?: readonly RegExp[];
}

/**
 * How a checkpoint's weights are held: 'resident' — every tensor in fp32 on the backend; 'streamed' — the
 * recipe's stream groups stay on the host in their stored dtype and are materialised per use (io/stored.ts),
 * their bytes in SharedArrayBuffers so that decoder worker threads share them (accel/decoder_pool.ts);
 * 'disk' — the same groups stay in the safetensors files and are read (positioned reads of what is used,
 * no whole-file buffers) every time they are used.
 */
export type WeightResidency = 'resident' | 'streamed' | 'disk';

/** The residencies, in order of the memory they hold (most first). */
export const WEIGHT_RESIDENCIES: readonly WeightResidency[] = ['resident', 'streamed', 'disk'];

/** The stream group a canonical name belongs to (the matched prefix, trailing dot included), if any. */
export function streamGroupOf(name: string, groups: readonly RegExp[]): string | undefined {
  for (const re of groups) {
    const m = re.exec(name);
    if (m && m.index === 0) return m[0];
  }
  return undefined;
}

/** Reads `<dir>/config.json` and parses it with the recipe (no tensors are read). */
export function readCheckpointConfig<C>(dir: string, recipe: CheckpointRecipe<C>): C {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new HeroError(recipe.noConfig(dir));
  return recipe.parseConfig(readJsonObject(file, recipe.configWhat), file, dir);
}

/**
 * Tensors smaller than this are read at load even with backgroundReads (norms, biases: a few KiB each), so that
 * what reads them when the pools start (the decoder pool keeps every layer's RMSNorm weights) does not wait
 * for the large matrices before them.
 */
export const BACKGROUND_MIN_BYTES = 1 << 20;

/** How loadCheckpoint reads. */
export interface LoadOptions {
  /**
   * 'streamed': read the stored bytes on a background thread (io/background_read.ts), the recipe's groups in
   * order (the vision tower's before the decoder's), and return at once; every use waits for its bytes.
   * Node only (the page reads in the foreground). Default: read them before returning.
   */
  readonly backgroundReads?: boolean;
  /** tests: a pause before each background read */
  readonly backgroundDelayMs?: number;
  /** tests: the size from which a tensor is read in the background (default BACKGROUND_MIN_BYTES) */
  readonly backgroundMinBytes?: number;
}

/**
 * Loads a checkpoint directory in HF layout (config.json + model.safetensors or a sharded index): the
 * parsed config and the params tree (canonical key names, io/checkpoint.ts). The files are closed on
 * every path, error or not.
 */
export function loadCheckpoint<C, T>(dir: string, recipe: CheckpointRecipe<C>,
  onProgress?: (done: number, total: number) => void, residency: WeightResidency = 'resident', opts: LoadOptions = {}): { config: C; tree: T } {
  const config = readCheckpointConfig(dir, recipe);
  const store = SafetensorsDir.open(dir);
  try {
    const spec = recipe.keys(config);
    const stored = resolveKeys(store, spec, { llavaLayout: recipe.llavaLayout ?? false });
    // Resident: every tensor in fp32 on the backend. Streamed: the recipe's groups keep their stored bytes.
    // Disk: the same groups keep where their bytes are in the files.
    const streamGroups = residency !== 'resident' ? recipe.streamGroups ?? [] : [];
    const leaves = new Map<string, unknown>();
    const groups = new Map<string, Map<string, StoredTensor>>();
    const made: tf.Tensor[] = [];
    const pending: Array<{ order: number; group: string; key: string; dtype: DType; shape: readonly number[]; read: PendingRead }> = [];
    try {
      let done = 0;
      for (const [name, shape] of spec) {
        const file = stored.get(name)!;
        const group = streamGroupOf(name, streamGroups);
        if (group === undefined) {
          const t = tf.tensor(store.readFloat32(file), shape as number[], 'float32');
          made.push(t);
          leaves.set(name, t);
        } else {
          if (!groups.has(group)) groups.set(group, new Map());
          const info = store.info(file), dtype = info.dtype, key = name.slice(group.length);
          const background = residency === 'streamed' && opts.backgroundReads && info.end - info.begin >= (opts.backgroundMinBytes ?? BACKGROUND_MIN_BYTES);
          if (residency === 'disk' || background) {
            // Where the bytes are, and the file as its header was read (a read checks it is unchanged).
            const f = store.fileOf(file);
            if (!isFloatDType(dtype)) throw new HeroError(`${f.file}: tensor '${file}' is ${dtype}, expected a float dtype`);
            const region: DiskRegion = { file: path.resolve(f.file), begin: info.begin, end: info.end, fileSize: f.byteSize, mtimeMs: f.mtimeMs };
            if (residency === 'disk') groups.get(group)!.set(key, { dtype, shape, disk: region });
            else pending.push({ order: streamGroups.findIndex((re) => re.exec(name)?.index === 0), group, key, dtype, shape, read: { ...region, into: Buffer.from(new SharedArrayBuffer(info.end - info.begin)) } });
          } else groups.get(group)!.set(key, { dtype, shape, bytes: store.readFloatBytes(file, true) });
        }
        onProgress?.(++done, spec.size);
      }
    } catch (e) {
      for (const t of made) t.dispose();
      throw e;
    }
    if (pending.length) {
      // The groups in the recipe's order (a stable sort keeps the file order inside each), read on their own thread.
      pending.sort((a, b) => a.order - b.order);
      const arrivals = startBackgroundReads(pending.map((p) => p.read), { delayMs: opts.backgroundDelayMs });
      pending.forEach((p, i) => groups.get(p.group)!.set(p.key, { dtype: p.dtype, shape: p.shape, bytes: p.read.into as Buffer, arrival: arrivals[i] }));
    }
    for (const [group, tensors] of groups) leaves.set(group.slice(0, -1), new StoredWeights(group.slice(0, -1), tensors));
    return { config, tree: buildTree<T>(leaves) };
  } finally {
    store.close();
  }
}

/** Parameters in a key spec (the sum of its shapes' products). */
export function keySpecSize(spec: KeySpec): number {
  let n = 0;
  for (const shape of spec.values()) n += shape.reduce((a, d) => a * d, 1);
  return n;
}

/** What a checkpoint's weights take, by residency (see weightPlan). */
export interface WeightPlan {
  /** fp32 bytes of the tensors that stay on the backend */
  readonly residentFp32: number;
  /** host bytes of the streamed groups in their stored dtype */
  readonly streamedHost: number;
  /** bytes of the groups left in the files ('disk'), read on every use; 0 otherwise */
  readonly onDisk: number;
  /** stored bytes of the largest group left in the files (what one use reads into memory); 0 unless 'disk' */
  readonly largestOnDisk: number;
  /** fp32 bytes of the largest streamed group (what one use materialises) */
  readonly largestGroupFp32: number;
  /** the stored dtypes, e.g. ['F16'] */
  readonly dtypes: readonly string[];
}

/**
 * What loading `dir` with `residency` will hold, from the config, the key spec, the stream groups and
 * the safetensors headers (no tensor data is read). Equals core/weights.ts weightBytes of the loaded tree.
 */
export function weightPlan<C>(dir: string, recipe: CheckpointRecipe<C>, residency: WeightResidency): WeightPlan {
  const config = readCheckpointConfig(dir, recipe);
  const store = SafetensorsDir.open(dir);
  try {
    const spec = recipe.keys(config);
    const files = resolveKeys(store, spec, { llavaLayout: recipe.llavaLayout ?? false });
    let residentFp32 = 0, streamedHost = 0;
    const groups = new Map<string, number>(), stored = new Map<string, number>();
    const dtypes = new Set<string>();
    for (const [name, shape] of spec) {
      const info = store.info(files.get(name)!);
      dtypes.add(info.dtype);
      const numel = shape.reduce((a, d) => a * d, 1);
      const group = residency !== 'resident' ? streamGroupOf(name, recipe.streamGroups ?? []) : undefined;
      if (group === undefined) residentFp32 += 4 * numel;
      else {
        stored.set(group, (stored.get(group) ?? 0) + info.end - info.begin);
        groups.set(group, (groups.get(group) ?? 0) + 4 * numel);
      }
    }
    const storedBytes = [...stored.values()].reduce((a, b) => a + b, 0);
    return {
      residentFp32, streamedHost: residency === 'streamed' ? storedBytes : 0,
      onDisk: residency === 'disk' ? storedBytes : 0, largestOnDisk: residency === 'disk' ? Math.max(0, ...stored.values()) : 0,
      largestGroupFp32: Math.max(0, ...groups.values()), dtypes: [...dtypes].sort(),
    };
  } finally {
    store.close();
  }
}
