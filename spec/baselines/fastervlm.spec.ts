import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { fasterVlm, fasterVlmPinpoints, fillRatioResolution } from '../../src/baselines/fastervlm';
import { selectBestResolution } from '../../src/llava/anyres';
import type { VisualContext } from '../../src/llava/visual_context';
import { syntheticContext, disposeContext } from '../hero/synthetic';

/** A 1×2-grid context (P = 3, G = 2, N = 4) whose layer-0 CLS row is set by hand; projected[p, j] = 10p + j. */
function handContext(clsRows: number[][]): VisualContext {
  return tf.tidy(() => {
    const probs = tf.buffer([3, 2, 5, 5]);
    clsRows.forEach((row, p) => row.forEach((v, j) => { probs.set(v, p, 0, 0, 1 + j); probs.set(3 * v, p, 1, 0, 1 + j); }));
    const projected = tf.reshape(tf.add(tf.reshape(tf.mul(tf.range(0, 3), 10), [3, 1]), tf.reshape(tf.range(0, 4), [1, 4])), [3, 4, 1]);
    return {
      hiddenStates: [], attentions: [probs.toTensor()], queries: [], keys: [], projected, imageNewline: tf.zeros([1]),
      imageSize: [10, 20], grid: [1, 2], patchGrid: 2, featureLayer: 1,
    } as unknown as tf.TensorContainer;
  }) as unknown as VisualContext;
}

describe('FasterVLM-1 · fasterVlm', () => {
  it('keeps each crop\'s top-T tokens by head-mean CLS attention; thumbnail raster, then the stitched grid (hand-checked)', async () => {
    const ctx = handContext([[0.1, 0.4, 0.3, 0.2], [0.5, 0.1, 0.1, 0.3], [0.2, 0.2, 0.5, 0.1]]);
    const r = await fasterVlm(ctx, { tokensPerCrop: 2 });
    try {
      // thumbnail keeps j = 1, 2; tile 0 keeps j = 0, 3; tile 1 keeps j = 0 (tie with 1 → lower index), 2.
      expect(r.keepMasks.map((m) => Array.from(m))).toEqual([[0, 1, 1, 0], [1, 0, 0, 1], [1, 0, 1, 0]]);
      // stitched 2×4 grid, row 0: tile0 (0,1), tile1 (0,1); row 1: tile0 (2,3), tile1 (2,3)
      // kept in raster order: row 0 → tile0 j0 (10), tile1 j0 (20); row 1 → tile0 j3 (13), tile1 j2 (22)
      expect(Array.from(r.features.dataSync())).toEqual([1, 2, 10, 20, 13, 22]);
      expect(r.numNewlines).toBe(0);
    } finally {
      r.features.dispose();
      Object.values(r.tensors).forEach((t) => t.tensor.dispose());
      tf.dispose([ctx.attentions[0]!, ctx.projected, ctx.imageNewline]);
    }
  });

  it('emits T·(1+K) tokens for any grid (property) and rejects T outside [1, N]', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 1e5 }), async (rows, cols, T, seed) => {
      const ctx = syntheticContext({ rows, cols, G: 3, layers: 3, H: 30, W: 40, seed });
      try {
        const r = await fasterVlm(ctx, { tokensPerCrop: T });
        expect(r.features.shape[0]).toBe(T * (1 + rows * cols));
        r.features.dispose();
        Object.values(r.tensors).forEach((t) => t.tensor.dispose());
      } finally {
        disposeContext(ctx);
      }
    }), { numRuns: 15 });
    const ctx = syntheticContext({ rows: 1, cols: 2, G: 2, layers: 2, H: 10, W: 20, seed: 1 });
    await expect(fasterVlm(ctx, { tokensPerCrop: 5 })).rejects.toThrow(/--tokens-per-crop: 5 is outside \[1, 4\]/);
    disposeContext(ctx);
  });
});

describe('FasterVLM · the anyres grid', () => {
  // llava-v1.6's pinpoints, (h, w)
  const V16: [number, number][] = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]];

  it('its own select_best_resolution ranks by canvas fill, unlike HF (hand-checked)', () => {
    // (H, W) = (600, 1000): 336×672 → s = min(0.672, 0.56) = 0.56 → 560×336 of 672·336 = 0.833 filled; 672×672 →
    // s = 0.672 → 672·403 / 672² = 0.600; 1008×336 → s = 0.336 → 336·201 / (336·1008) = 0.199 … → 336×672 (1×2).
    expect(fillRatioResolution([600, 1000], V16)).toEqual([336, 672]);
    expect(selectBestResolution([600, 1000], V16)).toEqual([672, 672]); // HF: the most surviving pixels
    // a square image fills 672×672 exactly; the first of equal fills wins
    expect(fillRatioResolution([500, 500], V16)).toEqual([672, 672]);
    expect(fillRatioResolution([100, 200], [[336, 672], [672, 1344]])).toEqual([336, 672]);
  });

  it('fixed = the largest square pinpoint (672×672, as its authors ran LLaVA-NeXT), whatever the image', () => {
    expect(fasterVlmPinpoints('fixed', [30, 2000], V16)).toEqual([[672, 672]]);
    expect(fasterVlmPinpoints('fixed', [30, 100], [[56, 112], [112, 112], [56, 56]])).toEqual([[112, 112]]);
    expect(fasterVlmPinpoints('fill-ratio', [600, 1000], V16)).toEqual([[336, 672]]);
    expect(fasterVlmPinpoints('best-fit', [600, 1000], V16)).toEqual(V16);
    expect(() => fasterVlmPinpoints('fixed', [10, 10], [[336, 672]])).toThrow(/--fastervlm-grid: fixed needs a square pinpoint/);
  });

  it('fixed, with several square pinpoints: the largest (672×672) wherever it stands, not the first or the last square', () => {
    const squares: [number, number][] = [[336, 336], [336, 672], [672, 672], [672, 336], [448, 448], [1008, 336]];
    for (const image of [[30, 2000], [336, 336], [2000, 30], [700, 700]] as [number, number][]) {
      expect(fasterVlmPinpoints('fixed', image, squares)).toEqual([[672, 672]]);
      expect(fasterVlmPinpoints('fixed', image, [...squares].reverse())).toEqual([[672, 672]]);
    }
  });
});
