/**
 * HERO as a Method (src/methods/contract.ts): its options from named values (the defaults of ./options.ts), its
 * validation, the taps it reads (the last hidden state for HERO-1, the CLS attention of L_low ∪ L_high) and
 * the vision-side selection (applyHero, with HERO-2's separate CLIP pass timed as its own stage
 * `clip_relevance`). Its flags are in cli/method_flags.ts, its report columns in report/method_report.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { imageFeatures, textFeatures, type ClipModel } from '../clip/model';
import type { VisionEncoder } from '../clip/vision';
import type { LlavaNextModel } from '../llava/model';
import type { VisualContext } from '../llava/visual_context';
import { ratioOption, type Method } from '../methods/contract';
import { HERO_DEFAULTS, heroDefaults, validateHeroOptions, type HeroOptions } from './options';
import { isLlava15 } from '../llava/llava15';
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

export const heroMethod: Method<HeroOptions, 'hero'> = {
  name: 'hero',
  configure: (raw, config) => {
    const ratio = ratioOption(raw);
    const L = config.vision_config.num_hidden_layers;
    const variant = (raw.variant as string | undefined) ?? HERO_DEFAULTS.variant;
    if (variant !== 'code' && variant !== 'paper') throw new HeroError(`--variant: '${variant}' is not 'code' or 'paper'`);
    const given = (k: string): boolean => raw[k] !== undefined;
    const single = isLlava15(config);
    if (single && raw.alpha !== undefined && raw.alpha !== 1) throw new HeroError('--alpha: HERO on LLaVA-1.5 has one crop and no tile budgets for α to weigh; leave --alpha out (no --clip is needed)');
    // Default layer sets need a tower deep enough for layers 5..8 and 21; otherwise both sets must be given.
    const layers = given('low-layers') && given('high-layers') ? undefined : heroDefaults(L, variant);
    const options: HeroOptions = {
      ...layers, // (first, as before: the key order of report.json's and the trace header's options)
      variant,
      ratio: ratio ?? HERO_DEFAULTS.ratio,
      // LLaVA-1.5: one crop, no tiles to weigh (applyHero's single-crop path): α = 1, no CLIP relevance to compute.
      alpha: single ? 1 : (raw.alpha as number | undefined) ?? HERO_DEFAULTS.alpha,
      tauV: (raw['tau-v'] as number | undefined) ?? HERO_DEFAULTS.tauV,
      tauT: (raw['tau-t'] as number | undefined) ?? HERO_DEFAULTS.tauT,
      lowLayers: (raw['low-layers'] as number[] | undefined) ?? layers!.lowLayers,
      highLayers: (raw['high-layers'] as number[] | undefined) ?? layers!.highLayers,
      densityWeight: (raw['density-weight'] as number | undefined) ?? HERO_DEFAULTS.densityWeight[variant],
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
};
