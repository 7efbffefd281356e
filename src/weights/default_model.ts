/**
 * The embedded default model: a LLaVA-NeXT + CLIP pair in HF layout with RANDOM weights and the real
 * geometry of llava-hf/llava-v1.6-vicuna-7b-hf and openai/clip-vit-large-patch14-336 where it matters to
 * HERO (336 px crops, 14 px patches → 24×24 = 576 tokens per crop, 24 vision layers, the five anyres
 * pinpoints, feature layer −2, the Llama-2 vocabulary with `<image>` = 32000), and small widths elsewhere.
 *
 * Generated on first use into weights/default/ (git-ignored), seeded and deterministic, no network; the
 * sha256 of every file is pinned in weights/manifest.json. `npm run weights` regenerates and prints the
 * sizes; `npm run weights -- --write-manifest` also rewrites the manifest (after a deliberate change).
 *
 * The pieces: geometry.ts (sizes, ids, seed), hf_files.ts (config / processor / generation JSON),
 * tokenizers.ts (tokenizer JSON), writing.ts (tensor init from the loaders' key specs, the two
 * directories), manifest.ts (hashes). This file: where the model lives, ensureDefaultWeights, the CLI.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_SEED } from './geometry';
import { generateDefaultWeights, json } from './writing';
import { DEFAULT_MANIFEST, manifestMismatches, matchesManifest, readManifest } from './manifest';

export { DEFAULT_SEED } from './geometry';
export { llavaConfigJson, clipConfigJson } from './hf_files';
export { llamaTokenizerJson, clipTokenizerJson } from './tokenizers';
export { generateDefaultWeights, llavaKeys, clipKeys } from './writing';
export type { Init } from './init';
export { hashTree, readManifest, DEFAULT_MANIFEST, type Manifest } from './manifest';

/** Repository root (this file is src/weights/*.ts or dist/weights/*.js). */
const ROOT = path.resolve(__dirname, '..', '..');
export const DEFAULT_WEIGHTS_ROOT = path.join(ROOT, 'weights', 'default');
export const DEFAULT_MODEL_DIR = path.join(DEFAULT_WEIGHTS_ROOT, 'llava-next');
export const DEFAULT_CLIP_DIR = path.join(DEFAULT_WEIGHTS_ROOT, 'clip');

/**
 * Makes sure weights/default/{llava-next,clip} exist and match weights/manifest.json; (re)generates them
 * otherwise, saying so in one line. Generation writes into a temporary sibling directory and renames, so
 * a concurrent reader never sees half a checkpoint.
 */
export function ensureDefaultWeights(opts?: { log?: (msg: string) => void; root?: string }): { llavaDir: string; clipDir: string; generated: boolean } {
  const root = opts?.root ?? DEFAULT_WEIGHTS_ROOT;
  const llavaDir = path.join(root, 'llava-next');
  const clipDir = path.join(root, 'clip');
  const manifest = readManifest();
  const present = fs.existsSync(path.join(llavaDir, 'model.safetensors')) && fs.existsSync(path.join(clipDir, 'model.safetensors'));
  if (present && (manifest === null || matchesManifest(root, manifest))) return { llavaDir, clipDir, generated: false };

  const log = opts?.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  log(`generating the default model with RANDOM weights (seed ${manifest?.seed ?? DEFAULT_SEED}, no download) into ${root}`);
  const tmp = path.join(root, `.tmp-${process.pid}-${Date.now()}`);
  try {
    const files = generateDefaultWeights(tmp, manifest?.seed ?? DEFAULT_SEED);
    if (manifest !== null) {
      const bad = manifestMismatches(manifest, files);
      if (bad.length) log(`warning: generated default weights differ from weights/manifest.json in ${bad.join(', ')} (platform-dependent maths?)`);
    }
    for (const [sub, dst] of [['llava-next', llavaDir], ['clip', clipDir]] as const) {
      fs.rmSync(dst, { recursive: true, force: true });
      fs.renameSync(path.join(tmp, sub), dst);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { llavaDir, clipDir, generated: true };
}

/** `npm run weights [-- --write-manifest]`: regenerate, print sizes and time, optionally pin the hashes. */
function main(argv: string[]): void {
  const t0 = Date.now();
  fs.rmSync(DEFAULT_WEIGHTS_ROOT, { recursive: true, force: true });
  const files = generateDefaultWeights(DEFAULT_WEIGHTS_ROOT);
  const ms = Date.now() - t0;
  let total = 0;
  for (const f of Object.keys(files)) {
    const size = fs.statSync(path.join(DEFAULT_WEIGHTS_ROOT, f)).size;
    total += size;
    process.stdout.write(`${(size / 1e6).toFixed(2).padStart(8)} MB  ${f}\n`);
  }
  process.stdout.write(`${(total / 1e6).toFixed(2).padStart(8)} MB  total, generated in ${(ms / 1000).toFixed(2)} s\n`);
  if (argv.includes('--write-manifest')) {
    fs.writeFileSync(DEFAULT_MANIFEST, json({ seed: DEFAULT_SEED, generator: 'src/weights/default_model.ts', files }));
    process.stdout.write(`wrote ${DEFAULT_MANIFEST}\n`);
  } else {
    const m = readManifest();
    const bad = m ? manifestMismatches(m, files) : [];
    process.stdout.write(m === null ? 'no weights/manifest.json\n' : bad.length ? `MISMATCH with weights/manifest.json: ${bad.join(', ')}\n` : 'matches weights/manifest.json\n');
  }
}

if (require.main === module) main(process.argv.slice(2));
