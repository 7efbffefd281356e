/**
 * CLIPModel: both towers, their projections and the logit scale; what HERO's relevance score (HERO-2)
 * uses, and a vision-only loader for CLIPVisionModel checkpoints.
 * @mirrors hf-4.45.1 models/clip/modeling_clip.py CLIPModel
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { readJsonFile } from '../io/json';
import { SafetensorsDir } from '../io/safetensors';
import { buildTree, disposeTree, linearKeys, loadTensors } from '../io/checkpoint';
import type { LinearParams } from '../nn/linear';
import { linear } from '../nn/kernels';
import { clipTextConfig, clipVisionConfig, type ClipTextConfig, type ClipVisionConfig } from './config';
import { clipVisionKeys, visionModel, type ClipVisionParams } from './vision';
import { clipTextKeys, textModel, type ClipTextParams } from './text';

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

function readConfig(dir: string, what: string): Record<string, unknown> {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new HeroError(`${what}: '${dir}' has no config.json`);
  return readJsonFile<Record<string, unknown>>(file, 'CLIP config');
}

/** Every tensor of a CLIPModel checkpoint. */
export function clipModelKeys(vision: ClipVisionConfig, text: ClipTextConfig, projectionDim: number): Map<string, readonly number[]> {
  const spec = new Map<string, readonly number[]>([...clipVisionKeys(vision, 'vision_model.'), ...clipTextKeys(text, 'text_model.')]);
  linearKeys(spec, 'visual_projection', projectionDim, vision.hidden_size, false);
  linearKeys(spec, 'text_projection', projectionDim, text.hidden_size, false);
  spec.set('logit_scale', []);
  return spec;
}

/** Loads an HF CLIPModel directory (config.json + safetensors). */
export function loadClipModel(dir: string): ClipModel {
  const json = readConfig(dir, '--clip');
  const vision = clipVisionConfig((json.vision_config ?? {}) as Record<string, unknown>, `${dir}/config.json vision_config`);
  const text = clipTextConfig((json.text_config ?? {}) as Record<string, unknown>, `${dir}/config.json text_config`);
  const projectionDim = (json.projection_dim ?? 512) as number;
  const store = SafetensorsDir.open(dir);
  try {
    const params = buildTree<ClipModel['params']>(loadTensors(store, clipModelKeys(vision, text, projectionDim)));
    return { dir, vision, text, params };
  } finally {
    store.close();
  }
}

/** Loads a CLIPVisionModel directory (keys `vision_model.*` only). */
export function loadClipVisionModel(dir: string): { config: ClipVisionConfig; params: ClipVisionParams } {
  const json = readConfig(dir, 'CLIP vision model');
  const config = clipVisionConfig((json.vision_config ?? json) as Record<string, unknown>, `${dir}/config.json`);
  const store = SafetensorsDir.open(dir);
  try {
    const tree = buildTree<{ vision_model: ClipVisionParams }>(loadTensors(store, clipVisionKeys(config, 'vision_model.')));
    return { config, params: tree.vision_model };
  } finally {
    store.close();
  }
}

export function disposeClipModel(m: ClipModel): void {
  disposeTree(m.params);
}

/**
 * Image embeddings = visual_projection(post_layernorm(CLS)), unnormalised (HF get_image_features).  @eq ViT-4
 * @param pixelValues [P, C, S, S]
 * @returns [P, Dp]
 */
export function imageFeatures(m: ClipModel, pixelValues: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => linear(m.params.visual_projection, visionModel(m.params.vision_model, pixelValues, m.vision).pooled));
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
 * @mirrors hf-4.45.1 CLIPModel.forward
 */
export function clipLogits(m: ClipModel, pixelValues: tf.Tensor4D, inputIds: readonly (readonly number[])[],
  attentionMask?: readonly (readonly number[])[]): { logitsPerImage: tf.Tensor2D; logitsPerText: tf.Tensor2D; imageEmbedsNormalized: tf.Tensor2D; textEmbedsNormalized: tf.Tensor2D } {
  return tf.tidy(() => {
    const unit = (x: tf.Tensor2D): tf.Tensor2D => tf.div(x, tf.sqrt(tf.sum(tf.square(x), -1, true))) as tf.Tensor2D;
    const img = unit(imageFeatures(m, pixelValues));                          // [P, Dp]
    const txt = unit(textFeatures(m, inputIds, attentionMask));               // [B, Dp]
    const logitsPerText = tf.mul(tf.matMul(txt, img, false, true), tf.exp(m.params.logit_scale)) as tf.Tensor2D; // [B, P]
    return { logitsPerImage: tf.transpose(logitsPerText) as tf.Tensor2D, logitsPerText, imageEmbedsNormalized: img, textEmbedsNormalized: txt };
  });
}
