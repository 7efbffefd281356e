import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../../src/core/errors';
import { applyHero, tileScores, type HeroOptions } from '../../src/hero';
import type { VisualContext } from '../../src/llava/visual_context';
import type { PruneResult } from '../../src/methods/contract';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';
import { syntheticContext, disposeContext, type SynthSpec } from './synthetic';

const opts = (over: Partial<HeroOptions> = {}): HeroOptions => ({
  ratio: 0.5, alpha: 0.5, tauV: 0.05, tauT: 0.05, lowLayers: [0, 1], highLayers: [2], densityWeight: 0.2, variant: 'code', ...over,
});

function clipFor(K: number, seed: number): { tileImageEmbeds: tf.Tensor2D; textEmbed: tf.Tensor1D } {
  return { tileImageEmbeds: tf.randomNormal([K, 5], 0, 1, 'float32', seed) as tf.Tensor2D, textEmbed: tf.randomNormal([5], 0, 1, 'float32', seed + 1) as tf.Tensor1D };
}

function dispose(r: PruneResult): void {
  r.features.dispose();
  for (const t of Object.values(r.tensors)) t.tensor.dispose();
}

const num = (r: PruneResult, name: string): number[] => Array.from(r.tensors[name].tensor.dataSync());

/** Runs `f` on a synthetic context and CLIP embeddings, disposing everything afterwards. */
async function withCtx<T>(s: SynthSpec, f: (ctx: VisualContext, clip: ReturnType<typeof clipFor>) => Promise<T>): Promise<T> {
  const ctx = syntheticContext(s);
  const clip = clipFor(s.rows * s.cols, s.seed + 99);
  try { return await f(ctx, clip); } finally { disposeContext(ctx); clip.tileImageEmbeds.dispose(); clip.textEmbed.dispose(); }
}

const specArb = fc.record({ rows: fc.integer({ min: 1, max: 3 }), cols: fc.integer({ min: 1, max: 3 }), G: fc.integer({ min: 2, max: 4 }),
  layers: fc.constant(3), H: fc.integer({ min: 5, max: 400 }), W: fc.integer({ min: 5, max: 400 }), seed: fc.integer({ min: 0, max: 1e5 }) });
const ratioArb = fc.double({ min: 0.05, max: 1, noNaN: true });

describe('HERO-LAYOUT HERO-B HERO-4 · applyHero', () => {
  it('emits exactly the public trace names with their dtypes and shapes; packed length = B_0 + Σ b_k + rows·G', async () => {
    await fc.assert(fc.asyncProperty(specArb, ratioArb, fc.constantFrom<'code' | 'paper'>('code', 'paper'), (s, ratio, variant) => withCtx(s, async (ctx, clip) => {
      const r = await applyHero(ctx, clip, opts({ ratio, variant, densityWeight: variant === 'code' ? 0.2 : 0 }));
      try {
        const K = s.rows * s.cols, N = s.G * s.G;
        const shapes = Object.fromEntries(Object.entries(r.tensors).map(([k, v]) => [k, [v.dtype, v.tensor.shape]]));
        expect(shapes).toEqual({
          'hero.global_scores': ['F32', [N]], 'hero.tile_scores': ['F32', [K, N]], 'hero.cls_similarity': ['F32', [K]],
          'hero.saliency': ['F32', [K]], 'hero.clip_similarity': ['F32', [K]], 'hero.relevance': ['F32', [K]],
          'hero.density': ['F32', [K]], 'hero.importance': ['F32', [K]], 'hero.budgets': ['I64', [K]],
          'hero.global_keep': ['U8', [N]], 'hero.tile_keep': ['U8', [K, N]], 'hero.valid_mask': ['U8', [K, N]],
        });
        const b = num(r, 'hero.budgets');
        const B0 = Math.trunc(N * ratio);
        expect(r.features.shape[0]).toBe(B0 + b.reduce((x, y) => x + y, 0) + s.rows * s.G);
        expect(r.numNewlines).toBe(s.rows * s.G);
        expect(r.keepMasks.map((m) => m.reduce((x, y) => x + y, 0))).toEqual([B0, ...b]);
        expect(Array.from(r.keepMasks[0])).toEqual(num(r, 'hero.global_keep'));
        expect(r.keepMasks.slice(1).flatMap((m) => Array.from(m))).toEqual(num(r, 'hero.tile_keep'));
        const valid = num(r, 'hero.valid_mask');
        num(r, 'hero.tile_keep').forEach((v, i) => { if (v) expect(valid[i]).toBe(1); });
      } finally { dispose(r); }
    })), { numRuns: 25 });
  });

  it('without CLIP it refuses when the relevance is needed, and says to pass --clip', () => withCtx(
    { rows: 1, cols: 2, G: 2, layers: 3, H: 30, W: 100, seed: 1 }, async (ctx) => {
      await expect(applyHero(ctx, null, opts())).rejects.toThrow(HeroError);
      await expect(applyHero(ctx, null, opts())).rejects.toThrow('HERO needs the CLIP model for the relevance score: pass --clip');
      await expect(applyHero(ctx, null, opts({ lowLayers: [3] }))).rejects.toThrow(/lowLayers/);
    }));
});

describe('HERO-3 · applyHero at α = 1: relevance has no effect', () => {
  it('clip null and any CLIP embeddings give identical budgets, masks and features', async () => {
    await fc.assert(fc.asyncProperty(specArb, ratioArb, (s, ratio) => withCtx(s, async (ctx, clip) => {
      const a = await applyHero(ctx, clip, opts({ ratio, alpha: 1 }));
      const b = await applyHero(ctx, null, opts({ ratio, alpha: 1 }));
      try {
        for (const n of ['hero.importance', 'hero.budgets', 'hero.global_keep', 'hero.tile_keep']) expect(num(b, n)).toEqual(num(a, n));
        expect(Array.from(b.features.dataSync())).toEqual(Array.from(a.features.dataSync()));
        expect(num(b, 'hero.relevance').every(Number.isNaN)).toBe(true);
      } finally { dispose(a); dispose(b); }
    })), { numRuns: 15 });
  });
});

/** Permutes crops 1..K of a [P, …] tensor by `perm` (new tile k = old tile perm[k]). */
function permuteTiles<T extends tf.Tensor>(x: T, perm: number[]): T {
  return tf.gather(x, [0, ...perm.map((p) => p + 1)]) as T;
}

describe('HERO-1 HERO-2 HERO-4 · tile permutation (uniform density) permutes saliency, relevance and budgets', () => {
  it('holds for random grids and permutations', async () => {
    const arb = fc.record({ rows: fc.integer({ min: 1, max: 3 }), cols: fc.integer({ min: 1, max: 3 }), G: fc.integer({ min: 2, max: 3 }),
      seed: fc.integer({ min: 0, max: 1e5 }), ratio: ratioArb })
      .chain((s) => fc.record({ s: fc.constant(s), perm: fc.shuffledSubarray([...Array(s.rows * s.cols).keys()], { minLength: s.rows * s.cols, maxLength: s.rows * s.cols }) }));
    await fc.assert(fc.asyncProperty(arb, async ({ s, perm }) => {
      // H, W equal to the stitched grid: every token is valid, so the density is uniform.
      const spec = { rows: s.rows, cols: s.cols, G: s.G, layers: 3, H: s.rows * s.G, W: s.cols * s.G, seed: s.seed };
      await withCtx(spec, async (ctx, clip) => {
        const pctx: VisualContext = {
          ...ctx, hiddenStates: ctx.hiddenStates.map((h) => h && permuteTiles(h, perm)),
          attentions: ctx.attentions.map((a) => a && permuteTiles(a, perm)), projected: permuteTiles(ctx.projected, perm),
        };
        const pclip = { tileImageEmbeds: tf.gather(clip.tileImageEmbeds, perm) as tf.Tensor2D, textEmbed: clip.textEmbed };
        const a = await applyHero(ctx, clip, opts({ ratio: s.ratio }));
        const b = await applyHero(pctx, pclip, opts({ ratio: s.ratio }));
        try {
          for (const n of ['hero.saliency', 'hero.relevance', 'hero.importance']) {
            expectClose(num(b, n), perm.map((p) => num(a, n)[p]), TOL.sameMath, n);
          }
          expect(new Set(num(a, 'hero.density')).size).toBe(1);
          // Budgets permute exactly unless f_k·B_loc sits within float32 noise of an integer.
          const fa = num(a, 'hero.importance'), ba = num(a, 'hero.budgets'), bb = num(b, 'hero.budgets');
          const Bloc = Math.trunc(s.rows * s.cols * s.G * s.G * s.ratio);
          perm.forEach((p, k) => {
            const x = fa[p] * Bloc;
            if (Math.abs(x - Math.round(x)) > 1e-4) expect(bb[k]).toBe(ba[p]);
          });
        } finally {
          dispose(a); dispose(b); pclip.tileImageEmbeds.dispose();
          for (const t of [...pctx.hiddenStates, ...pctx.attentions, pctx.projected]) t?.dispose();
        }
      });
    }), { numRuns: 25 });
  });
});

describe('HERO-3 HERO-5 HERO-6 · Table 5 ablations', () => {
  const s: SynthSpec = { rows: 2, cols: 2, G: 3, layers: 3, H: 70, W: 80, seed: 7 };

  it('uniform budgets: f_k = 1/K and b_k = min(trunc(f32(1/K)·B_loc), valid_k); CLIP not needed', () => withCtx(s, async (ctx) => {
    const r = await applyHero(ctx, null, opts({ ablation: { uniformBudgets: true } }));
    try {
      expectClose(num(r, 'hero.importance'), [0.25, 0.25, 0.25, 0.25], TOL.primitive, 'importance');
      const valid = num(r, 'hero.valid_mask');
      const counts = [0, 1, 2, 3].map((k) => valid.slice(k * 9, k * 9 + 9).reduce((x, y) => x + y, 0));
      expect(num(r, 'hero.budgets')).toEqual(counts.map((c) => Math.min(Math.trunc(0.25 * 18), c)));
    } finally { dispose(r); }
  }));

  it('no relevance: α is taken as 1 (same selection as α = 1), CLIP not needed', () => withCtx(s, async (ctx) => {
    const a = await applyHero(ctx, null, opts({ ablation: { noRelevance: true } }));
    const b = await applyHero(ctx, null, opts({ alpha: 1 }));
    try {
      for (const n of ['hero.importance', 'hero.budgets', 'hero.tile_keep']) expect(num(a, n)).toEqual(num(b, n));
    } finally { dispose(a); dispose(b); }
  }));

  it('single layer uses the last layer of each set; same selection scores tiles with the high set', () => withCtx(s, async (ctx, clip) => {
    const single = await applyHero(ctx, clip, opts({ ablation: { singleLayer: true } }));
    const same = await applyHero(ctx, clip, opts({ ablation: { sameSelection: true } }));
    try {
      tf.tidy(() => {
        expectClose(single.tensors['hero.tile_scores'].tensor, tileScores(ctx.attentions, [1], true), TOL.sameMath, 'single-layer tiles');
        expectClose(same.tensors['hero.tile_scores'].tensor, tileScores(ctx.attentions, [2], true), TOL.sameMath, 'same-selection tiles');
      });
    } finally { dispose(single); dispose(same); }
  }));
});

describe('HERO-PROBE · applyHero with tileProbe (Table 1 pilot)', () => {
  it('the thumbnail whole, the rank-th tile by c_k or t_k exactly its valid tokens, the rest none; M = N + valid_k* + rows·G', async () => {
    await fc.assert(fc.asyncProperty(specArb, fc.integer({ min: 1, max: 9 }), fc.constantFrom<'clip' | 'cls'>('clip', 'cls'), (s, rank, by) => withCtx(s, async (ctx, clip) => {
      const r = await applyHero(ctx, by === 'clip' ? clip : null, opts({ tileProbe: { rank, by } }));
      try {
        const K = s.rows * s.cols, N = s.G * s.G;
        const scores = num(r, by === 'clip' ? 'hero.clip_similarity' : 'hero.cls_similarity');
        expect(num(r, 'hero.probe_scores')).toEqual(scores);
        // the rank-th: the tile that exactly rank − 1 tiles beat (higher score, or equal and a lower index)
        const place = scores.map((v, k) => scores.filter((w, j) => w > v || (w === v && j < k)).length);
        const tile = place.indexOf(rank - 1);
        expect(num(r, 'hero.probe_tile')).toEqual([tile]);
        const valid = num(r, 'hero.valid_mask');
        expect(Array.from(r.keepMasks[0])).toEqual(new Array(N).fill(1));
        expect(r.keepMasks.slice(1).flatMap((m) => Array.from(m))).toEqual(valid.map((v, i) => (Math.floor(i / N) === tile ? v : 0)));
        const kept = tile < 0 ? 0 : valid.slice(tile * N, (tile + 1) * N).reduce((x, y) => x + y, 0);
        expect(r.features.shape[0]).toBe(N + kept + s.rows * s.G);
        expect(num(r, 'hero.importance').every(Number.isNaN)).toBe(true);
        expect(num(r, 'hero.budgets')).toEqual(Array.from({ length: K }, (_, k) => (k === tile ? kept : 0)));
      } finally { dispose(r); }
    })), { numRuns: 25 });
  });

  it("'thumbnail-only': N + rows·G tokens, probe_tile −1; a CLIP ranking without CLIP embeddings is refused", () => withCtx({ rows: 2, cols: 2, G: 3, layers: 3, H: 70, W: 80, seed: 7 }, async (ctx) => {
    const r = await applyHero(ctx, null, opts({ tileProbe: 'thumbnail-only' }));
    try {
      expect(r.features.shape[0]).toBe(9 + 2 * 3);
      expect(num(r, 'hero.probe_tile')).toEqual([-1]);
      expect(r.keepMasks.slice(1).every((m) => m.every((v) => v === 0))).toBe(true);
    } finally { dispose(r); }
    await expect(applyHero(ctx, null, opts({ tileProbe: { rank: 1, by: 'clip' } }))).rejects.toThrow(/pass --clip/);
  }));
});
