import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SafetensorsFile } from '../../src/io/safetensors';
import {
  generateDefaultWeights, ensureDefaultWeights, readManifest, hashTree, DEFAULT_MODEL_DIR, DEFAULT_CLIP_DIR,
} from '../../src/weights/default_model';
import { modelDir } from '../util/fixtures';

/* eslint-disable @typescript-eslint/no-explicit-any */
const readJson = (f: string): any => JSON.parse(fs.readFileSync(f, 'utf8'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-weights-'));
let hashes: Record<string, string>;
beforeAll(() => {
  hashes = generateDefaultWeights(path.join(tmp, 'gen'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Tensor names with layer indices folded to `{i}` (so a 24-layer and a 4-layer tower compare equal). */
function keyPattern(file: string): string[] {
  const f = SafetensorsFile.open(file);
  const names = f.names();
  f.close();
  return [...new Set(names.map((n) => n.replace(/\.layers\.\d+\./, '.layers.{i}.')))].sort();
}

describe('default model · generation', () => {
  it('is deterministic: a fresh generation matches every sha256 in weights/manifest.json', () => {
    const m = readManifest();
    expect(m).not.toBeNull();
    expect(hashes).toEqual(m!.files);
  });

  it('ensureDefaultWeights generates once, then reuses; a corrupted file triggers regeneration', () => {
    const root = path.join(tmp, 'ensure');
    const logs: string[] = [];
    const log = (m: string): void => { logs.push(m); };
    const a = ensureDefaultWeights({ root, log });
    expect(a).toEqual({ llavaDir: path.join(root, 'llava-next'), clipDir: path.join(root, 'clip'), generated: true });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/RANDOM weights/);
    expect(ensureDefaultWeights({ root, log }).generated).toBe(false);
    fs.writeFileSync(path.join(root, 'clip', 'config.json'), '{}');
    expect(ensureDefaultWeights({ root, log }).generated).toBe(true);
    expect(hashTree(root)).toEqual(readManifest()!.files);
    expect(fs.readdirSync(root).sort()).toEqual(['clip', 'llava-next']); // no temp dirs left behind
  });

  it('defaults to weights/default/{llava-next,clip}', () => {
    expect(path.relative(process.cwd(), DEFAULT_MODEL_DIR).split(path.sep)).toEqual(['weights', 'default', 'llava-next']);
    expect(path.relative(process.cwd(), DEFAULT_CLIP_DIR).split(path.sep)).toEqual(['weights', 'default', 'clip']);
  });
});

describe('default model · LLaVA-NeXT directory (HF layout, real geometry)', () => {
  const dir = (): string => path.join(tmp, 'gen', 'llava-next');

  it('config.json carries llava-v1.6 geometry: 336/14, 24 vision layers, five pinpoints, <image> 32000', () => {
    const c = readJson(path.join(dir(), 'config.json'));
    expect(c.model_type).toBe('llava_next');
    expect(c.transformers_version).toBe('4.45.1');
    expect(c.image_grid_pinpoints).toEqual([[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]);
    expect(c.image_token_index).toBe(32000);
    expect(c.image_seq_length).toBe(576);
    expect(c.vision_feature_layer).toBe(-2);
    expect(c.vision_feature_select_strategy).toBe('default');
    expect(c.projector_hidden_act).toBe('gelu');
    expect(c.vision_config).toMatchObject({ image_size: 336, patch_size: 14, num_hidden_layers: 24, hidden_act: 'quick_gelu' });
    expect(c.text_config.num_hidden_layers).toBe(32); // Vicuna-7B's depth: FastV K = 2, SparseVLM 2/6/15/19 apply
    expect(c.vision_config.hidden_size % c.vision_config.num_attention_heads).toBe(0);
    expect(c.text_config).toMatchObject({ model_type: 'llama', vocab_size: 32064, rope_theta: 10000, rms_norm_eps: 1e-5, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0 });
    expect(c.text_config.max_position_embeddings).toBeGreaterThanOrEqual(4096);
    expect(c.text_config.head_dim * c.text_config.num_attention_heads).toBe(c.text_config.hidden_size);
  });

  it('preprocessor_config.json is llava-hf\'s (CLIP mean/std, shortest edge 336, crop 336, bicubic, pad)', () => {
    const p = readJson(path.join(dir(), 'preprocessor_config.json'));
    expect(p).toMatchObject({
      size: { shortest_edge: 336 }, crop_size: { height: 336, width: 336 }, resample: 3, do_pad: true,
      image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711],
      rescale_factor: 0.00392156862745098, image_processor_type: 'LlavaNextImageProcessor',
    });
    expect(p.image_grid_pinpoints).toEqual(readJson(path.join(dir(), 'config.json')).image_grid_pinpoints);
  });

  it('model.safetensors has exactly the key names of the llava-next-tiny golden, with config shapes', () => {
    const file = path.join(dir(), 'model.safetensors');
    expect(keyPattern(file)).toEqual(keyPattern(path.join(modelDir('llava-next-tiny'), 'model.safetensors')));
    const c = readJson(path.join(dir(), 'config.json'));
    const f = SafetensorsFile.open(file);
    const v = c.vision_config;
    const t = c.text_config;
    expect(f.info('vision_tower.vision_model.embeddings.position_embedding.weight').shape).toEqual([(v.image_size / v.patch_size) ** 2 + 1, v.hidden_size]);
    expect(f.info('vision_tower.vision_model.embeddings.patch_embedding.weight').shape).toEqual([v.hidden_size, 3, v.patch_size, v.patch_size]);
    expect(f.names().filter((n) => n.endsWith('.layer_norm1.weight'))).toHaveLength(v.num_hidden_layers);
    expect(f.names().filter((n) => n.endsWith('.input_layernorm.weight'))).toHaveLength(t.num_hidden_layers);
    expect(f.info('language_model.model.embed_tokens.weight').shape).toEqual([t.vocab_size, t.hidden_size]);
    expect(f.info('language_model.lm_head.weight').shape).toEqual([t.vocab_size, t.hidden_size]);
    expect(f.info('language_model.model.layers.0.mlp.gate_proj.weight').shape).toEqual([t.intermediate_size, t.hidden_size]);
    expect(f.info('multi_modal_projector.linear_1.weight').shape).toEqual([t.hidden_size, v.hidden_size]);
    expect(f.info('image_newline').shape).toEqual([t.hidden_size]);
    f.close();
  });

  it('tokenizer.json holds the Llama-2 vocabulary plus <image> 32000 and <pad> 32001; README says RANDOM WEIGHTS', () => {
    const tj = readJson(path.join(dir(), 'tokenizer.json'));
    expect(Object.keys(tj.model.vocab)).toHaveLength(32000);
    expect(tj.model.merges).toHaveLength(61249);
    expect(tj.added_tokens.map((a: any) => [a.id, a.content, a.special])).toEqual([
      [0, '<unk>', true], [1, '<s>', true], [2, '</s>', true], [32000, '<image>', true], [32001, '<pad>', true]]);
    expect(fs.readFileSync(path.join(dir(), 'README.md'), 'utf8')).toMatch(/RANDOM WEIGHTS/);
  });
});

describe('default model · CLIP directory', () => {
  const dir = (): string => path.join(tmp, 'gen', 'clip');

  it('has the CLIPModel key names of the clip-tiny golden, logit_scale = ln 100, vision geometry as LLaVA\'s', () => {
    const file = path.join(dir(), 'model.safetensors');
    expect(keyPattern(file)).toEqual(keyPattern(path.join(modelDir('clip-tiny'), 'model.safetensors')));
    const f = SafetensorsFile.open(file);
    expect(f.readFloat32('logit_scale')[0]).toBeCloseTo(Math.log(100), 6);
    const c = readJson(path.join(dir(), 'config.json'));
    expect(c.vision_config).toEqual(readJson(path.join(tmp, 'gen', 'llava-next', 'config.json')).vision_config);
    expect(c.text_config.max_position_embeddings).toBe(77);
    expect(f.info('text_model.embeddings.token_embedding.weight').shape).toEqual([c.text_config.vocab_size, c.text_config.hidden_size]);
    expect(f.info('visual_projection.weight').shape).toEqual([c.projection_dim, c.vision_config.hidden_size]);
    expect(f.info('text_projection.weight').shape).toEqual([c.projection_dim, c.text_config.hidden_size]);
    f.close();
  });

  it('vocab size and bos/eos ids in config.json come from the generated tokenizer', () => {
    const c = readJson(path.join(dir(), 'config.json'));
    const tj = readJson(path.join(dir(), 'tokenizer.json'));
    const vocab = tj.model.vocab as Record<string, number>;
    expect(c.text_config.vocab_size).toBe(Object.keys(vocab).length);
    expect(c.text_config.bos_token_id).toBe(vocab['<|startoftext|>']);
    expect(c.text_config.eos_token_id).toBe(vocab['<|endoftext|>']);
    expect(Math.max(...Object.values(vocab))).toBe(Object.keys(vocab).length - 1);
  });
});

describe('default model · weights', () => {
  it('every tensor is finite, F32, and follows the init scheme (norm weights ≈ 1, linear std ≈ 1/√fan_in)', () => {
    for (const sub of ['llava-next', 'clip']) {
      const f = SafetensorsFile.open(path.join(tmp, 'gen', sub, 'model.safetensors'));
      for (const n of f.names()) {
        const info = f.info(n);
        expect(info.dtype).toBe('F32');
        const x = f.readFloat32(n);
        if (!x.every(Number.isFinite)) throw new Error(`${sub}: ${n} has a non-finite value`);
        const mean = x.reduce((a, v) => a + v, 0) / x.length;
        const std = Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length);
        if (/(norm|layrnorm|layer_norm\d)\.weight$/.test(n)) expect(Math.abs(mean - 1)).toBeLessThan(0.1);
        else if (x.length >= 4096 && /(proj|fc\d|linear_\d|patch_embedding)\.weight$/.test(n)) {
          const fanIn = info.shape.slice(1).reduce((a, d) => a * d, 1);
          expect(std * Math.sqrt(fanIn)).toBeGreaterThan(0.9);
          expect(std * Math.sqrt(fanIn)).toBeLessThan(1.1);
        }
      }
      f.close();
    }
  });
});
