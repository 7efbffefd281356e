/**
 * Decoder dimensions for the FLOPs model: named presets for the two LLaVA-NeXT Vicuna LLMs, or read from a
 * LLaVA-NeXT / Llama config.json. Both go through the one Llama config parser (llama/config.ts), so the
 * FLOPs count and the loader read the same fields with the same HF defaults.
 */
import { HeroError } from '../core/errors';
import { llamaConfig, type LlamaConfig } from '../llama/config';
import type { DecoderDims } from './flops';

/** KV-cache element size used unless told otherwise. @choice fp16 (2 bytes), the dtype of the paper's runs. */
export const DEFAULT_KV_BYTES = 2;

/**
 * The text configs of the presets, as their config.json files store them (the fields that differ from the
 * LlamaConfig defaults), parsed by llamaConfig.
 * vicuna-7b: llava-hf/llava-v1.6-vicuna-7b-hf text_config (= LlamaConfig defaults but for these fields).
 * vicuna-13b: lmsys/vicuna-13b-v1.5 config.json (40 layers, d 5120, m 13824, 40 heads, no GQA); vocab
 *   32064 because HF's convert_llava_next_weights_to_hf.py resizes the 32000-row embedding to 32000 + 2
 *   (`<image>`, `<pad>`) padded to a multiple of 64. The vocab only matters when the lm_head is counted.
 */
export const PRESET_CONFIGS: Readonly<Record<string, LlamaConfig>> = {
  'vicuna-7b': llamaConfig({ max_position_embeddings: 4096, pad_token_id: 0, rms_norm_eps: 1e-5, vocab_size: 32064 }, 'vicuna-7b'),
  'vicuna-13b': llamaConfig({
    hidden_size: 5120, intermediate_size: 13824, num_attention_heads: 40, num_hidden_layers: 40, num_key_value_heads: 40,
    max_position_embeddings: 4096, pad_token_id: 0, rms_norm_eps: 1e-5, vocab_size: 32064,
  }, 'vicuna-13b'),
};

/** The FLOPs model's view of a parsed Llama config. */
export function dimsOfLlama(cfg: LlamaConfig, bytesPerElement = DEFAULT_KV_BYTES): DecoderDims {
  return {
    layers: cfg.num_hidden_layers, hidden: cfg.hidden_size, intermediate: cfg.intermediate_size, heads: cfg.num_attention_heads,
    kvHeads: cfg.num_key_value_heads, headDim: cfg.head_dim, vocab: cfg.vocab_size, bytesPerElement,
  };
}

/** Named presets. */
export const PRESETS: Readonly<Record<string, DecoderDims>> = Object.fromEntries(
  Object.entries(PRESET_CONFIGS).map(([name, cfg]) => [name, dimsOfLlama(cfg)]));

export const PRESET_NAMES: readonly string[] = Object.keys(PRESETS);

/** A preset by name; an unknown name is a HeroError listing the known ones. */
export function presetDims(name: string, what = '--preset'): DecoderDims {
  const dims = Object.prototype.hasOwnProperty.call(PRESETS, name) ? PRESETS[name] : undefined;
  if (!dims) throw new HeroError(`${what}: unknown preset '${name}' (known: ${PRESET_NAMES.join(', ')})`);
  return dims;
}

/**
 * Decoder dims from a parsed config.json: a LLaVA-NeXT config (its `text_config` is used) or a Llama
 * config, read by llamaConfig (LlamaConfig's defaults for missing fields; num_key_value_heads defaults to
 * the head count and head_dim to hidden_size / num_attention_heads, as in HF). Only the sizes are used,
 * so settings the model code refuses (rope_scaling, other activations) are accepted here.
 */
export function dimsFromConfig(json: unknown, file = 'config.json', bytesPerElement = DEFAULT_KV_BYTES): DecoderDims {
  const bad = (why: string): never => { throw new HeroError(`${file}: ${why}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) bad('expected a JSON object');
  const top = json as Record<string, unknown>;
  const text = top.text_config ?? top;
  if (text === null || typeof text !== 'object' || Array.isArray(text)) bad('text_config must be an object');
  const raw = text as Record<string, unknown>;
  const where = top.text_config !== undefined ? 'text_config.' : '';
  const cfg = llamaConfig(raw, top.text_config !== undefined ? `${file} text_config` : file, { shapesOnly: true });
  const positive = (key: keyof LlamaConfig): void => {
    const v = cfg[key];
    if (!(typeof v === 'number' && Number.isSafeInteger(v) && v > 0)) bad(`${where}${key} must be a positive integer (got ${JSON.stringify(raw[key] ?? v)})`);
  };
  for (const k of ['num_hidden_layers', 'hidden_size', 'intermediate_size', 'num_attention_heads', 'num_key_value_heads'] as const) positive(k);
  if (raw.head_dim === undefined && cfg.hidden_size % cfg.num_attention_heads !== 0) {
    bad(`${where}hidden_size ${cfg.hidden_size} is not a multiple of num_attention_heads ${cfg.num_attention_heads}`);
  }
  positive('head_dim');
  if (cfg.num_attention_heads % cfg.num_key_value_heads !== 0) {
    bad(`${where}num_attention_heads ${cfg.num_attention_heads} is not a multiple of num_key_value_heads ${cfg.num_key_value_heads}`);
  }
  positive('vocab_size');
  if (!(Number.isSafeInteger(bytesPerElement) && bytesPerElement > 0)) bad(`KV bytes per element must be a positive integer (got ${bytesPerElement})`);
  return dimsOfLlama(cfg, bytesPerElement);
}
