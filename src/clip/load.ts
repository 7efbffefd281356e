/**
 * Loading CLIP checkpoints: the key specs (every tensor a checkpoint must hold, with its shape from the
 * config) and the two loaders (CLIPModel, CLIPVisionModel), on the one loader skeleton (io/loader.ts).
 * The only file of src/clip/ that touches files or io/.
 */
import { disposeTree, layerNormKeys, linearKeys } from '../io/checkpoint';
import { keySpecSize, loadCheckpoint, readCheckpointConfig, weightPlan, type CheckpointRecipe, type WeightPlan, type WeightResidency, type LoadOptions } from '../io/loader';
import { clipModelConfig, clipVisionConfig, type ClipModelConfig, type ClipTextConfig, type ClipVisionConfig } from './config';
import type { ClipModel } from './model';
import type { ClipVisionParams } from './vision';

/** Encoder-layer keys shared by the vision and text towers. */
export function encoderLayerKeys(spec: Map<string, readonly number[]>, prefix: string, d: number, f: number): void {
  layerNormKeys(spec, `${prefix}.layer_norm1`, d);
  for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) linearKeys(spec, `${prefix}.self_attn.${n}`, d, d, true);
  layerNormKeys(spec, `${prefix}.layer_norm2`, d);
  linearKeys(spec, `${prefix}.mlp.fc1`, f, d, true);
  linearKeys(spec, `${prefix}.mlp.fc2`, d, f, true);
}

/** Every tensor of a vision tower under `prefix` (e.g. 'vision_model.' or 'vision_tower.vision_model.'). */
export function clipVisionKeys(cfg: ClipVisionConfig, prefix: string): Map<string, readonly number[]> {
  const D = cfg.hidden_size, p = cfg.patch_size;
  const N1 = (cfg.image_size / p) ** 2 + 1;
  const spec = new Map<string, readonly number[]>();
  spec.set(`${prefix}embeddings.class_embedding`, [D]);
  spec.set(`${prefix}embeddings.patch_embedding.weight`, [D, cfg.num_channels, p, p]);
  spec.set(`${prefix}embeddings.position_embedding.weight`, [N1, D]);
  layerNormKeys(spec, `${prefix}pre_layrnorm`, D);
  for (let i = 0; i < cfg.num_hidden_layers; i++) encoderLayerKeys(spec, `${prefix}encoder.layers.${i}`, D, cfg.intermediate_size);
  layerNormKeys(spec, `${prefix}post_layernorm`, D);
  return spec;
}

/**
 * The weight groups of a tower under `prefix` that can be streamed (io/loader.ts): each encoder layer.
 * Embeddings and norms stay resident.
 */
export function clipStreamGroups(prefix: string): RegExp[] {
  return [new RegExp(`^${prefix.replace(/\./g, '\\.')}encoder\\.layers\\.\\d+\\.`)];
}

/** Every tensor of a text tower under `prefix` (e.g. 'text_model.'). */
export function clipTextKeys(cfg: ClipTextConfig, prefix: string): Map<string, readonly number[]> {
  const D = cfg.hidden_size;
  const spec = new Map<string, readonly number[]>();
  spec.set(`${prefix}embeddings.token_embedding.weight`, [cfg.vocab_size, D]);
  spec.set(`${prefix}embeddings.position_embedding.weight`, [cfg.max_position_embeddings, D]);
  for (let i = 0; i < cfg.num_hidden_layers; i++) encoderLayerKeys(spec, `${prefix}encoder.layers.${i}`, D, cfg.intermediate_size);
  layerNormKeys(spec, `${prefix}final_layer_norm`, D);
  return spec;
}

/** Every tensor of a CLIPModel checkpoint. */
export function clipModelKeys(cfg: ClipModelConfig): Map<string, readonly number[]> {
  const { vision, text, projection_dim: projectionDim } = cfg;
  const spec = new Map<string, readonly number[]>([...clipVisionKeys(vision, 'vision_model.'), ...clipTextKeys(text, 'text_model.')]);
  linearKeys(spec, 'visual_projection', projectionDim, vision.hidden_size, false);
  linearKeys(spec, 'text_projection', projectionDim, text.hidden_size, false);
  spec.set('logit_scale', []);
  return spec;
}

/** Parameters of a CLIPModel with this config (the sum over its key spec). */
export function clipParameterCount(cfg: ClipModelConfig): number {
  return keySpecSize(clipModelKeys(cfg));
}

/** CLIPModel directories (`--clip`): config.json with vision_config, text_config, projection_dim. */
export const CLIP_MODEL_RECIPE: CheckpointRecipe<ClipModelConfig> = {
  noConfig: (dir) => `--clip: '${dir}' has no config.json`,
  configWhat: 'CLIP config',
  parseConfig: (json, file) => clipModelConfig(json, file),
  keys: clipModelKeys,
  streamGroups: [...clipStreamGroups('vision_model.'), ...clipStreamGroups('text_model.')],
};

/** CLIPVisionModel directories: a config.json with vision_config, or a bare CLIPVisionConfig. */
const CLIP_VISION_RECIPE: CheckpointRecipe<ClipVisionConfig> = {
  noConfig: (dir) => `CLIP vision model: '${dir}' has no config.json`,
  configWhat: 'CLIP config',
  parseConfig: (json, file) => clipVisionConfig((json.vision_config ?? json) as Record<string, unknown>, file),
  keys: (cfg) => clipVisionKeys(cfg, 'vision_model.'),
  streamGroups: clipStreamGroups('vision_model.'),
};

/** Parses `<dir>/config.json` as a CLIPModel config (no tensors are read). */
export function loadClipModelConfig(dir: string): ClipModelConfig {
  return readCheckpointConfig(dir, CLIP_MODEL_RECIPE);
}

/** What loading the CLIPModel directory `dir` with `residency` holds (io/loader.ts weightPlan; headers only). */
export function clipModelWeightPlan(dir: string, residency: WeightResidency): WeightPlan {
  return weightPlan(dir, CLIP_MODEL_RECIPE, residency);
}

/** Loads an HF CLIPModel directory (config.json + safetensors); `residency` as io/loader.ts WeightResidency. */
export function loadClipModel(dir: string, residency: WeightResidency = 'resident', onProgress?: (done: number, total: number) => void, opts: LoadOptions = {}): ClipModel {
  const { config, tree } = loadCheckpoint<ClipModelConfig, ClipModel['params']>(dir, CLIP_MODEL_RECIPE, onProgress, residency, opts);
  return { dir, vision: config.vision, text: config.text, params: tree };
}

/** Loads a CLIPVisionModel directory (keys `vision_model.*` only); `residency` as io/loader.ts WeightResidency. */
export function loadClipVisionModel(dir: string, residency: WeightResidency = 'resident'): { config: ClipVisionConfig; params: ClipVisionParams } {
  const { config, tree } = loadCheckpoint<ClipVisionConfig, { vision_model: ClipVisionParams }>(dir, CLIP_VISION_RECIPE, undefined, residency);
  return { config, params: tree.vision_model };
}

export function disposeClipModel(m: ClipModel): void {
  disposeTree(m.params);
}
