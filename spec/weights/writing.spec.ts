/**
 * weights/writing.ts: the default model's tensors are the loaders' key specs of the configs written next to
 * them, drawn with the scheme weights/README.md states (by name and shape).
 */
import { initFor, llavaKeys, clipKeys } from '../../src/weights/writing';
import { llavaConfigJson, clipConfigJson } from '../../src/weights/hf_files';
import { clipTokenizerJson } from '../../src/weights/tokenizers';

describe('default model · init scheme by name and shape', () => {
  it.each([
    ['language_model.model.layers.0.self_attn.q_proj.weight', [64, 64], { kind: 'normal', mean: 0, std: 1 / 8 }],
    ['vision_tower.vision_model.encoder.layers.3.mlp.fc2.weight', [64, 256], { kind: 'normal', mean: 0, std: 1 / 16 }],
    ['vision_tower.vision_model.embeddings.patch_embedding.weight', [64, 3, 14, 14], { kind: 'normal', mean: 0, std: 1 / Math.sqrt(588) }],
    ['multi_modal_projector.linear_1.bias', [64], { kind: 'normal', mean: 0, std: 0.1 }],
    ['vision_model.encoder.layers.0.layer_norm1.bias', [64], { kind: 'normal', mean: 0, std: 0.1 }],
    ['vision_model.pre_layrnorm.weight', [64], { kind: 'normal', mean: 1, std: 0.1 }],
    ['language_model.model.norm.weight', [64], { kind: 'normal', mean: 1, std: 0.1 }],
    ['image_newline', [64], { kind: 'normal', mean: 0, std: 1 }],
    ['vision_model.embeddings.class_embedding', [64], { kind: 'normal', mean: 0, std: 1 }],
    ['language_model.model.embed_tokens.weight', [32064, 64], { kind: 'normal', mean: 0, std: 1 }],
    ['text_model.embeddings.token_embedding.weight', [500, 64], { kind: 'normal', mean: 0, std: 1 }],
    ['text_model.embeddings.position_embedding.weight', [77, 64], { kind: 'normal', mean: 0, std: 0.5 }],
    ['language_model.lm_head.weight', [32064, 64], { kind: 'normal', mean: 0, std: 0.5 }],
    ['logit_scale', [], { kind: 'const', value: Math.log(100) }],
  ] as const)('%s', (name, shape, want) => {
    const got = initFor(name, shape);
    expect(got.kind).toBe(want.kind);
    if (got.kind === 'normal' && want.kind === 'normal') {
      expect(got.mean).toBe(want.mean);
      expect(got.std).toBeCloseTo(want.std, 12);
    } else if (got.kind === 'const' && want.kind === 'const') expect(got.value).toBeCloseTo(want.value, 12);
  });

  it('the key specs follow the written configs (vocab, depth)', () => {
    const t = llavaConfigJson().text_config as Record<string, number>;
    const keys = llavaKeys();
    expect(keys.get('language_model.model.embed_tokens.weight')).toEqual([t.vocab_size, t.hidden_size]);
    expect([...keys.keys()].filter((k) => k.endsWith('.input_layernorm.weight'))).toHaveLength(t.num_hidden_layers);
    const ct = clipTokenizerJson();
    const c = clipConfigJson(ct.vocabSize, ct.bos, ct.eos).text_config as Record<string, number>;
    expect(clipKeys(ct.vocabSize, ct.bos, ct.eos).get('text_model.embeddings.token_embedding.weight')).toEqual([ct.vocabSize, c.hidden_size]);
  });
});
