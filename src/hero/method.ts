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
import { ratioOption, type Method, type RawOptions } from '../methods/contract';
import type { LlavaNextConfig } from '../llava/config';
import { HERO_DEFAULTS, heroDefaults, resolveHero, validateHeroOptions, type HeroAblation, type HeroOptions, type HeroTileProbe } from './options';
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

/** The Table 5 ablation flags (options.ts HeroAblation), by flag name; the paper removes them cumulatively. */
export const HERO_ABLATION_FLAGS = {
  'no-relevance': 'noRelevance', 'uniform-budgets': 'uniformBudgets', 'single-layer': 'singleLayer', 'same-selection': 'sameSelection',
} as const satisfies Record<string, keyof HeroAblation>;

/** Flags an ablation makes meaningless: given together, one is refused (never silently ignored). */
const IGNORED_BY: Readonly<Record<string, readonly string[]>> = {
  'no-relevance': ['alpha', 'tau-t'],
  'uniform-budgets': ['alpha', 'tau-v', 'tau-t', 'density-weight'],
};

/** The ablations set on the command line (undefined: none, so the default options stay as they were). */
function ablationOption(raw: RawOptions): HeroAblation | undefined {
  const set = Object.entries(HERO_ABLATION_FLAGS).filter(([flag]) => raw[flag] === true);
  if (set.length === 0) return undefined;
  for (const [flag] of set) {
    const clash = (IGNORED_BY[flag] ?? []).find((f) => raw[f] !== undefined);
    if (clash) throw new HeroError(`--${clash}: has no effect with --${flag} (${flag === 'no-relevance' ? 'α is taken as 1, no relevance is computed' : 'every tile gets f_k = 1/K'}); leave it out`);
  }
  return Object.fromEntries(set.map(([, key]) => [key, true])) as HeroAblation;
}

/** The most tiles any image gets under this config: the largest pinpoint's (h/S)·(w/S). */
export function maxTiles(config: LlavaNextConfig): number {
  const S = config.vision_config.image_size;
  return Math.max(0, ...config.image_grid_pinpoints.map(([h, w]) => (h / S) * (w / S)));
}

/**
 * Table 1's pilot from --thumbnail-only or --probe-tile K --probe-by clip|cls (options.ts HeroTileProbe):
 * K in [1, the most tiles of any pinpoint]; the flags that size HERO's budgets have no effect and are refused.
 */
function tileProbeOption(raw: RawOptions, config: LlavaNextConfig): HeroTileProbe | undefined {
  const rank = raw['probe-tile'] as number | undefined, by = raw['probe-by'] as string | undefined, thumb = raw['thumbnail-only'] === true;
  if (rank === undefined && !thumb) {
    if (by !== undefined) throw new HeroError('--probe-by: needs --probe-tile K (the rank of the one tile to keep)');
    return undefined;
  }
  const flag = thumb ? '--thumbnail-only' : '--probe-tile';
  if (thumb && rank !== undefined) throw new HeroError('--thumbnail-only: give it or --probe-tile, not both');
  if (thumb && by !== undefined) throw new HeroError('--probe-by: ranks the tile of --probe-tile; --thumbnail-only keeps no tile');
  if (isLlava15(config)) throw new HeroError(`${flag}: LLaVA-1.5 has one crop and no tiles to probe`);
  const clash = ['ratio', 'alpha', 'tau-v', 'tau-t', 'density-weight', ...Object.keys(HERO_ABLATION_FLAGS)].find((f) => raw[f] !== undefined && raw[f] !== false);
  if (clash) throw new HeroError(`--${clash}: has no effect with ${flag} (Table 1's pilot keeps whole crops, no HERO budgets); leave it out`);
  if (thumb) return 'thumbnail-only';
  const most = maxTiles(config);
  if (!(Number.isInteger(rank) && rank! >= 1 && rank! <= most)) throw new HeroError(`--probe-tile: ${rank} is outside [1, ${most}] (the most tiles of this model's image_grid_pinpoints)`);
  if (by === undefined) throw new HeroError('--probe-by: required with --probe-tile (clip or cls: the ranking of the tiles)');
  if (by !== 'clip' && by !== 'cls') throw new HeroError(`--probe-by: '${by}' is not clip or cls`);
  return { rank: rank!, by };
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
    const ablation = ablationOption(raw);
    const tileProbe = tileProbeOption(raw, config);
    const full: HeroOptions = { ...options, ...(ablation ? { ablation } : {}), ...(tileProbe ? { tileProbe } : {}) };
    validateHeroOptions(full, L);
    return full;
  },
  clip: {
    needed: (o) => resolveHero(o).needsRelevance,
    missing: '--clip: HERO needs a CLIP model for the text-relevance score (or pass --alpha 1 or --no-relevance to use saliency only)',
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
