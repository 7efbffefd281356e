import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { percentile, pruMergeKeep, pruMergeCrop, pruMergePlus } from '../../src/baselines/prumerge';
import { tidyAsync } from '../../src/core/scope';
import type { VisualContext } from '../../src/llava/visual_context';
import { syntheticContext, disposeContext } from '../hero/synthetic';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

describe('PruMerge-1 · adaptive selection', () => {
  it('numpy linear percentiles and the IQR outliers (hand-checked)', () => {
    expect(percentile([1, 2, 3, 4], 25)).toBeCloseTo(1.75, 12);
    expect(percentile([1, 2, 3, 4], 75)).toBeCloseTo(3.25, 12);
    // a = 12 values: ten at 0.05, then 0.2 and 0.3. Q1 = Q3 = 0.05 → bound 0.05 → outliers {10, 11}: ρ = 2/12.
    const a = [...new Array(10).fill(0.05), 0.2, 0.3];
    expect(pruMergeKeep(a, false)).toEqual({ kept: [11, 10], outliers: 2 });
    // "+": step = ⌊1/ρ⌋ = 6, d = 2 → add 0, 2, 4, 6, 8 (< N − 1 = 11, 10 already kept)
    expect(pruMergeKeep(a, true).kept).toEqual([11, 10, 0, 2, 4, 6, 8]);
  });

  it('PruMerge+ keeps the outliers plus distinct spatial samples (property)', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 40 }), (a) => {
      const plain = pruMergeKeep(a, false), plus = pruMergeKeep(a, true);
      expect(plus.kept.slice(0, plain.kept.length)).toEqual(plain.kept);
      expect(new Set(plus.kept).size).toBe(plus.kept.length);
      expect(plus.kept.every((j) => j >= 0 && j < a.length)).toBe(true);
    }));
  });
});

describe('PruMerge-1/2 · pruMergePlus on a hand-built crop', () => {
  it('single-head CLS attention with the scale Dv^−½, outliers + spatial samples, merged and extra tokens (hand-checked)', async () => {
    // One crop, N = 8 patches, Dv = 4, last layer = 0. q_CLS = [2, 0, 0, 0], k_j = [ln w_j, 0, 0, 0] with w = [1 (CLS),
    // 1, 1, 1, 1, 1, 1, 1, 9]: logits q·k_j·4^−½ = ln w_j → softmax = w / 17 (with Dh^−½ = 1 for 4 heads, or no scale,
    // it would be ∝ w², ∝ w⁴). a = [1, 1, 1, 1, 1, 1, 1, 9] / 17: Q1 = Q3 = 1/17 → one outlier (j 7), ρ = 1/8,
    // step ⌊1/ρ⌋ = 8, d = ⌊8/3⌋ = 2 → kept [7, 0, 2, 4, 6]; rest {1, 3, 5}.
    // Features x_j = [j, 1, 0, 0]; every other token merges into a kept one (32 > 7 candidates):
    // x'_i = x_i + Σ_{j≠i} a_j x_j; the extra token Σ_rest a_j x_j = [9/17, 3/17, 0, 0].
    const w = [1, 1, 1, 1, 1, 1, 1, 1, 9];
    const ctx = tf.tidy(() => ({
      hiddenStates: [tf.tensor3d([[[0, 0, 0, 0], ...Array.from({ length: 8 }, (_, j) => [j, 1, 0, 0])]])],
      attentions: [], queries: [tf.tensor3d([[[2, 0, 0, 0], ...Array.from({ length: 8 }, () => [0, 0, 0, 0])]])],
      keys: [tf.tensor3d([w.map((v) => [Math.log(v), 0, 0, 0])])],
      projected: tf.zeros([1, 8, 4]), imageNewline: tf.zeros([4]), imageSize: [10, 10], grid: [0, 0], patchGrid: 0, featureLayer: 0,
    } as unknown as tf.TensorContainer)) as unknown as VisualContext;
    const res = await pruMergePlus(ctx, { plus: true, project: (v) => tf.clone(v) });
    try {
      const a = [1, 1, 1, 1, 1, 1, 1, 9].map((v) => v / 17);
      expectClose(res.tensors['prumerge.cls_attention'].tensor, a, TOL.primitive, 'cls attention');
      expect(Array.from(res.tensors['prumerge.outliers'].tensor.dataSync())).toEqual([1]);
      expect(Array.from(res.keepMasks[0])).toEqual([1, 0, 1, 0, 1, 0, 1, 1]);
      const merged = (i: number): number[] => {
        const o = [i, 1, 0, 0];
        for (let j = 0; j < 8; j++) if (j !== i) { o[0] += a[j] * j; o[1] += a[j]; }
        return o;
      };
      expectClose(res.features, [...[7, 0, 2, 4, 6].flatMap(merged), 9 / 17, 3 / 17, 0, 0], TOL.primitive, 'merged tokens, then the extra one');
    } finally {
      res.features.dispose();
      Object.values(res.tensors).forEach((t) => t.tensor.dispose());
      tf.dispose([ctx.hiddenStates[0]!, ctx.queries[0]!, ctx.keys[0]!, ctx.projected, ctx.imageNewline]);
    }
  });
});

describe('PruMerge-2 · merging', () => {
  it('x\'_i = x_i + Σ_J a_j x_j over the most key-similar tokens; the extra token sums the rest (hand-checked)', async () => {
    await tidyAsync(async () => {
      // N = 4 tokens, features x_j = e_j (so merged rows show the weights), keys: 0 ∥ 1, 2 ∥ 3.
      const x = tf.eye(4) as tf.Tensor2D;
      const keys = tf.tensor2d([[1, 0], [2, 0.1], [0, 1], [0.1, 3]]);
      const a = [0.4, 0.3, 0.2, 0.1];
      // keep [0]; candidates (rest) 1, 2, 3; top-1 by cosine with key 0 is token 1 → x'_0 = e0 + 0.3·e1
      const out = await pruMergeCrop(x, keys, a, [0], 1);
      expectClose(out, [1, 0.3, 0, 0, /* extra = 0.3e1 + 0.2e2 + 0.1e3 */ 0, 0.3, 0.2, 0.1], TOL.primitive, 'merged');
    });
  });

  it('one token more than kept per crop, projected (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 1e5 }), async (rows, cols, seed) => {
      const base = syntheticContext({ rows, cols, G: 4, layers: 2, H: 40, W: 60, seed });
      const [P, N] = base.projected.shape;
      const qk = tf.tidy(() => [tf.randomNormal([P, N + 1, 8], 0, 2, 'float32', seed), tf.randomNormal([P, N + 1, 8], 0, 2, 'float32', seed + 1)]) as tf.Tensor3D[];
      // the feature layer's hidden states: reuse the synthetic last layer's [P, N+1, Dv]
      const ctx: VisualContext = { ...base, hiddenStates: [undefined, base.hiddenStates[2]], queries: [undefined, qk[0]], keys: [undefined, qk[1]] };
      try {
        const res = await pruMergePlus(ctx, { plus: true, project: (v) => tf.mul(v, 2) as tf.Tensor2D });
        const kept = res.keepMasks.reduce((s, m) => s + m.reduce((x, y) => x + y, 0), 0);
        expect(res.features.shape).toEqual([kept + P, 8]);
        res.features.dispose();
        Object.values(res.tensors).forEach((t) => t.tensor.dispose());
      } finally {
        tf.dispose(qk);
        disposeContext(base);
      }
    }), { numRuns: 10 });
  });
});
