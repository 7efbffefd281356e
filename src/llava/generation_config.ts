/**
 * The end-of-sequence ids greedy decoding stops at, read from where HF takes them.
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/modeling_utils.py PreTrainedModel.from_pretrained (generation_config.json → model.generation_config)
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/generation/configuration_utils.py GenerationConfig.from_model_config (no generation_config.json)
 */
import { HeroError } from '../core/errors';

/** One id, a list (any of them stops), or null/absent (none): the eos_token_id forms HF accepts. */
function eosList(v: unknown, where: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((t) => Number.isInteger(t) && (t as number) >= 0)) {
    throw new HeroError(`${where}: eos_token_id must be a token id, a list of token ids or null (got ${JSON.stringify(v)})`);
  }
  return list as number[];
}

/** A parsed JSON file and its path (for the one-line errors). */
export interface JsonFile { readonly json: Record<string, unknown>; readonly file: string }

/**
 * eos ids of a model directory, as `from_pretrained(dir).generate()` uses them (the files are read by
 * load.ts loadEosTokenIds):
 * - generation_config.json present: its eos_token_id, and only it (config.json is not consulted, even when
 *   the file has no eos_token_id: then nothing stops generation early);
 * - otherwise config.json's: the top-level eos_token_id when set, else text_config's (LlamaConfig default 2).
 * @deviation generate's legacy rebuild of the generation config from config.json (generation_config.json with
 * `_from_model_config: true` and non-default generation fields at config.json's top level) is not reproduced.
 */
export function eosTokenIds(generation: JsonFile | undefined, config: JsonFile): number[] {
  if (generation) return eosList(generation.json.eos_token_id, generation.file);
  const json = config.json;
  if (json.eos_token_id !== undefined && json.eos_token_id !== null) return eosList(json.eos_token_id, config.file);
  const text = (json.text_config ?? {}) as Record<string, unknown>;
  return eosList(text.eos_token_id === undefined ? 2 : text.eos_token_id, `${config.file} text_config`);
}
