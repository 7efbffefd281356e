/**
 * Llama config.json (HF `LlamaConfig`, v4.45.1 field names verbatim; a LLaVA-NeXT config's text_config).
 * Each field: what it means; the HF class default taken when the file leaves it out (configuration_llama.py
 * LlamaConfig.__init__); the value of llava-hf/llava-v1.6-vicuna-7b-hf's text_config, "7B:".
 * Parsed with core/config_fields.ts, the one config parser style.
 */
import { ConfigFields } from '../core/config_fields';

export interface LlamaConfig {
  /** width D of the residual stream. HF 4096; 7B: 4096 */
  readonly hidden_size: number;
  /** SwiGLU width F (gate/up out). HF 11008; 7B: 11008 */
  readonly intermediate_size: number;
  /** query heads H. HF 32; 7B: 32 */
  readonly num_attention_heads: number;
  /** key/value heads Hkv (grouped-query attention when < H). HF = num_attention_heads; 7B: 32 */
  readonly num_key_value_heads: number;
  /** decoder layers L. HF 32; 7B: 32 */
  readonly num_hidden_layers: number;
  /** per-head width Dh. HF hidden_size / num_attention_heads; 7B: 128 */
  readonly head_dim: number;
  /** RMSNorm ε. HF 1e-6; 7B: 1e-5 */
  readonly rms_norm_eps: number;
  /** RoPE base θ. HF 10000; 7B: 10000 */
  readonly rope_theta: number;
  /** token embedding and lm_head rows V. HF 32000; 7B: 32064 (32000 + `<image>`, `<pad>`, padded to 64) */
  readonly vocab_size: number;
  /** longest sequence in positions. HF 2048; 7B: 4096 */
  readonly max_position_embeddings: number;
  /** MLP activation; only silu is supported. HF silu; 7B: silu */
  readonly hidden_act: string;
  /** `<s>` id. HF 1; 7B: 1 */
  readonly bos_token_id: number;
  /** `</s>` id(s). HF 2; 7B: 2 */
  readonly eos_token_id: number | number[];
  /** padding id, when set. HF None; 7B: 0 */
  readonly pad_token_id?: number;
  /** lm_head shares embed_tokens' weight (no lm_head in the file). HF false; 7B: false */
  readonly tie_word_embeddings: boolean;
  /** q/k/v/o projections have biases. HF false; 7B: false */
  readonly attention_bias: boolean;
  /** gate/up/down projections have biases. HF false; 7B: false */
  readonly mlp_bias: boolean;
}

/**
 * Parses a Llama config object; unsupported settings (rope_scaling, an activation other than silu) are
 * refused in one line naming `file`, unless `shapesOnly` (the FLOPs count reads only the sizes).
 */
export function llamaConfig(json: Record<string, unknown>, file = 'config.json', opts: { shapesOnly?: boolean } = {}): LlamaConfig {
  const f = new ConfigFields(json, file);
  // rope_scaling: HF None; 7B: null. Only plain RoPE is implemented.
  if (json.rope_scaling !== undefined && json.rope_scaling !== null && !opts.shapesOnly) {
    f.bad(`rope_scaling ${JSON.stringify(json.rope_scaling)} is not supported (only null: plain RoPE)`);
  }
  const heads = f.size('num_attention_heads', 32);
  const hidden = f.size('hidden_size', 4096);
  const act = f.raw('hidden_act', 'silu') as string;
  if (act !== 'silu' && !opts.shapesOnly) f.bad(`hidden_act '${act}' is not supported (Llama uses silu)`);
  return {
    hidden_size: hidden,
    intermediate_size: f.size('intermediate_size', 11008),
    num_attention_heads: heads,
    num_key_value_heads: f.size('num_key_value_heads', heads),
    num_hidden_layers: f.size('num_hidden_layers', 32),
    head_dim: f.size('head_dim', hidden / heads),
    rms_norm_eps: f.positive('rms_norm_eps', 1e-6),
    rope_theta: f.positive('rope_theta', 10000),
    vocab_size: f.size('vocab_size', 32000),
    max_position_embeddings: f.size('max_position_embeddings', 2048),
    hidden_act: act,
    bos_token_id: f.num('bos_token_id', 1),
    eos_token_id: f.raw('eos_token_id', 2) as number | number[],
    pad_token_id: f.raw('pad_token_id') === undefined ? undefined : f.num('pad_token_id'),
    tie_word_embeddings: f.flag('tie_word_embeddings', false),
    attention_bias: f.flag('attention_bias', false),
    mlp_bias: f.flag('mlp_bias', false),
  };
}
