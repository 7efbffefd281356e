import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { globalCom2, tileRatios, bilinear, clsLogits } from '../../src/baselines/globalcom2';
import { unpadRegion } from '../../src/llava/anyres';
import type { VisualContext } from '../../src/llava/pruning';
import { syntheticContext, disposeContext } from '../hero/synthetic';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

describe('GC2-1 · tile ratios and the guidance map', () => {
  it('block sums → softmax(·/τ) → r·(1 + p − mean p) (hand-checked)', () => {
    // G = 2, grid 1×2: ph = 2, pw = 1, so column j is tile j. thumb = [1, 3, 1, 3] → S = [2, 6];
    // p ∝ [e^{−0.4}, 1] = [0.40131, 0.59869]; r = 0.5 → ratios = [0.45066, 0.54934].
    const r = tileRatios([1, 3, 1, 3], [1, 2], 2, 0.5, 10);
    expect(r[0]).toBeCloseTo(0.5 * (1 + Math.exp(-0.4) / (1 + Math.exp(-0.4)) - 0.5), 6);
    expect(r[1]).toBeCloseTo(0.5 * (1 + 1 / (1 + Math.exp(-0.4)) - 0.5), 6);
    expect(tileRatios([0, 0, 0, 9], [2, 2], 2, 0.9, 0.1).every((x) => x <= 1)).toBe(true); // clipped at 1
  });

  it('bilinear resize with align_corners = false (torch values)', () => {
    expect(Array.from(bilinear([0, 1, 2, 3], 2, 2, 4, 4)).slice(0, 4)).toEqual([0, 0.25, 0.75, 1]);
    expect(Array.from(bilinear([0, 1, 2, 3], 2, 2, 2, 2))).toEqual([0, 1, 2, 3]);
  });

  it('clsLogits = mean over heads of the scaled CLS·key products (f64 loop)', () => {
    tf.tidy(() => {
      const q = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 3) as tf.Tensor3D, k = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 4) as tf.Tensor3D;
      const qa = q.arraySync(), ka = k.arraySync();
      const ref: number[] = [];
      for (let p = 0; p < 2; p++) for (let j = 1; j < 5; j++) {
        let s = 0;
        for (let h = 0; h < 2; h++) for (let d = 0; d < 4; d++) s += qa[p][0][h * 4 + d] * ka[p][j][h * 4 + d] / 2;
        ref.push(s / 2);
      }
      expectClose(clsLogits(q, k, 2), ref, TOL.primitive, 'clsLogits');
    });
  });
});

function withQK(ctx: VisualContext, seed: number): VisualContext {
  const [P, N] = ctx.projected.shape;
  const qk = tf.tidy(() => [tf.randomNormal([P, N + 1, 8], 0, 1, 'float32', seed), tf.randomNormal([P, N + 1, 8], 0, 1, 'float32', seed + 1)]) as tf.Tensor3D[];
  return { ...ctx, queries: [undefined, qk[0]], keys: [undefined, qk[1]] };
}

describe('GC2-2 · selection and layout', () => {
  it('M = ⌊N·r⌋ + Σ ⌊N_k·ratio_k⌋ + rows·G; the thumbnail comes in descending score order (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.double({ min: 0.05, max: 1, noNaN: true }), fc.integer({ min: 10, max: 200 }), fc.integer({ min: 10, max: 200 }), fc.integer({ min: 1, max: 1e5 }),
      (rows, cols, r, H, W, seed) => {
        const base = syntheticContext({ rows, cols, G: 4, layers: 2, H, W, seed });
        const ctx = withQK(base, seed);
        try {
          const res = globalCom2(ctx, { ratio: r, visionHeads: 2 });
          // the ratios in float64, as the selection uses them (the F32 trace copy can round r·… up to 1)
          const ratios = tileRatios(res.tensors['globalcom2.scores'].tensor.dataSync().subarray(0, 16), [rows, cols], 4, r, 10);
          const u = unpadRegion(rows * 4, cols * 4, [H, W]);
          const vr = (t: number): number => { let n = 0; for (let i = 0; i < 4; i++) if (Math.floor(t / cols) * 4 + i >= u.top && Math.floor(t / cols) * 4 + i < rows * 4 - u.bottom) n++; return n; };
          const vc = (t: number): number => { let n = 0; for (let j = 0; j < 4; j++) if ((t % cols) * 4 + j >= u.left && (t % cols) * 4 + j < cols * 4 - u.right) n++; return n; };
          const expected = Math.floor(16 * r) + ratios.reduce((a, rk, t) => a + Math.floor(vr(t) * vc(t) * rk), 0) + rows * 4;
          expect(res.features.shape[0]).toBe(expected);
          expect(res.numNewlines).toBe(rows * 4);
          const s = res.tensors['globalcom2.scores'].tensor.dataSync().subarray(0, 16);
          const thumbRows = Array.from(res.features.dataSync().subarray(0, Math.floor(16 * r) * base.projected.shape[2]));
          const proj = base.projected.dataSync();
          const D = base.projected.shape[2];
          const order = Array.from({ length: 16 }, (_, j) => j).sort((a, b) => s[b] - s[a] || a - b).slice(0, Math.floor(16 * r));
          expect(thumbRows).toEqual(order.flatMap((j) => Array.from(proj.subarray(j * D, (j + 1) * D))));
          res.features.dispose();
          Object.values(res.tensors).forEach((t) => t.tensor.dispose());
        } finally {
          ctx.queries.forEach((t) => t?.dispose()); ctx.keys.forEach((t) => t?.dispose());
          disposeContext(base);
        }
      }), { numRuns: 20 });
  });
});
