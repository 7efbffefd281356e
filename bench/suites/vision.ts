/**
 * vision: CLIP ViT-L/14-336 at real width and depth over the 5 crops of a 2×2-grid image, keeping the
 * attention maps HERO taps; against the PyTorch peer at 1 and 2 threads. Leaves its outputs (VisionState)
 * for the hero suite.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../../src/backend';
import { clipVisionKeys } from '../../src/clip/load';
import { disposeVisionOutput, visionModel, type ClipVisionParams, type VisionOutput } from '../../src/clip/vision';
import { VisionPool } from '../../src/accel';
import { disposeTree } from '../../src/io/checkpoint';
import { writeSafetensors, type TensorToWrite } from '../../src/io/safetensors';
import { disposeVisualContext } from '../../src/llava/model';
import type { VisualContext } from '../../src/llava/visual_context';
import { randomParams, VIT_L_336, VIT_L_HERO_TAPS } from '../../src/weights/random_params';
import { bestThreads, fairBlas, fmt, peer, peerBlasLine, timeIt, type BenchOptions, type PeerInfo, type Stat } from '../common';

/** What the peer reports for the vision suite. */
export interface VisionPeer extends PeerInfo { threads_1: Stat; threads_2: Stat }

/** bench/results/vision_<backend>.json (after the run's metadata). */
export interface VisionResult {
  backend: BackendName;
  path: string;
  tfjs_ms: Stat;
  pool_start_ms: number | undefined;
  in_process_ms: Stat | undefined;
  peer: VisionPeer | string;
  tfjs_over_torch_1_thread: number | undefined;
  tfjs_over_torch_2_threads: number | undefined;
  /** tfjs / PyTorch at its best thread count on this machine, or why there is none (no peer, an unfair BLAS) */
  vs_pytorch: { ratio: number; torch_threads: number } | string;
  cpu: string;
}

/** What the hero suite reuses: one vision output as HERO's input, the median time, the tower. */
export interface VisionState {
  readonly ctx: VisualContext;
  readonly visionMs: number;
  readonly encode: (x: tf.Tensor4D, taps?: object) => VisionOutput;
  dispose(): Promise<void>;
}

export async function visionSuite(opts: BenchOptions, backend: BackendName): Promise<{ result: VisionResult; state: VisionState }> {
  const VIT_L = VIT_L_336, HERO_TAPS = VIT_L_HERO_TAPS;
  const { tree, host } = randomParams<{ vision_model: ClipVisionParams }>(clipVisionKeys(VIT_L, 'vision_model.'), 7);
  const px = tf.randomNormal([5, 3, 336, 336], 0, 1, 'float32', 11) as tf.Tensor4D;
  const t0 = performance.now();
  const pool = opts.visionWorkers > 0 ? VisionPool.start(tree.vision_model, VIT_L, opts.visionWorkers) : undefined;
  const poolStartMs = performance.now() - t0;
  const encode = (x: tf.Tensor4D, taps: object = HERO_TAPS): VisionOutput => (pool ? pool.encode(x, taps) : visionModel(tree.vision_model, x, VIT_L, taps));
  const run = (): void => { const o = encode(px); o.lastHiddenState.dataSync(); disposeVisionOutput(o); };
  const how = pool ? `${pool.size} worker threads` : 'in-process';
  const t = await timeIt(run, opts.runs);
  let plain: Stat | undefined;
  if (opts.plain && pool) plain = await timeIt(() => { const o = visionModel(tree.vision_model, px, VIT_L, HERO_TAPS); o.lastHiddenState.dataSync(); disposeVisionOutput(o); }, 1, 0);
  // Keep one output as HERO's input for the hero suite.
  const o = encode(px);
  const ctx: VisualContext = {
    hiddenStates: o.hiddenStates, attentions: o.attentions, queries: [], keys: [],
    projected: tf.randomNormal([5, 576, 64], 0, 1, 'float32', 3) as tf.Tensor3D, imageNewline: tf.zeros([64]) as tf.Tensor1D,
    imageSize: [480, 640], grid: [2, 2], patchGrid: 24, featureLayer: 23,
  };
  tf.dispose([o.pooled, o.lastHiddenState]);
  console.log(`vision  ViT-L/14-336 × 5 crops, 24 layers, HERO taps (${backend}, ${how}): ${fmt(t)}` +
    (pool ? ` (pool start-up, once: ${poolStartMs.toFixed(0)} ms)` : ''));
  if (plain) console.log(`        in-process (one thread), 1 run: ${fmt(plain)} → pool speedup ${(plain.median / t.median).toFixed(2)}×`);
  let peerRes: VisionPeer | string = 'not run';
  if (backend === opts.backends[0]) {
    const file = path.join(opts.tmp, 'vision.safetensors');
    const strip: Record<string, TensorToWrite> = {};
    for (const [k, v] of Object.entries(host)) strip[k.replace(/^vision_model\./, '')] = v;
    strip.__input__ = { dtype: 'F32', shape: px.shape, data: px.dataSync() as Float32Array };
    writeSafetensors(file, strip);
    peerRes = peer<VisionPeer>(opts, 'vision', file, { layers: 24, heads: 16, taps: HERO_TAPS.attentions, threads: [1, 2], runs: opts.runs, warmup: 1 });
    fs.rmSync(file);
    if (typeof peerRes === 'object') {
      const p = peerRes;
      console.log(`        ${peerBlasLine(p)}: 1 thread ${fmt(p.threads_1)}, 2 threads ${fmt(p.threads_2)}`);
    } else console.log(`        ${peerRes}`);
  }
  px.dispose();
  const p1 = typeof peerRes === 'object' && fairBlas(peerRes) === undefined ? peerRes : undefined;
  let vs: VisionResult['vs_pytorch'] = typeof peerRes === 'string' ? peerRes : fairBlas(peerRes) ?? '';
  if (p1) {
    const best = bestThreads({ threads_1: p1.threads_1, threads_2: p1.threads_2 });
    vs = { ratio: t.median / best.median, torch_threads: best.threads };
    console.log(`        tfjs / PyTorch-best (${best.threads} thread(s)): ${vs.ratio.toFixed(2)}×`);
  } else if (typeof peerRes === 'object') console.log(`        ${vs}`);
  return {
    result: {
      backend, path: how, tfjs_ms: t, pool_start_ms: pool ? poolStartMs : undefined, in_process_ms: plain, peer: peerRes,
      tfjs_over_torch_1_thread: p1 && t.median / p1.threads_1.median, tfjs_over_torch_2_threads: p1 && t.median / p1.threads_2.median,
      vs_pytorch: vs, cpu: `${os.cpus().length}× ${os.cpus()[0]?.model}`,
    },
    state: {
      ctx, visionMs: t.median, encode,
      async dispose() {
        if (pool) await pool.close();
        disposeTree(tree);
        disposeVisualContext(ctx);
      },
    },
  };
}
