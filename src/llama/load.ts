/**
 * Loading Llama checkpoints: the key spec of LlamaForCausalLM (every tensor, with its shape from the
 * config), the tied-lm_head exception, and the loader, on the one loader skeleton (io/loader.ts).
 * The only file of src/llama/ that touches files or io/.
 */
import type { LinearParams } from '../nn/linear';
import { linearKeys } from '../io/checkpoint';
import { keySpecSize, loadCheckpoint, type CheckpointRecipe, type LoadOptions, type WeightResidency } from '../io/loader';
import { mapWeights, type Weights } from '../core/weights';
import { llamaConfig, type LlamaConfig } from './config';
import type { LlamaParams } from './decoder';

/** Every tensor of a LlamaForCausalLM checkpoint under `prefix` ('' alone, 'language_model.' inside LLaVA). */
export function llamaKeys(cfg: LlamaConfig, prefix: string): Map<string, readonly number[]> {
  const D = cfg.hidden_size, F = cfg.intermediate_size;
  const qOut = cfg.num_attention_heads * cfg.head_dim, kvOut = cfg.num_key_value_heads * cfg.head_dim;
  const spec = new Map<string, readonly number[]>();
  spec.set(`${prefix}model.embed_tokens.weight`, [cfg.vocab_size, D]);
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const l = `${prefix}model.layers.${i}`;
    spec.set(`${l}.input_layernorm.weight`, [D]);
    linearKeys(spec, `${l}.self_attn.q_proj`, qOut, D, cfg.attention_bias);
    linearKeys(spec, `${l}.self_attn.k_proj`, kvOut, D, cfg.attention_bias);
    linearKeys(spec, `${l}.self_attn.v_proj`, kvOut, D, cfg.attention_bias);
    linearKeys(spec, `${l}.self_attn.o_proj`, D, qOut, cfg.attention_bias);
    spec.set(`${l}.post_attention_layernorm.weight`, [D]);
    linearKeys(spec, `${l}.mlp.gate_proj`, F, D, cfg.mlp_bias);
    linearKeys(spec, `${l}.mlp.up_proj`, F, D, cfg.mlp_bias);
    linearKeys(spec, `${l}.mlp.down_proj`, D, F, cfg.mlp_bias);
  }
  spec.set(`${prefix}model.norm.weight`, [D]);
  // Tied embeddings store no lm_head; the loader points lm_head at embed_tokens.
  if (!cfg.tie_word_embeddings) spec.set(`${prefix}lm_head.weight`, [cfg.vocab_size, D]);
  return spec;
}

/** Parameters of a LlamaForCausalLM with this config (the sum over its key spec; a tied lm_head counts once). */
export function llamaParameterCount(cfg: LlamaConfig): number {
  return keySpecSize(llamaKeys(cfg, ''));
}

/** Fills in lm_head for tied embeddings (the one exception to "params mirror the checkpoint"). */
export function tieLmHead(p: { model: LlamaParams['model']; lm_head?: Weights<LinearParams> }, cfg: LlamaConfig): LlamaParams {
  return cfg.tie_word_embeddings ? { ...p, lm_head: mapWeights(p.model.embed_tokens, (e) => ({ weight: e.weight })) } : (p as LlamaParams);
}

/**
 * The weight groups of a LlamaForCausalLM under `prefix` that can be streamed (io/loader.ts): the
 * embedding table, each decoder layer, the lm_head. The final norm stays resident.
 */
export function llamaStreamGroups(prefix: string): RegExp[] {
  const p = prefix.replace(/\./g, '\\.');
  return [new RegExp(`^${p}model\\.embed_tokens\\.`), new RegExp(`^${p}model\\.layers\\.\\d+\\.`), new RegExp(`^${p}lm_head\\.`)];
}

/** LlamaForCausalLM directories: config.json is a LlamaConfig. */
const LLAMA_RECIPE: CheckpointRecipe<LlamaConfig> = {
  noConfig: (dir) => `${dir}: no config.json`,
  configWhat: 'model config',
  parseConfig: (json, file) => llamaConfig(json, file),
  keys: (cfg) => llamaKeys(cfg, ''),
  streamGroups: llamaStreamGroups(''),
};

/** Loads a LlamaForCausalLM directory (config.json + safetensors); `residency` as io/loader.ts WeightResidency. */
export function loadLlama(dir: string, residency: WeightResidency = 'resident', opts: LoadOptions = {}): { config: LlamaConfig; params: LlamaParams } {
  const { config, tree } = loadCheckpoint<LlamaConfig, LlamaParams>(dir, LLAMA_RECIPE, undefined, residency, opts);
  return { config, params: tieLmHead(tree, config) };
}
