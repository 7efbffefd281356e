/**
 * Seeded random weights at real sizes for timings (bench/run.ts, src/accel/vision_timing.ts): nothing is
 * downloaded. Not the embedded default model (src/weights/default_model.ts), which is written to disk.
 *
 * @choice weights ~ N(0, 1/fan_in), norm weights ~ 1 + N(0, 0.02), biases ~ N(0, 0.02): magnitudes that keep
 * activations finite through 24 layers; the values mean nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { buildTree } from '../io/checkpoint';
import type { TensorToWrite } from '../io/safetensors';
import { clipVisionConfig } from '../clip/config';
import { drawInit, initByName } from './init';

/** Seeded random params for a key spec (src/weights/init.ts rules and draw); `host` holds the same values for writing to safetensors. */
export function randomParams<T>(spec: Map<string, readonly number[]>, seed: number): { tree: T; host: Record<string, TensorToWrite> } {
  const tensors = new Map<string, tf.Tensor>();
  const host: Record<string, TensorToWrite> = {};
  for (const [name, shape] of spec) {
    const data = drawInit(initByName(name, shape, 0.02, 0.02), shape.reduce((a, b) => a * b, 1), seed, name);
    tensors.set(name, tf.tensor(data, shape as number[], 'float32'));
    host[name] = { dtype: 'F32', shape, data };
  }
  return { tree: buildTree<T>(tensors), host };
}

/** CLIP ViT-L/14-336 (openai/clip-vit-large-patch14-336, LLaVA-NeXT's vision tower). */
export const VIT_L_336 = clipVisionConfig({ hidden_size: 1024, intermediate_size: 4096, num_attention_heads: 16, num_hidden_layers: 24, image_size: 336, patch_size: 14, projection_dim: 768 });
/** What HERO taps from it: CLS attention of layers 5..8 and 21, hidden states 23 and 24. */
export const VIT_L_HERO_TAPS = { attentions: [5, 6, 7, 8, 21], hiddenStates: [23, 24] };
