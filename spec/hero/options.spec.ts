import fc from 'fast-check';
import { HeroError } from '../../src/core/errors';
import { heroDefaults, validateHeroOptions, resolveHero, HERO_DEFAULT_LAYERS, type HeroOptions } from '../../src/hero';

const base = (over: Partial<HeroOptions> = {}): HeroOptions => ({ ...heroDefaults(24, 'code'), ...over });

describe('HERO-L · defaults and layer sets', () => {
  it('defaults: α 0.5, τ 0.05, low {5,6,7,8}, high {21}, λ 0.2 (code) / 0 (paper)', () => {
    expect(heroDefaults(24, 'code')).toEqual({ ratio: 0.2, alpha: 0.5, tauV: 0.05, tauT: 0.05, lowLayers: [5, 6, 7, 8], highLayers: [21], densityWeight: 0.2, variant: 'code' });
    expect(heroDefaults(24, 'paper').densityWeight).toBe(0);
    expect(HERO_DEFAULT_LAYERS).toEqual({ low: [5, 6, 7, 8], high: [21] });
  });

  it('a tower too shallow for the defaults is an error that says to pass the layer sets', () => {
    for (const L of [4, 21]) {
      expect(() => heroDefaults(L, 'code')).toThrow(HeroError);
      expect(() => heroDefaults(L, 'code')).toThrow(/--low-layers and --high-layers/);
    }
    expect(() => heroDefaults(22, 'code')).not.toThrow();
    expect(() => heroDefaults(24, 'fancy' as 'code')).toThrow(/variant/);
  });

  it('ablations: single layer = last of each set; same selection = tiles use the high set; no relevance = α 1', () => {
    expect(resolveHero(base())).toMatchObject({ globalLayers: [21], tileLayers: [5, 6, 7, 8], alpha: 0.5, needsRelevance: true, secondSoftmax: true });
    expect(resolveHero(base({ ablation: { singleLayer: true } }))).toMatchObject({ globalLayers: [21], tileLayers: [8] });
    expect(resolveHero(base({ ablation: { sameSelection: true } }))).toMatchObject({ tileLayers: [21] });
    expect(resolveHero(base({ ablation: { noRelevance: true } }))).toMatchObject({ alpha: 1, needsRelevance: false });
    expect(resolveHero(base({ ablation: { uniformBudgets: true } }))).toMatchObject({ uniformBudgets: true, needsRelevance: false });
    expect(resolveHero(base({ variant: 'paper' })).secondSoftmax).toBe(false);
  });

  it('singleLayer with multi-layer sets keeps the last layer of each set as given (not the first, not the max)', () => {
    expect(resolveHero(base({ highLayers: [19, 21, 20], lowLayers: [3, 7, 5], ablation: { singleLayer: true } })))
      .toMatchObject({ globalLayers: [20], tileLayers: [5] });
    expect(resolveHero(base({ highLayers: [19, 21, 20], lowLayers: [3, 7, 5] }))).toMatchObject({ globalLayers: [19, 21, 20], tileLayers: [3, 7, 5] });
    // with sameSelection too, the tiles use the (single) high layer
    expect(resolveHero(base({ highLayers: [19, 22], ablation: { singleLayer: true, sameSelection: true } }))).toMatchObject({ globalLayers: [22], tileLayers: [22] });
  });
});

describe('HERO-B HERO-3 HERO-L · validateHeroOptions rejects bad options, naming them', () => {
  const bad: Array<[string, Partial<HeroOptions>, RegExp]> = [
    ['r = 0', { ratio: 0 }, /ratio/], ['r = 1.5', { ratio: 1.5 }, /ratio/], ['r = NaN', { ratio: NaN }, /ratio/],
    ['α = −0.1', { alpha: -0.1 }, /alpha/], ['α = 1.1', { alpha: 1.1 }, /alpha/], ['α = NaN', { alpha: NaN }, /alpha/],
    ['τ_v = 0', { tauV: 0 }, /tauV/], ['τ_t = −1', { tauT: -1 }, /tauT/], ['τ_v = NaN', { tauV: NaN }, /tauV/],
    ['low layer 24 of 24', { lowLayers: [5, 24] }, /lowLayers.*24/], ['high layer −1', { highLayers: [-1] }, /highLayers/],
    ['fractional layer', { lowLayers: [1.5] }, /lowLayers/], ['empty low set', { lowLayers: [] }, /lowLayers.*empty/],
    ['empty high set', { highLayers: [] }, /highLayers.*empty/], ['repeated layer', { lowLayers: [5, 5] }, /repeats/],
    ['unknown variant', { variant: 'both' as 'code' }, /variant/], ['λ = 2', { densityWeight: 2 }, /densityWeight/],
  ];
  it.each(bad)('%s', (_, over, re) => {
    expect(() => validateHeroOptions(base(over), 24)).toThrow(HeroError);
    expect(() => validateHeroOptions(base(over), 24)).toThrow(re);
  });

  it('accepts every r ∈ (0, 1], α ∈ [0, 1], τ > 0 and in-range layer sets', () => {
    fc.assert(fc.property(
      fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 1e-6, max: 10, noNaN: true }), fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 6 }),
      (ratio, alpha, tau, layers) => { validateHeroOptions(base({ ratio, alpha, tauV: tau, tauT: tau, lowLayers: layers }), 24); }));
  });

  it('rejects every r outside (0, 1]', () => {
    fc.assert(fc.property(fc.oneof(fc.double({ max: 0, noNaN: true }), fc.double({ min: 1.0000001, noNaN: true })),
      (ratio) => { expect(() => validateHeroOptions(base({ ratio }), 24)).toThrow(/ratio/); }));
  });
});
