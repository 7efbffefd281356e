/**
 * LLaVA-NeXT config.json (HF `LlavaNextConfig`, v4.45.1 field names verbatim) and the derived values the
 * pipeline needs. Nothing about the model is hard-coded: crop size, patch grid, pinpoints, token ids and
 * the feature layer all come from here. Each field: what it means; the HF class default taken when the
 * file leaves it out; the value of llava-hf/llava-v1.6-vicuna-7b-hf, "7B:". Parsed with
 * core/config_fields.ts, the one config parser style.
 */
import { ConfigFields } from '../core/config_fields';
import { HeroError } from '../core/errors';
import { clipVisionConfig, type ClipVisionConfig } from '../clip/config';
import { llamaConfig, type LlamaConfig } from '../llama/config';

export interface LlavaNextConfig {
  /**
   * which family the file is: 'llava_next' (LlavaNextForConditionalGeneration: anyres tiles + thumbnail, image_newline)
   * or 'llava' (LLaVA-1.5, LlavaForConditionalGeneration: one crop, no pinpoints, no image_newline; llava15.ts).
   * HF: the class's own; absent → 'llava_next'; 7B: 'llava_next' (llava-hf/llava-1.5-7b-hf: 'llava')
   */
  readonly model_type: 'llava_next' | 'llava';
  /** the (height, width) canvases AnyRes may pick; required (refused when absent); [] for model_type 'llava' (which has none). HF [[336,672],[672,336],[672,672],[1008,336],[336,1008]]; 7B: the same */
  readonly image_grid_pinpoints: ReadonlyArray<readonly [number, number]>;
  /** the `<image>` placeholder id, replaced by the image features. HF 32000; 7B: 32000 */
  readonly image_token_index: number;
  /** which vision hidden state feeds the projector (negative: from the end; lists refused). HF −2; 7B: −2 */
  readonly vision_feature_layer: number;
  /** 'default' drops CLS ('full' is refused). HF 'default'; 7B: 'default' */
  readonly vision_feature_select_strategy: 'default';
  /** activation between the projector's two linears. HF 'gelu'; 7B: 'gelu' */
  readonly projector_hidden_act: string;
  /** the CLIP vision tower (clip/config.ts). HF CLIPVisionConfig defaults; 7B: ViT-L/14-336 */
  readonly vision_config: ClipVisionConfig;
  /** the language model (llama/config.ts). HF LlamaConfig defaults; 7B: Vicuna-7B v1.5 */
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

/**
 * Parses a config.json object of either family (model_type 'llava_next', or 'llava' for LLaVA-1.5: HF
 * `LlavaConfig`, the same fields without image_grid_pinpoints); unsupported settings are errors, not silent changes.
 */
export function llavaNextConfig(json: Record<string, unknown>, file = 'config.json'): LlavaNextConfig {
  const f = new ConfigFields(json, file);
  const modelType = f.raw('model_type') ?? 'llava_next';
  if (modelType !== 'llava_next' && modelType !== 'llava') f.bad(`model_type is '${String(modelType)}', expected 'llava_next' (LLaVA-NeXT) or 'llava' (LLaVA-1.5)`);
  // LLaVA-1.5 has no anyres canvases: one crop per image.
  const pins = modelType === 'llava' ? [] : f.raw('image_grid_pinpoints'); // required for llava_next: a config without it is not a LLaVA-NeXT export
  if (modelType === 'llava_next' && (!Array.isArray(pins) || pins.length === 0 || !pins.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v > 0)))) {
    f.bad('image_grid_pinpoints must be a non-empty list of [height, width] pairs');
  }
  const strategy = f.raw('vision_feature_select_strategy', 'default') as string;
  if (strategy !== 'default') f.bad(`vision_feature_select_strategy '${strategy}' is not supported (only 'default')`);
  const layer = f.raw('vision_feature_layer', -2) as number;
  if (!Number.isInteger(layer)) f.bad('vision_feature_layer must be one integer (lists are not supported)');
  const tokenIndex = f.raw('image_token_index', 32000) as number;
  if (!Number.isInteger(tokenIndex)) f.bad('image_token_index must be an integer');
  const vision = clipVisionConfig(f.sub('vision_config').json, `${file} vision_config`);
  // AnyRes cuts a pinpoint canvas into (h / S) × (w / S) crops; pack_image_features views the features so, and a
  // pinpoint that is not a multiple of the crop S gives a grid the model cannot pack (HF v4.45.1 fails there too).
  const S = vision.image_size;
  const off = (pins as number[][]).find((p) => p[0] % S !== 0 || p[1] % S !== 0);
  if (off) f.bad(`image_grid_pinpoints entry [${off}] is not a multiple of the crop size ${S} (vision_config.image_size)`);
  return {
    model_type: modelType as LlavaNextConfig['model_type'],
    image_grid_pinpoints: (pins as number[][]).map((p) => [p[0], p[1]] as const),
    image_token_index: tokenIndex,
    vision_feature_layer: layer,
    vision_feature_select_strategy: 'default',
    projector_hidden_act: f.str('projector_hidden_act', 'gelu'),
    vision_config: vision,
    text_config: llamaConfig(f.sub('text_config').json, `${file} text_config`),
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
