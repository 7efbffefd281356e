/**
 * CLIP config.json (HF `CLIPConfig` / `CLIPVisionConfig` / `CLIPTextConfig`, v4.45.1 field names verbatim).
 * Each field: what it means; the HF class default taken when the file leaves it out; the value of
 * openai/clip-vit-large-patch14-336 (= the vision_config of llava-hf/llava-v1.6-vicuna-7b-hf), "7B:".
 * Parsed with core/config_fields.ts, the one config parser style.
 */
import { ConfigFields } from '../core/config_fields';

export interface ClipVisionConfig {
  /** width Dv of the residual stream. HF 768; 7B: 1024 */
  readonly hidden_size: number;
  /** MLP width (fc1 out). HF 3072; 7B: 4096 */
  readonly intermediate_size: number;
  /** attention heads Hv (Dh = Dv / Hv). HF 12; 7B: 16 */
  readonly num_attention_heads: number;
  /** encoder layers. HF 12; 7B: 24 */
  readonly num_hidden_layers: number;
  /** crop side S in pixels. HF 224; 7B: 336 */
  readonly image_size: number;
  /** patch side p in pixels (S / p patches per side). HF 32; 7B: 14 */
  readonly patch_size: number;
  /** input channels C. HF 3; 7B: 3 */
  readonly num_channels: number;
  /** LayerNorm ε. HF 1e-5; 7B: 1e-5 */
  readonly layer_norm_eps: number;
  /** MLP activation: quick_gelu or gelu, else refused. HF quick_gelu; 7B: quick_gelu */
  readonly hidden_act: string;
  /** projection width Dp (CLIPVisionModelWithProjection; unused by LLaVA). HF 512; 7B: 768 */
  readonly projection_dim: number;
}

export interface ClipTextConfig {
  /** width Dt of the text residual stream. HF 512; 7B's CLIP: 768 */
  readonly hidden_size: number;
  /** MLP width. HF 2048; 7B's CLIP: 3072 */
  readonly intermediate_size: number;
  /** attention heads. HF 8; 7B's CLIP: 12 */
  readonly num_attention_heads: number;
  /** encoder layers. HF 12; 7B's CLIP: 12 */
  readonly num_hidden_layers: number;
  /** longest prompt in tokens Lt (position table rows). HF 77; 7B's CLIP: 77 */
  readonly max_position_embeddings: number;
  /** token embedding rows. HF 49408; 7B's CLIP: 49408 */
  readonly vocab_size: number;
  /** LayerNorm ε. HF 1e-5; 7B's CLIP: 1e-5 */
  readonly layer_norm_eps: number;
  /** MLP activation: quick_gelu or gelu, else refused. HF quick_gelu; 7B's CLIP: quick_gelu */
  readonly hidden_act: string;
  /** `<|startoftext|>` id. HF 49406; 7B's CLIP: 49406 */
  readonly bos_token_id: number;
  /** `<|endoftext|>` id; the pooled token is found with it (2 = legacy argmax rule). HF 49407; 7B's CLIP: 49407 */
  readonly eos_token_id: number;
  /** padding id. HF 1; 7B's CLIP: 1 */
  readonly pad_token_id: number;
  /** projection width Dp. HF 512; 7B's CLIP: 768 */
  readonly projection_dim: number;
}

/** A CLIPModel config.json: both towers and the shared projection width. */
export interface ClipModelConfig {
  readonly vision: ClipVisionConfig;
  readonly text: ClipTextConfig;
  /** width Dp of visual_projection and text_projection (top level). HF 512; 7B's CLIP: 768 */
  readonly projection_dim: number;
}

/** CLIP's activations (openai checkpoints: quick_gelu; some retrained ones: gelu); anything else is refused. */
const CLIP_ACTS: readonly string[] = ['quick_gelu', 'gelu'];

function act(f: ConfigFields): string {
  const a = f.str('hidden_act', 'quick_gelu');
  if (!CLIP_ACTS.includes(a)) f.bad(`hidden_act '${a}' is not supported (CLIP uses ${CLIP_ACTS.join(' or ')})`);
  return a;
}

/** Tokens of one crop through the vision tower: the CLS token and the (S / p)² patches (N+1). */
export function clipSequenceLength(c: ClipVisionConfig): number {
  return (c.image_size / c.patch_size) ** 2 + 1;
}

/** A CLIPVisionConfig object (`vision_config`, or a whole CLIPVisionModel config.json); `what` names it in errors. */
export function clipVisionConfig(json: Record<string, unknown>, what = 'vision config'): ClipVisionConfig {
  const f = new ConfigFields(json, what);
  return {
    hidden_size: f.size('hidden_size', 768),
    intermediate_size: f.size('intermediate_size', 3072),
    num_attention_heads: f.size('num_attention_heads', 12),
    num_hidden_layers: f.size('num_hidden_layers', 12),
    image_size: f.size('image_size', 224),
    patch_size: f.size('patch_size', 32),
    num_channels: f.size('num_channels', 3),
    layer_norm_eps: f.positive('layer_norm_eps', 1e-5),
    hidden_act: act(f),
    projection_dim: f.size('projection_dim', 512),
  };
}

/** A CLIPTextConfig object (`text_config`); `what` names it in errors. */
export function clipTextConfig(json: Record<string, unknown>, what = 'text config'): ClipTextConfig {
  const f = new ConfigFields(json, what);
  return {
    hidden_size: f.size('hidden_size', 512),
    intermediate_size: f.size('intermediate_size', 2048),
    num_attention_heads: f.size('num_attention_heads', 8),
    num_hidden_layers: f.size('num_hidden_layers', 12),
    max_position_embeddings: f.size('max_position_embeddings', 77),
    vocab_size: f.size('vocab_size', 49408),
    layer_norm_eps: f.positive('layer_norm_eps', 1e-5),
    hidden_act: act(f),
    bos_token_id: f.num('bos_token_id', 49406),
    eos_token_id: f.num('eos_token_id', 49407),
    pad_token_id: f.num('pad_token_id', 1),
    projection_dim: f.size('projection_dim', 512),
  };
}

/** A CLIPModel config.json object; `file` names it in errors. */
export function clipModelConfig(json: Record<string, unknown>, file = 'config.json'): ClipModelConfig {
  const f = new ConfigFields(json, file);
  return {
    vision: clipVisionConfig(f.sub('vision_config').json, `${file} vision_config`),
    text: clipTextConfig(f.sub('text_config').json, `${file} text_config`),
    projection_dim: f.size('projection_dim', 512),
  };
}
