/**
 * HERO's options, their defaults and their validation (docs/deviations.md lists every @choice).
 *
 * One implementation serves both variants (docs/hero.md "Two variants behind one implementation"):
 *   - `variant: 'code'`  = the authors' code (Lxxx-0327/HERO): a second softmax over the CLS→patch
 *     probabilities (HERO-5/6) and a density weight λ = 0.2 (HERO-3);
 *   - `variant: 'paper'` = the paper's equations: no second softmax, λ = 0.
 * `variant` decides only the second softmax; `densityWeight` is an option of its own whose default
 * follows the variant. The Table 5 ablations are options of the same code (`ablation`).
 */
import { HeroError } from '../core/errors';

export type HeroVariant = 'code' | 'paper';

/**
 * The component ablations of the paper's Table 5, each independent of the others (the paper removes
 * them cumulatively; combine the flags to reproduce a row).
 */
export interface HeroAblation {
  /**
   * Row "A removed": no task relevance. Importance uses the saliency only, i.e. α is taken as 1
   * (f_k = λ·d_k + (1−λ)·s^v_k); the CLIP model is not needed.
   */
  readonly noRelevance?: boolean;
  /**
   * Row "B removed": no saliency and uniform budgets. f_k = 1/K for every tile (density, saliency and
   * relevance all ignored; they are still reported), so b_k = min(⌊B_loc / K⌋ as float32, valid_k).
   */
  readonly uniformBudgets?: boolean;
  /**
   * Row "C removed": single-layer attention. Each stage uses only the LAST entry of its layer set as
   * given (defaults: L_low = {5,6,7,8} → {8}, L_high = {21} → {21}).            @choice
   */
  readonly singleLayer?: boolean;
  /**
   * Row "D removed": identical selection for thumbnail and tiles. The tiles are scored with the
   * thumbnail's layer set L_high (after `singleLayer`, if both are set).         @choice
   */
  readonly sameSelection?: boolean;
}

/**
 * The pilot of the paper's Table 1 (§3.1), on HERO's own selection path: instead of HERO's budgets, the
 * thumbnail keeps all N of its tokens and at most one tile keeps all its valid tokens (HERO-D), the others
 * none; packing, unpadding and newlines stay HERO's (HERO-LAYOUT).                         @eq HERO-PROBE
 *   'thumbnail-only'       no tile ("Global Thumbnail" row);
 *   { rank: k, by }        the tile ranked k-th (1-based) by descending t_k (`by: 'clip'`, HERO-2's CLIP
 *                          score of the tile against the question) or c_k (`by: 'cls'`, HERO-1's cosine of
 *                          the tile's last-layer CLS with the thumbnail's): "+Top-k CLIP score / CLS similarity".
 * "Top-k" is the tile ranked k-th, alone (the paper adds "a single local tile"), not the top k together.
 * @choice ties rank the lower tile index first; an image with fewer than k tiles keeps the thumbnail alone
 * (hero.probe_tile = −1), so every benchmark item is still answered and counted.
 */
export type HeroTileProbe = 'thumbnail-only' | { readonly rank: number; readonly by: 'clip' | 'cls' };

export interface HeroOptions {
  /** Retention ratio r ∈ (0, 1]. */
  readonly ratio: number;
  /** α ∈ [0, 1]: weight of saliency against relevance (HERO-3). */
  readonly alpha: number;
  /** τ_v > 0: saliency temperature (HERO-1). */
  readonly tauV: number;
  /** τ_t > 0: relevance temperature (HERO-2). */
  readonly tauT: number;
  /** L_low: 0-based vision layers whose CLS attention scores the tiles (HERO-6). */
  readonly lowLayers: readonly number[];
  /** L_high: 0-based vision layers whose CLS attention scores the thumbnail (HERO-5). */
  readonly highLayers: readonly number[];
  /** λ ∈ [0, 1]: weight of the valid-token density in the tile importance (HERO-3, code: 0.2). */
  readonly densityWeight: number;
  /** 'code': second softmax in HERO-5/6; 'paper': none. */
  readonly variant: HeroVariant;
  readonly ablation?: HeroAblation;
  /** Table 1's pilot selection instead of HERO's budgets (HeroTileProbe). */
  readonly tileProbe?: HeroTileProbe;
}

/**
 * The layer sets of paper Appendix A, Table 6 (0-based indices into HF `attentions`).   @eq HERO-L
 *   L_low = {5, 6, 7, 8},  L_high = {21}
 */
export const HERO_DEFAULT_LAYERS = { low: [5, 6, 7, 8], high: [21] } as const;

/**
 * The defaults that do not depend on the tower (heroDefaults says where each comes from). The one place
 * they are written: heroDefaults, the method's configure and the CLI help read them here.
 */
export const HERO_DEFAULTS = {
  ratio: 0.2, alpha: 0.5, tauV: 0.05, tauT: 0.05,
  densityWeight: { code: 0.2, paper: 0 } as Readonly<Record<HeroVariant, number>>,
  variant: 'code' as HeroVariant,
} as const;

/**
 * Defaults for a vision tower with `numVisionLayers` layers.                              @eq HERO-L
 * α = 0.5, τ_v = τ_t = 0.05 (@choice: the extracted paper lost the values; these are its best
 * ablation points as far as the text says), r = 0.2 (@choice: one of the paper's two reported ratios),
 * λ = 0.2 for 'code' (hard-coded in the authors' code) and 0 for 'paper'.
 * A tower too shallow for layers 5..8 and 21 is an error: the layer sets must then be given explicitly
 * (never a silent clamp).
 */
export function heroDefaults(numVisionLayers: number, variant: HeroVariant): HeroOptions {
  checkVariant(variant);
  const deepest = Math.max(...HERO_DEFAULT_LAYERS.low, ...HERO_DEFAULT_LAYERS.high);
  if (!(numVisionLayers > deepest)) {
    throw new HeroError(`HERO: the default layer sets (low ${HERO_DEFAULT_LAYERS.low.join(',')}, high ${HERO_DEFAULT_LAYERS.high.join(',')}) ` +
      `need a vision tower with at least ${deepest + 1} layers, this one has ${numVisionLayers}: pass --low-layers and --high-layers explicitly`);
  }
  const d = HERO_DEFAULTS;
  return {
    ratio: d.ratio, alpha: d.alpha, tauV: d.tauV, tauT: d.tauT,
    lowLayers: [...HERO_DEFAULT_LAYERS.low], highLayers: [...HERO_DEFAULT_LAYERS.high],
    densityWeight: d.densityWeight[variant], variant,
  };
}

function checkVariant(v: unknown): asserts v is HeroVariant {
  if (v !== 'code' && v !== 'paper') throw new HeroError(`HERO variant: '${String(v)}' is not 'code' or 'paper'`);
}

function checkLayers(name: string, layers: readonly number[] | undefined, L: number): void {
  if (!Array.isArray(layers) || layers.length === 0) throw new HeroError(`HERO ${name}: the layer set is empty`);
  for (const l of layers) {
    if (!(Number.isInteger(l) && l >= 0 && l < L)) {
      throw new HeroError(`HERO ${name}: layer ${l} is outside [0, ${L - 1}] (the vision tower has ${L} layers, indices are 0-based)`);
    }
  }
  // A repeated layer would silently weigh it twice in the layer mean.                 @choice
  if (new Set(layers).size !== layers.length) throw new HeroError(`HERO ${name}: layer set [${layers.join(', ')}] repeats a layer`);
}

/** Throws a HeroError naming the first bad option. NaN fails every range check. */
export function validateHeroOptions(opts: HeroOptions, numVisionLayers: number): void {
  const o = opts;
  if (!(o.ratio > 0 && o.ratio <= 1)) throw new HeroError(`HERO ratio: ${o.ratio} is outside (0, 1]`);
  if (!(o.alpha >= 0 && o.alpha <= 1)) throw new HeroError(`HERO alpha: ${o.alpha} is outside [0, 1]`);
  if (!(o.tauV > 0 && Number.isFinite(o.tauV))) throw new HeroError(`HERO tauV: ${o.tauV} must be a positive number`);
  if (!(o.tauT > 0 && Number.isFinite(o.tauT))) throw new HeroError(`HERO tauT: ${o.tauT} must be a positive number`);
  if (!(o.densityWeight >= 0 && o.densityWeight <= 1)) throw new HeroError(`HERO densityWeight: ${o.densityWeight} is outside [0, 1]`);
  checkVariant(o.variant);
  checkLayers('lowLayers', o.lowLayers, numVisionLayers);
  checkLayers('highLayers', o.highLayers, numVisionLayers);
  const p = o.tileProbe;
  if (p !== undefined && p !== 'thumbnail-only') {
    if (!(Number.isInteger(p.rank) && p.rank >= 1)) throw new HeroError(`HERO tileProbe.rank: ${p.rank} must be an integer ≥ 1`);
    if (p.by !== 'clip' && p.by !== 'cls') throw new HeroError(`HERO tileProbe.by: '${String(p.by)}' is not 'clip' or 'cls'`);
  }
}

/** What the options mean once the ablations are applied: the quantities the equations read. */
export interface ResolvedHero {
  /** Layers scoring the thumbnail (HERO-5) and the tiles (HERO-6). */
  readonly globalLayers: readonly number[];
  readonly tileLayers: readonly number[];
  /** α as used by HERO-3 (1 under `noRelevance`). */
  readonly alpha: number;
  /** Whether the CLIP scores are needed at all (in the importance, or to rank tiles for `tileProbe`). */
  readonly needsRelevance: boolean;
  readonly uniformBudgets: boolean;
  readonly secondSoftmax: boolean;
}

/** Applies the ablation flags (see HeroAblation for each definition). */
export function resolveHero(opts: HeroOptions): ResolvedHero {
  const ab = opts.ablation ?? {};
  const last = (s: readonly number[]): number[] => [s[s.length - 1]];
  const high = ab.singleLayer ? last(opts.highLayers) : [...opts.highLayers];
  const low = ab.singleLayer ? last(opts.lowLayers) : [...opts.lowLayers];
  const alpha = ab.noRelevance ? 1 : opts.alpha;
  return {
    globalLayers: high,
    tileLayers: ab.sameSelection ? high : low,
    alpha,
    needsRelevance: opts.tileProbe !== undefined
      ? opts.tileProbe !== 'thumbnail-only' && opts.tileProbe.by === 'clip'
      : alpha < 1 && !ab.uniformBudgets,
    uniformBudgets: ab.uniformBudgets ?? false,
    secondSoftmax: opts.variant === 'code',
  };
}
