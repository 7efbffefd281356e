/**
 * The default model's HF JSON files other than tokenizers: config.json (LLaVA-NeXT and CLIP),
 * preprocessor_config.json, processor_config.json, generation_config.json, all from geometry.ts. The
 * loaders parse these same objects (llava/config.ts, clip/config.ts) and derive the checkpoint keys from
 * them (writing.ts), so file and tensors cannot disagree.
 */
import { CLIP_TEXT, CROP_PX, LLAMA_IDS, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, PATCH_PX, PINPOINTS, TEXT, VISION } from './geometry';

function visionConfig(): Record<string, unknown> {
  return {
    hidden_act: 'quick_gelu',
    hidden_size: VISION.hidden,
    image_size: CROP_PX,
    intermediate_size: VISION.mlp,
    layer_norm_eps: 1e-5,
    model_type: 'clip_vision_model',
    num_attention_heads: VISION.heads,
    num_channels: 3,
    num_hidden_layers: VISION.layers,
    patch_size: PATCH_PX,
    projection_dim: VISION.projection,
  };
}

export function llavaConfigJson(): Record<string, unknown> {
  return {
    architectures: ['LlavaNextForConditionalGeneration'],
    ignore_index: -100,
    image_grid_pinpoints: PINPOINTS,
    image_seq_length: (CROP_PX / PATCH_PX) ** 2,
    image_token_index: LLAMA_IDS.image,
    model_type: 'llava_next',
    projector_hidden_act: 'gelu',
    text_config: {
      architectures: ['LlamaForCausalLM'],
      attention_bias: false,
      bos_token_id: LLAMA_IDS.bos,
      eos_token_id: LLAMA_IDS.eos,
      head_dim: TEXT.hidden / TEXT.heads,
      hidden_act: 'silu',
      hidden_size: TEXT.hidden,
      intermediate_size: TEXT.mlp,
      max_position_embeddings: TEXT.maxPos,
      mlp_bias: false,
      model_type: 'llama',
      num_attention_heads: TEXT.heads,
      num_hidden_layers: TEXT.layers,
      num_key_value_heads: TEXT.kvHeads,
      pad_token_id: 0,
      rms_norm_eps: 1e-5,
      rope_scaling: null,
      rope_theta: 10000.0,
      tie_word_embeddings: false,
      vocab_size: TEXT.vocab,
    },
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    transformers_version: '4.45.1',
    use_image_newline_parameter: true,
    vision_config: visionConfig(),
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
  };
}

export function clipConfigJson(vocabSize: number, bos: number, eos: number): Record<string, unknown> {
  return {
    architectures: ['CLIPModel'],
    initializer_factor: 1.0,
    logit_scale_init_value: 2.6592,
    model_type: 'clip',
    projection_dim: VISION.projection,
    text_config: {
      bos_token_id: bos,
      eos_token_id: eos,
      hidden_act: 'quick_gelu',
      hidden_size: CLIP_TEXT.hidden,
      intermediate_size: CLIP_TEXT.mlp,
      layer_norm_eps: 1e-5,
      max_position_embeddings: CLIP_TEXT.maxPos,
      model_type: 'clip_text_model',
      num_attention_heads: CLIP_TEXT.heads,
      num_hidden_layers: CLIP_TEXT.layers,
      pad_token_id: eos,
      projection_dim: VISION.projection,
      vocab_size: vocabSize,
    },
    torch_dtype: 'float32',
    transformers_version: '4.45.1',
    vision_config: visionConfig(),
  };
}

/**
 * llava-hf's LlavaNextImageProcessor settings (CLIP's values + the anyres pinpoints); `crop` and `pinpoints`
 * are the model's (config.json vision_config.image_size, image_grid_pinpoints; the default model's by default).
 */
export function llavaPreprocessorJson(crop = CROP_PX, pinpoints: ReadonlyArray<readonly number[]> = PINPOINTS): Record<string, unknown> {
  return {
    crop_size: { height: crop, width: crop },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_grid_pinpoints: pinpoints,
    image_mean: OPENAI_CLIP_MEAN,
    image_processor_type: 'LlavaNextImageProcessor',
    image_std: OPENAI_CLIP_STD,
    processor_class: 'LlavaNextProcessor',
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { shortest_edge: crop },
  };
}

/** openai/clip-vit-large-patch14-336's CLIPImageProcessor settings, for a `crop`-px tower. */
export function clipPreprocessorJson(crop = CROP_PX): Record<string, unknown> {
  return {
    crop_size: { height: crop, width: crop },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: OPENAI_CLIP_MEAN,
    image_processor_type: 'CLIPImageProcessor',
    image_std: OPENAI_CLIP_STD,
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { shortest_edge: crop },
  };
}

/** llava-hf's processor_config.json (LlavaNextProcessor). */
export function llavaProcessorJson(patch = PATCH_PX): Record<string, unknown> {
  return { image_token: '<image>', patch_size: patch, processor_class: 'LlavaNextProcessor', vision_feature_select_strategy: 'default' };
}

/** generation_config.json: Llama-2's bos/eos/pad. */
export function llavaGenerationJson(): Record<string, unknown> {
  return { bos_token_id: LLAMA_IDS.bos, eos_token_id: LLAMA_IDS.eos, pad_token_id: 0, transformers_version: '4.45.1' };
}
