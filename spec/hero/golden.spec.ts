/**
 * HERO goldens (spec/fixtures/cases/hero_*.json, hero_paper_*.json): every step after the vision tower,
 * recomputed from the stored tensors of spec/fixtures/generate/hero_cases.py (HF transformers v4.45.1 pieces + our reading of
 * Lxxx-0327/HERO). Floats within TOL.golden; budgets and masks exact.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsFile } from '../../src/io/safetensors';
import { tidyAsync } from '../../src/core/scope';
import {
  clsSimilarity, saliency, clipSimilarity, relevance, validMask, density, importance, tokenBudgets,
  topKMask, heroLayout,
} from '../../src/hero';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';
import { FIXTURES, GOLDEN_BACKENDS, leaveBackend, loadCase, modelDir, useBackend, type GoldenCase } from '../util/fixtures';

const CASES = fs.readdirSync(path.join(FIXTURES, 'cases'))
  .filter((f) => /^hero_.*\.json$/.test(f)).map((f) => f.replace(/\.json$/, '')).sort();

interface Setup { c: GoldenCase; N: number; G: number; K: number; grid: [number, number]; imageSize: [number, number];
  R: number; alpha: number; tCls: number; tClip: number; code: boolean }

function setup(name: string): Setup {
  const c = loadCase(name);
  const info = c.json.hero_info, s = c.json.settings;
  const [h, w] = c.numbers('image_sizes');
  return {
    c, N: info.N, G: info.grid_side_G, K: info.K, grid: info.tile_grid_rows_cols, imageSize: [h, w],
    R: s.R, alpha: s.alpha, tCls: s.T_cls, tClip: s.T_clip, code: c.json.variant === 'code',
  };
}

const U8 = (c: GoldenCase, name: string, N: number): Uint8Array[] => {
  const v = c.numbers(name);
  return Array.from({ length: v.length / N }, (_, k) => Uint8Array.from(v.slice(k * N, (k + 1) * N)));
};

/**
 * Where the llava_* cases store the tiny tower's hidden states for the same processor pixels as the HERO
 * cases (llava_tall_square runs both images in one batch: tall = crops 0..3, square = crops 4..8).
 * hidden_states.4 is the last layer (= hidden_states[-1] for the 4-layer tower).
 */
const LAST_HIDDEN: Record<string, { case: string; begin: number }> = {
  wide_h30_w100: { case: 'llava_wide', begin: 0 },
  tall_h160_w30: { case: 'llava_tall_square', begin: 0 },
  square_h70_w80: { case: 'llava_tall_square', begin: 4 },
};

let newline: Float32Array;
beforeAll(() => {
  const f = SafetensorsFile.open(path.join(modelDir('llava-next-tiny'), 'model.safetensors'));
  newline = f.readFloat32('image_newline');
  f.close();
});

it('finds the 12 HERO golden cases (6 code, 6 paper)', () => {
  expect(CASES.length).toBe(12);
  expect(CASES.filter((n) => n.startsWith('hero_paper_')).length).toBe(6);
});

describe.each(GOLDEN_BACKENDS)('HERO-1 HERO-2 HERO-D HERO-3 HERO-B HERO-4 HERO-5 HERO-6 HERO-LAYOUT · goldens from stored tensors, %s backend', (b) => {
  beforeAll(() => useBackend(b));
  afterAll(() => leaveBackend());

  describe.each(CASES)('%s', (name) => {
    const S = setup(name);
    const { c } = S;

    it('HERO-1 · saliency = softmax(cls_similarity / τ_v)', () => tidyAsync(async () => {
      const got = saliency(c.tensor('hero.cls_similarity') as tf.Tensor1D, S.tCls);
      await expectCloseAsync(got, c.tensor('hero.saliency'), TOL.golden, 'hero.saliency');
    }));

    it('HERO-1 · cls_similarity from the last vision hidden state (stored by the llava_* cases for the same pixels)', () => tidyAsync(async () => {
      const src = LAST_HIDDEN[path.basename(c.json.image, '.png')];
      // Same crops: the llava case's pixel_values for this image equal the HERO case's.
      const pv = loadCase(src.case).floats('pixel_values'), own = c.floats('pixel_values');
      const off = src.case === 'llava_tall_square' && src.begin > 0 ? own.length / (S.K + 1) * 5 : 0; // batch row 1 of [2, 5, …]
      expect(pv.subarray(off, off + own.length)).toEqual(own);
      const hs = loadCase(src.case).tensor('vision.hidden_states.4');                    // [P_total, N+1, Dv]
      const last = tf.slice(hs, [src.begin, 0, 0], [S.K + 1, -1, -1]) as tf.Tensor3D;    // [P, N+1, Dv]
      await expectCloseAsync(clsSimilarity(last), c.tensor('hero.cls_similarity'), TOL.golden, 'hero.cls_similarity');
    }));

    it('HERO-2 · clip_similarity from the normalised embeddings; relevance = softmax(· / τ_t)', () => tidyAsync(async () => {
      const sim = clipSimilarity(c.tensor('hero.tile_image_embeds_normalized') as tf.Tensor2D,
        c.tensor('hero.text_embeds_normalized') as tf.Tensor1D);
      await expectCloseAsync(sim, c.tensor('hero.clip_similarity'), TOL.golden, 'hero.clip_similarity');
      const rel = relevance(c.tensor('hero.clip_similarity') as tf.Tensor1D, S.tClip);
      await expectCloseAsync(rel, c.tensor('hero.relevance'), TOL.golden, 'hero.relevance');
    }));

    it('HERO-D · valid mask and counts exact (W, H rule), density', () => tidyAsync(async () => {
      const v = validMask(S.grid, S.G, S.imageSize);
      expect(v.mask).toEqual(U8(c, 'hero.valid_mask', S.N));
      expect(v.counts).toEqual(c.numbers('hero.valid_counts'));
      expect(v.counts).toEqual(c.json.hero_info.valid_counts);
      const rule = c.json.hero_info.valid_mask_rule;
      expect({ axis: v.region.axis, extent: v.region.extent, before: v.region.padBefore, after: v.region.padAfter })
        .toEqual({ axis: rule.padded_axis, extent: rule.new_extent, before: rule.pad_before, after: rule.pad_after });
      const d = density(tf.tensor1d(v.counts), S.N);
      await expectCloseAsync(d, c.tensor('hero.density'), TOL.golden, 'hero.density');
    }));

    it('HERO-3 · importance from saliency, relevance, density', () => tidyAsync(async () => {
      const got = importance(c.tensor('hero.saliency') as tf.Tensor1D, c.tensor('hero.relevance') as tf.Tensor1D,
        c.tensor('hero.density') as tf.Tensor1D, S.alpha, S.code ? 0.2 : 0);
      await expectCloseAsync(got, c.tensor('hero.importance'), TOL.golden, 'hero.importance');
    }));

    it('HERO-B HERO-4 · budgets exact (float32 product, truncation, valid clamp)', () => {
      const t = tokenBudgets(c.floats('hero.importance'), c.numbers('hero.valid_counts'), S.N, S.R);
      expect(t.globalBudget).toBe(c.json.hero_info.N_global);
      expect(t.localBudget).toBe(c.json.hero_info.N_local);
      expect(t.budgets).toEqual(c.numbers('hero.budgets'));
    });

    it('HERO-5 HERO-6 selection · global_keep and tile_keep exact from the stored scores', () => {
      const N = S.N;
      const gKeep = topKMask(c.floats('hero.global_scores'), c.json.hero_info.N_global);
      expect(Array.from(gKeep)).toEqual(c.numbers('hero.global_keep'));
      const ts = c.floats('hero.tile_scores'), budgets = c.numbers('hero.budgets');
      const valid = U8(c, 'hero.valid_mask', N);
      const tKeep = budgets.map((bk, k) => topKMask(ts.subarray(k * N, (k + 1) * N), bk, valid[k]));
      expect(tKeep).toEqual(U8(c, 'hero.tile_keep', N));
    });

    it('HERO-LAYOUT · heroLayout(projected, image_newline, masks) = image_features', () => tidyAsync(async () => {
      const feats = heroLayout(c.tensor('image_features_projected') as tf.Tensor3D, tf.tensor1d(newline),
        Uint8Array.from(c.numbers('hero.global_keep')), U8(c, 'hero.tile_keep', S.N), S.grid, S.G);
      expect(feats.shape[0]).toBe(c.json.hero_info.num_image_features_M);
      await expectCloseAsync(feats, c.tensor('image_features'), TOL.golden, 'image_features');
    }));
  });
});
