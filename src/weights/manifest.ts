/**
 * weights/manifest.json: the sha256 of every file of the default model, pinned so that a regeneration
 * on any machine is checked byte for byte.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** weights/manifest.json (this file is src/weights/*.ts or dist/weights/*.js). */
export const DEFAULT_MANIFEST = path.join(path.resolve(__dirname, '..', '..'), 'weights', 'manifest.json');

export interface Manifest {
  readonly seed: number;
  readonly files: Readonly<Record<string, string>>;
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** sha256 of every file under `dir` (relative '/'-separated paths, sorted). */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sub of ['llava-next', 'clip']) {
    const d = path.join(dir, sub);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d).sort()) out[`${sub}/${f}`] = sha256File(path.join(d, f));
  }
  return out;
}

export function readManifest(file = DEFAULT_MANIFEST): Manifest | null {
  if (!fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
}

/** True when `dir` holds exactly the manifest's files with the manifest's hashes. */
export function matchesManifest(dir: string, m: Manifest): boolean {
  const want = Object.keys(m.files);
  for (const f of want) {
    const p = path.join(dir, f);
    if (!fs.existsSync(p) || sha256File(p) !== m.files[f]) return false;
  }
  return true;
}

/** Names of the manifest's files whose hash differs from `files` (a fresh generation's). */
export function manifestMismatches(m: Manifest, files: Readonly<Record<string, string>>): string[] {
  return Object.keys(m.files).filter((f) => files[f] !== m.files[f]);
}
