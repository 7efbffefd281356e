/**
 * Method dispatch: `--method hero|none|fastervlm|hired|globalcom2|prumerge+|fastv|sparsevlm`. Each method names
 * the vision taps it needs (so the plain path keeps only those attention maps) and maps a VisualContext
 * to a PruneResult (src/llava/pruning.ts). `none`, `fastv` and `sparsevlm` keep LLaVA-NeXT's packing on the vision side.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from './core/errors';
import type { VisionTaps } from './clip/vision';
import { imageFeatures, textFeatures, type ClipModel } from './clip/model';
import type { LlavaNextModel } from './llava/model';
import type { PruneResult, VisualContext } from './llava/pruning';
import { applyHero, type HeroOptions } from './hero';
import type { FastvOptions } from './baselines/fastv';
import { sparseVlm, type SparseVlmOptions } from './baselines/sparsevlm';
import { fasterVlm, fasterVlmPinpoints, type FasterVlmOptions } from './baselines/fastervlm';
import { hired, type HiredOptions } from './baselines/hired';
import { globalCom2, type GlobalCom2Options } from './baselines/globalcom2';
import { pruMergePlus, type PruMergeOptions } from './baselines/prumerge';
import { projector } from './llava/projector';
import type { ImageProcessorConfig } from './llava/image_processor';

export const METHOD_NAMES = ['hero', 'none', 'fastervlm', 'hired', 'globalcom2', 'prumerge+', 'fastv', 'sparsevlm'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export type MethodSpec =
  | { readonly name: 'none' }
  | { readonly name: 'hero'; readonly options: HeroOptions; readonly clip: ClipModel | null; readonly clipTextIds: readonly number[] | null }
  | { readonly name: 'fastervlm'; readonly options: FasterVlmOptions }
  | { readonly name: 'hired'; readonly options: HiredOptions }
  | { readonly name: 'globalcom2'; readonly options: GlobalCom2Options }
  | { readonly name: 'prumerge+'; readonly options: Omit<PruMergeOptions, 'project'> }
  | { readonly name: 'fastv'; readonly options: FastvOptions }
  | { readonly name: 'sparsevlm'; readonly options: SparseVlmOptions };

/** The vision taps a method reads (besides the feature layer, which is always tapped). */
export function METHOD_TAPS(m: MethodSpec, model: LlavaNextModel): VisionTaps {
  const L = model.config.vision_config.num_hidden_layers;
  switch (m.name) {
    case 'none': case 'fastv': return {};
    case 'sparsevlm': return sparseVlm.taps;
    // The attention of the layer whose output is the feature layer (hidden state f = output of layer f − 1).
    case 'fastervlm': return { attentions: [m.options.layer ?? model.derived.featureLayer - 1] };
    case 'hired': return { attentions: [m.options.budgetLayer ?? 0, m.options.selectLayer ?? model.derived.featureLayer - 1] };
    case 'globalcom2': return { queryKey: [m.options.layer ?? L - 1] };
    case 'prumerge+': return { queryKey: [m.options.layer ?? L - 1] };
    case 'hero': {
      const o = m.options;
      return { hiddenStates: [L], attentions: [...new Set([...o.lowLayers, ...o.highLayers])] };
    }
  }
}

/**
 * The image processor config for this method and image: the checkpoint's own, except for FasterVLM, whose
 * grid rule differs (FasterVlmOptions.grid): it gets only the pinpoint that rule picks.
 */
export function methodProcessor(m: MethodSpec, image: { readonly height: number; readonly width: number }, processor: ImageProcessorConfig): ImageProcessorConfig {
  if (m.name !== 'fastervlm') return processor;
  return { ...processor, image_grid_pinpoints: fasterVlmPinpoints(m.options.grid ?? 'fixed', [image.height, image.width], processor.image_grid_pinpoints) };
}

/** Runs a vision-side method on a VisualContext. */
export function runMethod(m: MethodSpec, ctx: VisualContext, model: LlavaNextModel, timings: Record<string, number> = {}): PruneResult {
  switch (m.name) {
    case 'hero': {
      // HERO's extra cost the paper's Table 4 does not count: K tile passes + one text pass of a second CLIP.
      const t0 = Date.now();
      const clip = m.clip && m.clipTextIds ? clipEmbeds(m.clip, ctx, m.clipTextIds, model) : null;
      timings.clip_relevance = Date.now() - t0;
      try {
        return applyHero(ctx, clip, m.options);
      } finally {
        if (clip) { clip.tileImageEmbeds.dispose(); clip.textEmbed.dispose(); }
      }
    }
    case 'fastervlm': return fasterVlm(ctx, m.options);
    case 'hired': return hired(ctx, m.options);
    case 'globalcom2': return globalCom2(ctx, m.options);
    case 'prumerge+': {
      // PruMerge merges in vision space; the projector (not linear) runs on the merged tokens.
      const p = model.params.multi_modal_projector, act = model.config.projector_hidden_act;
      const project = (x: tf.Tensor2D): tf.Tensor2D => tf.squeeze(projector(p, tf.expandDims(x, 0) as tf.Tensor3D, act), [0]) as tf.Tensor2D;
      return pruMergePlus(ctx, { ...m.options, project });
    }
    default: throw new HeroError(`method '${m.name}' has no vision-side selection`);
  }
}

/**
 * HERO-2's inputs: the separate CLIP model's embeddings of each tile (the same preprocessed tile tensors
 * LLaVA sees) and of the instruction text. Raw projections; HERO normalises them.
 * @returns tileImageEmbeds [K, Dp], textEmbed [Dp]
 */
function clipEmbeds(clip: ClipModel, ctx: VisualContext, textIds: readonly number[], model: LlavaNextModel):
  { tileImageEmbeds: tf.Tensor2D; textEmbed: tf.Tensor1D } {
  if (clip.vision.image_size !== model.config.vision_config.image_size) {
    throw new HeroError(`--clip: CLIP image_size ${clip.vision.image_size} differs from the LLaVA crop size ${model.config.vision_config.image_size}`);
  }
  return tf.tidy(() => {
    const pixels = ctx.pixelValues;
    if (!pixels) throw new HeroError('HERO relevance: the visual context carries no pixel values');
    const P = pixels.shape[0];
    const tiles = tf.slice(pixels, [1, 0, 0, 0], [P - 1, -1, -1, -1]) as tf.Tensor4D; // [K, 3, S, S]
    const tileImageEmbeds = imageFeatures(clip, tiles);                               // [K, Dp]
    const textEmbed = tf.squeeze(textFeatures(clip, [textIds]), [0]) as tf.Tensor1D;  // [Dp]
    return { tileImageEmbeds, textEmbed };
  });
}
