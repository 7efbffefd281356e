/**
 * hero: HERO's own cost on the vision suite's outputs: the selection step (applyHero) and the extra CLIP
 * passes of the relevance score (K = 4 tiles through a second ViT-L/14-336, the text tower on 77 tokens),
 * as a share of the vision time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../../src/backend';
import { clipTextConfig } from '../../src/clip/config';
import { textModel, type ClipTextParams } from '../../src/clip/text';
import { clipTextKeys } from '../../src/clip/load';
import { disposeVisionOutput } from '../../src/clip/vision';
import { applyHero, heroDefaults } from '../../src/hero/index';
import { disposeTree } from '../../src/io/checkpoint';
import { randomParams } from '../../src/weights/random_params';
import { fmt, timeIt, type BenchOptions, type Stat } from '../common';
import type { VisionState } from './vision';

/** bench/results/hero_<backend>.json (after the run's metadata). */
export interface HeroResult {
  backend: BackendName;
  selection_ms: Stat;
  selection_pct_of_vision: number;
  clip_tile_passes_ms: Stat;
  clip_text_pass_ms: Stat;
  clip_pct_of_vision: number;
  vision_ms: number;
}

export async function heroSuite(opts: BenchOptions, backend: BackendName, vision: VisionState): Promise<HeroResult> {
  const { ctx, encode, visionMs } = vision;
  const clip = { tileImageEmbeds: tf.randomNormal([4, 768], 0, 1, 'float32', 5) as tf.Tensor2D, textEmbed: tf.randomNormal([768], 0, 1, 'float32', 6) as tf.Tensor1D };
  const heroOpts = { ...heroDefaults(24, 'code'), ratio: 0.2 };
  const sel = await timeIt(async () => {
    const r = await applyHero(ctx, clip, heroOpts);
    await r.features.data();
    r.features.dispose();
    Object.values(r.tensors).forEach((t) => t.tensor.dispose());
  }, opts.runs);
  // The extra CLIP passes of HERO-2: K = 4 tiles through a second ViT-L/14-336 (same cost per crop as the
  // LLaVA tower) and one pass of CLIP's text tower.
  const tiles = tf.randomNormal([4, 3, 336, 336], 0, 1, 'float32', 12) as tf.Tensor4D;
  const tileT = await timeIt(() => { const o = encode(tiles, {}); o.pooled.dataSync(); disposeVisionOutput(o); }, 1, 0);
  tiles.dispose();
  // CLIP ViT-L/14-336's text tower (12 layers × 768, 12 heads, vocabulary 49408) on a 77-token prompt (the most it takes).
  const tcfg = clipTextConfig({ hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12, projection_dim: 768 });
  const text = randomParams<{ text_model: ClipTextParams }>(clipTextKeys(tcfg, 'text_model.'), 31).tree;
  const ids = [[tcfg.bos_token_id, ...Array.from({ length: 75 }, (_, i) => 1000 + i), tcfg.eos_token_id]];
  const textT = await timeIt(() => { const o = textModel(text.text_model, ids, tcfg); o.pooled.dataSync(); tf.dispose([o.pooled, o.lastHiddenState]); }, opts.runs);
  disposeTree(text);
  const clipMs = tileT.median + textT.median;
  console.log(`hero    selection step (${backend}): ${fmt(sel)} = ${((100 * sel.median) / visionMs).toFixed(3)} % of vision`);
  console.log(`        extra CLIP passes: 4 tiles × ViT-L ${fmt(tileT)} + text tower (77 tokens) ${fmt(textT)} = ${((100 * clipMs) / visionMs).toFixed(1)} % of vision`);
  tf.dispose([clip.tileImageEmbeds, clip.textEmbed]);
  return {
    backend, selection_ms: sel, selection_pct_of_vision: (100 * sel.median) / visionMs, clip_tile_passes_ms: tileT, clip_text_pass_ms: textT,
    clip_pct_of_vision: (100 * clipMs) / visionMs, vision_ms: visionMs,
  };
}
