/**
 * LLaVA-NeXT end to end, in the order of the paper's pipeline figure:
 *   crops → CLIP vision tower (with taps) → projector → [packing | a token-dropping method]
 *   → splice into the token embeddings → Llama → logits / greedy tokens.
 * One image per prompt, batch 1 (docs/deviations.md). Loading (key spec, config files, loader) is in load.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertShape } from '../core/shape';
import { tidyRecord } from '../core/scope';
import { visionModel, type ClipVisionParams, type VisionEncoder, type VisionTaps } from '../clip/vision';
import type { LlamaParams } from '../llama/decoder';
import type { ImageProcessorConfig } from './image_processor';
import type { LlavaDerived, LlavaNextConfig } from './config';
import { projector, type ProjectorParams } from './projector';
import type { VisualContext } from './visual_context';

/** Params tree, mirroring the (pre-4.52) llava-hf checkpoint keys. */
export interface LlavaNextParams {
  readonly vision_tower: { readonly vision_model: ClipVisionParams };
  readonly multi_modal_projector: ProjectorParams;
  /** absent in LLaVA-1.5 (config model_type 'llava') */
  readonly image_newline?: tf.Tensor1D;
  readonly language_model: LlamaParams;
}

export interface LlavaNextModel {
  readonly dir: string;
  readonly config: LlavaNextConfig;
  readonly derived: LlavaDerived;
  readonly processor: ImageProcessorConfig;
  /** ids that end greedy decoding: generation_config.json's eos_token_id, else config.json's (load.ts loadEosTokenIds) */
  readonly eosTokenIds: readonly number[];
  readonly params: LlavaNextParams;
}

/**
 * Runs the vision tower over all crops of one image with the requested taps, then the projector on the
 * feature layer without CLS ("default" strategy).                       @eq LLaVA-1
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/modeling_llava_next.py LlavaNextForConditionalGeneration.forward (vision_feature_layer, [:, 1:], projector)
 * @param pixelValues [P, 3, S, S]
 * @param encoder an accelerated vision tower with this model's weights (src/accel/vision_pool.ts); default:
 *   `visionModel` in-process, the reference
 */
export function encodeImage(m: LlavaNextModel, pixelValues: tf.Tensor4D, imageSize: readonly [number, number],
  grid: readonly [number, number], taps: VisionTaps = {}, onLayer?: (done: number, total: number) => void,
  encoder?: VisionEncoder): VisualContext {
  const { cropPx: S, patchGrid: G, featureLayer } = m.derived;
  assertShape(pixelValues, ['P', 'C', 'S', 'S'], [1 + grid[0] * grid[1], 3, S, S], 'pixel_values');
  return tidyRecord(() => {
    // The feature layer is always tapped; the caller's taps add what its method needs.
    const hs = taps.hiddenStates === 'all' ? 'all' : [...new Set([...(taps.hiddenStates ?? []), featureLayer])];
    const out = encoder
      ? encoder.encode(pixelValues, { ...taps, hiddenStates: hs }, onLayer)
      : visionModel(m.params.vision_tower.vision_model, pixelValues, m.config.vision_config, { ...taps, hiddenStates: hs }, onLayer);
    const feats = tf.slice(out.hiddenStates[featureLayer]!, [0, 1, 0], [-1, -1, -1]) as tf.Tensor3D; // [P, N, Dv]
    const projected = projector(m.params.multi_modal_projector, feats, m.config.projector_hidden_act); // [P, N, D]
    return {
      hiddenStates: out.hiddenStates, attentions: out.attentions, queries: out.queries, keys: out.keys,
      clsAttention: out.clsAttention,
      projected, pixelValues: tf.clone(pixelValues), imageNewline: m.params.image_newline && tf.clone(m.params.image_newline), imageSize, grid, patchGrid: G, featureLayer,
    }; // out.pooled is not returned, so tf.tidy frees it

  });
}

/** Disposes every tensor a VisualContext holds. */
export function disposeVisualContext(ctx: VisualContext): void {
  disposeVisionTaps(ctx);
  ctx.projected.dispose();
  ctx.pixelValues?.dispose();
  ctx.imageNewline?.dispose();
}

/**
 * Frees the vision tower's tapped tensors of a context (hidden states, attention maps, queries, keys, CLS
 * attention) and keeps the rest (the projected features, the newline, the pixels): the pipeline does so once the
 * selection has read them, before the decoder needs the backend's room. Disposing twice is harmless.
 */
export function disposeVisionTaps(ctx: VisualContext): void {
  for (const t of [...ctx.hiddenStates, ...ctx.attentions, ...ctx.queries, ...ctx.keys, ...(ctx.clsAttention ?? [])]) t?.dispose();
}
