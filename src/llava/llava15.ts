/**
 * LLaVA-1.5 (llava-hf/llava-1.5-7b-hf: `LlavaForConditionalGeneration`, config model_type 'llava'): what
 * differs from LLaVA-NeXT, in data-flow order. Everything else (CLIP tower, feature layer without CLS,
 * projector, splice, Llama) is the LLaVA-NeXT code unchanged.
 *
 *   image → [pad to square with the mean colour, option] → CLIPImageProcessor (shortest edge → centre crop)
 *         → ONE crop [1, 3, S, S] → tower → projector → N = G² tokens in raster order (no image_newline)
 *
 * In the shared types a LLaVA-1.5 image is a LLaVA-NeXT image with a 0 × 0 tile grid: P = 1 + 0 crops, the
 * one crop in the thumbnail's slot (crop 0). That is what a method sees (docs/baselines.md "LLaVA-1.5").
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { assertShape } from '../core/shape';
import type { RgbImage } from '../core/image';
import type { LlavaNextConfig } from './config';
import type { VisualContext } from './visual_context';
import { centerCrop, rescaleNormalize, resizeShortestEdge, validateImageProcessorConfig, type ImageProcessorConfig, type ProcessedImage } from './image_processor';

/** True for a LLaVA-1.5 config (model_type 'llava'). */
export function isLlava15(cfg: LlavaNextConfig): boolean {
  return cfg.model_type === 'llava';
}

/**
 * How a non-square image becomes the one square crop:
 * 'crop': HF v4.45.1's CLIPImageProcessor (llava-hf's processor): shorter side to S, centre crop (the sides are lost);
 * 'pad': the original LLaVA's `image_aspect_ratio: pad` (haotian-liu/LLaVA llava/mm_utils.py expand2square):
 *        paste onto a square of the image-mean colour first, then the same processor (nothing is lost).
 */
export const IMAGE_ASPECTS = ['crop', 'pad'] as const;
export type ImageAspect = (typeof IMAGE_ASPECTS)[number];

/**
 * preprocessor_config.json of llava-hf/llava-1.5-7b-hf (HF `CLIPImageProcessor`, v4.45.1): the LLaVA-NeXT
 * processor's fields (image_processor.ts) without image_grid_pinpoints and do_pad, which it has not. Checked
 * by the same rules; returned with image_grid_pinpoints [] and do_pad false.
 */
export function validateClipImageProcessorConfig(raw: unknown, where: string): ImageProcessorConfig {
  if (typeof raw !== 'object' || raw === null) throw new HeroError(`${where}: not a JSON object`);
  const c = raw as Record<string, unknown>;
  if (c.image_grid_pinpoints !== undefined) throw new HeroError(`${where}: image_grid_pinpoints is set, but config.json says model_type 'llava' (LLaVA-1.5 has one crop)`);
  const crop = c.crop_size as { height?: unknown } | undefined;
  // The LLaVA-NeXT validator needs a pinpoint list; one canvas of one crop stands in for it and is dropped again.
  const v = validateImageProcessorConfig({ ...c, image_grid_pinpoints: [[crop?.height, crop?.height]], do_pad: false }, where);
  return { ...v, image_grid_pinpoints: [] };
}

/** The image-mean background of the pad variant: int(255·mean_c) per channel (LLaVA's `tuple(int(x*255) for x in image_mean)`). */
export function padColour(cfg: ImageProcessorConfig): [number, number, number] {
  return [0, 1, 2].map((c) => Math.trunc(cfg.image_mean[c] * 255)) as [number, number, number];
}

/**
 * Pastes the image onto a side × side square of `colour`, side = max(H, W), centred with the floor offset
 * ((side − W) // 2 or (side − H) // 2); a square image is returned as is.
 * @mirrors haotian-liu/LLaVA@c121f04 llava/mm_utils.py expand2square
 */
export function expandToSquare(img: RgbImage, colour: readonly [number, number, number]): RgbImage {
  const { width: W, height: H } = img;
  if (W === H) return img;
  const side = Math.max(W, H);
  const top = W > H ? Math.floor((W - H) / 2) : 0, left = W > H ? 0 : Math.floor((H - W) / 2);
  const data = new Uint8Array(side * side * 3);
  for (let i = 0; i < side * side; i++) data.set(colour, 3 * i);
  for (let y = 0; y < H; y++) data.set(img.data.subarray(y * W * 3, (y + 1) * W * 3), ((y + top) * side + left) * 3);
  return { width: side, height: side, data }; // [height, width, 3], both max(H, W)
}

/**
 * One image → pixel_values [1, 3, S, S]: (pad: expandToSquare with padColour), then resizeShortestEdge,
 * centerCrop and rescaleNormalize (Proc-1), the per-crop steps LLaVA-NeXT's processor shares.
 * Geometry for the shared types: grid (0, 0), best resolution (S, S).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/clip/image_processing_clip.py CLIPImageProcessor.preprocess
 */
export function preprocessLlava15(img: RgbImage, cfg: ImageProcessorConfig, aspect: ImageAspect = 'crop'): ProcessedImage {
  if (img.width <= 0 || img.height <= 0 || img.data.length !== img.width * img.height * 3) {
    throw new HeroError(`preprocess: image must be non-empty RGB (${img.width}×${img.height}, ${img.data.length} bytes)`);
  }
  const src = aspect === 'pad' ? expandToSquare(img, padColour(cfg)) : img;
  const S = cfg.crop_size.height;
  const crop = centerCrop(resizeShortestEdge(src, cfg.size.shortest_edge), S, cfg.crop_size.width); // [S, S, 3]
  const pixelValues = new Float32Array(3 * S * S);
  rescaleNormalize(crop, cfg, pixelValues); // [1, 3, S, S]
  return { pixelValues, shape: [1, 3, S, S], imageSize: [img.height, img.width], bestResolution: [S, S], grid: [0, 0] };
}

/**
 * LLaVA-1.5's visual token sequence: the crop's N projected tokens in raster order, nothing added. @eq LLaVA-5
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava/modeling_llava.py LlavaForConditionalGeneration.forward (image_features straight into the image-token rows)
 * @param projected [1, N, D]
 * @returns [N, D]
 */
export function singleCropFeatures(projected: tf.Tensor3D): tf.Tensor2D {
  assertShape(projected, ['P', 'N', 'D'], [1, -1, -1], 'LLaVA-1.5: projected features');
  return tf.squeeze(projected, [0]) as tf.Tensor2D; // [N, D]
}

/**
 * The one-line refusal of a method that needs LLaVA-NeXT's tiles and thumbnail, on a LLaVA-1.5 model.
 * @param why what the method needs, for the message
 */
export function refuseSingleCrop(cfg: LlavaNextConfig, method: string, why: string): void {
  if (isLlava15(cfg)) throw new HeroError(`--method ${method}: not defined on LLaVA-1.5 (one crop, no tiles): ${why} (docs/baselines.md "LLaVA-1.5")`);
}

/** The image_newline of a context, for a layout that puts one after each grid row; LLaVA-1.5 has none (an error naming `what`). */
export function imageNewlineOf(ctx: VisualContext, what: string): tf.Tensor1D {
  if (!ctx.imageNewline) throw new HeroError(`${what}: this model has no image_newline (LLaVA-1.5); the layout needs LLaVA-NeXT's tile grid`);
  return ctx.imageNewline;
}
