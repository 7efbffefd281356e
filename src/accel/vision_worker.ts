/**
 * One worker of a VisionPool (vision_pool.ts): its own tfjs backend, its copy of the resident vision weights
 * and the shared stored bytes of the streamed layers (widened one layer at a time by useWeights); runs
 * `visionModel` (with its parent's kernels) on the crops it is sent and posts the tapped outputs back as host arrays. Every reply
 * (ready, result, error) is followed by a state change on the shared control word and a notify.
 */
import { workerData, type MessagePort } from 'worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../backend';
import { buildTree } from '../io/checkpoint';
import type { ClipVisionConfig } from '../clip/config';
import { disposeVisionOutput, visionModel, type ClipVisionParams, type VisionTaps } from '../clip/vision';
import { installKernels, installedKernels, type KernelChoice } from './kernels';
import { STATE, workerTree, type HostTensor, type VisionWorkerWeights, type WorkerResult } from './vision_pool';

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

// Whatever escapes (an abort inside wasm, say) is reported rather than leaving the main thread waiting.
process.on('uncaughtException', (e) => reply({ error: `crashed: ${e.message}` }, STATE.failed));

(async () => {
  await initBackend(backend);
  installKernels(kernels); // the parent's choice: the same kernels in every thread
  const params = workerTree(weights, (leaves) => buildTree<ClipVisionParams>(leaves));
  port.on('message', (job: { pixels: HostTensor; taps: VisionTaps }) => {
    try {
      const px = tf.tensor4d(job.pixels.data, job.pixels.shape as [number, number, number, number]);
      const o = visionModel(params, px, config, job.taps, (done) => Atomics.store(ctrl, 1, done));
      const res: WorkerResult = {
        hiddenStates: o.hiddenStates.map(host), attentions: o.attentions.map(host), queries: o.queries.map(host),
        keys: o.keys.map(host), clsAttention: o.clsAttention.map(host),
        lastHiddenState: host(o.lastHiddenState)!, pooled: host(o.pooled)!,
      };
      px.dispose();
      disposeVisionOutput(o);
      const buffers = [res.lastHiddenState, res.pooled, ...res.hiddenStates, ...res.attentions, ...res.queries, ...res.keys, ...res.clsAttention]
        .filter((h): h is HostTensor => !!h).map((h) => h.data.buffer as ArrayBuffer); // each host() array is a fresh buffer
      reply(res, STATE.done, buffers);
    } catch (e) {
      reply({ error: (e as Error).message }, STATE.failed);
    }
  });
  reply({ ready: true, kernels: installedKernels() }, STATE.done);
})().catch((e: Error) => reply({ error: `start-up failed: ${e.message}` }, STATE.failed));
