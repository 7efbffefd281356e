/**
 * LLaVA-NeXT config refusals (vision_feature_select_strategy "full", the nested configs' refusals naming
 * the file) and a tied lm_head in a LLaVA-NeXT checkpoint (text_config.tie_word_embeddings, no
 * language_model.lm_head.weight in the file).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { residentWeights } from '../../src/core/weights';
import * as tf from '@tensorflow/tfjs-core';
import { llavaNextConfig } from '../../src/llava/config';
import { loadLlavaNext, disposeLlavaNext } from '../../src/llava/load';
import { llamaForward, embedTokens } from '../../src/llama/decoder';
import { tidyAsync } from '../../src/core/scope';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors';
import { modelDir } from '../util/fixtures';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';
import { expectRefused } from '../util/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-llavacfg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tinyJson = (): Record<string, any> => JSON.parse(fs.readFileSync(path.join(modelDir('llava-next-tiny'), 'config.json'), 'utf8')); // eslint-disable-line @typescript-eslint/no-explicit-any

const refused = expectRefused;

describe('llava-next config refusals', () => {
  it('vision_feature_select_strategy: default accepted, "full" refused in one line', () => {
    expect(llavaNextConfig(tinyJson()).vision_feature_select_strategy).toBe('default');
    refused(() => llavaNextConfig({ ...tinyJson(), vision_feature_select_strategy: 'full' }, 'm/config.json'),
      /^m\/config\.json: vision_feature_select_strategy 'full' is not supported \(only 'default'\)$/);
  });

  it('refusals inside text_config and vision_config name the file and the section', () => {
    const j = tinyJson();
    refused(() => llavaNextConfig({ ...j, text_config: { ...j.text_config, rope_scaling: { type: 'linear', factor: 2 } } }, 'm/config.json'),
      /^m\/config\.json text_config: rope_scaling/);
    refused(() => llavaNextConfig({ ...j, text_config: { ...j.text_config, hidden_act: 'gelu' } }, 'm/config.json'),
      /^m\/config\.json text_config: hidden_act 'gelu'/);
    refused(() => llavaNextConfig({ ...j, vision_config: { ...j.vision_config, hidden_act: 'relu' } }, 'm/config.json'),
      /^m\/config\.json vision_config: hidden_act 'relu'/);
  });
});

describe('llava-next config: checked fields (issue 24)', () => {
  it('rms_norm_eps: -1 is refused, naming the file, the section and the field', () => {
    const j = tinyJson();
    refused(() => llavaNextConfig({ ...j, text_config: { ...j.text_config, rms_norm_eps: -1 } }, 'm/config.json'),
      /^m\/config\.json text_config: field rms_norm_eps must be a number > 0 \(got -1\)$/);
    refused(() => llavaNextConfig({ ...j, vision_config: { ...j.vision_config, layer_norm_eps: 0 } }, 'm/config.json'),
      /^m\/config\.json vision_config: field layer_norm_eps must be a number > 0/);
  });

  it('a non-integer layer count is refused as such (text and vision)', () => {
    const j = tinyJson();
    refused(() => llavaNextConfig({ ...j, text_config: { ...j.text_config, num_hidden_layers: 2.5 } }, 'm/config.json'),
      /^m\/config\.json text_config: field num_hidden_layers must be a positive integer \(got 2\.5\)$/);
    refused(() => llavaNextConfig({ ...j, vision_config: { ...j.vision_config, num_hidden_layers: 3.5 } }, 'm/config.json'),
      /^m\/config\.json vision_config: field num_hidden_layers must be a positive integer \(got 3\.5\)$/);
    refused(() => llavaNextConfig({ ...j, text_config: { ...j.text_config, num_attention_heads: 0 } }, 'm/config.json'), /num_attention_heads must be a positive integer/);
  });

  it('pinpoints that are not multiples of the crop are refused, naming the entry and the crop', () => {
    const j = tinyJson();
    const S = j.vision_config.image_size as number;
    refused(() => llavaNextConfig({ ...j, image_grid_pinpoints: [[S, 2 * S], [S + 4, 2 * S]] }, 'm/config.json'),
      new RegExp(`^m/config\\.json: image_grid_pinpoints entry \\[${S + 4},${2 * S}\\] is not a multiple of the crop size ${S} \\(vision_config\\.image_size\\)$`));
  });
});

describe('tied lm_head in a LLaVA-NeXT checkpoint', () => {
  it('loads without language_model.lm_head.weight and computes logits as h·Eᵀ', async () => {
    const dir = path.join(tmp, 'tied');
    fs.mkdirSync(dir);
    const j = tinyJson();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...j, text_config: { ...j.text_config, tie_word_embeddings: true } }));
    fs.copyFileSync(path.join(modelDir('llava-next-tiny'), 'preprocessor_config.json'), path.join(dir, 'preprocessor_config.json'));
    const src = SafetensorsFile.open(path.join(modelDir('llava-next-tiny'), 'model.safetensors'));
    const out: Record<string, TensorToWrite> = {};
    for (const k of src.names()) if (k !== 'language_model.lm_head.weight') out[k] = { dtype: 'F32', shape: src.info(k).shape, data: src.readFloat32(k) };
    src.close();
    writeSafetensors(path.join(dir, 'model.safetensors'), out);
    const m = loadLlavaNext(dir);
    try {
      const lm = m.params.language_model;
      const cfg = m.config.text_config;
      const { logits, h, E } = await tidyAsync(async () => {
        const o = await llamaForward(lm, embedTokens(lm, [1, 5, 700]), cfg, { taps: { hiddenStates: true } });
        return { logits: o.logits.arraySync() as number[][], h: o.hiddenStates![cfg.num_hidden_layers].arraySync() as number[][], E: residentWeights(lm.model.embed_tokens).weight.arraySync() };
      });
      expect(logits[0].length).toBe(1024);
      const ref = h.map((row) => E.map((e) => e.reduce((s, v, i) => s + v * row[i], 0)));
      expectClose(logits.flat(), ref.flat(), TOL.primitive, 'logits vs h·Eᵀ');
    } finally {
      disposeLlavaNext(m);
    }
  });
});
