/**
 * The mark of a checkpoint with random weights (written by `hero-lvlm random-weights`): a key in its
 * config.json and in each safetensors file's `__metadata__`. `run` reads it so that every output made from
 * such a checkpoint says RANDOM WEIGHTS, as it does for the embedded default model.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsFile } from './safetensors';

/** The key, in config.json (a string) and in safetensors `__metadata__`. */
export const RANDOM_WEIGHTS_KEY = 'hero_lvlm_random_weights';

/**
 * The mark's text when `dir` carries it (config.json's key, else model.safetensors' or the first shard's
 * metadata), else null. Unreadable files count as unmarked: the loader reports them.
 */
export function randomWeightsMark(dir: string): string | null {
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as unknown;
    if (cfg !== null && typeof cfg === 'object' && (cfg as Record<string, unknown>)[RANDOM_WEIGHTS_KEY]) {
      return String((cfg as Record<string, unknown>)[RANDOM_WEIGHTS_KEY]);
    }
  } catch { /* the loader says what is wrong with it */ }
  try {
    const file = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort()[0];
    if (file === undefined) return null;
    const f = SafetensorsFile.open(path.join(dir, file));
    try {
      const m = f.metadata[RANDOM_WEIGHTS_KEY];
      return m ? String(m) : null;
    } finally { f.close(); }
  } catch {
    return null;
  }
}

/** `{ hero_lvlm_random_weights: mark }` for a marked `dir` (a trace's metadata), else {}. */
export function randomMarkMetadata(dir: string): Record<string, string> {
  const m = randomWeightsMark(dir);
  return m === null ? {} : { [RANDOM_WEIGHTS_KEY]: m };
}
