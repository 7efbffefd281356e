/** CLIP text tower and CLIPModel logits against HF v4.45.1 (clip_text_tiny, clip_text_tiny_len77, clip_pair_tiny, clip_text_eos2). */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { textModel, eosPositions } from '../../src/clip/text';
import { textFeatures, clipLogits, type ClipModel } from '../../src/clip/model';
import { tidyAsync } from '../../src/core/scope';
import { loadCase, modelDir, GOLDEN_BACKENDS, useBackend } from '../util/fixtures';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';
import { loadClipModel, disposeClipModel } from '../../src/clip/load';

function rows(flat: number[], n: number): number[][] {
  return Array.from({ length: flat.length / n }, (_, i) => flat.slice(i * n, (i + 1) * n));
}

describe.each(GOLDEN_BACKENDS)('CLIP-T1 CLIP-T2 CLIP-S · CLIP text tower and logits vs HF v4.45.1 (%s backend)', (backend) => {
  let m: ClipModel;
  beforeAll(async () => {
    await useBackend(backend);
    m = loadClipModel(modelDir('clip-tiny'));
  });
  afterAll(() => disposeClipModel(m));

  it('clip_text_tiny with and without the attention mask', async () => {
    const gc = loadCase('clip_text_tiny');
    const ids = rows(gc.numbers('input_ids'), 12);
    const mask = rows(gc.numbers('attention_mask'), 12);
    expect(eosPositions(ids, m.text)).toEqual(gc.numbers('eos_positions'));
    for (const [tag, attentionMask] of [['masked', mask], ['nomask', undefined]] as const) {
      await tidyAsync(async () => {
        const out = textModel(m.params.text_model, ids, m.text, { attentionMask, taps: { hiddenStates: true, attentions: true } });
        for (const [i, h] of out.hiddenStates!.entries()) await expectCloseAsync(h, gc.tensor(`${tag}.hidden_states.${i}`), TOL.golden, `${tag}.hidden_states.${i}`);
        for (const [l, a] of out.attentions!.entries()) await expectCloseAsync(a, gc.tensor(`${tag}.attentions.${l}`), TOL.probs, `${tag}.attentions.${l}`);
        await expectCloseAsync(out.lastHiddenState, gc.tensor(`${tag}.last_hidden_state`), TOL.golden, `${tag}.last_hidden_state`);
        await expectCloseAsync(out.pooled, gc.tensor(`${tag}.pooler_output`), TOL.golden, `${tag}.pooler_output`);
        await expectCloseAsync(textFeatures(m, ids, attentionMask), gc.tensor(`${tag}.text_embeds`), TOL.golden, `${tag}.text_embeds`);
      });
    }
  });

  it('clip_text_tiny_len77: the full 77-token context; 78 tokens is an error', async () => {
    const gc = loadCase('clip_text_tiny_len77');
    const ids = [gc.numbers('input_ids')];
    await tidyAsync(async () => {
      const out = textModel(m.params.text_model, ids, m.text, { taps: { hiddenStates: true } });
      await expectCloseAsync(out.hiddenStates![1], gc.tensor('hidden_states.1'), TOL.golden, 'hidden_states.1');
      await expectCloseAsync(out.lastHiddenState, gc.tensor('last_hidden_state'), TOL.golden, 'last_hidden_state');
      await expectCloseAsync(out.pooled, gc.tensor('pooler_output'), TOL.golden, 'pooler_output');
      await expectCloseAsync(textFeatures(m, ids), gc.tensor('text_embeds'), TOL.golden, 'text_embeds');
    });
    expect(() => textModel(m.params.text_model, [[...ids[0], 999]], m.text)).toThrow(/CLIP text is 78 tokens, the limit is 77/);
  });

  it('clip_pair_tiny: logits_per_image / per_text, normalised embeddings', async () => {
    const gc = loadCase('clip_pair_tiny');
    await tidyAsync(async () => {
      const r = clipLogits(m, gc.tensor('pixel_values') as tf.Tensor4D, rows(gc.numbers('input_ids'), 12), rows(gc.numbers('attention_mask'), 12));
      await expectCloseAsync(r.logitsPerImage, gc.tensor('logits_per_image'), TOL.golden, 'logits_per_image');
      await expectCloseAsync(r.logitsPerText, gc.tensor('logits_per_text'), TOL.golden, 'logits_per_text');
      await expectCloseAsync(r.imageEmbedsNormalized, gc.tensor('image_embeds_normalized'), TOL.golden, 'image_embeds_normalized');
      await expectCloseAsync(r.textEmbedsNormalized, gc.tensor('text_embeds_normalized'), TOL.golden, 'text_embeds_normalized');
      await expectCloseAsync(tf.reshape(m.params.logit_scale, [1]), gc.tensor('logit_scale'), TOL.golden, 'logit_scale');
    });
  });
});

describe.each(GOLDEN_BACKENDS)('CLIP-T2 · legacy eos_token_id == 2 config pools at argmax(input_ids), as HF v4.45.1 (%s backend)', (backend) => {
  // clip-tiny-eos2 mirrors openai's CLIP: config eos_token_id 2, real end-of-text 599 = the largest id.
  let m: ClipModel;
  beforeAll(async () => {
    await useBackend(backend);
    m = loadClipModel(modelDir('clip-tiny-eos2'));
  });
  afterAll(() => disposeClipModel(m));

  it('clip_text_eos2: pooled output and text_embeds, with id 2 in the text and a row without end-of-text', async () => {
    const gc = loadCase('clip_text_eos2');
    expect(m.text.eos_token_id).toBe(2);
    const L = gc.shape('input_ids')[1];
    const ids = rows(gc.numbers('input_ids'), L);
    const mask = rows(gc.numbers('attention_mask'), L);
    // [first 599, first 599, first of two 431s (no 599, an id 2 later), last position]
    expect(eosPositions(ids, m.text)).toEqual(gc.numbers('argmax_positions'));
    await tidyAsync(async () => {
      const out = textModel(m.params.text_model, ids, m.text, { attentionMask: mask });
      await expectCloseAsync(out.lastHiddenState, gc.tensor('last_hidden_state'), TOL.golden, 'last_hidden_state');
      await expectCloseAsync(out.pooled, gc.tensor('pooler_output'), TOL.golden, 'pooler_output');
      await expectCloseAsync(textFeatures(m, ids, mask), gc.tensor('text_embeds'), TOL.golden, 'text_embeds');
    });
  });
});

describe('CLIP-T1 · causal text encoder: tokens after t do not change hidden states up to t (property)', () => {
  let m: ClipModel;
  beforeAll(() => { m = loadClipModel(modelDir('clip-tiny')); });
  afterAll(() => disposeClipModel(m));
  it('holds for random sequences', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 997 }), { minLength: 3, maxLength: 12 }), fc.integer({ min: 0, max: 997 }), async (body, other) => {
      const ids = [998, ...body, 999];
      const t = Math.floor(ids.length / 2);
      const changed = [...ids];
      changed[t + 1] = changed[t + 1] === other ? (other + 1) % 997 : other;
      await tidyAsync(async () => {
        const a = textModel(m.params.text_model, [ids], m.text).lastHiddenState;
        const b = textModel(m.params.text_model, [changed.map((x, i) => (i === changed.length - 1 ? 999 : x))], m.text).lastHiddenState;
        await expectCloseAsync(tf.slice(b, [0, 0, 0], [1, t + 1, -1]), tf.slice(a, [0, 0, 0], [1, t + 1, -1]), TOL.sameMath, 'prefix hidden states');
      });
    }), { numRuns: 20 });
  });
});
