/**
 * The Llama decoder over worker threads, Megatron-style tensor parallelism with no weight duplication: of
 * every layer, worker w of W holds the attention heads [w·H/W, (w+1)·H/W) — those rows of q_proj, the rows
 * of k_proj/v_proj of their kv heads [w·Hkv/W, (w+1)·Hkv/W), the matching columns of o_proj — and the MLP
 * columns [w·F/W, (w+1)·F/W) — those rows of gate_proj/up_proj, those columns of down_proj — and the keys
 * and values of its own heads (its own KV cache).
 *
 * The main thread keeps the embedding, the RMSNorms, the residual adds, the final norm and the lm_head (of a
 * streamed one the workers multiply their rows on decode steps).
 * Per layer:
 *   x̂ = RMSNorm(x) → each worker: its heads' attention, o_proj on its columns → partial [T, D]
 *   h = x + Σ_w partial_w
 *   ĥ = RMSNorm(h) → each worker: its MLP columns, down_proj on its columns → partial [T, D]
 *   y = h + Σ_w partial_w
 * The sums are the reference's o_proj / down_proj products split along their inner dimension, so the math
 * is llamaForward's; only the order of additions differs (spec/accel/decoder_pool.spec.ts, TOL.decoderPool).
 * The biases of o_proj and down_proj (attention_bias, mlp_bias) are added by worker 0 only.
 *
 * Weights: resident layers are read once at start and each worker gets a copy of its slices only, and keeps
 * their Wᵀ for the products when the transpose policy is installed (./linear.ts keepTransposed). Streamed
 * layers (io/stored.ts, bytes in SharedArrayBuffers) are not copied at all: every worker sees the same
 * stored bytes and widens just its rows/columns (f16/bf16 → fp32, exact) while it uses them; on a decode
 * step (one row) it multiplies them straight from the bytes instead (./rows.ts), and a streamed lm_head too: each
 * worker its rows [w·V/W, (w+1)·V/W) of it (headRows), so that every core streams weights. Layers on disk (`--weights disk`) go the same ways, each worker reading its own rows/columns
 * from the file when it uses them.
 *
 * `forward` is synchronous, like llamaForward, by the VisionPool's protocol (./vision_pool.ts): the main
 * thread posts a job to every worker and blocks on each worker's shared control word (Atomics.wait) until
 * the reply is on its port (receiveMessageOnPort). Taps and decoder hooks are refused: they need every
 * head's probabilities or rewrite the rows, which the reference path (llamaForward) does.
 */
import { MessageChannel, type MessagePort, type Worker } from 'worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { assertShape } from '../core/shape';
import { isWeightSource, useWeights, type Weights } from '../core/weights';
import { flattenTree } from '../io/checkpoint';
import { DTYPE_BYTES, type DType } from '../io/safetensors';
import { awaitBytes, byteReader, StoredWeights, storedWidening, type StoredSource } from '../io/stored';
import type { LlamaConfig } from '../llama/config';
import { checkSequenceLength, type DecoderLayerParams, type DecoderTaps, type LlamaParams } from '../llama/decoder';
import { KvCache } from '../llama/kv_cache';
import { rmsNorm } from '../nn/norm';
import { linear } from '../nn/kernels';
import { installedKernels, type KernelChoice } from './kernels';
import { collectReplies, sharedStoredTensors, spawnWorker, STATE, type SharedStoredTensor } from './vision_pool';
import type { RowsKernel } from './rows';
import type { LinearParams } from '../nn/linear';

/** How long `start` waits for a worker to load tfjs and its weights. */
const START_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------------------------------------
// Which part of each weight a worker holds (pure functions).

/** A worker's part of a tensor: rows [from, to) of a [out, in] weight (or a bias), columns [from, to), all of it, or none. */
export type Shard =
  | { readonly kind: 'rows'; readonly from: number; readonly to: number }
  | { readonly kind: 'cols'; readonly from: number; readonly to: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'none' };

/**
 * Refuses a split that is not exact: H, Hkv and F must each be divisible by W (a kv head stays with its
 * query heads).
 */
export function checkSplit(cfg: LlamaConfig, W: number, what = 'decoder workers'): void {
  if (!(Number.isInteger(W) && W >= 1)) throw new HeroError(`${what}: expected an integer ≥ 1, got ${W}`);
  const H = cfg.num_attention_heads, Hkv = cfg.num_key_value_heads, F = cfg.intermediate_size;
  const bad = [['num_attention_heads', H], ['num_key_value_heads', Hkv], ['intermediate_size', F]].filter(([, n]) => (n as number) % W !== 0);
  if (bad.length) {
    throw new HeroError(`${what}: ${W} workers cannot split the decoder evenly (${bad.map(([k, n]) => `${k} ${n}`).join(', ')} not divisible by ${W})`);
  }
}

/**
 * Worker w's part of the layer leaf at `path` (inside `model.layers.{i}.`); the RMSNorm weights stay on
 * the main thread ('none'). kv head j serves query heads j·H/Hkv … (j+1)·H/Hkv − 1 (repeat_kv), so
 * splitting both head ranges by W keeps every kv head with its query heads.
 */
export function shardOf(path: string, cfg: LlamaConfig, w: number, W: number): Shard {
  const Dh = cfg.head_dim;
  const q = (cfg.num_attention_heads / W) * Dh, kv = (cfg.num_key_value_heads / W) * Dh, f = cfg.intermediate_size / W;
  switch (path) {
    case 'self_attn.q_proj.weight': case 'self_attn.q_proj.bias': return { kind: 'rows', from: w * q, to: (w + 1) * q };
    case 'self_attn.k_proj.weight': case 'self_attn.k_proj.bias':
    case 'self_attn.v_proj.weight': case 'self_attn.v_proj.bias': return { kind: 'rows', from: w * kv, to: (w + 1) * kv };
    case 'self_attn.o_proj.weight': return { kind: 'cols', from: w * q, to: (w + 1) * q };
    case 'mlp.gate_proj.weight': case 'mlp.gate_proj.bias':
    case 'mlp.up_proj.weight': case 'mlp.up_proj.bias': return { kind: 'rows', from: w * f, to: (w + 1) * f };
    case 'mlp.down_proj.weight': return { kind: 'cols', from: w * f, to: (w + 1) * f };
    // the output biases are added once, by worker 0
    case 'self_attn.o_proj.bias': case 'mlp.down_proj.bias': return w === 0 ? { kind: 'all' } : { kind: 'none' };
    case 'input_layernorm.weight': case 'post_attention_layernorm.weight': return { kind: 'none' };
    default: throw new HeroError(`decoder workers: unexpected decoder layer weight '${path}'`);
  }
}

/** The shape of a shard of a tensor of `shape` ([out, in] or [out]). */
export function shardShape(shape: readonly number[], s: Shard): number[] {
  if (s.kind === 'rows') return [s.to - s.from, ...shape.slice(1)];
  if (s.kind === 'cols') return [shape[0], s.to - s.from];
  return [...shape];
}

/** Writes elements [from, to) of a whole tensor (row-major, as fp32) into `into` from index `at` on. */
export type ElementReader = (from: number, to: number, into: Float32Array, at: number) => void;

/**
 * A shard's elements in row-major order, in `out` (default: a new array), read through `read`: one read for a row range,
 * one per row for a column range, each straight into the shard's array.
 */
export function readShard(shape: readonly number[], s: Shard, read: ElementReader,
  out: Float32Array = new Float32Array(s.kind === 'none' ? 0 : shardShape(shape, s).reduce((a, d) => a * d, 1))): Float32Array {
  if (s.kind === 'none') return out;
  const inner = shape.length > 1 ? shape[shape.length - 1] : 1;
  if (s.kind === 'rows') read(s.from * inner, s.to * inner, out, 0);
  else if (s.kind === 'all') read(0, out.length, out, 0);
  else for (let r = 0, n = s.to - s.from; r < shape[0]; r++) read(r * inner + s.from, r * inner + s.to, out, r * n); // cols
  return out;
}

/**
 * Elements of stored little-endian bytes as fp32 (f16/bf16 widened exactly by the installed widening, io/stored.ts storedWidening):
 * straight from the bytes in memory, or read from the file region first (`--weights disk`, io/stored.ts).
 */
export function storedReader(src: StoredSource | Uint8Array, dtype: DType): ElementReader {
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new HeroError(`decoder workers: cannot widen ${dtype} weights`);
  const b = DTYPE_BYTES[dtype], widen = storedWidening(); // the installed widening (io/stored.ts; accel/widen.ts's by default)
  const bytes = src instanceof Uint8Array ? src : src.bytes;
  const arrived = src instanceof Uint8Array ? {} : src;            // bytes still arriving (io/background_read.ts) are waited for
  if (bytes) return (from, to, into, at) => { awaitBytes(arrived); widen.widenInto(bytes.subarray(from * b, to * b), dtype, into, at); };
  const read = byteReader(src as StoredSource);
  return (from, to, into, at) => {
    const buf = Buffer.allocUnsafe((to - from) * b);
    read(from * b, to * b, buf, 0);
    widen.widenInto(buf, dtype, into, at);
  };
}

// ---------------------------------------------------------------------------------------------------------
// What crosses the threads.

/** One leaf of a worker's layer: its slice in fp32 (resident), or the stored bytes it slices per use (streamed). */
export type WorkerLeaf =
  | { readonly kind: 'f32'; readonly shape: number[]; readonly data: Float32Array }
  | ({ readonly kind: 'stored'; readonly dtype: DType; readonly shape: number[]; readonly shard: Shard } & StoredSource);

/** A worker's start-up data. */
export interface DecoderWorkerData {
  readonly rank: number;
  readonly workers: number;
  readonly config: LlamaConfig;
  readonly backend: string;
  readonly kernels: KernelChoice;
  /** per layer, leaf path → the worker's part */
  readonly layers: Array<Record<string, WorkerLeaf>>;
  /** the worker's rows of a streamed lm_head (its one-row products on decode steps), when the lm_head is streamed */
  readonly head?: WorkerLeaf & { readonly kind: 'stored' };
  readonly ctrl: Int32Array;
  readonly port: MessagePort;
}

/**
 * Jobs: a layer's attention or MLP on x̂ [T, D]; a cache's keys/values of a layer; dropping a cache; the one-row
 * logits of the worker's lm_head rows for x̂ [1, D]; the worker's tensor count.
 */
export type DecoderJob =
  | { readonly op: 'attn'; readonly layer: number; readonly cache: number; readonly x: Float32Array; readonly T: number; readonly positions: number[] }
  | { readonly op: 'mlp'; readonly layer: number; readonly x: Float32Array; readonly T: number }
  | { readonly op: 'kv'; readonly layer: number; readonly cache: number }
  | { readonly op: 'drop'; readonly cache: number }
  | { readonly op: 'head'; readonly x: Float32Array }
  | { readonly op: 'memory' };

/** The keys/values of one layer of a cache on one worker: [Hkv/W, Tc, Dh] each (null when empty). */
interface KvReply { readonly k: Float32Array | null; readonly v: Float32Array | null; readonly shape: number[] }

// ---------------------------------------------------------------------------------------------------------
// The KV cache of a pool.

/**
 * The KV cache of a DecoderPool forward: the length on the main thread, as llama/kv_cache.ts KvCache; the
 * keys and values in the workers, each holding its own heads'. `keys`/`values` fetch them (a copy,
 * [Hkv, Tc, Dh], the caller disposes it).
 */
export class PoolKvCache extends KvCache {
  constructor(private readonly pool: DecoderPool, numLayers: number, readonly id: number) {
    super(numLayers);
  }

  /** Never called: DecoderPool.forward appends in the workers. */
  protected override store(): { k: tf.Tensor3D; v: tf.Tensor3D } {
    throw new Error('PoolKvCache: the keys and values live in the decoder workers (use DecoderPool.forward)');
  }

  /** [Hkv, Tc, Dh], a new tensor the caller disposes. */
  override keys(layer: number): tf.Tensor3D | undefined { return this.pool.cachedKv(this.id, layer, 'k'); }

  /** [Hkv, Tc, Dh], a new tensor the caller disposes. */
  override values(layer: number): tf.Tensor3D | undefined { return this.pool.cachedKv(this.id, layer, 'v'); }

  override dispose(): void {
    super.dispose();
    this.pool.dropCache(this.id);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The pool.

/** The leaves of a layer group on the host: each leaf's stored bytes (streamed), or its fp32 values. */
function layerLeaves(group: Weights<DecoderLayerParams>): Array<{ path: string; shape: readonly number[]; f32?: Float32Array; stored?: { dtype: DType } & StoredSource }> {
  if (group instanceof StoredWeights) {
    return sharedStoredTensors(group).map((t) => ({ path: t.path, shape: t.shape, stored: t.disk ? { dtype: t.dtype, disk: t.disk } : { dtype: t.dtype, bytes: t.bytes, arrival: t.arrival } }));
  }
  if (isWeightSource(group)) return group.hostLeaves().map((l) => ({ path: l.path, shape: l.shape, f32: l.data }));
  return [...flattenTree(group)].map(([path, t]) => ({ path, shape: t.shape, f32: t.dataSync() as Float32Array }));
}

/**
 * The lm_head for accel/rows.ts, when the loader streams it (a StoredWeights of one F16/BF16/F32 weight and no
 * bias, as Llama's): its stored bytes shared with the workers (SharedArrayBuffer, or its file region), each of
 * which multiplies its rows [w·V/W, (w+1)·V/W) on a decode step; else undefined (the reference path).
 */
function storedHead(w: Weights<LinearParams>): SharedStoredTensor | undefined {
  if (!(w instanceof StoredWeights) || w.tensors.size !== 1) return undefined;
  const t = w.tensors.get('weight');
  if (!t || t.shape.length !== 2 || !['F16', 'BF16', 'F32'].includes(t.dtype)) return undefined;
  return sharedStoredTensors(w)[0];
}

/** Worker w's rows of a V-row lm_head: [⌊w·V/W⌋, ⌊(w+1)·V/W⌋) (every row once, V need not divide by W). */
export function headRows(V: number, w: number, W: number): Shard & { kind: 'rows' } {
  return { kind: 'rows', from: Math.floor((w * V) / W), to: Math.floor(((w + 1) * V) / W) };
}

export class DecoderPool {
  private closed = false;
  private nextCacheId = 1;
  /** Per layer, the two RMSNorm weights the main thread applies. */
  private readonly norms: Array<{ input: tf.Tensor1D; post: tf.Tensor1D }> = [];
  /** The norm tensors the pool made itself (from streamed layers) and frees on close. */
  private readonly owned: tf.Tensor[] = [];

  private constructor(
    private readonly params: LlamaParams,
    readonly config: LlamaConfig,
    private readonly workers: Worker[],
    private readonly ports: MessagePort[],
    private readonly ctrl: Int32Array[],
  ) {}

  /** The kernels each worker reported installed when it started. */
  workerKernels: KernelChoice[] = [];

  /**
   * The one-row kernel (accel/rows.ts) the workers multiply streamed weights with on decode steps, the
   * streamed lm_head too; undefined when the layers are resident.
   */
  rowsKernel: RowsKernel | undefined;

  /** The lm_head is streamed: a decode step's logits are the workers' rows of it (storedHead, headRows), concatenated. */
  headSplit = false;

  /**
   * Starts `workers` threads on the active backend ('wasm' or 'cpu') and hands each its part of every
   * decoder layer of `params` (see the file comment); each installs `kernels` (default: the ones installed
   * in this thread). Blocks until every worker holds its weights.
   */
  static start(params: LlamaParams, cfg: LlamaConfig, workers = 2, kernels: KernelChoice = installedKernels()): DecoderPool {
    checkSplit(cfg, workers);
    const backend = tf.getBackend();
    if (backend !== 'wasm' && backend !== 'cpu') {
      throw new HeroError(`decoder workers: run on the wasm or cpu backend (the active one is '${backend}', which is multi-threaded itself)`);
    }
    const L = cfg.num_hidden_layers;
    if (params.model.layers.length !== L) throw new HeroError(`decoder workers: params hold ${params.model.layers.length} layers, the config ${L}`);
    const shards: Array<Array<Record<string, WorkerLeaf>>> = Array.from({ length: workers }, () => []);
    const transfers: ArrayBuffer[][] = Array.from({ length: workers }, () => []);
    const norms: Array<{ input: tf.Tensor1D; post: tf.Tensor1D }> = [];
    const owned: tf.Tensor[] = [];
    for (let l = 0; l < L; l++) {
      const group = params.model.layers[l];
      const mine: Partial<Record<'input' | 'post', tf.Tensor1D>> = {};
      if (!isWeightSource(group)) {
        mine.input = group.input_layernorm.weight;
        mine.post = group.post_attention_layernorm.weight;
      }
      const perWorker = Array.from({ length: workers }, () => ({} as Record<string, WorkerLeaf>));
      for (const leaf of layerLeaves(group)) {
        if (leaf.path === 'input_layernorm.weight' || leaf.path === 'post_attention_layernorm.weight') {
          if (isWeightSource(group)) {
            const data = leaf.f32 ?? readShard(leaf.shape, { kind: 'all' }, storedReader(leaf.stored!, leaf.stored!.dtype));
            const t = tf.tensor1d(data);
            owned.push(t);
            mine[leaf.path === 'input_layernorm.weight' ? 'input' : 'post'] = t;
          }
          continue;
        }
        for (let w = 0; w < workers; w++) {
          const shard = shardOf(leaf.path, cfg, w, workers);
          if (shard.kind === 'none') continue;
          if (leaf.stored) {
            perWorker[w][leaf.path] = { kind: 'stored', shape: [...leaf.shape], shard, ...leaf.stored };
          } else {
            const f32 = leaf.f32!;
            const data = readShard(leaf.shape, shard, (a, b, into, at) => into.set(f32.subarray(a, b), at)); // a fresh copy per worker
            perWorker[w][leaf.path] = { kind: 'f32', shape: shardShape(leaf.shape, shard), data };
            transfers[w].push(data.buffer as ArrayBuffer);
          }
        }
      }
      if (!mine.input || !mine.post) throw new HeroError(`decoder workers: layer ${l} has no RMSNorm weights`);
      norms.push({ input: mine.input, post: mine.post });
      perWorker.forEach((r, w) => shards[w].push(r));
    }
    const ws: Worker[] = [], ports: MessagePort[] = [], ctrl: Int32Array[] = [];
    const head = storedHead(params.lm_head);
    for (let w = 0; w < workers; w++) {
      const c = new Int32Array(new SharedArrayBuffer(8));
      c[0] = STATE.busy;
      const { port1, port2 } = new MessageChannel();
      const headLeaf = head && { kind: 'stored' as const, shape: [...head.shape], shard: headRows(head.shape[0], w, workers), ...(head.disk ? { dtype: head.dtype, disk: head.disk } : { dtype: head.dtype, bytes: head.bytes!, arrival: head.arrival }) };
      const data: DecoderWorkerData = { rank: w, workers, config: cfg, backend, kernels, layers: shards[w], ...(headLeaf ? { head: headLeaf } : {}), ctrl: c, port: port2 };
      ws.push(spawnWorker('decoder_worker', data, transfers[w], port2));
      ws[w].unref(); // an idle pool never keeps the process alive
      ports.push(port1);
      ctrl.push(c);
    }
    const pool = new DecoderPool(params, cfg, ws, ports, ctrl);
    pool.norms.push(...norms);
    pool.owned.push(...owned);
    try {
      const ready = pool.collect(START_TIMEOUT_MS) as Array<{ kernels: KernelChoice; rows?: RowsKernel }>; // the ready messages
      pool.workerKernels = ready.map((m) => m.kernels);
      pool.rowsKernel = ready[0]?.rows;
      pool.headSplit = head !== undefined;
    } catch (e) {
      void pool.close();
      throw e;
    }
    return pool;
  }

  /** Number of worker threads. */
  get size(): number { return this.workers.length; }

  /** A fresh cache for `forward` (with it, the pool is a llama/generate.ts Decoder: PipelineInput.decoder). */
  readonly newCache = (numLayers: number): PoolKvCache => {
    if (numLayers !== this.config.num_hidden_layers) throw new HeroError(`decoder workers: a cache of ${numLayers} layers for a decoder of ${this.config.num_hidden_layers}`);
    return new PoolKvCache(this, numLayers, this.nextCacheId++);
  };

  /**
   * llamaForward(p, inputsEmbeds, cfg, { cache, lastOnly }) with the layers in the workers; same result
   * (logits [T, V] or [1, V] with lastOnly). `p` must be the params the pool was started with, `cache` one
   * of its own (newCache). Taps are refused (HeroError); a decoder hook (baselines/decoder_hooks.ts) never
   * comes here: it runs the in-process layers.
   * @param inputsEmbeds [T, D]
   */
  readonly forward = (p: LlamaParams, inputsEmbeds: tf.Tensor2D, cfg: LlamaConfig,
    opts: { cache?: KvCache; taps?: DecoderTaps; lastOnly?: boolean; onLayer?: (done: number, total: number) => void } = {},
  ): { logits: tf.Tensor2D } => {
    if (opts.taps) throw new HeroError('decoder workers: taps (hidden states, attentions) need the in-process decoder; run without --decoder-workers');
    if (this.closed) throw new HeroError('decoder workers: the pool is closed');
    if (p !== this.params) throw new HeroError('decoder workers: the params are not the ones the pool was started with');
    if (opts.cache && !(opts.cache instanceof PoolKvCache)) throw new HeroError("decoder workers: the KV cache must come from the pool's newCache");
    const T = inputsEmbeds.shape[0], D = cfg.hidden_size, L = cfg.num_hidden_layers;
    assertShape(inputsEmbeds, ['T', 'D'], [-1, D], 'decoder workers: inputs_embeds');
    // Without a cache the chunk still attends within itself: a cache for this call only.
    const cache = (opts.cache as PoolKvCache | undefined) ?? this.newCache(L);
    try {
      const past = cache.length;
      checkSequenceLength(past + T, cfg);
      const positions = Array.from({ length: T }, (_, t) => past + t);
      const eps = cfg.rms_norm_eps;
      let h: tf.Tensor2D = inputsEmbeds;
      for (let l = 0; l < L; l++) {
        const x = h;
        h = tf.tidy(() => {
          // Llama-1 with the products split over the workers: h = x + Σ_w Attn_w(RMSNorm(x)) ; y = h + Σ_w MLP_w(RMSNorm(h))
          const a = this.run((w) => ({ op: 'attn', layer: l, cache: cache.id, x: w, T, positions }), rmsNorm({ weight: this.norms[l].input }, x, eps));
          const mid = tf.add(x, a) as tf.Tensor2D;
          return tf.add(mid, this.run((w) => ({ op: 'mlp', layer: l, x: w, T }), rmsNorm({ weight: this.norms[l].post }, mid, eps))) as tf.Tensor2D;
        });
        if (x !== inputsEmbeds) x.dispose();
        opts.onLayer?.(l + 1, L);
      }
      cache.advance(T);
      const logits = tf.tidy(() => {
        const last = opts.lastOnly ? tf.slice(h, [T - 1, 0], [1, -1]) as tf.Tensor2D : h; // [T|1, D]
        const normed = rmsNorm(p.model.norm, last, eps);
        // One row: straight from the stored bytes when the lm_head is streamed (accel/rows.ts), each worker its
        // rows, so that every core streams; else the reference.
        if (this.headSplit && normed.shape[0] === 1) return this.headLogits(normed);   // [1, V]
        return useWeights(p.lm_head, (w) => linear(w, normed));                        // [T|1, V]
      });
      if (h !== inputsEmbeds) h.dispose();
      return { logits };
    } finally {
      if (!opts.cache) cache.dispose();
    }
  };

  /** Sends x̂ [T, D] to every worker in the job `make` builds and sums their partial outputs [T, D] in worker order. */
  private run(make: (x: Float32Array) => DecoderJob, xHat: tf.Tensor2D): tf.Tensor2D {
    const data = xHat.dataSync() as Float32Array;
    this.ports.forEach((port, w) => {
      const x = Float32Array.from(data); // each worker takes its own copy
      Atomics.store(this.ctrl[w], 0, STATE.busy);
      port.postMessage(make(x), [x.buffer]);
    });
    const parts = (this.collect() as Array<{ out: Float32Array }>).map((m) => tf.tensor2d(m.out, xHat.shape)); // [T, D] each
    return parts.length === 1 ? parts[0] : tf.addN(parts) as tf.Tensor2D;
  }

  /** One row's logits [1, V] from the workers' rows of the streamed lm_head (headRows), in worker order. */
  private headLogits(normed: tf.Tensor2D): tf.Tensor2D {
    const data = normed.dataSync() as Float32Array;
    this.ports.forEach((port, w) => {
      const x = Float32Array.from(data);
      Atomics.store(this.ctrl[w], 0, STATE.busy);
      port.postMessage({ op: 'head', x } satisfies DecoderJob, [x.buffer]);
    });
    const parts = (this.collect() as Array<{ out: Float32Array }>).map((m) => m.out);
    const logits = new Float32Array(parts.reduce((n, o) => n + o.length, 0));
    let at = 0;
    for (const o of parts) { logits.set(o, at); at += o.length; }
    return tf.tensor2d(logits, [1, logits.length]); // [1, V]
  }

  /** A cache's keys (or values) of one layer from every worker, heads in order: [Hkv, Tc, Dh]. */
  cachedKv(cache: number, layer: number, which: 'k' | 'v'): tf.Tensor3D | undefined {
    if (this.closed) return undefined;
    this.post({ op: 'kv', layer, cache });
    const parts = this.collect() as KvReply[];
    if (parts.some((r) => r[which] === null)) return undefined;
    const ts = parts.map((r) => tf.tensor3d(r[which]!, r.shape as [number, number, number]));
    const out = ts.length === 1 ? ts[0] : tf.concat(ts, 0) as tf.Tensor3D;
    if (ts.length > 1) tf.dispose(ts);
    return out;
  }

  /** Frees a cache's keys and values in the workers (PoolKvCache.dispose). */
  dropCache(cache: number): void {
    if (this.closed) return;
    this.post({ op: 'drop', cache });
    this.collect();
  }

  /** Tensors alive on each worker's backend (a leak check for tests). */
  workerTensors(): number[] {
    this.post({ op: 'memory' });
    return (this.collect() as Array<{ numTensors: number }>).map((m) => m.numTensors);
  }

  /** The same job to every worker. */
  private post(job: DecoderJob): void {
    this.ports.forEach((port, w) => {
      Atomics.store(this.ctrl[w], 0, STATE.busy);
      port.postMessage(job);
    });
  }

  /** Waits for every worker to finish its job and takes the replies (collectReplies). */
  private collect(timeoutMs = Infinity): unknown[] {
    return collectReplies(this.ctrl, this.ports, 'decoder worker', { timeoutMs });
  }

  /** Stops the workers and frees the norm weights the pool made. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    tf.dispose(this.owned);
    this.ports.forEach((p) => p.close());
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
