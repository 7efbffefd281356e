/**
 * Each method's command-line side, beside its maths-only contract (src/methods/contract.ts): the flags it
 * adds to `run` and `trace` (their values reach Method.configure by flag name), its --ratio default for the
 * help, and what it adds to a trace file's header. Keyed by the registry's names (src/methods/index.ts), so
 * a method missing here is a type error. Defaults in the help texts come from the methods' own constants.
 */
import type { FlagSpecs } from './args';
import { METHOD_NAMES, type MethodName, type MethodSpec } from '../methods';
import { HERO_DEFAULTS, HERO_DEFAULT_LAYERS } from '../hero/options';
import { FASTV_DEFAULTS } from '../baselines/fastv';
import { SPARSEVLM_DEFAULTS } from '../baselines/sparsevlm';

export interface MethodCli {
  /** CLI flags this method contributes (shared flags such as --ratio are the CLI's own; same-named flags of
   * several methods are listed once, their help joined) */
  readonly flags: FlagSpecs;
  /** its default retention ratio for --ratio's help, e.g. 'fastv 0.5' (none: takes no ratio) */
  readonly ratioHelp?: string;
  /** metadata it adds to a trace file's header */
  readonly traceMetadata?: (spec: MethodSpec) => Record<string, string>;
}

const H = HERO_DEFAULTS;

export const METHOD_CLI: Readonly<Record<MethodName, MethodCli>> = {
  hero: {
    ratioHelp: `hero ${H.ratio}`,
    flags: {
      alpha: { type: 'number', arg: 'A', help: `HERO α in [0, 1]: weight of visual saliency vs text relevance (default ${H.alpha})` },
      'tau-v': { type: 'number', arg: 'T', help: `HERO τ_v, temperature of the saliency softmax (default ${H.tauV})` },
      'tau-t': { type: 'number', arg: 'T', help: `HERO τ_t, temperature of the relevance softmax (default ${H.tauT})` },
      'low-layers': { type: 'intList', arg: 'L,…', help: `HERO layers for tile token scores (default ${HERO_DEFAULT_LAYERS.low.join(',')}; 0-based)` },
      'high-layers': { type: 'intList', arg: 'L,…', help: `HERO layers for thumbnail token scores (default ${HERO_DEFAULT_LAYERS.high.join(',')})` },
      'density-weight': { type: 'number', arg: 'W', help: `HERO weight λ of the valid-token density (code variant ${H.densityWeight.code}, paper ${H.densityWeight.paper})` },
      variant: { type: 'string', arg: 'code|paper', default: 'code', help: "HERO as the authors' code computes it, or as the paper states it" },
      // Table 5's component ablations (the paper removes them cumulatively: combine the flags for its rows B–D).
      'no-relevance': { type: 'boolean', help: 'HERO ablation (Table 5 "A removed"): no task relevance, α taken as 1; no --clip needed' },
      'uniform-budgets': { type: 'boolean', help: 'HERO ablation (Table 5 "B removed", with --no-relevance): uniform budgets, f_k = 1/K for every tile (saliency and density unused); no --clip needed' },
      'single-layer': { type: 'boolean', help: 'HERO ablation (Table 5 "C removed"): each stage scores with the last layer of its set only' },
      'same-selection': { type: 'boolean', help: "HERO ablation (Table 5 \"D removed\"): tiles scored with the thumbnail's layers (--high-layers)" },
      // Table 1's pilot: whole crops instead of HERO's budgets.
      'thumbnail-only': { type: 'boolean', help: 'HERO Table 1 pilot: the thumbnail alone (all its tokens), no tile' },
      'probe-tile': { type: 'int', arg: 'K', help: 'HERO Table 1 pilot: the thumbnail (all its tokens) plus only the tile ranked K-th (1-based) by --probe-by, all its valid tokens' },
      'probe-by': { type: 'string', arg: 'clip|cls', help: "HERO Table 1 pilot: rank tiles by CLIP score with the question (needs --clip) or by CLS similarity with the thumbnail" },
    },
    traceMetadata: (s) => ({ hero_options: JSON.stringify(s.options) }),
  },
  none: { flags: {} },
  fastervlm: {
    ratioHelp: 'fastervlm 0.25, T = ⌊r·N⌋',
    flags: {
      'tokens-per-crop': { type: 'int', arg: 'T', help: 'FasterVLM tokens kept per crop (default: ratio × N)' },
      'fastervlm-grid': { type: 'string', arg: 'G', help: "FasterVLM anyres grid: fixed (default: the largest square pinpoint, 672×672, as its authors ran it) | fill-ratio (FasterVLM's own select_best_resolution) | best-fit (LLaVA/HF)" },
    },
  },
  hired: {
    ratioHelp: 'hired 0.2',
    flags: {
      alpha: { type: 'number', arg: 'A', help: 'HiRED α (0.5)' },
      'hired-grid': { type: 'string', arg: 'O', help: "HiRED tile stacking before unpadding: as-coded (default: (cols, rows), HiRED's vendored HF 4.42) | corrected ((rows, cols))" },
    },
  },
  globalcom2: {
    ratioHelp: 'globalcom2 0.25',
    flags: {
      'globalcom2-placement': { type: 'string', arg: 'P', help: "GlobalCom² tile-token placement: as-coded (default: n-th kept valid token in tile cell n) | corrected (each in its own cell)" },
    },
  },
  'prumerge+': { flags: {} },
  fastv: {
    ratioHelp: `fastv ${FASTV_DEFAULTS.ratio}`,
    flags: {
      'fastv-layer': { type: 'int', arg: 'K', default: FASTV_DEFAULTS.layer, help: 'FastV: decoder layer after which image tokens are dropped' },
    },
  },
  sparsevlm: {
    ratioHelp: `sparsevlm ${SPARSEVLM_DEFAULTS.ratio}`,
    flags: {
      'sparsevlm-layers': { type: 'intList', arg: 'L,…', help: `SparseVLM: decoder layers after which visual tokens are pruned (default ${SPARSEVLM_DEFAULTS.layers.join(',')}; 0-based)` },
      'sparsevlm-scale': { type: 'number', arg: 'S', help: 'SparseVLM: fixed scale of int(rank·scale + bias) instead of the per-input one derived from --ratio' },
      'sparsevlm-bias': { type: 'number', arg: 'B', help: 'SparseVLM: fixed bias, with --sparsevlm-scale (default 0)' },
      'sparsevlm-seed': { type: 'int', arg: 'N', default: SPARSEVLM_DEFAULTS.seed, help: 'SparseVLM: seed of the DPC-kNN density noise (unseeded in the official code)' },
    },
  },
};

/**
 * The CLI flags of all methods, in registry order; a flag several methods read (e.g. --alpha) is listed
 * once with their help texts joined.
 */
export function methodFlags(): FlagSpecs {
  const out: Record<string, FlagSpecs[string]> = {};
  for (const name of METHOD_NAMES) {
    for (const [k, s] of Object.entries(METHOD_CLI[name].flags)) out[k] = out[k] ? { ...out[k], help: `${out[k].help}; ${s.help}` } : s;
  }
  return out;
}

/** The per-method --ratio defaults for its help: 'hero 0.2; hired 0.2; …'. */
export function ratioDefaultsHelp(): string {
  return METHOD_NAMES.flatMap((n) => (METHOD_CLI[n].ratioHelp ? [METHOD_CLI[n].ratioHelp!] : [])).join('; ');
}
