/**
 * Llama config.json fields (HF `LlamaConfig`, v4.45.1 names and class defaults for absent fields).
 */
import { HeroError } from '../core/errors';

export interface LlamaConfig {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  readonly num_hidden_layers: number;
  readonly head_dim: number;
  readonly rms_norm_eps: number;
  readonly rope_theta: number;
  readonly vocab_size: number;
  readonly max_position_embeddings: number;
  readonly hidden_act: string;
  readonly bos_token_id: number;
  readonly eos_token_id: number | number[];
  readonly pad_token_id?: number;
  readonly tie_word_embeddings: boolean;
  readonly attention_bias: boolean;
  readonly mlp_bias: boolean;
}

/** LlamaConfig class defaults (transformers v4.45.1 configuration_llama.py). */
const DEFAULTS = {
  vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32,
  hidden_act: 'silu', max_position_embeddings: 2048, rms_norm_eps: 1e-6, bos_token_id: 1, eos_token_id: 2,
  tie_word_embeddings: false, rope_theta: 10000, attention_bias: false, mlp_bias: false,
} as const;

export function llamaConfig(json: Record<string, unknown>, file = 'config.json'): LlamaConfig {
  const num = (k: keyof typeof DEFAULTS | 'num_key_value_heads' | 'head_dim' | 'pad_token_id', dflt?: number): number => {
    const v = json[k] ?? dflt ?? (DEFAULTS as Record<string, unknown>)[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new HeroError(`${file}: text config field ${k} must be a number (got ${JSON.stringify(v)})`);
    return v;
  };
  if (json.rope_scaling !== undefined && json.rope_scaling !== null) {
    throw new HeroError(`${file}: rope_scaling ${JSON.stringify(json.rope_scaling)} is not supported (only null: plain RoPE)`);
  }
  const heads = num('num_attention_heads');
  const hidden = num('hidden_size');
  const eos = json.eos_token_id ?? DEFAULTS.eos_token_id;
  const act = (json.hidden_act ?? DEFAULTS.hidden_act) as string;
  if (act !== 'silu') throw new HeroError(`${file}: hidden_act '${act}' is not supported (Llama uses silu)`);
  return {
    hidden_size: hidden,
    intermediate_size: num('intermediate_size'),
    num_attention_heads: heads,
    num_key_value_heads: num('num_key_value_heads', heads),
    num_hidden_layers: num('num_hidden_layers'),
    head_dim: num('head_dim', hidden / heads),
    rms_norm_eps: num('rms_norm_eps'),
    rope_theta: num('rope_theta'),
    vocab_size: num('vocab_size'),
    max_position_embeddings: num('max_position_embeddings'),
    hidden_act: act,
    bos_token_id: num('bos_token_id'),
    eos_token_id: eos as number | number[],
    pad_token_id: json.pad_token_id === undefined || json.pad_token_id === null ? undefined : num('pad_token_id'),
    tie_word_embeddings: Boolean(json.tie_word_embeddings ?? DEFAULTS.tie_word_embeddings),
    attention_bias: Boolean(json.attention_bias ?? DEFAULTS.attention_bias),
    mlp_bias: Boolean(json.mlp_bias ?? DEFAULTS.mlp_bias),
  };
}
