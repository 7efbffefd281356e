/**
 * One worker of a VisionPool (vision_pool.ts): its own tfjs backend, its copy of the resident vision weights
 * and the shared stored bytes of the streamed layers (widened one layer at a time by useWeights); runs
 * `visionModel` (with its parent's kernels) on the crops it is sent — its whole crops, then its rows of the crops
 * shared by all workers (vision_pool.ts CropPlan), exchanging keys and values with them at every layer — and
 * posts the tapped outputs back as host arrays. Every reply
 * (ready, result, error) is followed by a state change on the shared control word and a notify.
 */
import { workerData, type MessagePort } from 'worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../backend';
import { buildTree } from '../io/checkpoint';
import { clipSequenceLength, type ClipVisionConfig } from '../clip/config';
import { disposeVisionOutput, visionModel, type ClipVisionParams, type VisionRows } from '../clip/vision';
import type { KeysValues } from '../clip/encoder';
import { installKernels, installedKernels, type KernelChoice } from './kernels';
import { STATE, workerTree, type HostTensor, type SharedCropsJob, type VisionJob, type VisionWorkerWeights, type WorkerOutput, type WorkerResult } from './vision_pool';

const { weights, config, backend, kernels, ctrl, port } = workerData as {
  weights: VisionWorkerWeights; config: ClipVisionConfig; backend: BackendName; kernels: KernelChoice; ctrl: Int32Array; port: MessagePort;
};

function reply(msg: unknown, state: number, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  Atomics.store(ctrl, 0, state);
  Atomics.notify(ctrl, 0);
}

// A copy: on the cpu backend dataSync returns the tensor's own storage, which must not be transferred.
const host = (t: tf.Tensor | undefined): HostTensor | null => (t ? { shape: t.shape, data: (t.dataSync() as Float32Array).slice() } : null);

/** The shared crops' sync words of the job running now: set to stop the other workers when this one fails. */
let running: Int32Array | undefined;

/** Tells the other workers sharing crops with this one to stop waiting for its rows. */
function abortShared(): void {
  const sync = running;
  if (!sync) return;
  Atomics.store(sync, sync.length - 1, 1);
  for (let i = 0; i < sync.length - 1; i++) Atomics.notify(sync, i);
}

// Whatever escapes (an abort inside wasm, say) is reported rather than leaving the main thread waiting.
process.on('uncaughtException', (e) => { abortShared(); reply({ error: `crashed: ${e.message}` }, STATE.failed); });

/** Raised in a worker whose partner failed: the partner's own error is the one reported (collectReplies). */
const PARTNER_FAILED = 'another vision worker sharing the crops failed';

/**
 * Layer i's KeysValues (clip/encoder.ts) for this worker's rows of the shared crops: writes its rows' keys and
 * values into the shared memory, waits until every worker has written its own (SharedCropsJob), and reads back
 * every row's, in order.
 */
function exchange(job: SharedCropsJob): (layer: number) => KeysValues {
  const [Ps] = job.pixels.shape, T = clipSequenceLength(config), Dv = config.hidden_size;
  const [begin, end] = job.rows;
  const buf = new Float32Array(job.kv), sync = job.sync, stop = sync.length - 1;
  const block = Ps * T * Dv;                                                         // one [Ps, T, Dv]
  return (layer) => (k, v) => {
    const base = (layer % 2) * 2 * block;                                            // this layer's keys, then values
    [k, v].forEach((t, j) => {
      const mine = t.dataSync() as Float32Array;                                      // [Ps, Tr, Dv]
      for (let r = 0; r < Ps; r++) buf.set(mine.subarray(r * (end - begin) * Dv, (r + 1) * (end - begin) * Dv), base + j * block + (r * T + begin) * Dv);
    });
    Atomics.add(sync, layer, 1);
    Atomics.notify(sync, layer);
    for (let seen = Atomics.load(sync, layer); seen < job.workers; seen = Atomics.load(sync, layer)) {
      if (Atomics.load(sync, stop) !== 0) throw new Error(PARTNER_FAILED);
      Atomics.wait(sync, layer, seen, 200);
    }
    return {
      k: tf.tensor3d(buf.slice(base, base + block), [Ps, T, Dv]),                   // copies: the memory is reused two layers on
      v: tf.tensor3d(buf.slice(base + block, base + 2 * block), [Ps, T, Dv]),
    };
  };
}

(async () => {
  await initBackend(backend);
  installKernels(kernels); // the parent's choice: the same kernels in every thread
  const params = workerTree(weights, (leaves) => buildTree<ClipVisionParams>(leaves));
  const L = config.num_hidden_layers;
  port.on('message', (job: VisionJob) => {
    running = job.shared?.sync;
    const buffers: ArrayBuffer[] = [];
    const phases = (job.pixels ? 1 : 0) + (job.shared ? 1 : 0);
    /** The tower over some crops (and, for the shared ones, some rows), as host arrays; progress over both phases. */
    const run = (pixels: HostTensor, phase: number, split?: VisionRows): WorkerOutput => {
      const px = tf.tensor4d(pixels.data, pixels.shape as [number, number, number, number]);
      try {
        const o = visionModel(params, px, config, job.taps, (done) => Atomics.store(ctrl, 1, Math.floor((phase * L + done) / phases)), split);
        const cls = !split || split.rows[0] === 0; // clsAttention and pooled read the CLS row: the worker holding it sends them
        const res: WorkerOutput = {
          hiddenStates: o.hiddenStates.map(host), attentions: o.attentions.map(host), queries: o.queries.map(host),
          keys: o.keys.map(host), clsAttention: o.clsAttention.map((t) => (cls ? host(t) : null)),
          lastHiddenState: host(o.lastHiddenState)!, pooled: cls ? host(o.pooled) : null,
        };
        disposeVisionOutput(o);
        for (const h of [res.lastHiddenState, res.pooled, ...res.hiddenStates, ...res.attentions, ...res.queries, ...res.keys, ...res.clsAttention]) {
          if (h) buffers.push(h.data.buffer as ArrayBuffer); // each host() array is a fresh buffer
        }
        return res;
      } finally {
        px.dispose();
      }
    };
    try {
      const whole = job.pixels ? run(job.pixels, 0) : null;
      const shared = job.shared ? run(job.shared.pixels, job.pixels ? 1 : 0, { rows: job.shared.rows, keysValues: exchange(job.shared) }) : null;
      const res: WorkerResult = { whole, shared };
      reply(res, STATE.done, buffers);
    } catch (e) {
      abortShared();
      const msg = (e as Error).message;
      reply({ error: msg, ...(msg === PARTNER_FAILED ? { secondary: true } : {}) }, STATE.failed);
    } finally {
      running = undefined;
    }
  });
  reply({ ready: true, kernels: installedKernels() }, STATE.done);
})().catch((e: Error) => reply({ error: `start-up failed: ${e.message}` }, STATE.failed));
