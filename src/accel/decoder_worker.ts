/**
 * One worker of a DecoderPool (decoder_pool.ts): its own tfjs backend, its part of every decoder layer
 * (attention heads and MLP columns) and its heads' KV cache per pool cache id. An 'attn' job runs the
 * reference selfAttention (llama/decoder.ts) on its heads, an 'mlp' job the reference mlp on its columns;
 * both post their partial output [T, D] back; a 'head' job multiplies its rows of a streamed lm_head by one
 * row (accel/rows.ts) and posts those logits back. Every reply is followed by a state change on the shared
 * control word and a notify.
 */
import { workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../backend';
import { nestByPath } from '../io/checkpoint';
import { byteReader, storedWidening } from '../io/stored';
import { isWeightSource, leafTensors, useWeights, type WeightSource, type Weights } from '../core/weights';
import type { LlamaConfig } from '../llama/config';
import { mlp, selfAttention, type DecoderLayerParams } from '../llama/decoder';
import { KvCache } from '../llama/kv_cache';
import { positionMask } from '../nn/attention';
import { ropeTablesAt } from '../nn/rope';
import { HostKvCache } from './kv_host';
import { installKernels, installedKernels } from './kernels';
import { keepTransposed } from './linear';
import { installStoredRows, rowProduct, rowsKernel, storedMatrix, storedWeight, type RowsDType } from './rows';
import { STATE } from './vision_pool';
import { readShard, shardShape, storedReader, type DecoderJob, type DecoderWorkerData, type WorkerLeaf } from './decoder_pool';

const { rank, workers, config, backend, kernels, layers, head, ctrl, port } = workerData as DecoderWorkerData;

/** This worker's rows of the streamed lm_head (DecoderWorkerData.head), as the one-row kernel reads them. */
const headMatrix = head && storedMatrix(byteReader(head), head.dtype as RowsDType, head.shape, [(head.shard as { from: number }).from, (head.shard as { to: number }).to]);

function reply(msg: unknown, state: number, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  Atomics.store(ctrl, 0, state);
  Atomics.notify(ctrl, 0);
}

// Whatever escapes (an abort inside wasm, say) is reported rather than leaving the main thread waiting.
process.on('uncaughtException', (e) => reply({ error: `crashed: ${e.message}` }, STATE.failed));

/** This worker's heads: the config selfAttention sees (H/W query heads, Hkv/W kv heads, the same Dh). */
const mine: LlamaConfig = { ...config, num_attention_heads: config.num_attention_heads / workers, num_key_value_heads: config.num_key_value_heads / workers };

/** The leaves under `prefix` ('self_attn.' or 'mlp.'), by their path inside the group. */
const ownLeaves = (leaves: Record<string, WorkerLeaf>, prefix: string): Array<readonly [string, WorkerLeaf]> =>
  Object.entries(leaves).filter(([k]) => k.startsWith(prefix)).map(([k, leaf]) => [k.slice(prefix.length), leaf] as const);

/** A leaf as an fp32 tensor: a resident one's values, or this worker's shard of the stored bytes widened straight into the tensor's memory (io/stored.ts's installed widening). */
const leafTensor = (leaf: WorkerLeaf): tf.Tensor => (leaf.kind === 'f32'
  ? tf.tensor(leaf.data, leaf.shape)
  : storedWidening().newTensor(shardShape(leaf.shape, leaf.shard), (out) => readShard(leaf.shape, leaf.shard, storedReader(leaf, leaf.dtype), out)));

/** A weight source that makes the group with `make` for each use (core/weights.ts useWeights frees it after). */
function sourceOf<T>(own: Array<readonly [string, WorkerLeaf]>, make: () => T): WeightSource<T> {
  return {
    kind: 'weight-source', hostBytes: 0, fp32Bytes: 0,
    materialise: make,
    hostLeaves: () => { throw new Error('decoder worker: hostLeaves is not used'); },
    leafShapes: () => own.map(([path, leaf]) => ({ path, shape: leaf.kind === 'f32' ? leaf.shape : shardShape(leaf.shape, leaf.shard) })),
  };
}

/**
 * The leaves under `prefix` ('self_attn.' or 'mlp.') as a weight group: resident tensors made once, or —
 * when the layer is streamed — a source that widens this worker's rows/columns of the shared stored bytes
 * for one use.
 */
function group<T>(leaves: Record<string, WorkerLeaf>, prefix: string): Weights<T> {
  const own = ownLeaves(leaves, prefix);
  const make = (): T => nestByPath(new Map(own.map(([k, leaf]) => [k, leafTensor(leaf)]))) as T;
  return own.every(([, leaf]) => leaf.kind === 'f32') ? make() : sourceOf(own, make);
}

/**
 * The same group for a decode step (one row of x), when it has stored leaves: each stored [out, in] weight a
 * stand-in that accel/rows.ts multiplies straight from the shared stored bytes of this worker's rows/columns
 * (no fp32 copy of the weight); biases and norms widened as in `group`. undefined for a resident group.
 */
function rowsGroup<T>(leaves: Record<string, WorkerLeaf>, prefix: string): Weights<T> | undefined {
  const own = ownLeaves(leaves, prefix);
  if (own.every(([, leaf]) => leaf.kind === 'f32')) return undefined;
  return sourceOf(own, (): T => nestByPath(new Map(own.map(([k, leaf]) => {
    if (leaf.kind === 'stored' && leaf.shape.length === 2 && (leaf.shard.kind === 'rows' || leaf.shard.kind === 'cols') && ['F16', 'BF16', 'F32'].includes(leaf.dtype)) {
      const [out, inF] = leaf.shape, s = leaf.shard;
      const rows: [number, number] = s.kind === 'rows' ? [s.from, s.to] : [0, out], cols: [number, number] = s.kind === 'cols' ? [s.from, s.to] : [0, inF];
      return [k, storedWeight(storedMatrix(byteReader(leaf), leaf.dtype as RowsDType, leaf.shape, rows, cols))];
    }
    return [k, leafTensor(leaf)];
  }))) as T);
}

let streamed = false;
/** Per layer, the groups for decode steps (rowsGroup; undefined where resident). */
const attnRows: Array<Weights<DecoderLayerParams['self_attn']> | undefined> = [];
const mlpRows: Array<Weights<DecoderLayerParams['mlp']> | undefined> = [];
const attnW: Weights<DecoderLayerParams['self_attn']>[] = [];
const mlpW: Weights<DecoderLayerParams['mlp']>[] = [];
/** The KV cache of each pool cache id (this worker's kv heads only). */
const caches = new Map<number, KvCache>();

function run(job: DecoderJob): { msg: unknown; transfer: ArrayBuffer[] } {
  const D = config.hidden_size, L = config.num_hidden_layers;
  switch (job.op) {
    case 'attn': case 'mlp': {
      const out = tf.tidy(() => {
        const x = tf.tensor2d(job.x, [job.T, D]);                                    // [T, D] = RMSNorm(h)
        // A decode step (one row) multiplies streamed weights straight from their stored bytes (accel/rows.ts).
        const oneRow = job.T === 1;
        if (job.op === 'mlp') return useWeights((oneRow && mlpRows[job.layer]) || mlpW[job.layer], (w) => mlp(w, x)); // [T, D] partial
        let cache = caches.get(job.cache);
        if (!cache) caches.set(job.cache, cache = streamed ? new HostKvCache(L) : new KvCache(L));
        // RoPE at the chunk's positions Tc..Tc+T−1; the causal mask over cached + new keys (0..Tc+T−1).
        const rope = ropeTablesAt(job.positions, config.head_dim, config.rope_theta);       // [T, Dh]
        const mask = positionMask(job.positions, Array.from({ length: job.positions[0] + job.T }, (_, t) => t)); // [T, Tc+T]
        const c = { cache, layer: job.layer };
        return useWeights((oneRow && attnRows[job.layer]) || attnW[job.layer], (w) => selfAttention(w, x, mine, rope, mask, c).out); // [T, D] partial
      });
      const data = (out.dataSync() as Float32Array).slice(); // a copy: the cpu backend's storage must not be transferred
      out.dispose();
      return { msg: { out: data }, transfer: [data.buffer as ArrayBuffer] };
    }
    case 'kv': {
      const cache = caches.get(job.cache);
      const k = cache?.keys(job.layer), v = cache?.values(job.layer);
      const host = (t: tf.Tensor | undefined): Float32Array | null => (t ? (t.dataSync() as Float32Array).slice() : null);
      const msg = { k: host(k), v: host(v), shape: k ? [...k.shape] : [] };
      if (cache instanceof HostKvCache) tf.dispose([k!, v!].filter(Boolean)); // HostKvCache hands out copies
      return { msg, transfer: [] };
    }
    case 'drop':
      caches.get(job.cache)?.dispose();
      caches.delete(job.cache);
      return { msg: { dropped: job.cache }, transfer: [] };
    case 'head': {
      if (!headMatrix) throw new Error('decoder worker: no lm_head rows (the lm_head is not streamed)');
      const out = rowProduct(headMatrix, job.x, 1); // this worker's rows of the [1, V] logits
      return { msg: { out }, transfer: [out.buffer as ArrayBuffer] };
    }
    case 'memory':
      return { msg: { numTensors: tf.memory().numTensors }, transfer: [] };
    default:
      throw new Error(`unknown job ${(job as { op: string }).op}`);
  }
}

(async () => {
  await initBackend(backend as BackendName, () => undefined);
  installKernels(kernels); // the parent's choice: the same kernels in every thread
  for (const leaves of layers) {
    streamed ||= Object.values(leaves).some((leaf) => leaf.kind === 'stored');
    attnW.push(group(leaves, 'self_attn.'));
    mlpW.push(group(leaves, 'mlp.'));
    attnRows.push(rowsGroup(leaves, 'self_attn.'));
    mlpRows.push(rowsGroup(leaves, 'mlp.'));
  }
  if (streamed) installStoredRows(); // stored-bytes weights (rowsGroup) go to accel/rows.ts, the rest to the installed linear
  // Resident slices are used once per layer and token: keep their Wᵀ (./linear.ts keepTransposed), so a decode
  // step is one XNNPACK product per matrix instead of tfjs-wasm's transposeB loop, and a prefill copies no Wᵀ.
  // wasm-gemm hands such few-row products to the transpose policy too (./gemm.ts GEMM_MIN_ROWS).
  if (kernels.linear === 'transpose-policy' || kernels.linear === 'wasm-gemm') for (const w of [...attnW, ...mlpW]) if (!isWeightSource(w)) for (const t of leafTensors(w)) keepTransposed(t);
  port.on('message', (job: DecoderJob) => {
    try {
      const { msg, transfer } = run(job);
      reply(msg, STATE.done, transfer);
    } catch (e) {
      reply({ error: (e as Error).message }, STATE.failed);
    }
  });
  reply({ ready: true, rank, kernels: installedKernels(), rows: streamed ? rowsKernel() : undefined }, STATE.done);
})().catch((e: Error) => reply({ error: `start-up failed: ${e.message}` }, STATE.failed));
