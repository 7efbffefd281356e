/**
 * clip/load.ts: the key specs against the tensors HF wrote (clip-tiny, a CLIPVisionModel in f16), the
 * parameter count against OpenAI CLIP ViT-L/14's published one, and the loaders' one-line errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { clipModelConfig, clipVisionConfig } from '../../src/clip/config';
import { clipModelKeys, clipParameterCount, clipVisionKeys, loadClipModel, loadClipModelConfig, loadClipVisionModel } from '../../src/clip/load';
import { HeroError } from '../../src/core/errors';
import { modelDir } from '../util/fixtures';
import { storedShapes, sortedEntries } from '../util/keys';

const readJson = (dir: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));

describe('clip/load · key specs and parameter count', () => {
  it('clipModelKeys of clip-tiny/config.json is exactly the names and shapes HF saved', () => {
    const dir = modelDir('clip-tiny');
    expect(sortedEntries(clipModelKeys(clipModelConfig(readJson(dir))))).toEqual(sortedEntries(storedShapes(path.join(dir, 'model.safetensors'))));
    expect(loadClipModelConfig(dir)).toEqual(clipModelConfig(readJson(dir), path.join(dir, 'config.json')));
  });

  it('clipVisionKeys of a CLIPVisionModel config.json is exactly what HF saved', () => {
    const dir = modelDir('clip-vit-l-336-1layer-f16');
    const json = readJson(dir);
    const spec = clipVisionKeys(clipVisionConfig((json.vision_config ?? json) as Record<string, unknown>), 'vision_model.');
    expect(sortedEntries(spec)).toEqual(sortedEntries(storedShapes(path.join(dir, 'model.safetensors'))));
  });

  it('OpenAI CLIP ViT-L/14 has 427,616,513 parameters; at 336 px, 320 more positions of width 1024', () => {
    const text = { hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, projection_dim: 768 };
    const vision = { hidden_size: 1024, intermediate_size: 4096, num_attention_heads: 16, num_hidden_layers: 24, patch_size: 14, projection_dim: 768 };
    expect(clipParameterCount(clipModelConfig({ projection_dim: 768, text_config: text, vision_config: vision }))).toBe(427_616_513);
    expect(clipParameterCount(clipModelConfig({ projection_dim: 768, text_config: text, vision_config: { ...vision, image_size: 336 } })))
      .toBe(427_616_513 + (577 - 257) * 1024);
  });

  it('a directory without config.json is one line naming the flag or the model kind', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-clip-load-'));
    try {
      expect(() => loadClipModel(dir)).toThrow(new HeroError(`--clip: '${dir}' has no config.json`));
      expect(() => loadClipVisionModel(dir)).toThrow(new HeroError(`CLIP vision model: '${dir}' has no config.json`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
