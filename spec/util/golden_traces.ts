/**
 * The golden cases that `hero-lvlm trace` reproduces from the command line, as trace arguments: used by
 * spec/cli/trace.spec.ts, spec/cli/trace_hero.spec.ts and the GPU bundle (scripts/gpu-bundle.ts writes
 * them into gpu-cases.json for scripts/gpu-check.sh, which checks each with `hero-lvlm compare`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES, loadCase, type GoldenCase } from './fixtures';
import type { HeroOptions } from '../../src/hero';

/** Golden tensors of the llava cases that trace does not write (inputs to the golden, or generate-only). */
export const LLAVA_TRACE_SKIP = new Set(['feature_lens', 'legacy_input_ids', 'generate_scores']);
/** Golden tensors of the HERO cases that trace does not write under the same name. */
export const HERO_TRACE_SKIP = new Set(['clip_input_ids', 'generate_scores', 'hero.text_embeds_normalized', 'hero.tile_image_embeds_normalized', 'hero.valid_counts']);
/** HERO golden name → trace name (the golden stores the pruned sequence as `image_features`). */
export const HERO_TRACE_NAMES: Record<string, string> = { image_features: 'image_features_packed' };

export const HERO_CASES = (): string[] => fs.readdirSync(path.join(FIXTURES, 'cases')).filter((f) => /^hero_.*\.json$/.test(f)).map((f) => f.replace(/\.json$/, '')).sort();

/** A HERO case's inputs: legacy ids (one image placeholder), CLIP ids, image name and options. */
export function heroCaseInputs(gc: GoldenCase): { legacyIds: number[]; clipIds: number[]; image: string; opts: HeroOptions } {
  const s = gc.json.settings;
  const ids = gc.numbers('input_ids');
  // [1, t0, t1, M × image, t2, t3, t4] → one placeholder
  const legacyIds = ids.filter((t, i) => t !== 1000 || ids[i - 1] !== 1000);
  return {
    legacyIds, clipIds: gc.numbers('clip_input_ids'), image: path.basename(gc.json.image, '.png'),
    opts: {
      ratio: s.R, alpha: s.alpha, tauV: s.T_cls, tauT: s.T_clip, lowLayers: s.low_layers, highLayers: s.high_layers,
      variant: gc.json.variant, densityWeight: gc.json.variant === 'code' ? 0.2 : 0,
    },
  };
}

/** The `trace --method hero` flags of a HERO case (model, image, clip: directories under `fixtures`). */
export function heroTraceArgs(gc: GoldenCase, fixtures = FIXTURES): string[] {
  const { legacyIds, clipIds, image, opts } = heroCaseInputs(gc);
  return ['--model', path.join(fixtures, 'models', 'llava-next-tiny'), '--image', path.join(fixtures, 'images', `${image}.png`),
    '--input-ids', legacyIds.join(','), '--max-new-tokens', '5',
    '--method', 'hero', '--clip', path.join(fixtures, 'models', 'clip-tiny'), '--clip-input-ids', clipIds.join(','),
    '--ratio', String(opts.ratio), '--alpha', String(opts.alpha), '--tau-v', String(opts.tauV), '--tau-t', String(opts.tauT),
    '--low-layers', opts.lowLayers.join(','), '--high-layers', opts.highLayers.join(','), '--variant', opts.variant,
    '--density-weight', String(opts.densityWeight)];
}

/** The plain `trace` flags of the llava_wide case. */
export function llavaWideTraceArgs(fixtures = FIXTURES): string[] {
  const gc = loadCase('llava_wide');
  return ['--model', path.join(fixtures, 'models', 'llava-next-tiny'), '--image', path.join(fixtures, 'images', 'wide_h30_w100.png'),
    '--input-ids', gc.numbers('legacy_input_ids').join(','), '--max-new-tokens', '5'];
}

export interface GoldenTraceCase {
  /** case name: spec/fixtures/cases/<case>.{json,safetensors} */
  readonly case: string;
  /** `hero-lvlm trace` flags, without --backend and --out */
  readonly args: string[];
  /** golden tensors written by trace under the same name: `hero-lvlm compare --only` (comma list) */
  readonly only: string;
}

/** Every case trace reproduces, with paths under `fixtures` (e.g. a relative 'spec/fixtures'). */
export function goldenTraceCases(fixtures = FIXTURES): GoldenTraceCase[] {
  const wide = loadCase('llava_wide');
  const out: GoldenTraceCase[] = [{ case: 'llava_wide', args: llavaWideTraceArgs(fixtures), only: wide.names().filter((n) => !LLAVA_TRACE_SKIP.has(n)).join(',') }];
  for (const name of HERO_CASES()) {
    const gc = loadCase(name);
    // renamed tensors are checked by the specs, not by name
    const only = gc.names().filter((n) => !HERO_TRACE_SKIP.has(n) && !(n in HERO_TRACE_NAMES));
    out.push({ case: name, args: heroTraceArgs(gc, fixtures), only: only.join(',') });
  }
  return out;
}
