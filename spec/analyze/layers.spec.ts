/**
 * src/analyze/layers.ts: every layer's head-mean CLS→patch attention (AN-0) of the tiny LLaVA-NeXT's
 * vision tower against an independent float64 PyTorch forward (scripts/analyze-goldens/gen.py), and the
 * whole Fig. 2 chain (maps → similarity → s*) from our own maps.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { layerClsMaps } from '../../src/analyze/layers';
import { MEASURES, meanMatrix, similarityMatrix, twoStageSplit } from '../../src/analyze/similarity';
import { visionModel } from '../../src/clip/vision';
import { SafetensorsFile } from '../../src/io/safetensors';
import { disposeLlavaNext, loadLlavaNext } from '../../src/llava/load';
import type { LlavaNextModel } from '../../src/llava/model';
import { FIXTURES, GOLDEN_BACKENDS, modelDir, useBackend } from '../util/fixtures';
import { TOL } from '../util/tolerances';

/**
 * Similarities from our fp32 maps against the float64 script's: each map value is within TOL.probs
 * (1e-5) of the reference, on maps of ≈ 1/N = 0.06; cosine / Pearson move by about that relative error
 * (1e-4 of a value ≤ 1) — the goldens' rank-based measures (Spearman, topk-iou) have no near-ties
 * (checked below), so they match exactly.
 */
const SIM_FROM_F32_TOL = 1e-4;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'analyze', 'layers_golden.json'), 'utf8')) as any;

describe.each(GOLDEN_BACKENDS)('AN-0 · per-layer CLS attention vs scripts/analyze-goldens/gen.py (%s backend)', (backend) => {
  let m: LlavaNextModel;
  let pixels: Float32Array;
  beforeAll(async () => {
    await useBackend(backend);
    m = loadLlavaNext(modelDir('llava-next-tiny'));
    pixels = SafetensorsFile.open(path.join(FIXTURES, 'analyze', 'layers_pixels.safetensors')).readFloat32('pixel_values');
  });
  afterAll(() => disposeLlavaNext(m));

  const mapsOf = async (i: number): Promise<Float32Array[][]> => {
    const cfg = m.config.vision_config, S = cfg.image_size, C = golden.crops as number;
    const x = tf.tensor4d(pixels.subarray(i * C * 3 * S * S, (i + 1) * C * 3 * S * S), [C, 3, S, S]);
    try {
      return await layerClsMaps((taps) => visionModel(m.params.vision_tower.vision_model, x, cfg, taps));
    } finally {
      x.dispose();
    }
  };

  it('every image, crop and layer: the head-mean CLS→patch map within TOL.probs', async () => {
    for (let i = 0; i < golden.images; i++) {
      const maps = await mapsOf(i);
      expect([maps.length, maps[0].length, maps[0][0].length]).toEqual([golden.crops, golden.layers, golden.tokens]);
      maps.forEach((crop, c) => crop.forEach((a, l) => a.forEach((v, j) => {
        const e = golden.maps[i][c][l][j];
        if (!(Math.abs(v - e) <= TOL.probs.atol)) throw new Error(`image ${i} crop ${c} layer ${l} token ${j}: ${v} vs ${e}`);
      })));
    }
  });

  it('the Fig. 2 chain on our maps: every measure\'s matrix and s* match the script\'s', async () => {
    const ours = [];
    for (let i = 0; i < golden.images; i++) ours.push(await mapsOf(i));
    for (const meas of MEASURES) {
      const perImage = ours.map((img) => meanMatrix(img.map((crop) => similarityMatrix(crop, meas))));
      const overall = meanMatrix(perImage);
      const e = (golden.measures[meas].overall as number[][]).flat();
      overall.forEach((v, k) => { if (!(Math.abs(v - e[k]) <= SIM_FROM_F32_TOL)) throw new Error(`${meas}[${k}]: ${v} vs ${e[k]}`); });
      expect(twoStageSplit(overall, golden.layers).split).toBe(golden.measures[meas].split);
    }
  });
});
