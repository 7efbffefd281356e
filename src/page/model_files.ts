/**
 * The page's model: the embedded default (generated here by src/weights/ with its seed, into the loading
 * layer's in-memory files, and checked file by file against weights/manifest.json), or the checkpoint a
 * person picked (files, a folder, or a drop), put into the same in-memory files. The loaders then read
 * them exactly as in Node (io/browser_fs.ts).
 */
/// <reference path="./wasm.d.ts" />
import { HeroError } from '../core/errors';
import { putFile, removeTree, readFileSync } from '../io/browser_fs';
import { generateDefaultWeights, DEFAULT_SEED } from '../weights/default_model';
import { manifestMismatches, type Manifest } from '../weights/manifest';
import MANIFEST from '../../weights/manifest.json';

export const DEFAULT_ROOT = '/models/default';
export const PICKED_ROOT = '/models/picked';

export interface ModelDirs { readonly model: string; readonly clip?: string; readonly label: string }

let defaultDirs: ModelDirs | null = null;

/**
 * The default model (once per page): generated with the manifest's seed, every file's sha256 compared with
 * the manifest. @choice generated rather than inlined: the bundle stays ~2 MiB instead of ~50 MiB of base64,
 * and the manifest check proves the browser's generator is the same as Node's, byte for byte.
 */
export function defaultModel(log: (s: string) => void): ModelDirs {
  if (defaultDirs) return defaultDirs;
  const m = MANIFEST as Manifest;
  const t0 = performance.now();
  const files = generateDefaultWeights(DEFAULT_ROOT, m.seed ?? DEFAULT_SEED);
  const bad = manifestMismatches(m, files);
  if (bad.length) throw new HeroError(`the default model generated in this browser differs from weights/manifest.json in ${bad.join(', ')}`);
  log(`default model: generated (seed ${m.seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s; all ${Object.keys(files).length} files match weights/manifest.json's sha256`);
  defaultDirs = { model: `${DEFAULT_ROOT}/llava-next`, clip: `${DEFAULT_ROOT}/clip`, label: 'the embedded default model (RANDOM weights)' };
  return defaultDirs;
}

/** A picked file: its bytes and its path inside what was picked (a folder's relative path, else its name). */
export interface PickedFile { readonly path: string; readonly bytes: Uint8Array }

/**
 * Puts the picked files under PICKED_ROOT and finds the checkpoints among them: each folder with a
 * config.json is LLaVA (model_type llava_next / llava) or CLIP (model_type clip). Loose files (no folder)
 * form one folder. A pick without a LLaVA config is refused with a message naming what was found.
 */
export function pickedModel(picked: readonly PickedFile[]): ModelDirs {
  if (!picked.length) throw new HeroError('no files picked');
  removeTree(PICKED_ROOT);
  let model: string | undefined, clip: string | undefined;
  const found: string[] = [];
  const at = (f: PickedFile): string => `${PICKED_ROOT}/${f.path.includes('/') ? f.path : `files/${f.path}`}`;
  const configDirs = [...new Set(picked.map(at).filter((p) => p.endsWith('/config.json')).map((p) => p.slice(0, -'/config.json'.length)))].sort();
  for (const f of picked) putFile(at(f), f.bytes);
  for (const dir of configDirs) {
    let type = '?';
    try {
      type = String((JSON.parse(readFileSync(`${dir}/config.json`, 'utf8') as string) as { model_type?: unknown }).model_type);
    } catch (e) {
      throw new HeroError(`${dir.slice(PICKED_ROOT.length + 1)}/config.json: not JSON (${(e as Error).message})`);
    }
    found.push(`${dir.slice(PICKED_ROOT.length + 1)} (${type})`);
    if (type.startsWith('llava')) model ??= dir;
    else if (type === 'clip') clip ??= dir;
  }
  if (!model) throw new HeroError(`no LLaVA checkpoint among the picked files: need a config.json with model_type llava_next or llava (found: ${found.join(', ') || 'no config.json'})`);
  return { model, ...(clip ? { clip } : {}), label: `${model.slice(PICKED_ROOT.length + 1)}${clip ? ` + ${clip.slice(PICKED_ROOT.length + 1)}` : ''}` };
}
