/**
 * Llama config refusals and the less common checkpoint details real files take: rope_scaling, hidden_act,
 * a tied lm_head (tie_word_embeddings, no lm_head.weight in the file), and prompts that would run past
 * max_position_embeddings.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { residentWeights } from '../../src/core/weights';
import * as tf from '@tensorflow/tfjs-core';
import { llamaConfig } from '../../src/llama/config';
import { llamaForward, embedTokens, type LlamaParams } from '../../src/llama/decoder';
import { checkPositions, greedyGenerate } from '../../src/llama/generate';
import { disposeTree } from '../../src/io/checkpoint';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors';
import { modelDir } from '../util/fixtures';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';
import { loadLlama } from '../../src/llama/load';
import { expectRefused, expectRefusedAsync } from '../util/errors';
import { tidyAsync } from '../../src/core/scope';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-llamacfg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tinyJson = (): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(modelDir('llama-tiny'), 'config.json'), 'utf8'));

const refused = expectRefused;

describe('llama config refusals', () => {
  it('rope_scaling: null and absent are plain RoPE; any scaling is refused in one line naming the file', () => {
    expect(llamaConfig({ ...tinyJson(), rope_scaling: null }).rope_theta).toBe(10000);
    const { rope_scaling: _drop, ...noScaling } = tinyJson();
    expect(llamaConfig(noScaling).hidden_size).toBe(64);
    for (const s of [{ type: 'linear', factor: 2 }, { rope_type: 'llama3', factor: 8 }, { type: 'dynamic', factor: 2 }]) {
      refused(() => llamaConfig({ ...tinyJson(), rope_scaling: s }, 'x/config.json'), /^x\/config\.json: rope_scaling \{.*\} is not supported/);
    }
  });

  it('hidden_act: silu (and the silu default) accepted, anything else refused', () => {
    expect(llamaConfig({ ...tinyJson(), hidden_act: 'silu' }).hidden_act).toBe('silu');
    const { hidden_act: _drop, ...noAct } = tinyJson();
    expect(llamaConfig(noAct).hidden_act).toBe('silu');
    for (const act of ['gelu', 'relu', 'gelu_pytorch_tanh', 'swish']) {
      refused(() => llamaConfig({ ...tinyJson(), hidden_act: act }, 'x/config.json'), new RegExp(`^x/config\\.json: hidden_act '${act}' is not supported`));
    }
  });
});

describe('tied lm_head: tie_word_embeddings with no lm_head.weight in the file', () => {
  let tied: { params: LlamaParams; config: ReturnType<typeof llamaConfig> };
  beforeAll(() => {
    const dir = path.join(tmp, 'tied');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...tinyJson(), tie_word_embeddings: true }));
    const src = SafetensorsFile.open(path.join(modelDir('llama-tiny'), 'model.safetensors'));
    const out: Record<string, TensorToWrite> = {};
    for (const k of src.names()) if (k !== 'lm_head.weight') out[k] = { dtype: 'F32', shape: src.info(k).shape, data: src.readFloat32(k) };
    src.close();
    writeSafetensors(path.join(dir, 'model.safetensors'), out);
    tied = loadLlama(dir);
  });
  afterAll(() => disposeTree(tied.params));

  it('loads, and the logits are h·Eᵀ with E = embed_tokens (float64 reference)', async () => {
    const ids = [1, 17, 400, 999, 3];
    const { logits, h } = await tidyAsync(async () => {
      const out = await llamaForward(tied.params, embedTokens(tied.params, ids), tied.config, { taps: { hiddenStates: true } });
      return { logits: out.logits.arraySync() as number[][], h: out.hiddenStates![out.hiddenStates!.length - 1].arraySync() as number[][] };
    });
    const E = tf.tidy(() => residentWeights(tied.params.model.embed_tokens).weight.arraySync());
    const src = SafetensorsFile.open(path.join(modelDir('llama-tiny'), 'model.safetensors'));
    const fileE = src.readFloat32('model.embed_tokens.weight');
    src.close();
    expect(Float32Array.from(E.flat())).toEqual(fileE); // E is the file's embed_tokens
    const ref = h.map((row) => E.map((e) => e.reduce((s, v, j) => s + v * row[j], 0)));
    expectClose(logits.flat(), ref.flat(), TOL.primitive, 'logits vs h·Eᵀ');
    expect(logits.length).toBe(ids.length);
    expect(logits[0].length).toBe(1000);
  });
});

describe('max_position_embeddings: prompt + new tokens past the limit is one line, before any compute', () => {
  const cfg = llamaConfig(tinyJson()); // max_position_embeddings 256

  it('checkPositions: T + maxNew − 1 positions are needed (the last new token is never fed back)', () => {
    expect(() => checkPositions(256, 1, cfg)).not.toThrow();
    expect(() => checkPositions(250, 7, cfg)).not.toThrow();   // 250 + 6 = 256
    expect(() => checkPositions(256, 0, cfg)).not.toThrow();
    refused(() => checkPositions(250, 8, cfg), /prompt is 250 tokens .* --max-new-tokens 8 .* 257 in all, beyond max_position_embeddings 256/);
    refused(() => checkPositions(257, 1, cfg), /257 in all, beyond max_position_embeddings 256/);
  });

  it('greedyGenerate refuses up front; a prompt that fits exactly runs', async () => {
    const p = loadLlama(modelDir('llama-tiny'));
    const short = { ...p.config, max_position_embeddings: 16 }; // the same weights with a 16-position limit
    try {
      const x = tf.tidy(() => embedTokens(p.params, [1, 17, 400, 999, 3, 8, 9, 10, 11, 12]));
      try {
        await expectRefusedAsync(() => greedyGenerate(p.params, short, x, { maxNewTokens: 8 }), /prompt is 10 tokens .*--max-new-tokens 8 .* 17 in all, beyond max_position_embeddings 16/);
        expect((await greedyGenerate(p.params, short, x, { maxNewTokens: 7 })).newIds).toHaveLength(7); // 10 + 6 = 16
      } finally {
        x.dispose();
      }
    } finally {
      disposeTree(p.params);
    }
  });
});
