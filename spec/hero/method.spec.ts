/**
 * HERO's Method.configure (src/hero/method.ts) for the Table 5 ablation flags and Table 1's pilot flags: each flag
 * reaches its option, the default options are untouched when none is given, and every combination one flag would
 * silently ignore is refused naming a flag, from the config alone (before any weight is read). The 7B config
 * comes from the `random-weights` preset writer (4 tiles at most: the 672 × 672 pinpoint).
 */
import { heroMethod, maxTiles } from '../../src/hero/method';
import { HeroError } from '../../src/core/errors';
import { llavaNextConfig } from '../../src/llava/config';
import { PRESETS } from '../../src/weights/random_checkpoint';
import type { HeroOptions } from '../../src/hero';

const config7b = llavaNextConfig(PRESETS['llava-v1.6-vicuna-7b'].config());
const config15 = llavaNextConfig(PRESETS['llava-1.5-7b'].config());
const configure = (raw: Record<string, unknown>, cfg = config7b): HeroOptions => heroMethod.configure({ method: 'hero', ...raw }, cfg);

describe('HERO-3 HERO-5 HERO-6 · Table 5 ablation flags reach HeroOptions.ablation', () => {
  it('no flag: no ablation key at all (the default options, and so report.json and the trace header, are unchanged)', () => {
    const o = configure({});
    expect(Object.keys(o)).toEqual(['ratio', 'alpha', 'tauV', 'tauT', 'lowLayers', 'highLayers', 'densityWeight', 'variant']);
    expect(o).not.toHaveProperty('ablation');
    expect(o).not.toHaveProperty('tileProbe');
  });

  it.each([
    ['no-relevance', { noRelevance: true }], ['uniform-budgets', { uniformBudgets: true }],
    ['single-layer', { singleLayer: true }], ['same-selection', { sameSelection: true }],
  ])('--%s', (flag, ablation) => {
    expect(configure({ [flag]: true }).ablation).toEqual(ablation);
  });

  it("Table 5's cumulative row D: all four together", () => {
    const raw = { 'no-relevance': true, 'uniform-budgets': true, 'single-layer': true, 'same-selection': true };
    expect(configure(raw).ablation).toEqual({ noRelevance: true, uniformBudgets: true, singleLayer: true, sameSelection: true });
  });

  it('--no-relevance and --uniform-budgets need no --clip; the other two still do', () => {
    const needs = (raw: Record<string, unknown>): boolean => heroMethod.clip!.needed(configure(raw));
    expect(needs({})).toBe(true);
    expect(needs({ 'no-relevance': true })).toBe(false);
    expect(needs({ 'uniform-budgets': true })).toBe(false);
    expect(needs({ 'single-layer': true })).toBe(true);
    expect(needs({ 'same-selection': true })).toBe(true);
  });

  it.each([
    [{ 'no-relevance': true, alpha: 0.3 }, /^--alpha: has no effect with --no-relevance/],
    [{ 'no-relevance': true, 'tau-t': 0.01 }, /^--tau-t: has no effect with --no-relevance/],
    [{ 'uniform-budgets': true, 'tau-v': 0.01 }, /^--tau-v: has no effect with --uniform-budgets/],
    [{ 'uniform-budgets': true, 'density-weight': 0 }, /^--density-weight: has no effect with --uniform-budgets/],
  ])('refuses a flag an ablation ignores: %o', (raw, re) => {
    expect(() => configure(raw)).toThrow(HeroError);
    expect(() => configure(raw)).toThrow(re);
  });
});

describe('HERO-PROBE · Table 1 pilot flags reach HeroOptions.tileProbe', () => {
  it('the 7B config allows ranks 1..4 (the 672 × 672 pinpoint has 2 × 2 tiles)', () => {
    expect(maxTiles(config7b)).toBe(4);
  });

  it('--thumbnail-only and --probe-tile K --probe-by clip|cls', () => {
    expect(configure({ 'thumbnail-only': true }).tileProbe).toBe('thumbnail-only');
    expect(configure({ 'probe-tile': 1, 'probe-by': 'clip' }).tileProbe).toEqual({ rank: 1, by: 'clip' });
    expect(configure({ 'probe-tile': 4, 'probe-by': 'cls' }).tileProbe).toEqual({ rank: 4, by: 'cls' });
  });

  it('only the CLIP ranking needs --clip', () => {
    expect(heroMethod.clip!.needed(configure({ 'probe-tile': 2, 'probe-by': 'clip' }))).toBe(true);
    expect(heroMethod.clip!.needed(configure({ 'probe-tile': 2, 'probe-by': 'cls' }))).toBe(false);
    expect(heroMethod.clip!.needed(configure({ 'thumbnail-only': true }))).toBe(false);
  });

  it.each([
    [{ 'probe-tile': 0, 'probe-by': 'cls' }, /^--probe-tile: 0 is outside \[1, 4\]/],
    [{ 'probe-tile': 5, 'probe-by': 'clip' }, /^--probe-tile: 5 is outside \[1, 4\]/],
    [{ 'probe-tile': 1 }, /^--probe-by: required with --probe-tile/],
    [{ 'probe-tile': 1, 'probe-by': 'attention' }, /^--probe-by: 'attention' is not clip or cls/],
    [{ 'probe-by': 'cls' }, /^--probe-by: needs --probe-tile/],
    [{ 'thumbnail-only': true, 'probe-tile': 1, 'probe-by': 'cls' }, /^--thumbnail-only: give it or --probe-tile, not both/],
    [{ 'thumbnail-only': true, 'probe-by': 'cls' }, /^--probe-by: .*--thumbnail-only keeps no tile/],
    [{ 'probe-tile': 1, 'probe-by': 'cls', ratio: 0.4 }, /^--ratio: has no effect with --probe-tile/],
    [{ 'thumbnail-only': true, alpha: 0.5 }, /^--alpha: has no effect with --thumbnail-only/],
    [{ 'probe-tile': 2, 'probe-by': 'clip', 'no-relevance': true }, /^--no-relevance: has no effect with --probe-tile/],
  ])('refuses %o', (raw, re) => {
    expect(() => configure(raw)).toThrow(HeroError);
    expect(() => configure(raw)).toThrow(re);
  });

  it('LLaVA-1.5 has no tiles to probe', () => {
    expect(() => configure({ 'thumbnail-only': true }, config15)).toThrow(/^--thumbnail-only: LLaVA-1.5 has one crop/);
    expect(() => configure({ 'probe-tile': 1, 'probe-by': 'cls' }, config15)).toThrow(/^--probe-tile: LLaVA-1.5/);
  });
});
