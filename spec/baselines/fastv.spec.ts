import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { fastvKeep, validateFastv } from '../../src/baselines/fastv';
import { llamaForward, loadLlama, embedTokens, type LlamaParams } from '../../src/llama/decoder';
import type { LlamaConfig } from '../../src/llama/config';
import { disposeTree } from '../../src/io/checkpoint';
import { modelDir } from '../util/fixtures';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

describe('FastV-1 · fastvKeep', () => {
  it('keeps all text rows and the image rows the last row attends to most (hand-checked)', () => {
    tf.tidy(() => {
      // T = 6, image rows [1, 5). Last-row attention per head over keys 0..5:
      //   head 0: [.1, .4, .1, .2, .1, .1]   head 1: [.1, .2, .1, .4, .1, .1]
      // head mean on image keys 1..4 = [.3, .1, .3, .1] → with r = 0.5 keep round(2) = 2: rows 1 and 3.
      const probs = tf.zeros([2, 6, 6]).bufferSync();
      [[0.1, 0.4, 0.1, 0.2, 0.1, 0.1], [0.1, 0.2, 0.1, 0.4, 0.1, 0.1]].forEach((row, h) => row.forEach((v, j) => probs.set(v, h, 5, j)));
      expect(fastvKeep(probs.toTensor() as tf.Tensor3D, 1, 5, 0.5)).toEqual([0, 1, 3, 5]);
      // ties break towards the lower index; r = 1 keeps everything
      expect(fastvKeep(tf.fill([1, 4, 4], 0.25) as tf.Tensor3D, 0, 3, 1 / 3)).toEqual([0, 3]);
      expect(fastvKeep(probs.toTensor() as tf.Tensor3D, 1, 5, 1)).toEqual([0, 1, 2, 3, 4, 5]);
    });
  });

  it('keeps T − M + round(r·M) rows (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 12 }), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.integer({ min: 1, max: 1e6 }), (T, r, seed) => tf.tidy(() => {
      const start = Math.floor(T / 4), end = Math.max(start + 1, T - 1);
      const keep = fastvKeep(tf.softmax(tf.randomNormal([2, T, T], 0, 1, 'float32', seed)) as tf.Tensor3D, start, end, r);
      expect(keep.length).toBe(T - (end - start) + Math.round(r * (end - start)));
      expect([...keep].sort((a, b) => a - b)).toEqual(keep);
    })));
  });

  it('rejects bad options', () => {
    expect(() => validateFastv({ layer: 0, ratio: 0.5 }, 32)).toThrow(/--fastv-layer/);
    expect(() => validateFastv({ layer: 2, ratio: 0 }, 32)).toThrow(/--ratio/);
    expect(() => validateFastv({ layer: 2, ratio: NaN }, 32)).toThrow(/--ratio/);
  });
});

describe('FastV-1 · dropping rows inside the decoder (llama-tiny)', () => {
  let m: { config: LlamaConfig; params: LlamaParams };
  beforeAll(() => { m = loadLlama(modelDir('llama-tiny')); });
  afterAll(() => disposeTree(m.params));
  const ids = [1, 50, 60, 70, 80, 90, 100, 110, 120, 130];

  it('keeping every row changes nothing', () => {
    tf.tidy(() => {
      const x = embedTokens(m.params, ids);
      const full = llamaForward(m.params, x, m.config).logits;
      const kept = llamaForward(m.params, x, m.config, { dropAfter: { layer: 1, select: (_p, pos) => pos.map((_, i) => i) } });
      expectClose(kept.logits, full, TOL.sameMath, 'logits');
      expect(kept.positions).toEqual(ids.map((_, i) => i));
    });
  });

  it('rows before the first dropped row are unchanged (causality); later rows keep their position ids', () => {
    tf.tidy(() => {
      const x = embedTokens(m.params, ids);
      const full = llamaForward(m.params, x, m.config).logits;
      const keep = [0, 1, 2, 3, 5, 8, 9]; // drops rows 4, 6, 7
      const out = llamaForward(m.params, x, m.config, { dropAfter: { layer: 1, select: () => keep } });
      expect(out.positions).toEqual(keep);
      expect(out.logits.shape).toEqual([keep.length, m.config.vocab_size]);
      expectClose(tf.slice(out.logits, [0, 0], [4, -1]), tf.slice(full, [0, 0], [4, -1]), TOL.sameMath, 'rows before the drop');
      // and the dropped rows do change what later rows see
      const later = tf.sub(tf.slice(out.logits, [6, 0], [1, -1]), tf.slice(full, [9, 0], [1, -1]));
      expect(tf.max(tf.abs(later)).dataSync()[0]).toBeGreaterThan(1e-3);
    });
  });
});
