/**
 * CLIPModel: both towers, their projections and the logit scale; what HERO's relevance score (HERO-2)
 * uses. Loading (CLIPModel and vision-only CLIPVisionModel checkpoints) is in load.ts.
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/clip/modeling_clip.py CLIPModel
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearParams } from '../nn/linear';
import { linear } from '../nn/kernels';
import { l2NormalizeNoEps } from '../core/l2';
import type { ClipTextConfig, ClipVisionConfig } from './config';
import { visionModel, type ClipVisionParams, type VisionEncoder } from './vision';
import { textModel, type ClipTextParams } from './text';

export interface ClipModel {
  readonly dir: string;
  readonly vision: ClipVisionConfig;
  readonly text: ClipTextConfig;
  readonly params: {
    readonly vision_model: ClipVisionParams;
    readonly text_model: ClipTextParams;
    readonly visual_projection: LinearParams;
    readonly text_projection: LinearParams;
    readonly logit_scale: tf.Scalar;
  };
}

/**
 * Image embeddings = visual_projection(post_layernorm(CLS)), unnormalised (HF get_image_features).  @eq ViT-4
 * @param pixelValues [P, C, S, S]
 * @param encoder an accelerated vision tower holding this model's vision weights (src/accel/vision_pool.ts);
 *   default: `visionModel` in-process
 * @returns [P, Dp]
 */
export function imageFeatures(m: ClipModel, pixelValues: tf.Tensor4D, encoder?: VisionEncoder): tf.Tensor2D {
  return tf.tidy(() => {
    const tower = encoder ? encoder.encode(pixelValues, {}) : visionModel(m.params.vision_model, pixelValues, m.vision);
    return linear(m.params.visual_projection, tower.pooled);                  // [P, Dp]
  });
}

/**
 * Text embeddings = text_projection(pooled), unnormalised (HF get_text_features).  @eq CLIP-T2
 * @returns [B, Dp]
 */
export function textFeatures(m: ClipModel, inputIds: readonly (readonly number[])[], attentionMask?: readonly (readonly number[])[]): tf.Tensor2D {
  return tf.tidy(() => linear(m.params.text_projection, textModel(m.params.text_model, inputIds, m.text, { attentionMask }).pooled));
}

/**
 * CLIP logits: cosine similarity of the L2-normalised embeddings times exp(logit_scale).  @eq CLIP-S
 *   logits_per_text = exp(s) · t̂ îᵀ ;  logits_per_image = its transpose
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/clip/modeling_clip.py CLIPModel.forward
 */
export function clipLogits(m: ClipModel, pixelValues: tf.Tensor4D, inputIds: readonly (readonly number[])[],
  attentionMask?: readonly (readonly number[])[]): { logitsPerImage: tf.Tensor2D; logitsPerText: tf.Tensor2D; imageEmbedsNormalized: tf.Tensor2D; textEmbedsNormalized: tf.Tensor2D } {
  return tf.tidy(() => {
    const img = l2NormalizeNoEps(imageFeatures(m, pixelValues));              // [P, Dp]
    const txt = l2NormalizeNoEps(textFeatures(m, inputIds, attentionMask));   // [B, Dp]
    const logitsPerText = tf.mul(tf.matMul(txt, img, false, true), tf.exp(m.params.logit_scale)) as tf.Tensor2D; // [B, P]
    return { logitsPerImage: tf.transpose(logitsPerText) as tf.Tensor2D, logitsPerText, imageEmbedsNormalized: img, textEmbedsNormalized: txt };
  });
}
