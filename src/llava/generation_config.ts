/**
 * The end-of-sequence ids greedy decoding stops at, read from where HF takes them.
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/modeling_utils.py PreTrainedModel.from_pretrained (generation_config.json → model.generation_config)
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/generation/configuration_utils.py GenerationConfig.from_model_config (no generation_config.json)
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { readJsonFile } from '../io/json';

/** One id, a list (any of them stops), or null/absent (none): the eos_token_id forms HF accepts. */
function eosList(v: unknown, where: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((t) => Number.isInteger(t) && (t as number) >= 0)) {
    throw new HeroError(`${where}: eos_token_id must be a token id, a list of token ids or null (got ${JSON.stringify(v)})`);
  }
  return list as number[];
}

/**
 * eos ids of a model directory, as `from_pretrained(dir).generate()` uses them:
 * - generation_config.json present: its eos_token_id, and only it (config.json is not consulted, even when
 *   the file has no eos_token_id: then nothing stops generation early);
 * - otherwise config.json's: the top-level eos_token_id when set, else text_config's (LlamaConfig default 2).
 * @deviation generate's legacy rebuild of the generation config from config.json (generation_config.json with
 * `_from_model_config: true` and non-default generation fields at config.json's top level) is not reproduced.
 */
export function loadEosTokenIds(dir: string): number[] {
  const gen = path.join(dir, 'generation_config.json');
  if (fs.existsSync(gen)) {
    const json = readJsonFile<Record<string, unknown>>(gen, 'generation config');
    return eosList(json.eos_token_id, gen);
  }
  const file = path.join(dir, 'config.json');
  const json = readJsonFile<Record<string, unknown>>(file, 'model config');
  if (json.eos_token_id !== undefined && json.eos_token_id !== null) return eosList(json.eos_token_id, file);
  const text = (json.text_config ?? {}) as Record<string, unknown>;
  return eosList(text.eos_token_id === undefined ? 2 : text.eos_token_id, `${file} text_config`);
}
