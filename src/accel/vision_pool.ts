/**
 * The CLIP vision tower over worker threads: the crops of an image are split between W workers, each a
 * separate tfjs instance (tfjs-wasm is single-threaded, so this is how a multi-core CPU is used). Each worker
 * gets the same share (planCrops): whole crops, and rows of the crops left over, whose keys and values the
 * workers exchange at every layer through shared memory (clip/vision.ts VisionRows). Resident
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
import { clipSequenceLength, type ClipVisionConfig } from '../clip/config';
import type { ClipVisionParams, VisionEncoder, VisionOutput, VisionTaps } from '../clip/vision';
import { installedKernels, type KernelChoice } from './kernels';

/** A tensor as plain data, the form in which tensors cross threads. */
export interface HostTensor { readonly shape: number[]; readonly data: Float32Array }

/** What a worker sends back for a set of crops: every VisionOutput field as host tensors (null where not tapped). */
export interface WorkerOutput {
  readonly hiddenStates: (HostTensor | null)[];
  readonly attentions: (HostTensor | null)[];
  readonly queries: (HostTensor | null)[];
  readonly keys: (HostTensor | null)[];
  readonly clsAttention: (HostTensor | null)[];
  readonly lastHiddenState: HostTensor;
  /** null from a worker whose rows of a shared crop do not hold the CLS row */
  readonly pooled: HostTensor | null;
}

/** A worker's reply to a job: its whole crops' outputs, and its rows of the shared crops' (CropPlan). */
export interface WorkerResult {
  readonly whole: WorkerOutput | null;
  readonly shared: WorkerOutput | null;
}

/** Shared control words per worker: [state, layers done]. */
export const STATE = { busy: 0, done: 1, failed: 2 } as const;
/** How long `start` waits for a worker to load tfjs and its weights. */
const START_TIMEOUT_MS = 120_000;

/**
 * How P crops of T tokens (N+1) go over W workers: ⌊P/W⌋ whole crops to each, in order, and the P mod W crops
 * left over shared by all of them, each worker taking a contiguous range of those crops' token rows (worker 0
 * the first, with the CLS row). Every worker then has the same work: 5 crops over 2 workers are 2 whole crops
 * and half of the fifth crop's rows each, where whole crops alone would give one worker 3 and the other 2, and
 * the stage would last 3 crops (5/6 of the kernels' rate). Rows are split over at most T workers.
 * Without `shareRows` (VisionPoolOptions) every crop goes whole: ranges of ⌊P/W⌋ or ⌈P/W⌉ crops.
 */
export interface CropPlan {
  /** per worker, its whole crops [start, end) (empty when P < W) */
  readonly whole: ReadonlyArray<readonly [number, number]>;
  /** the shared crops [start, P): the last P mod W (empty when W divides P) */
  readonly shared: readonly [number, number];
  /** per worker, its rows [begin, end) of every shared crop ([0, 0) for all when none is shared) */
  readonly rows: ReadonlyArray<readonly [number, number]>;
}

/** The CropPlan for P crops of T tokens over at most W workers (its arrays' length: the workers used). */
export function planCrops(P: number, W: number, T: number, shareRows = true): CropPlan {
  if (!shareRows) {
    const m = Math.max(1, Math.min(W, P));
    return {
      whole: Array.from({ length: m }, (_, w) => [Math.floor((w * P) / m), Math.floor(((w + 1) * P) / m)] as const),
      shared: [P, P],
      rows: Array.from({ length: m }, () => [0, 0] as const),
    };
  }
  const n = Math.max(1, P % W === 0 ? Math.min(W, P) : Math.min(W, T));
  const each = Math.floor(P / n);
  const shared: [number, number] = [n * each, P];
  const split = shared[1] > shared[0];
  return {
    whole: Array.from({ length: n }, (_, w) => [w * each, (w + 1) * each] as const),
    shared,
    rows: Array.from({ length: n }, (_, w) => (split ? [Math.floor((w * T) / n), Math.floor(((w + 1) * T) / n)] as const : [0, 0] as const)),
  };
}

/**
 * The shared crops' part of a worker's job: their pixels, its rows, and the memory through which the workers
 * exchange each layer's keys and values. `kv` holds, for two layers (even, odd: a worker may write layer i+1
 * while another still reads layer i, never i+2), keys then values [Ps, T, Dv] of the Ps shared crops, each worker
 * writing its rows; `sync` counts, per layer, the workers whose rows are written, and its last word is set
 * when a worker fails (the others then stop instead of waiting).
 */
export interface SharedCropsJob {
  readonly pixels: HostTensor;
  readonly rows: readonly [number, number];
  readonly workers: number;
  readonly kv: SharedArrayBuffer;
  readonly sync: Int32Array;
}

/** A job for one worker: its whole crops (or none), its share of the shared crops (or none), the taps. */
export interface VisionJob {
  readonly pixels: HostTensor | null;
  readonly shared: SharedCropsJob | null;
  readonly taps: VisionTaps;
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
  const isBad = (m: { error?: string } | undefined, w: number): boolean => failed[w] || !m || m.error !== undefined;
  // A worker that stopped because a partner failed (`secondary`) is reported only if no other reason is known.
  const first = msgs.findIndex((m, w) => isBad(m, w) && !(m as { secondary?: boolean } | undefined)?.secondary);
  const bad = first >= 0 ? first : msgs.findIndex(isBad);
  if (bad >= 0) throw new HeroError(`${what} ${bad}: ${msgs[bad]?.error ?? 'no result'}`);
  return msgs;
}

/** How a VisionPool splits the crops. */
export interface VisionPoolOptions {
  /**
   * Share the crops left over by rows (planCrops; default true). The runtime turns it off while the streamed
   * weights are still read on a background thread: whole crops leave a core free near the end of the stage,
   * which the reader then uses (the 7B run's vision stage: 41 s with whole crops, 50 s with shared rows;
   * bench/README.md).
   */
  readonly shareRows?: boolean;
}

export class VisionPool implements VisionEncoder {
  private constructor(
    private readonly workers: Worker[],
    private readonly ports: MessagePort[],
    private readonly ctrl: Int32Array[],
    readonly config: ClipVisionConfig,
    readonly backend: string,
    /** VisionPoolOptions.shareRows */
    readonly shareRows: boolean,
  ) {}

  /** The kernels each worker reported installed when it started (the choice passed to `start`). */
  workerKernels: KernelChoice[] = [];

  /**
   * Starts `workers` threads on the active backend ('wasm' or 'cpu') and hands each `params` (resident
   * leaves copied, streamed groups shared); each installs `kernels` (default: the ones installed in this
   * thread). Blocks until every worker holds its weights.
   */
  static start(params: ClipVisionParams, config: ClipVisionConfig, workers: number, kernels: KernelChoice = installedKernels(), options: VisionPoolOptions = {}): VisionPool {
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
    const pool = new VisionPool(ws, ports, ctrl, config, backend, options.shareRows ?? true);
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
   * `visionModel(params, pixelValues, config, taps)` with the crops spread over the workers (planCrops); the returned
   * tensors live on the caller's backend. `onLayer` reports the slowest worker's progress.
   * @param pixelValues [P, C, S, S]
   */
  encode(pixelValues: tf.Tensor4D, taps: VisionTaps = {}, onLayer?: (done: number, total: number) => void): VisionOutput {
    const [P, C, S] = pixelValues.shape;
    const per = C * S * S;
    const T = clipSequenceLength(this.config), Dv = this.config.hidden_size, L = this.config.num_hidden_layers;
    const px = pixelValues.dataSync() as Float32Array;
    const plan = planCrops(P, this.size, T, this.shareRows);
    const [s0, s1] = plan.shared, R = s1 - s0;
    const kv = R > 0 ? new SharedArrayBuffer(2 * 2 * R * T * Dv * 4) : undefined;
    const sync = R > 0 ? new Int32Array(new SharedArrayBuffer(4 * (L + 1))) : undefined;
    plan.whole.forEach(([a, b], w) => {
      const data = b > a ? px.slice(a * per, b * per) : undefined;
      const shared = R > 0 ? px.slice(s0 * per, s1 * per) : undefined;
      const job: VisionJob = {
        pixels: data ? { shape: [b - a, C, S, S], data } : null,
        shared: shared ? { pixels: { shape: [R, C, S, S], data: shared }, rows: plan.rows[w], workers: plan.whole.length, kv: kv!, sync: sync! } : null,
        taps,
      };
      Atomics.store(this.ctrl[w], 0, STATE.busy);
      Atomics.store(this.ctrl[w], 1, 0);
      this.ports[w].postMessage(job, [data, shared].filter((x) => x !== undefined).map((x) => x.buffer as ArrayBuffer));
    });
    const parts = this.collect(plan.whole.length, onLayer) as WorkerResult[];
    const tensor = (x: HostTensor): tf.Tensor => tf.tensor(x.data, x.shape);
    const cat = (ts: tf.Tensor[], axis: number): tf.Tensor => {
      if (ts.length === 1) return ts[0];
      const out = tf.concat(ts, axis);
      tf.dispose(ts);
      return out;
    };
    /**
     * One output from the parts: the whole crops in order, then the shared crops, their rows joined along
     * `rowAxis` in worker order (rows are contiguous ranges, worker 0's first) — or, for the outputs that read
     * the CLS row (rowAxis undefined), worker 0's.
     */
    const join = (get: (o: WorkerOutput) => HostTensor | null, rowAxis?: number): tf.Tensor | undefined => {
      const whole = parts.flatMap((p) => (p.whole ? [get(p.whole)] : []));
      const rows = parts.flatMap((p) => (p.shared ? [get(p.shared)] : [])).slice(0, rowAxis === undefined ? 1 : undefined);
      if ([...whole, ...rows].some((x) => x === null)) return undefined;
      const pieces = (whole as HostTensor[]).map(tensor);
      if (rows.length) pieces.push(cat((rows as HostTensor[]).map(tensor), rowAxis ?? 0));
      return cat(pieces, 0);                                                              // crops back in order
    };
    const field = (f: 'hiddenStates' | 'attentions' | 'queries' | 'keys' | 'clsAttention', rowAxis?: number): (tf.Tensor | undefined)[] =>
      Array.from({ length: f === 'hiddenStates' ? L + 1 : L }, (_, i) => join((o) => o[f][i], rowAxis));
    return {
      hiddenStates: field('hiddenStates', 1) as (tf.Tensor3D | undefined)[],            // [P, N+1, Dv]
      attentions: field('attentions', 2) as (tf.Tensor4D | undefined)[],                // [P, Hv, N+1, N+1]: the query rows
      queries: field('queries', 1) as (tf.Tensor3D | undefined)[],
      keys: field('keys', 1) as (tf.Tensor3D | undefined)[],
      clsAttention: field('clsAttention') as (tf.Tensor2D | undefined)[],                // [P, N]: worker 0's (the CLS row)
      lastHiddenState: join((o) => o.lastHiddenState, 1) as tf.Tensor3D,
      pooled: join((o) => o.pooled) as tf.Tensor2D,                                      // [P, Dv]: worker 0's (the CLS row)
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
