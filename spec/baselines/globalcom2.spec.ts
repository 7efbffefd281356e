import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { globalCom2, tileRatios, bilinear, clsLogits } from '../../src/baselines/globalcom2';
import { unpadRegion } from '../../src/llava/anyres';
import type { VisualContext } from '../../src/llava/visual_context';
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
    // 2×2 → 2×4: source x = (o + ½)·½ − ½ = −¼ (clamped to 0), ¼, ¾, 1¼ (clamped to the last column)
    expect(Array.from(bilinear([0, 4, 1, 5], 2, 2, 2, 4))).toEqual([0, 1, 3, 4, 1, 2, 4, 5]);
    // 1×2 → 1×3 (scale 2/3): x = −⅙ → 0, ½, 7/6 → 1
    expect(Array.from(bilinear([0, 1], 1, 2, 1, 3))).toEqual([0, 0.5, 1]);
    // 2×2 → 3×2 along the height: rows 0, mean of both, 1
    expect(Array.from(bilinear([0, 2, 4, 6], 2, 2, 3, 2))).toEqual([0, 2, 2, 4, 4, 6]);
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

/**
 * A 1×2-grid context whose head-mean CLS logits are set by hand: one head, Dv = 1, q_CLS = 1 and the patch
 * keys = the wanted scores (score_j = q·k_j·1^−½); projected[p, j] = 100p + j, image_newline = −1 (D = 1).
 */
function scoreContext(G: number, scores: number[][], imageSize: [number, number]): VisualContext {
  return tf.tidy(() => {
    const N = G * G;
    const q = tf.buffer([3, N + 1, 1]), k = tf.buffer([3, N + 1, 1]);
    scores.forEach((row, p) => { q.set(1, p, 0, 0); row.forEach((v, j) => k.set(v, p, 1 + j, 0)); });
    const projected = tf.reshape(tf.add(tf.reshape(tf.mul(tf.range(0, 3), 100), [3, 1]), tf.reshape(tf.range(0, N), [1, N])), [3, N, 1]);
    return {
      hiddenStates: [], attentions: [], queries: [q.toTensor()], keys: [k.toTensor()], projected, imageNewline: tf.fill([1], -1),
      imageSize, grid: [1, 2], patchGrid: G, featureLayer: 0,
    } as unknown as tf.TensorContainer;
  }) as unknown as VisualContext;
}

async function runGc2(ctx: VisualContext, ratio: number, placement?: 'as-coded' | 'corrected'): Promise<{ seq: number[]; keep: number[][] }> {
  const r = await globalCom2(ctx, { ratio, visionHeads: 1, placement });
  try {
    return { seq: Array.from(r.features.dataSync()), keep: r.keepMasks.map((m) => Array.from(m)) };
  } finally {
    r.features.dispose();
    Object.values(r.tensors).forEach((t) => t.tensor.dispose());
    tf.dispose([ctx.queries[0]!, ctx.keys[0]!, ctx.projected, ctx.imageNewline]);
  }
}

describe('GC2-2 · hand-worked selection and placement', () => {
  it('the bilinear guidance term changes which tile tokens are kept; thumbnail in score order (hand-checked)', async () => {
    // G = 2, (H, W) = (20, 40): nothing is padding. Thumbnail logits [0, 4, 1, 5]: block sums (tile = column)
    // S = [1, 9] → p = softmax([−0.8, 0]) = [0.3100, 0.6900]; r = 0.5 → ratios [0.4050, 0.5950] → keep ⌊4·0.405⌋ = 1
    // and ⌊4·0.595⌋ = 2. Thumbnail: ⌊4·0.5⌋ = 2 tokens in score order: j3 (5), j1 (4).
    // Guide = thumbnail resized to 2×4 = [0 1 3 4 / 1 2 4 5]: tile 0 gets [0, 1, 1, 2], tile 1 [3, 4, 4, 5].
    // Tile 0 logits [3, 0, 0, 2]: L2n = [.832, 0, 0, .555] + L2n(guide) [0, .408, .408, .816] → j3 (1.371) beats j0
    // (0.832), which the tile's own scores alone would keep. Tile 1 logits [1, 0, 0, 0]: [1.369, .492, .492, .615] → j0, j3.
    const ctx = scoreContext(2, [[0, 4, 1, 5], [3, 0, 0, 2], [1, 0, 0, 0]], [20, 40]);
    const r = await runGc2(ctx, 0.5);
    expect(r.keep).toEqual([[0, 1, 0, 1], [0, 0, 0, 1], [1, 0, 0, 1]]);
    // thumbnail j3, j1; grid row 0: t1 j0, newline; row 1: t0 j3, t1 j3, newline
    expect(r.seq).toEqual([3, 1, 200, -1, 103, 203, -1]);
  });

  // G = 4, (H, W) = (20, 100): stitched 4×8, new_h = ⌊20·8/100⌋ = 1, pad (4 − 1)//2 = 1 → valid rows 1, 2, i.e. tile
  // indices 4…11 (valid-list positions 0…7). Thumbnail 1 + j·10⁻³: near-equal block sums → ratio ≈ 0.3 → ⌊8·0.3⌋ = 2
  // per tile, ⌊16·0.3⌋ = 4 thumbnail tokens (j 15, 14, 13, 12), a near-constant guide. Tile 0 logits: j4 = 5, j9 = 4,
  // tile 1: j5 = 5, j8 = 4; the padding rows score 9 (never eligible). So tile 0 keeps valid positions {0, 5}
  // (tokens 4, 9), tile 1 positions {1, 4} (tokens 5, 8).
  const thumb = Array.from({ length: 16 }, (_, j) => 1 + j * 1e-3);
  const tile = (hi: number, lo: number): number[] => Array.from({ length: 16 }, (_, j) => (j < 4 || j >= 12 ? 9 : j === hi ? 5 : j === lo ? 4 : 0));

  it('as coded, the n-th kept valid token lands in tile cell n: order and newlines move, not the kept set (hand-checked)', async () => {
    const r = await runGc2(scoreContext(4, [thumb, tile(4, 9), tile(5, 8)], [20, 100]), 0.3);
    expect(r.keep[1]).toEqual(Array.from({ length: 16 }, (_, j) => (j === 4 || j === 9 ? 1 : 0)));
    expect(r.keep[2]).toEqual(Array.from({ length: 16 }, (_, j) => (j === 5 || j === 8 ? 1 : 0)));
    // cells 0, 5 (tile 0) and 1, 4 (tile 1): stitched row 0 → t0#4, t1#5; row 1 → t0#9, t1#8; rows 2, 3 empty
    expect(r.seq).toEqual([15, 14, 13, 12, 104, 205, -1, 109, 208, -1, -1, -1]);
  });

  it('the corrected placement puts each token in its own cell (hand-checked)', async () => {
    const r = await runGc2(scoreContext(4, [thumb, tile(4, 9), tile(5, 8)], [20, 100]), 0.3, 'corrected');
    expect(r.keep[1]).toEqual(Array.from({ length: 16 }, (_, j) => (j === 4 || j === 9 ? 1 : 0)));
    // row 0 empty; row 1 → t0#4, t1#5; row 2 → t0#9, t1#8; row 3 empty
    expect(r.seq).toEqual([15, 14, 13, 12, -1, 104, 205, -1, 109, 208, -1, -1]);
  });
});

describe('GC2-2 · selection and layout', () => {
  it('M = ⌊N·r⌋ + Σ ⌊N_k·ratio_k⌋ + rows·G; the thumbnail comes in descending score order (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.double({ min: 0.05, max: 1, noNaN: true }), fc.integer({ min: 10, max: 200 }), fc.integer({ min: 10, max: 200 }), fc.integer({ min: 1, max: 1e5 }),
      async (rows, cols, r, H, W, seed) => {
        const base = syntheticContext({ rows, cols, G: 4, layers: 2, H, W, seed });
        const ctx = withQK(base, seed);
        try {
          const res = await globalCom2(ctx, { ratio: r, visionHeads: 2 });
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
