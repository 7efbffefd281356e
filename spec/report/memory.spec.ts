/**
 * report/memory.ts runMemoryBytes: parameters counted from the parsed configs (4 bytes each) plus the
 * vision activation estimate for the most crops the pinpoints allow.
 */
import * as path from 'path';
import { runMemoryBytes } from '../../src/report/memory';
import { loadLlavaNextConfig } from '../../src/llava/load';
import { loadClipModelConfig } from '../../src/clip/load';
import { modelDir } from '../util/fixtures';
import { storedShapes } from '../util/keys';

const values = (dir: string): number => {
  let n = 0;
  for (const s of storedShapes(path.join(dir, 'model.safetensors')).values()) n += s.reduce((a, d) => a * d, 1);
  return n;
};

describe('report/memory · runMemoryBytes', () => {
  const llava = loadLlavaNextConfig(modelDir('llava-next-tiny'));
  it('adds 4 bytes per stored CLIP value when a CLIP model is given', () => {
    expect(runMemoryBytes(llava, loadClipModelConfig(modelDir('clip-tiny'))) - runMemoryBytes(llava)).toBe(4 * values(modelDir('clip-tiny')));
  });

  it('is 4 bytes per stored LLaVA value plus activations that grow with the largest pinpoint grid', () => {
    const S = llava.vision_config.image_size;
    const one = runMemoryBytes({ ...llava, image_grid_pinpoints: [[S, S]] });       // 1 + 1 crops
    const four = runMemoryBytes({ ...llava, image_grid_pinpoints: [[S, S], [2 * S, 2 * S]] }); // 1 + 4 crops
    const perCrop = (four - one) / 3;
    expect(perCrop).toBeGreaterThan(0);
    expect(one - 2 * perCrop).toBe(4 * values(modelDir('llava-next-tiny')));
  });
});
