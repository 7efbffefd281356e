/**
 * keep-mask (src/methods/keep_mask.ts, KM-LAYOUT): a given keep-mask per crop laid out as LLaVA-NeXT lays out
 * its tokens. Checked against llava/pack.ts packImageFeatures (LLaVA-3, itself checked against HF's goldens):
 * keeping every token LLaVA-NeXT packs gives its sequence exactly, on synthetic contexts and through
 * runPipeline on the tiny LLaVA-NeXT (the same packed features and the same greedy ids as `none`); any other
 * mask gives Σ mask tokens plus one newline per stitched-grid row holding a kept tile token, counted here from
 * the tokens' coordinates; bad masks are refused; `--method` does not offer it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../../src/core/errors';
import { keepMask, keepMaskMethod, keepMaskRows } from '../../src/methods/keep_mask';
import { methodByName, methodOf } from '../../src/methods';
import { packImageFeatures, packedTileMasks } from '../../src/llava/pack';
import { disposeLlavaNext, loadLlavaNext } from '../../src/llava/load';
import type { LlavaNextModel } from '../../src/llava/model';
import { readImage } from '../../src/io/image';
import { runPipeline } from '../../src/pipeline';
import { imagePath, loadCase, modelDir } from '../util/fixtures';
import { syntheticContext, disposeContext, type SynthSpec } from '../hero/synthetic';

/** A seeded 0/1 source (mulberry32), so a failing case reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every token LLaVA-NeXT packs: the whole thumbnail, the tile tokens inside the unpadded region. */
const packedMasks = (s: SynthSpec): Uint8Array[] =>
  [new Uint8Array(s.G * s.G).fill(1), ...packedTileMasks([s.rows, s.cols], s.G, [s.H, s.W]).masks];

// 2×2 grid unpadded at the sides (70 × 80), 1×2 grid unpadded at the top and bottom (30 × 100), no unpadding (80 × 80).
const SPECS: SynthSpec[] = [
  { rows: 2, cols: 2, G: 4, layers: 2, H: 70, W: 80, seed: 1 },
  { rows: 1, cols: 2, G: 4, layers: 2, H: 30, W: 100, seed: 2 },
  { rows: 2, cols: 2, G: 3, layers: 2, H: 80, W: 80, seed: 3 },
];

describe('keep-mask layout: KM-LAYOUT on synthetic contexts', () => {
  it.each(SPECS)('every packed token kept = packImageFeatures exactly (grid $rows×$cols, image $H×$W)', async (s) => {
    const ctx = syntheticContext(s);
    try {
      const masks = packedMasks(s);
      const r = keepMask(ctx, { masks });
      const ref = tf.tidy(() => packImageFeatures(ctx.projected, ctx.imageNewline!, ctx.grid, ctx.patchGrid, ctx.imageSize));
      expect(r.features.shape).toEqual(ref.shape);
      expect(Array.from(await r.features.data())).toEqual(Array.from(await ref.data()));
      expect(r.numNewlines).toBe(packedTileMasks(ctx.grid, ctx.patchGrid, ctx.imageSize).newlines);
      expect(r.keepMasks).toEqual(masks);
      r.features.dispose();
      ref.dispose();
    } finally {
      disposeContext(ctx);
    }
  });

  it.each(SPECS)('a random mask: Σ mask tokens + one newline per grid row with a kept tile token; thumbnail rows first, in raster order (grid $rows×$cols)', async (s) => {
    const ctx = syntheticContext(s);
    const N = s.G * s.G, D = ctx.projected.shape[2];
    const proj = await ctx.projected.data();
    try {
      for (let seed = 0; seed < 5; seed++) {
        const u = rng(100 + seed);
        const masks = packedMasks(s).map((m) => m.map((v) => (v && u() < 0.4 ? 1 : 0)));
        masks[0][seed] = 1; // never empty
        const kept = masks.reduce((a, m) => a + m.reduce((x, y) => x + y, 0), 0);
        // grid rows with a kept tile token, from the coordinates: tile t = (tr, tc), token (i, j) sits on row tr·G + i
        const rowsWithToken = new Set<number>();
        masks.slice(1).forEach((m, t) => m.forEach((v, l) => { if (v) rowsWithToken.add(Math.floor(t / s.cols) * s.G + Math.floor(l / s.G)); }));
        const r = keepMask(ctx, { masks });
        expect([r.features.shape[0], r.numNewlines]).toEqual([kept + rowsWithToken.size, rowsWithToken.size]);
        const f = await r.features.data();
        const thumb = Array.from({ length: N }, (_, j) => j).filter((j) => masks[0][j]);
        thumb.forEach((j, row) => expect(Array.from(f.subarray(row * D, (row + 1) * D))).toEqual(Array.from(proj.subarray(j * D, (j + 1) * D))));
        r.features.dispose();
      }
    } finally {
      disposeContext(ctx);
    }
  });

  it('the thumbnail set alone (analyze tokens --caption): its k tokens, no newline', async () => {
    const s = SPECS[0], ctx = syntheticContext(s), N = s.G * s.G;
    try {
      const thumb = new Uint8Array(N);
      [3, 0, 9].forEach((j) => { thumb[j] = 1; });
      const r = keepMask(ctx, { masks: [thumb, ...Array.from({ length: 4 }, () => new Uint8Array(N))] });
      expect([r.features.shape[0], r.numNewlines]).toEqual([3, 0]);
      const want = tf.tidy(() => tf.gather(tf.squeeze(tf.slice(ctx.projected, [0, 0, 0], [1, -1, -1]), [0]), [0, 3, 9]));
      expect(Array.from(await r.features.data())).toEqual(Array.from(await want.data()));
      r.features.dispose();
      want.dispose();
    } finally {
      disposeContext(ctx);
    }
  });

  it('LLaVA-1.5 (grid 0 × 0): the crop\'s kept tokens, no newline', () => {
    const m = new Uint8Array(16);
    m[5] = 1; m[2] = 1;
    expect(keepMaskRows([m], [0, 0], 4, [50, 50])).toEqual({ rows: [2, 5], newlines: 0 });
  });

  it('refuses a wrong crop count, a wrong length, a value other than 0/1, a token in the unpadded padding, an empty set', () => {
    const z = (): Uint8Array => new Uint8Array(16);
    const one = z(); one[0] = 1;
    expect(() => keepMaskRows([one, z()], [1, 2], 4, [30, 100])).toThrow(/keep-mask: 2 masks for an image of 3 crops/);
    expect(() => keepMaskRows([one, new Uint8Array(9), z()], [1, 2], 4, [30, 100])).toThrow(/the mask of crop 1 has 9 entries, not N = 16/);
    const two = z(); two[3] = 2;
    expect(() => keepMaskRows([two, z(), z()], [1, 2], 4, [30, 100])).toThrow(/holds 2 at token 3/);
    // 30 × 100 on a 1×2 grid of 4×4: rows 0 and 3 of the stitched grid are padding (HF unpad_image)
    const pad = z(); pad[0] = 1;
    expect(() => keepMaskRows([one, pad, z()], [1, 2], 4, [30, 100])).toThrow(/token 0 of crop 1 lies in the padding/);
    const ctx = syntheticContext(SPECS[1]);
    try {
      expect(() => keepMask(ctx, { masks: [z(), z(), z()] })).toThrow(/keep no token/);
    } finally {
      disposeContext(ctx);
    }
  });
});

describe('keep-mask as a method', () => {
  it('is internal: --method does not offer it, the pipeline finds it', () => {
    expect(() => methodByName('keep-mask')).toThrow(/--method: unknown method 'keep-mask'/);
    expect(methodOf({ name: 'keep-mask' })).toBe(keepMaskMethod);
  });

  let m: LlavaNextModel;
  beforeAll(() => { m = loadLlavaNext(modelDir('llava-next-tiny')); });
  afterAll(() => disposeLlavaNext(m));

  it('configure refuses masks that are not [P][N] Uint8Arrays of this model', () => {
    expect(() => keepMaskMethod.configure({}, m.config)).toThrow(HeroError);
    expect(() => keepMaskMethod.configure({ masks: [new Uint8Array(9)] }, m.config)).toThrow(/not N = 16/);
  });

  it('runPipeline on the tiny LLaVA-NeXT: every packed token kept = none (the packed features and the greedy ids); the thumbnail set alone gives k visual tokens', async () => {
    const image = await readImage(imagePath('wide_h30_w100'));
    const inputIds = loadCase('llava_wide').numbers('legacy_input_ids');
    const G = m.derived.patchGrid, N = G * G;
    const none = await runPipeline(m, { image, inputIds, method: { name: 'none' }, maxNewTokens: 3, trace: true });
    const masks = [new Uint8Array(N).fill(1), ...packedTileMasks(none.processed.grid, G, none.processed.imageSize).masks];
    const spec = { name: 'keep-mask', options: keepMaskMethod.configure({ masks }, m.config) };
    const all = await runPipeline(m, { image, inputIds, method: spec, maxNewTokens: 3, trace: true });
    expect(all.visualTokens).toBe(none.visualTokens);
    expect(all.numNewlines).toBe(none.numNewlines);
    expect(all.trace.get('image_features_packed')).toEqual(none.trace.get('image_features_packed'));
    expect(all.newIds).toEqual(none.newIds);
    const thumb = new Uint8Array(N);
    [1, 6, 11, 12].forEach((j) => { thumb[j] = 1; });
    const only = await runPipeline(m, {
      image, inputIds, maxNewTokens: 2,
      method: { name: 'keep-mask', options: keepMaskMethod.configure({ masks: [thumb, ...masks.slice(1).map(() => new Uint8Array(N))] }, m.config) },
    });
    expect([only.visualTokens, only.numNewlines, only.keptPerCrop]).toEqual([4, 0, [4, 0, 0]]);
  });
});
