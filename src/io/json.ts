import * as fs from 'fs';
import { HeroError } from '../core/errors';

/** Reads a JSON file; a missing or malformed file is a one-line HeroError naming it. */
export function readJsonFile<T = unknown>(file: string, what = 'JSON file'): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new HeroError(`${file}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new HeroError(`${file}: ${what} is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Reads a JSON file that must hold one object (config.json, tokenizer.json, preprocessor_config.json, …):
 * `null`, an array or a scalar is a one-line HeroError naming the file, as a missing or malformed one is.
 */
export function readJsonObject(file: string, what = 'JSON file'): Record<string, unknown> {
  const v = readJsonFile(file, what);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new HeroError(`${file}: ${what} must be a JSON object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  }
  return v as Record<string, unknown>;
}
