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
