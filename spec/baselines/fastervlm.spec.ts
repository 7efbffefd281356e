import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { fasterVlm } from '../../src/baselines/fastervlm';
import type { VisualContext } from '../../src/llava/pruning';
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
  it('keeps each crop\'s top-T tokens by head-mean CLS attention; thumbnail raster, then the stitched grid (hand-checked)', () => {
    const ctx = handContext([[0.1, 0.4, 0.3, 0.2], [0.5, 0.1, 0.1, 0.3], [0.2, 0.2, 0.5, 0.1]]);
    const r = fasterVlm(ctx, { tokensPerCrop: 2 });
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

  it('emits T·(1+K) tokens for any grid (property) and rejects T outside [1, N]', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 1e5 }), (rows, cols, T, seed) => {
      const ctx = syntheticContext({ rows, cols, G: 3, layers: 3, H: 30, W: 40, seed });
      try {
        const r = fasterVlm(ctx, { tokensPerCrop: T });
        expect(r.features.shape[0]).toBe(T * (1 + rows * cols));
        r.features.dispose();
        Object.values(r.tensors).forEach((t) => t.tensor.dispose());
      } finally {
        disposeContext(ctx);
      }
    }), { numRuns: 15 });
    const ctx = syntheticContext({ rows: 1, cols: 2, G: 2, layers: 2, H: 10, W: 20, seed: 1 });
    expect(() => fasterVlm(ctx, { tokensPerCrop: 5 })).toThrow(/--tokens-per-crop: 5 is outside \[1, 4\]/);
    disposeContext(ctx);
  });
});
