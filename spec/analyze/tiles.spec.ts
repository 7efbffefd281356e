/**
 * src/analyze/tiles.ts (AN-3): Fig. 1's per-tile numbers. c_k from our tiny LLaVA-NeXT tower on the HERO
 * goldens' pixels and t_k from their CLIP embeddings must match the authors' code (hero.cls_similarity,
 * hero.clip_similarity, hero.saliency, hero.relevance); min-max as a property.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { analyzeTiles, minMax } from '../../src/analyze/tiles';
import { disposeVisionOutput, visionModel } from '../../src/clip/vision';
import { disposeLlavaNext, loadLlavaNext } from '../../src/llava/load';
import type { LlavaNextModel } from '../../src/llava/model';
import { loadCase, modelDir } from '../util/fixtures';
import { HERO_CASES, heroCaseInputs } from '../util/golden_traces';
import { TOL } from '../util/tolerances';
import { expectClose } from '../util/close';

describe('AN-3 · tile scores vs the HERO goldens', () => {
  let m: LlavaNextModel;
  beforeAll(() => { m = loadLlavaNext(modelDir('llava-next-tiny')); });
  afterAll(() => disposeLlavaNext(m));

  it.each(HERO_CASES())('%s: c_k, t_k, s^v, s^t; min-max in [0, 1] with 0 and 1 reached', async (name) => {
    const gc = loadCase(name);
    const { opts } = heroCaseInputs(gc);
    const [, P, C, S] = gc.shape('pixel_values');
    const pixels = tf.tensor4d(gc.floats('pixel_values'), [P, C, S, S]);
    const out = visionModel(m.params.vision_tower.vision_model, pixels, m.config.vision_config);
    const img = gc.tensor('hero.tile_image_embeds_normalized') as tf.Tensor2D;
    const txt = tf.tidy(() => tf.reshape(gc.tensor('hero.text_embeds_normalized'), [-1]) as tf.Tensor1D);
    try {
      const r = await analyzeTiles(out.lastHiddenState, { tileImageEmbeds: img, textEmbed: txt }, opts.tauV, opts.tauT);
      expectClose(r.clsSimilarity, gc.floats('hero.cls_similarity'), TOL.golden, 'cls_similarity');
      expectClose(r.clipScore!, gc.floats('hero.clip_similarity'), TOL.golden, 'clip_similarity');
      expectClose(r.saliency, gc.floats('hero.saliency'), TOL.golden, 'saliency');
      expectClose(r.relevance!, gc.floats('hero.relevance'), TOL.golden, 'relevance');
      for (const x of [r.clsSimilarityMinMax, r.clipScoreMinMax!]) expect([Math.min(...x), Math.max(...x)]).toEqual([0, 1]);
      const none = await analyzeTiles(out.lastHiddenState, null, opts.tauV, opts.tauT);
      expect([none.clipScore, none.relevance, none.clipScoreMinMax]).toEqual([null, null, null]);
    } finally {
      tf.dispose([pixels, img, txt]);
      disposeVisionOutput(out);
    }
  });

  it('min-max keeps the order and maps equal values to 0', () => {
    expect(minMax([2, 2, 2])).toEqual([0, 0, 0]);
    fc.assert(fc.property(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 2, maxLength: 9 }), (x) => {
      const y = minMax(x);
      for (let i = 0; i < x.length; i++) for (let j = 0; j < x.length; j++) if (x[i] < x[j]) expect(y[i]).toBeLessThanOrEqual(y[j]);
    }));
  });
});
