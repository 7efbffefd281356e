/**
 * The CLIP vision tower over worker threads: the crops of an image are split between W workers, each a
 * separate tfjs instance (tfjs-wasm is single-threaded, so this is how a multi-core CPU is used). Resident
 * weights are copied into every worker once, when the pool starts; streamed encoder layers (io/stored.ts,
 * bytes in SharedArrayBuffers) are not copied at all: every worker sees the same stored bytes and widens
 * one layer at a time while it uses it, as the in-process streamed tower does. `encode` then only moves
 * pixels in and the tapped outputs back.
 *
 * `encode` is synchronous, like `visionModel`, so the pipeline does not change shape: the main thread
 * posts the jobs and blocks on a shared flag (Atomics.wait) until each worker has posted its result, which
 * it then takes with receiveMessageOnPort. The math in a worker is `visionModel` itself on a subset of the
 * crops, with the kernels the main thread installed (./kernels.ts); spec/accel/vision_pool.spec.ts checks
 * the pool against the in-process path. A VisionPool is a VisionEncoder (clip/vision.ts): the pipeline
 * takes it in place of the in-process reference.
 */
import * as path from 'path';
import * as fs from 'fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { isWeightSource, weightLeaves } from '../core/weights';
import type { DType } from '../io/safetensors';
import { awaitBytes, StoredWeights, type StoredSource, type StoredTensor } from '../io/stored';
import type { ClipVisionConfig } from '../clip/config';
import type { ClipVisionParams, VisionEncoder, VisionOutput, VisionTaps } from '../clip/vision';
import { installedKernels, type KernelChoice } from './kernels';

/** A tensor as plain data, the form in which tensors cross threads. */
export interface HostTensor { readonly shape: number[]; readonly data: Float32Array }

/** What a worker sends back: every VisionOutput field as host tensors (null where not tapped). */
export interface WorkerResult {
  readonly hiddenStates: (HostTensor | null)[];
  readonly attentions: (HostTensor | null)[];
  readonly queries: (HostTensor | null)[];
  readonly keys: (HostTensor | null)[];
  readonly clsAttention: (HostTensor | null)[];
  readonly lastHiddenState: HostTensor;
  readonly pooled: HostTensor;
}

/** Shared control words per worker: [state, layers done]. */
export const STATE = { busy: 0, done: 1, failed: 2 } as const;
/** How long `start` waits for a worker to load tfjs and its weights. */
const START_TIMEOUT_MS = 120_000;

/** Splits P crops into at most W contiguous, near-equal ranges [start, end). */
export function splitCrops(P: number, W: number): Array<[number, number]> {
  const n = Math.max(1, Math.min(W, P));
  return Array.from({ length: n }, (_, i) => [Math.floor((i * P) / n), Math.floor(((i + 1) * P) / n)]);
}

/** A worker script of this folder ('vision_worker', 'decoder_worker'): compiled JS next to this file, or the TypeScript source through the swc hook. */
export function spawnWorker(script: string, workerData: unknown, transferList: ArrayBuffer[], port: MessagePort): Worker {
  const js = path.join(__dirname, `${script}.js`);
  const transfer = [...transferList, port] as unknown as readonly ArrayBuffer[];
  if (fs.existsSync(js)) return new Worker(js, { workerData, transferList: transfer as never });
  const hook = path.join(__dirname, '..', 'cli', 'register-ts.js');
  const ts = path.join(__dirname, `${script}.ts`);
  return new Worker(`require(${JSON.stringify(hook)}); require(${JSON.stringify(ts)});`,
    { eval: true, workerData, transferList: transfer as never });
}

/**
 * A stored tensor as it crosses threads: its bytes in a SharedArrayBuffer, seen by every worker, never
 * copied; or (`--weights disk`) where they are in the file, which each worker reads itself.
 */
export type SharedStoredTensor = { readonly path: string; readonly dtype: DType; readonly shape: number[] } & StoredSource;

/**
 * The tensors of a streamed group with their bytes in SharedArrayBuffers: the loader's own (no copy), or
 * — for a group not made by the loader — one shared copy for every worker; a group on disk as its file regions.
 */
export function sharedStoredTensors(group: StoredWeights<unknown>): SharedStoredTensor[] {
  return [...group.tensors].map(([path, t]): SharedStoredTensor => {
    if (t.disk) return { path, dtype: t.dtype, shape: [...t.shape], disk: t.disk };
    let bytes: Uint8Array = t.bytes;
    if (!(bytes.buffer instanceof SharedArrayBuffer)) {
      awaitBytes(t);
      const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
      shared.set(bytes);
      bytes = shared;
    }
    return { path, dtype: t.dtype, shape: [...t.shape], bytes, ...(t.arrival ? { arrival: t.arrival } : {}) }; // bytes still arriving: the workers wait for them too
  });
}

/**
 * A vision worker's weights by dotted path: resident leaves as fp32 host arrays (a copy for each worker to
 * take over), streamed groups as their shared stored bytes.
 */
export interface VisionWorkerWeights {
  readonly resident: Record<string, HostTensor>;
  readonly streamed: Record<string, SharedStoredTensor[]>;
}

/**
 * The workers' weights from a params tree: streamed groups shared once for all of them, and for each worker
 * its own resident copy to take over (resident tensors read back — a fresh copy: the cpu backend's dataSync
 * is the tensor's own storage, which must not be transferred away —, and a weight source that is not stored
 * bytes widened to fp32 on the host).
 */
function workersWeights(tree: unknown, workers: number): VisionWorkerWeights[] {
  const leaves = weightLeaves(tree);
  const streamed: Record<string, SharedStoredTensor[]> = {};
  for (const [k, x] of leaves) if (x instanceof StoredWeights) streamed[k] = sharedStoredTensors(x);
  return Array.from({ length: workers }, () => {
    const resident: Record<string, HostTensor> = {};
    for (const [k, x] of leaves) {
      if (x instanceof StoredWeights) continue;
      if (isWeightSource(x)) for (const l of x.hostLeaves()) resident[`${k}.${l.path}`] = { shape: [...l.shape], data: l.data };
      else resident[k] = { shape: [...x.shape], data: (x.dataSync() as Float32Array).slice() };
    }
    return { resident, streamed };
  });
}

/** The params tree a worker rebuilds from its VisionWorkerWeights: resident tensors, and StoredWeights over the shared bytes. */
export function workerTree<T>(w: VisionWorkerWeights, build: (leaves: Map<string, unknown>) => T): T {
  const leaves = new Map<string, unknown>(Object.entries(w.resident).map(([k, x]) => [k, tf.tensor(x.data, x.shape)]));
  for (const [k, ts] of Object.entries(w.streamed)) {
    leaves.set(k, new StoredWeights(k, new Map(ts.map((t): [string, StoredTensor] => [t.path, t.disk
      ? { dtype: t.dtype, shape: t.shape, disk: t.disk }
      : { dtype: t.dtype, shape: t.shape, bytes: Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength), arrival: t.arrival }]))));
  }
  return build(leaves);
}

/**
 * The main thread's side of the worker protocol (vision and decoder pools): waits until each worker's shared
 * control word leaves `busy`, then takes its reply from its port. A failure is reported (a HeroError naming
 * the worker) only after every worker has replied, so that no reply is left on a port for the next job.
 * @param onWait called every 250 ms while waiting (progress)
 */
export function collectReplies(ctrl: readonly Int32Array[], ports: readonly MessagePort[], what: string,
  opts: { timeoutMs?: number; onWait?: () => void } = {}): unknown[] {
  const timeoutMs = opts.timeoutMs ?? Infinity;
  const msgs: Array<{ error?: string } | undefined> = [];
  const failed: boolean[] = [];
  const t0 = Date.now();
  ctrl.forEach((c, w) => {
    while (Atomics.load(c, 0) === STATE.busy) {
      if (Date.now() - t0 > timeoutMs) throw new HeroError(`${what} ${w}: did not start within ${timeoutMs / 1000} s`);
      Atomics.wait(c, 0, STATE.busy, 250);
      opts.onWait?.();
    }
    msgs.push(receiveMessageOnPort(ports[w])?.message as { error?: string } | undefined);
    failed.push(Atomics.load(c, 0) === STATE.failed);
  });
  const bad = msgs.findIndex((m, w) => failed[w] || !m || m.error !== undefined);
  if (bad >= 0) throw new HeroError(`${what} ${bad}: ${msgs[bad]?.error ?? 'no result'}`);
  return msgs;
}

export class VisionPool implements VisionEncoder {
  private constructor(
    private readonly workers: Worker[],
    private readonly ports: MessagePort[],
    private readonly ctrl: Int32Array[],
    readonly config: ClipVisionConfig,
    readonly backend: string,
  ) {}

  /** The kernels each worker reported installed when it started (the choice passed to `start`). */
  workerKernels: KernelChoice[] = [];

  /**
   * Starts `workers` threads on the active backend ('wasm' or 'cpu') and hands each `params` (resident
   * leaves copied, streamed groups shared); each installs `kernels` (default: the ones installed in this
   * thread). Blocks until every worker holds its weights.
   */
  static start(params: ClipVisionParams, config: ClipVisionConfig, workers: number, kernels: KernelChoice = installedKernels()): VisionPool {
    if (!Number.isInteger(workers) || workers < 1) throw new HeroError(`vision workers: expected an integer ≥ 1, got ${workers}`);
    const backend = tf.getBackend();
    if (backend !== 'wasm' && backend !== 'cpu') {
      throw new HeroError(`vision workers: run on the wasm or cpu backend (the active one is '${backend}', which is multi-threaded itself)`);
    }
    const ws: Worker[] = [], ports: MessagePort[] = [], ctrl: Int32Array[] = [];
    const perWorker = workersWeights(params, workers);
    for (let w = 0; w < workers; w++) {
      const weights = perWorker[w]; // each worker takes over its own resident copy; stored bytes are shared
      const c = new Int32Array(new SharedArrayBuffer(8));
      c[0] = STATE.busy;
      const { port1, port2 } = new MessageChannel();
      ws.push(spawnWorker('vision_worker', { weights, config, backend, kernels, ctrl: c, port: port2 }, Object.values(weights.resident).map((x) => x.data.buffer as ArrayBuffer), port2));
      ws[w].unref(); // an idle pool never keeps the process alive
      ports.push(port1);
      ctrl.push(c);
    }
    const pool = new VisionPool(ws, ports, ctrl, config, backend);
    try {
      pool.workerKernels = (pool.collect(ws.length, undefined, START_TIMEOUT_MS) as Array<{ kernels: KernelChoice }>).map((m) => m.kernels); // the ready messages
    } catch (e) {
      void pool.close();
      throw e;
    }
    return pool;
  }

  /** Number of worker threads. */
  get size(): number { return this.workers.length; }

  /**
   * `visionModel(params, pixelValues, config, taps)` with the crops spread over the workers; the returned
   * tensors live on the caller's backend. `onLayer` reports the slowest worker's progress.
   * @param pixelValues [P, C, S, S]
   */
  encode(pixelValues: tf.Tensor4D, taps: VisionTaps = {}, onLayer?: (done: number, total: number) => void): VisionOutput {
    const [P, C, S] = pixelValues.shape;
    const per = C * S * S;
    const px = pixelValues.dataSync() as Float32Array;
    const ranges = splitCrops(P, this.size);
    ranges.forEach(([a, b], w) => {
      const data = px.slice(a * per, b * per);
      Atomics.store(this.ctrl[w], 0, STATE.busy);
      Atomics.store(this.ctrl[w], 1, 0);
      this.ports[w].postMessage({ pixels: { shape: [b - a, C, S, S], data }, taps }, [data.buffer]);
    });
    const parts = this.collect(ranges.length, onLayer) as WorkerResult[];
    const join = (xs: (HostTensor | null)[]): tf.Tensor | undefined => {
      if (xs.some((x) => x === null)) return undefined;
      const ts = (xs as HostTensor[]).map((x) => tf.tensor(x.data, x.shape));
      if (ts.length === 1) return ts[0];
      const out = tf.concat(ts, 0);                                                  // crops back in order
      tf.dispose(ts);
      return out;
    };
    const field = (f: 'hiddenStates' | 'attentions' | 'queries' | 'keys' | 'clsAttention'): (tf.Tensor | undefined)[] =>
      parts[0][f].map((_, i) => join(parts.map((p) => p[f][i])));
    return {
      hiddenStates: field('hiddenStates') as (tf.Tensor3D | undefined)[],
      attentions: field('attentions') as (tf.Tensor4D | undefined)[],
      queries: field('queries') as (tf.Tensor3D | undefined)[],
      keys: field('keys') as (tf.Tensor3D | undefined)[],
      clsAttention: field('clsAttention') as (tf.Tensor2D | undefined)[],
      lastHiddenState: join(parts.map((p) => p.lastHiddenState)) as tf.Tensor3D,
      pooled: join(parts.map((p) => p.pooled)) as tf.Tensor2D,
    };
  }

  /** Waits for the first `n` workers to finish their job and takes their messages (collectReplies). */
  private collect(n = this.size, onLayer?: (done: number, total: number) => void, timeoutMs = Infinity): unknown[] {
    const L = this.config.num_hidden_layers;
    const onWait = onLayer && ((): void => onLayer(Math.min(...this.ctrl.slice(0, n).map((c) => Atomics.load(c, 1))), L));
    return collectReplies(this.ctrl.slice(0, n), this.ports, 'vision worker', { timeoutMs, onWait });
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.ports.forEach((p) => p.close());
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * A VisionPool started on its first `encode`: the CLI hands one to HERO's CLIP pass (src/hero/method.ts),
 * which runs after the LLaVA tower's pool has closed, so the two pools never hold workers at the same time.
 */
export class LazyVisionPool implements VisionEncoder {
  private pool?: VisionPool;
  private closed = false;

  constructor(private readonly startPool: () => VisionPool) {}

  encode(pixelValues: tf.Tensor4D, taps: VisionTaps = {}, onLayer?: (done: number, total: number) => void): VisionOutput {
    if (this.closed) throw new HeroError('vision workers: the pool is closed');
    this.pool ??= this.startPool();
    return this.pool.encode(pixelValues, taps, onLayer);
  }

  /** Whether the workers were started (the first encode). */
  get started(): boolean { return this.pool !== undefined; }

  /** Stops the workers, if they were started; a later encode is refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool?.close();
  }
}
