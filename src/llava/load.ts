/**
 * Loading LLaVA-NeXT directories (llava-hf layout), and LLaVA-1.5 ones (config.json model_type 'llava':
 * CLIPImageProcessor, no image_newline; llava15.ts): config.json, preprocessor_config.json,
 * generation_config.json when present, and model.safetensors (or a sharded index), on the one loader
 * skeleton (io/loader.ts). The key spec is the vision tower's (clip/load.ts) + the projector + the image
 * newline + the language model's (llama/load.ts). The only file of src/llava/ that touches files or io/.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { readJsonObject } from '../io/json';
import { disposeTree, linearKeys } from '../io/checkpoint';
import { keySpecSize, loadCheckpoint, weightPlan, type CheckpointRecipe, type LoadOptions, type WeightPlan, type WeightResidency } from '../io/loader';
import { clipStreamGroups, clipVisionKeys } from '../clip/load';
import { llamaKeys, llamaStreamGroups, tieLmHead } from '../llama/load';
import { deriveLlava, llavaNextConfig, type LlavaDerived, type LlavaNextConfig } from './config';
import { validateImageProcessorConfig, type ImageProcessorConfig } from './image_processor';
import { eosTokenIds } from './generation_config';
import { isLlava15, validateClipImageProcessorConfig } from './llava15';
import type { LlavaNextModel, LlavaNextParams } from './model';

/** Every tensor a LLaVA-NeXT checkpoint must hold, by canonical name, with its shape from the config. */
export function llavaNextKeys(cfg: LlavaNextConfig): Map<string, readonly number[]> {
  const v = cfg.vision_config, t = cfg.text_config;
  const spec = new Map<string, readonly number[]>([
    ...clipVisionKeys(v, 'vision_tower.vision_model.'),
    ...llamaKeys(t, 'language_model.'),
  ]);
  linearKeys(spec, 'multi_modal_projector.linear_1', t.hidden_size, v.hidden_size, true);
  linearKeys(spec, 'multi_modal_projector.linear_2', t.hidden_size, t.hidden_size, true);
  if (!isLlava15(cfg)) spec.set('image_newline', [t.hidden_size]); // LLaVA-1.5 has none
  return spec;
}

/** Parameters of a LLaVA-NeXT model with this config (the sum over its key spec). */
export function llavaNextParameterCount(cfg: LlavaNextConfig): number {
  return keySpecSize(llavaNextKeys(cfg));
}

/**
 * Reads and checks `<dir>/preprocessor_config.json`: LlavaNextImageProcessor's fields, or with `llava15`
 * CLIPImageProcessor's (LLaVA-1.5, llava15.ts).
 */
export function loadImageProcessorConfig(dir: string, llava15 = false): ImageProcessorConfig {
  const file = path.join(dir, 'preprocessor_config.json');
  const raw = readJsonObject(file, 'preprocessor config');
  return llava15 ? validateClipImageProcessorConfig(raw, file) : validateImageProcessorConfig(raw, file);
}

/** eos ids of a model directory: generation_config.json's when the file exists, else config.json's (generation_config.ts). */
export function loadEosTokenIds(dir: string): number[] {
  const gen = path.join(dir, 'generation_config.json');
  const file = path.join(dir, 'config.json');
  if (fs.existsSync(gen)) return eosTokenIds({ json: readJsonObject(gen, 'generation config'), file: gen }, { json: {}, file });
  return eosTokenIds(undefined, { json: readJsonObject(file, 'model config'), file });
}

/** What a LLaVA-NeXT directory's small files say, parsed before any tensor is read. */
interface LlavaFiles {
  readonly config: LlavaNextConfig;
  readonly derived: LlavaDerived;
  readonly processor: ImageProcessorConfig;
  readonly eosTokenIds: readonly number[];
}

const LLAVA_RECIPE: CheckpointRecipe<LlavaFiles> = {
  noConfig: (dir) => `--model: '${dir}' has no config.json (expected a llava-hf LLaVA-NeXT or LLaVA-1.5 directory)`,
  configWhat: 'model config',
  parseConfig: (json, file, dir) => {
    const config = llavaNextConfig(json, file);
    const derived = deriveLlava(config);
    // The family branch: config.json's model_type ('llava' = LLaVA-1.5) picks the processor and the key spec.
    const processor = loadImageProcessorConfig(dir, isLlava15(config));
    const eos = loadEosTokenIds(dir);
    // The processor accepts pinpoints that are not multiples of the crop (partial edge tiles, as v4.45.1), but
    // pack_image_features views the tiles as (best_h // S) × (best_w // S), which then has fewer tiles than the
    // processor cut: HF v4.45.1 fails there too. Refuse it up front, naming the file.
    for (const p of processor.image_grid_pinpoints) {
      if (p[0] % processor.crop_size.height !== 0 || p[1] % processor.crop_size.height !== 0) {
        throw new HeroError(`${path.join(dir, 'preprocessor_config.json')}: image_grid_pinpoints entry [${p}] is not a multiple of crop_size ${processor.crop_size.height}; the processor supports that (partial edge tiles) but the model cannot pack the resulting grid`);
      }
    }
    return { config, derived, processor, eosTokenIds: eos };
  },
  keys: (files) => llavaNextKeys(files.config),
  llavaLayout: true,
  streamGroups: [...clipStreamGroups('vision_tower.vision_model.'), ...llamaStreamGroups('language_model.')],
};

/** What loading `dir` with `residency` holds (io/loader.ts weightPlan; reads the headers, no tensor data). */
export function llavaNextWeightPlan(dir: string, residency: WeightResidency): WeightPlan {
  return weightPlan(dir, LLAVA_RECIPE, residency);
}

/** Parses `<dir>/config.json` as a LLaVA-NeXT config (no other file, no tensors). */
export function loadLlavaNextConfig(dir: string): LlavaNextConfig {
  const file = path.join(dir, 'config.json');
  return llavaNextConfig(readJsonObject(file, 'model config'), file);
}

/**
 * Loads a LLaVA-NeXT directory in HF layout: config.json, preprocessor_config.json, generation_config.json
 * when present, and model.safetensors (or a sharded index).
 * Key names of both HF layouts are accepted (io/checkpoint.ts KEY_RENAMES).
 */
export function loadLlavaNext(dir: string, onProgress?: (done: number, total: number) => void, residency: WeightResidency = 'resident', opts: LoadOptions = {}): LlavaNextModel {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new HeroError(`--model: '${dir}' is not a directory`);
  const { config: files, tree } = loadCheckpoint<LlavaFiles, LlavaNextParams>(dir, LLAVA_RECIPE, onProgress, residency, opts);
  const { config, derived, processor, eosTokenIds: eos } = files;
  // text_config.tie_word_embeddings: no lm_head in the file, logits use embed_tokens (HF ties the language model's own weights).
  return { dir, config, derived, processor, eosTokenIds: eos, params: { ...tree, language_model: tieLmHead(tree.language_model, config.text_config) } };
}

export function disposeLlavaNext(m: LlavaNextModel): void {
  disposeTree(m.params);
}
