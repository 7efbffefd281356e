/**
 * LLaVA-NeXT end to end against HF transformers v4.45.1 (cases llava_wide, llava_tall_square):
 * vision hidden states → projector → pack_image_features → splice → Llama logits → greedy generate.
 * Starts from the goldens' pixel_values so this file tests the model, not the processor
 * (spec/llava/image_processor.spec.ts covers that).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { encodeImage, disposeVisualContext, type LlavaNextModel } from '../../src/llava/model';
import { packImageFeatures } from '../../src/llava/pack';
import { expandImageTokens, spliceImageFeatures } from '../../src/llava/merge';
import { anyresGridShape } from '../../src/llava/anyres';
import { embedTokens, llamaForward } from '../../src/llama/decoder';
import { greedyGenerate } from '../../src/llama/generate';
import { tidyAsync } from '../../src/core/scope';
import { loadCase, modelDir, GOLDEN_BACKENDS, useBackend, type GoldenCase } from '../util/fixtures';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';
import { loadLlavaNext, disposeLlavaNext, llavaNextKeys } from '../../src/llava/load';
import { expectRefused } from '../util/errors';

/** Runs one image's crops through the tower and projector; returns what the case stores, per image. */
function imageStage(m: LlavaNextModel, gc: GoldenCase, img: number): { hidden: tf.Tensor3D[]; projected: tf.Tensor3D; packed: tf.Tensor2D } {
  const sizes = gc.numbers('image_sizes');
  const imageSize: [number, number] = [sizes[2 * img], sizes[2 * img + 1]];
  const S = m.derived.cropPx;
  const grid = anyresGridShape(imageSize, m.config.image_grid_pinpoints, S);
  const P = 1 + grid[0] * grid[1];
  const [, maxP] = gc.shape('pixel_values');
  const all = gc.floats('pixel_values');
  const one = all.subarray(img * maxP * 3 * S * S, (img * maxP + P) * 3 * S * S); // drop the zero-padded crops
  const pixels = tf.tensor4d(one, [P, 3, S, S]);
  const ctx = encodeImage(m, pixels, imageSize, grid, { hiddenStates: 'all' });
  pixels.dispose();
  const packed = packImageFeatures(ctx.projected, ctx.imageNewline!, grid, m.derived.patchGrid, imageSize);
  const hidden = ctx.hiddenStates.map((h) => tf.clone(h!));
  const projected = tf.clone(ctx.projected);
  disposeVisualContext(ctx);
  return { hidden, projected, packed };
}

describe.each(GOLDEN_BACKENDS)('LLaVA-1 … LLaVA-4 · LLaVA-NeXT end to end vs HF v4.45.1 (%s backend)', (backend) => {
  let m: LlavaNextModel;
  beforeAll(async () => {
    await useBackend(backend);
    m = loadLlavaNext(modelDir('llava-next-tiny'));
  });
  afterAll(() => disposeLlavaNext(m));

  it('loads every checkpoint tensor and nothing else', () => {
    expect(llavaNextKeys(m.config).size).toBe(97);
    expect(m.derived).toEqual({ cropPx: 56, patchGrid: 4, tokensPerCrop: 16, featureLayer: 3 });
  });

  for (const name of ['llava_wide', 'llava_tall_square']) {
    it(`${name}: hidden states, projected and packed features, embeds, logits, greedy ids`, async () => {
      const gc = loadCase(name);
      const nImages = gc.shape('image_sizes')[0];
      await tidyAsync(async () => {
        const stages = Array.from({ length: nImages }, (_, i) => imageStage(m, gc, i));
        for (let i = 0; i <= m.config.vision_config.num_hidden_layers; i++) {
          await expectCloseAsync(tf.concat(stages.map((s) => s.hidden[i])), gc.tensor(`vision.hidden_states.${i}`), TOL.golden, `vision.hidden_states.${i}`);
        }
        await expectCloseAsync(tf.concat(stages.map((s) => s.projected)), gc.tensor('image_features_projected'), TOL.golden, 'image_features_projected');
        const packed = tf.concat(stages.map((s) => s.packed)) as tf.Tensor2D;
        await expectCloseAsync(packed, gc.tensor('image_features_packed'), TOL.golden, 'image_features_packed');
        expect(stages.map((s) => s.packed.shape[0])).toEqual(gc.numbers('feature_lens'));

        // The expanded prompt is the golden input_ids; expanding the legacy single-placeholder prompt
        // (one image) gives the same ids.
        const ids = gc.numbers('input_ids');
        if (nImages === 1) expect(expandImageTokens(gc.numbers('legacy_input_ids'), m.config.image_token_index, packed.shape[0])).toEqual(ids);
        const lm = m.params.language_model;
        const embeds = spliceImageFeatures(embedTokens(lm, ids), ids, m.config.image_token_index, packed);
        await expectCloseAsync(embeds, tf.squeeze(gc.tensor('inputs_embeds'), [0]), TOL.golden, 'inputs_embeds');
        const { logits } = await llamaForward(lm, embeds, m.config.text_config);
        await expectCloseAsync(logits, tf.squeeze(gc.tensor('logits'), [0]), TOL.golden, 'logits');

        const gen = await greedyGenerate(lm, m.config.text_config, embeds, { maxNewTokens: 5, eosTokenId: m.config.text_config.eos_token_id, keepScores: true });
        expect([...ids, ...gen.newIds]).toEqual(gc.numbers('generated_ids'));
        const V = m.config.text_config.vocab_size;
        const scores = gc.floats('generate_scores');
        for (const [step, s] of gen.scores!.entries()) await expectCloseAsync(s, scores.subarray(step * V, (step + 1) * V), TOL.golden, `generate_scores[${step}]`);
      });
    });
  }
});

describe('LLaVA-4 · splice and expansion errors', () => {
  it('rejects prompts with no or two image tokens, and a feature/token count mismatch', async () => {
    expect(() => expandImageTokens([1, 2, 3], 1000, 5)).toThrow(/no image token/);
    expect(() => expandImageTokens([1, 1000, 1000], 1000, 5)).toThrow(/2 image tokens/);
    await tidyAsync(async () => {
      expect(() => spliceImageFeatures(tf.zeros([3, 4]), [1, 1000, 2], 1000, tf.zeros([2, 4]))).toThrow(/2 features, 1 image tokens/);
      // the j-th image token row becomes feature row j; other rows are untouched
      const e = spliceImageFeatures(tf.tensor2d([[1], [2], [3], [4]]), [7, 1000, 8, 1000], 1000, tf.tensor2d([[10], [20]]));
      expect(Array.from(await e.data())).toEqual([1, 10, 3, 20]);
    });
  });
});

describe('loadLlavaNext · processor geometry the model cannot pack', () => {
  it('a pinpoint that is not a multiple of the crop size is a one-line HeroError naming preprocessor_config.json', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-model-pins-'));
    try {
      const src = modelDir('llava-next-tiny');
      fs.copyFileSync(path.join(src, 'config.json'), path.join(dir, 'config.json'));
      const pre = JSON.parse(fs.readFileSync(path.join(src, 'preprocessor_config.json'), 'utf8'));
      fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ ...pre, image_grid_pinpoints: [[56, 100]] }));
      const err = expectRefused(() => loadLlavaNext(dir), /\[56,100\] is not a multiple of crop_size 56/);
      expect(err.message).toContain(path.join(dir, 'preprocessor_config.json'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
