/**
 * The one loader skeleton every model folder's load.ts uses:
 *   open dir → parse config.json → key spec → load tensors → build tree → close
 * A model folder supplies what differs (its config parser, its key spec, its error wording); the file
 * handling, the checks on the tensors (io/checkpoint.ts loadTensors) and the closing live here once.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { readJsonFile } from './json';
import { SafetensorsDir } from './safetensors';
import { buildTree, loadTensors, type KeySpec } from './checkpoint';

/** What a model folder tells the skeleton. `C` is its parsed (typed) config. */
export interface CheckpointRecipe<C> {
  /** the one-line error when `dir` has no config.json (names the flag or the directory) */
  readonly noConfig: (dir: string) => string;
  /** what config.json is called in readJsonFile's errors ('model config', 'CLIP config') */
  readonly configWhat: string;
  /** config.json object → typed config; refusals are HeroErrors naming `file`. May read the directory's other files. */
  readonly parseConfig: (json: Record<string, unknown>, file: string, dir: string) => C;
  /** every tensor the checkpoint must hold, by canonical name, with its shape from the config */
  readonly keys: (config: C) => KeySpec;
  /** true for LLaVA-NeXT checkpoints (io/checkpoint.ts canonicalKey) */
  readonly llavaLayout?: boolean;
}

/** Reads `<dir>/config.json` and parses it with the recipe (no tensors are read). */
export function readCheckpointConfig<C>(dir: string, recipe: CheckpointRecipe<C>): C {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new HeroError(recipe.noConfig(dir));
  return recipe.parseConfig(readJsonFile<Record<string, unknown>>(file, recipe.configWhat), file, dir);
}

/**
 * Loads a checkpoint directory in HF layout (config.json + model.safetensors or a sharded index): the
 * parsed config and the params tree (canonical key names, io/checkpoint.ts). The files are closed on
 * every path, error or not.
 */
export function loadCheckpoint<C, T>(dir: string, recipe: CheckpointRecipe<C>,
  onProgress?: (done: number, total: number) => void): { config: C; tree: T } {
  const config = readCheckpointConfig(dir, recipe);
  const store = SafetensorsDir.open(dir);
  try {
    const tensors = loadTensors(store, recipe.keys(config), { llavaLayout: recipe.llavaLayout ?? false, onProgress });
    return { config, tree: buildTree<T>(tensors) };
  } finally {
    store.close();
  }
}

/** Parameters in a key spec (the sum of its shapes' products). */
export function keySpecSize(spec: KeySpec): number {
  let n = 0;
  for (const shape of spec.values()) n += shape.reduce((a, d) => a * d, 1);
  return n;
}
