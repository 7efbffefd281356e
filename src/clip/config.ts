/**
 * CLIP config.json fields (HF `CLIPVisionConfig` / `CLIPTextConfig`, v4.45.1 names, class defaults for
 * absent fields).
 */
import { HeroError } from '../core/errors';

export interface ClipVisionConfig {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_attention_heads: number;
  readonly num_hidden_layers: number;
  readonly image_size: number;
  readonly patch_size: number;
  readonly num_channels: number;
  readonly layer_norm_eps: number;
  readonly hidden_act: string;
  readonly projection_dim: number;
}

export interface ClipTextConfig {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_attention_heads: number;
  readonly num_hidden_layers: number;
  readonly max_position_embeddings: number;
  readonly vocab_size: number;
  readonly layer_norm_eps: number;
  readonly hidden_act: string;
  readonly bos_token_id: number;
  readonly eos_token_id: number;
  readonly pad_token_id: number;
  readonly projection_dim: number;
}

const VISION_DEFAULTS: ClipVisionConfig = {
  hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12, image_size: 224,
  patch_size: 32, num_channels: 3, layer_norm_eps: 1e-5, hidden_act: 'quick_gelu', projection_dim: 512,
};
const TEXT_DEFAULTS: ClipTextConfig = {
  hidden_size: 512, intermediate_size: 2048, num_attention_heads: 8, num_hidden_layers: 12, max_position_embeddings: 77,
  vocab_size: 49408, layer_norm_eps: 1e-5, hidden_act: 'quick_gelu', bos_token_id: 49406, eos_token_id: 49407,
  pad_token_id: 1, projection_dim: 512,
};

function fill<T extends object>(defaults: T, json: Record<string, unknown>, what: string): T {
  const out: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(defaults)) {
    const v = json[k] ?? d;
    if (typeof v !== typeof d || (typeof v === 'number' && !Number.isFinite(v))) {
      throw new HeroError(`${what}: field ${k} must be a ${typeof d} (got ${JSON.stringify(json[k])})`);
    }
    out[k] = v;
  }
  return out as T;
}

/** CLIP's activations (openai checkpoints: quick_gelu; some retrained ones: gelu); anything else is refused. */
const CLIP_ACTS: readonly string[] = ['quick_gelu', 'gelu'];

function checkAct<T extends { hidden_act: string }>(c: T, what: string): T {
  if (!CLIP_ACTS.includes(c.hidden_act)) throw new HeroError(`${what}: hidden_act '${c.hidden_act}' is not supported (CLIP uses ${CLIP_ACTS.join(' or ')})`);
  return c;
}

export function clipVisionConfig(json: Record<string, unknown>, what = 'vision config'): ClipVisionConfig {
  return checkAct(fill(VISION_DEFAULTS, json, what), what);
}

export function clipTextConfig(json: Record<string, unknown>, what = 'text config'): ClipTextConfig {
  return checkAct(fill(TEXT_DEFAULTS, json, what), what);
}
