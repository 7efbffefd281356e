/**
 * LLaVA-NeXT config.json (HF `LlavaNextConfig`, v4.45.1 field names verbatim) and the derived values the
 * pipeline needs. Nothing about the model is hard-coded: crop size, patch grid, pinpoints, token ids and
 * the feature layer all come from here.
 */
import { HeroError } from '../core/errors';
import { clipVisionConfig, type ClipVisionConfig } from '../clip/config';
import { llamaConfig, type LlamaConfig } from '../llama/config';

export interface LlavaNextConfig {
  readonly image_grid_pinpoints: ReadonlyArray<readonly [number, number]>;
  readonly image_token_index: number;
  readonly vision_feature_layer: number;
  readonly vision_feature_select_strategy: 'default';
  readonly projector_hidden_act: string;
  readonly vision_config: ClipVisionConfig;
  readonly text_config: LlamaConfig;
}

/** Derived, camelCase: the values the code uses, computed once. */
export interface LlavaDerived {
  /** crop (tile) side in pixels, S = vision_config.image_size */
  readonly cropPx: number;
  /** patch grid side G = S / patch_size */
  readonly patchGrid: number;
  /** patch tokens per crop N = G² */
  readonly tokensPerCrop: number;
  /** index into the vision hidden states (0..L) of vision_feature_layer (−2 → L−1) */
  readonly featureLayer: number;
}

/** Parses a config.json object; unsupported settings are errors, not silent changes. */
export function llavaNextConfig(json: Record<string, unknown>, file = 'config.json'): LlavaNextConfig {
  const bad = (why: string): never => { throw new HeroError(`${file}: ${why}`); };
  if (json.model_type !== undefined && json.model_type !== 'llava_next') bad(`model_type is '${String(json.model_type)}', expected 'llava_next'`);
  const pins = json.image_grid_pinpoints;
  if (!Array.isArray(pins) || pins.length === 0 || !pins.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v > 0))) {
    bad('image_grid_pinpoints must be a non-empty list of [height, width] pairs');
  }
  const strategy = (json.vision_feature_select_strategy ?? 'default') as string;
  if (strategy !== 'default') bad(`vision_feature_select_strategy '${strategy}' is not supported (only 'default')`);
  const layer = (json.vision_feature_layer ?? -2) as number;
  if (!Number.isInteger(layer)) bad('vision_feature_layer must be one integer (lists are not supported)');
  const tokenIndex = (json.image_token_index ?? 32000) as number;
  if (!Number.isInteger(tokenIndex)) bad('image_token_index must be an integer');
  const vision = clipVisionConfig((json.vision_config ?? {}) as Record<string, unknown>, `${file} vision_config`);
  const text = llamaConfig((json.text_config ?? {}) as Record<string, unknown>, `${file} text_config`);
  return {
    image_grid_pinpoints: (pins as number[][]).map((p) => [p[0], p[1]] as const),
    image_token_index: tokenIndex,
    vision_feature_layer: layer,
    vision_feature_select_strategy: 'default',
    projector_hidden_act: (json.projector_hidden_act ?? 'gelu') as string,
    vision_config: vision,
    text_config: text,
  };
}

export function deriveLlava(cfg: LlavaNextConfig): LlavaDerived {
  const v = cfg.vision_config;
  if (v.image_size % v.patch_size !== 0) throw new HeroError(`config.json: image_size ${v.image_size} is not a multiple of patch_size ${v.patch_size}`);
  const G = v.image_size / v.patch_size;
  const L = v.num_hidden_layers;
  // HF indexes hidden_states (L+1 entries) with vision_feature_layer, so −2 is the output of layer L−1.
  const featureLayer = cfg.vision_feature_layer < 0 ? L + 1 + cfg.vision_feature_layer : cfg.vision_feature_layer;
  if (featureLayer < 0 || featureLayer > L) throw new HeroError(`config.json: vision_feature_layer ${cfg.vision_feature_layer} is outside the ${L}-layer tower`);
  return { cropPx: v.image_size, patchGrid: G, tokensPerCrop: G * G, featureLayer };
}
