/**
 * The LLaVA-1.5 presets of `hero-lvlm random-weights` (random_checkpoint.ts): config.json,
 * preprocessor_config.json and processor_config.json as llava-hf/llava-1.5-7b-hf has them
 * (LlavaForConditionalGeneration, model_type 'llava', CLIPImageProcessor: one crop, no pinpoints), and a tiny
 * one with the geometry of the golden spec/fixtures/models/llava-1.5-tiny.
 */
import { clipPreprocessorJson } from './hf_files';

/** llava-hf/llava-1.5-7b-hf config.json: the hub's values (vocab 32064, `<image>` = 32000, pad 32001). */
export function llava15Config7b(text: Record<string, unknown>): Record<string, unknown> {
  return {
    architectures: ['LlavaForConditionalGeneration'],
    ignore_index: -100,
    image_token_index: 32000,
    model_type: 'llava',
    pad_token_id: 32001,
    projector_hidden_act: 'gelu',
    text_config: text,
    tie_word_embeddings: false,
    transformers_version: '4.36.0.dev0',
    vision_config: {
      hidden_size: 1024, image_size: 336, intermediate_size: 4096, model_type: 'clip_vision_model',
      num_attention_heads: 16, num_hidden_layers: 24, patch_size: 14, projection_dim: 768, vocab_size: 32000,
    },
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    vocab_size: 32064,
  };
}

/** llava-hf/llava-1.5-7b-hf's preprocessor_config.json (CLIPImageProcessor) at crop side `crop`. */
export function llava15PreprocessorJson(crop: number): Record<string, unknown> {
  return { ...clipPreprocessorJson(crop), processor_class: 'LlavaProcessor' }; // CLIP's processor, named by LLaVA's processor class
}

/** llava-hf's processor_config.json for LLaVA-1.5 (LlavaProcessor). */
export function llava15ProcessorJson(patch: number): Record<string, unknown> {
  return { image_token: '<image>', patch_size: patch, processor_class: 'LlavaProcessor', vision_feature_select_strategy: 'default' };
}
