/**
 * The ViT-L/14-336 vision timing of scripts/gpu-check.sh: LLaVA-NeXT's vision tower at its real shapes
 * (5 crops of 336 px, 24 layers, HERO's taps) with seeded random weights (src/weights/random_params.ts,
 * the same as `npm run bench`'s vision suite), on any backend. Reads results with the asynchronous
 * data(), which every backend has (webgpu in Node has no synchronous read; docs/gpu.md).
 *
 *   node dist/accel/vision_timing.js [--backend B] [--runs N] [--crops P]   → one JSON line on stdout
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, requestedBackend } from '../backend';
import { disposeVisionOutput, visionModel, type ClipVisionParams, type VisionTaps } from '../clip/vision';
import type { ClipVisionConfig } from '../clip/config';
import { disposeTree } from '../io/checkpoint';
import { randomParams, VIT_L_336, VIT_L_HERO_TAPS } from '../weights/random_params';
import { activeWebGpuAdapter, checkWeightsFit, releaseWebGpu } from './webgpu';
import { HeroError } from '../core/errors';
import { clipVisionKeys } from '../clip/load';

export interface VisionTiming {
  backend: string;
  crops: number;
  runs_ms: number[];
  median_ms: number;
  first_run_ms: number;
  last_hidden_state_finite: boolean;
}

/**
 * Times `runs` passes (after one warm-up, reported as first_run_ms) of a CLIP vision tower (default
 * ViT-L/14-336 with HERO's taps) over `crops` crops of random pixels.
 */
export async function timeVisionViTL(crops: number, runs: number, cfg: ClipVisionConfig = VIT_L_336,
  taps: VisionTaps = VIT_L_HERO_TAPS): Promise<Omit<VisionTiming, 'backend'>> {
  const { tree } = randomParams<{ vision_model: ClipVisionParams }>(clipVisionKeys(cfg, 'vision_model.'), 7);
  const px = tf.randomNormal([crops, 3, cfg.image_size, cfg.image_size], 0, 1, 'float32', 11) as tf.Tensor4D;
  try {
    checkWeightsFit(tree);
    let finite = true;
    const once = async (): Promise<number> => {
      const t = performance.now();
      const o = visionModel(tree.vision_model, px, cfg, taps);
      const v = await o.lastHiddenState.data(); // waits for the GPU
      const ms = performance.now() - t;
      for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) { finite = false; break; }
      disposeVisionOutput(o);
      return ms;
    };
    const first = await once();
    const ts: number[] = [];
    for (let i = 0; i < runs; i++) ts.push(await once());
    const s = [...ts].sort((a, b) => a - b);
    return { crops, runs_ms: ts, median_ms: s[Math.floor(s.length / 2)], first_run_ms: first, last_hidden_state_finite: finite };
  } finally {
    px.dispose();
    disposeTree(tree);
  }
}

function flag(argv: string[], name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const backend = requestedBackend(flag(argv, 'backend', process.env.HERO_LVLM_BACKEND ?? 'wasm'));
    const runs = Number(flag(argv, 'runs', '3'));
    const crops = Number(flag(argv, 'crops', '5'));
    if (!(Number.isInteger(runs) && runs >= 1)) throw new HeroError(`--runs: expected an integer ≥ 1, got ${runs}`);
    if (!(Number.isInteger(crops) && crops >= 1)) throw new HeroError(`--crops: expected an integer ≥ 1, got ${crops}`);
    await initBackend(backend, (s) => process.stderr.write(`${s}\n`));
    const a = activeWebGpuAdapter();
    const r: VisionTiming & { adapter?: unknown } = { backend, ...(await timeVisionViTL(crops, runs)), ...(a ? { adapter: a } : {}) };
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof HeroError)) throw e;
    process.stderr.write(`vision_timing: error: ${e.message}\n`);
    return e.exitCode;
  } finally {
    releaseWebGpu();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
