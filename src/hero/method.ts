/**
 * HERO as a Method (src/methods/contract.ts): its CLI flags, its defaults from the vision tower's depth, its validation,
 * the taps it reads (the last hidden state for HERO-1, the CLS attention of L_low ∪ L_high), the vision-side
 * selection (applyHero, with HERO-2's separate CLIP pass timed as its own stage `clip_relevance`), and what
 * it adds to the run report (the per-tile columns, the layers it reads, the averaged score maps).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { imageFeatures, textFeatures, type ClipModel } from '../clip/model';
import type { VisionEncoder } from '../clip/vision';
import type { LlavaNextModel } from '../llava/model';
import type { VisualContext } from '../llava/visual_context';
import { ratioOption, type Method, type TraceTensors } from '../methods/contract';
import { heroDefaults, validateHeroOptions, type HeroOptions } from './options';
import { applyHero, type HeroClipEmbeds } from './index';

/**
 * HERO-2's inputs: the separate CLIP model's embeddings of each tile (the same preprocessed tile tensors
 * LLaVA sees) and of the instruction text. Raw projections; HERO normalises them.
 * @param encoder the CLIP vision tower as an acceleration (MethodSpec.clipEncoder); default in-process
 * @returns tileImageEmbeds [K, Dp], textEmbed [Dp]
 */
export function heroClipEmbeds(clip: ClipModel, ctx: VisualContext, textIds: readonly number[], model: LlavaNextModel, encoder?: VisionEncoder): HeroClipEmbeds {
  if (clip.vision.image_size !== model.config.vision_config.image_size) {
    throw new HeroError(`--clip: CLIP image_size ${clip.vision.image_size} differs from the LLaVA crop size ${model.config.vision_config.image_size}`);
  }
  return tf.tidy(() => {
    const pixels = ctx.pixelValues;
    if (!pixels) throw new HeroError('HERO relevance: the visual context carries no pixel values');
    const P = pixels.shape[0];
    const tiles = tf.slice(pixels, [1, 0, 0, 0], [P - 1, -1, -1, -1]) as tf.Tensor4D; // [K, 3, S, S]
    const tileImageEmbeds = imageFeatures(clip, tiles, encoder);                      // [K, Dp]
    const textEmbed = tf.squeeze(textFeatures(clip, [textIds]), [0]) as tf.Tensor1D;  // [Dp]
    return { tileImageEmbeds, textEmbed };
  });
}

/** One value of a per-tile trace tensor (null when absent or NaN: "not computed"). */
function tileValue(tensors: TraceTensors, name: string, k: number): number | null {
  const t = tensors.get(name);
  if (!t) return null;
  const v = Number(t.data[k]);
  return Number.isNaN(v) ? null : v;
}

export const heroMethod: Method<HeroOptions> = {
  name: 'hero',
  ratioHelp: 'hero 0.2',
  flags: {
    alpha: { type: 'number', arg: 'A', help: 'HERO α in [0, 1]: weight of visual saliency vs text relevance (default 0.5)' },
    'tau-v': { type: 'number', arg: 'T', help: 'HERO τ_v, temperature of the saliency softmax (default 0.05)' },
    'tau-t': { type: 'number', arg: 'T', help: 'HERO τ_t, temperature of the relevance softmax (default 0.05)' },
    'low-layers': { type: 'intList', arg: 'L,…', help: 'HERO layers for tile token scores (default 5,6,7,8; 0-based)' },
    'high-layers': { type: 'intList', arg: 'L,…', help: 'HERO layers for thumbnail token scores (default 21)' },
    'density-weight': { type: 'number', arg: 'W', help: "HERO weight λ of the valid-token density (code variant 0.2, paper 0)" },
    variant: { type: 'string', arg: 'code|paper', default: 'code', help: "HERO as the authors' code computes it, or as the paper states it" },
  },
  configure: (raw, model) => {
    const ratio = ratioOption(raw);
    const L = model.config.vision_config.num_hidden_layers;
    const variant = (raw.variant as string | undefined) ?? 'code';
    if (variant !== 'code' && variant !== 'paper') throw new HeroError(`--variant: '${variant}' is not 'code' or 'paper'`);
    const given = (k: string): boolean => raw[k] !== undefined;
    // Defaults need a tower deep enough for layers 5..8 and 21; otherwise the sets must be given.
    const base: Partial<HeroOptions> = given('low-layers') && given('high-layers') ? {} : heroDefaults(L, variant);
    const options: HeroOptions = {
      ...(base as HeroOptions),
      variant,
      ratio: ratio ?? 0.2,
      alpha: (raw.alpha as number | undefined) ?? base.alpha ?? 0.5,
      tauV: (raw['tau-v'] as number | undefined) ?? base.tauV ?? 0.05,
      tauT: (raw['tau-t'] as number | undefined) ?? base.tauT ?? 0.05,
      lowLayers: (raw['low-layers'] as number[] | undefined) ?? base.lowLayers!,
      highLayers: (raw['high-layers'] as number[] | undefined) ?? base.highLayers!,
      densityWeight: (raw['density-weight'] as number | undefined) ?? base.densityWeight ?? (variant === 'code' ? 0.2 : 0),
    };
    validateHeroOptions(options, L);
    return options;
  },
  clip: {
    needed: (o) => o.alpha < 1,
    missing: '--clip: HERO needs a CLIP model for the text-relevance score (or pass --alpha 1 to use saliency only)',
  },
  taps: (s, model) => {
    const o = s.options!;
    return { hiddenStates: [model.config.vision_config.num_hidden_layers], attentions: [...new Set([...o.lowLayers, ...o.highLayers])] };
  },
  select: async (s, ctx, model, time) => {
    // HERO's extra cost the paper's Table 4 does not count: K tile passes + one text pass of a second CLIP.
    const clip = await time('clip_relevance', () => (s.clip && s.clipTextIds ? heroClipEmbeds(s.clip, ctx, s.clipTextIds, model, s.clipEncoder) : null));
    try {
      return await applyHero(ctx, clip, s.options!);
    } finally {
      if (clip) { clip.tileImageEmbeds.dispose(); clip.textEmbed.dispose(); }
    }
  },
  report: {
    tileStats: (t, k) => ({
      cls_similarity: tileValue(t, 'hero.cls_similarity', k), saliency: tileValue(t, 'hero.saliency', k), clip_score: tileValue(t, 'hero.clip_similarity', k),
      relevance: tileValue(t, 'hero.relevance', k), density: tileValue(t, 'hero.density', k),
      importance: tileValue(t, 'hero.importance', k), budget: tileValue(t, 'hero.budgets', k),
    }),
    attentionMarks: (s, P) => {
      const o = s.options as HeroOptions;
      return [
        { layers: o.highLayers, crops: [0], label: `read by HERO-5: thumbnail, high layers ${o.highLayers.join(',')}` },
        { layers: o.lowLayers, crops: Array.from({ length: P - 1 }, (_, k) => k + 1), label: `read by HERO-6: tiles, low layers ${o.lowLayers.join(',')}` },
      ];
    },
    averagedMaps: (tensors, P, N) => ({
      rowLabel: 'HERO avg', label: 'HERO avg: the layer average HERO ranks tokens by (hero.global_scores, hero.tile_scores)',
      maps: [tensors.get('hero.global_scores'), tensors.get('hero.tile_scores')].flatMap((t, i) => {
        if (!t) return i === 0 ? [null] : Array.from({ length: P - 1 }, () => null);
        const d = Float32Array.from(t.data as ArrayLike<number>);
        return i === 0 ? [d] : Array.from({ length: P - 1 }, (_, k) => d.subarray(k * N, (k + 1) * N));
      }),
    }),
  },
  traceMetadata: (s) => ({ hero_options: JSON.stringify(s.options) }),
};
