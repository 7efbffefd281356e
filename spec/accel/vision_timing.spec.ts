/**
 * The vision timing of gpu-check on a tiny tower (the ViT-L run is gpu-check's job): runs, reads with
 * data(), reports every run and disposes everything.
 */
import { timeVisionViTL } from '../../src/accel/vision_timing';
import { clipVisionConfig } from '../../src/clip/config';

describe('timeVisionViTL', () => {
  it('reports `runs` timings after one warm-up, a finite output, and leaks nothing', async () => {
    const cfg = clipVisionConfig({ hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_hidden_layers: 3, image_size: 28, patch_size: 14, projection_dim: 16 });
    const r = await timeVisionViTL(2, 3, cfg, { attentions: [1], hiddenStates: [2] });
    expect(r.crops).toBe(2);
    expect(r.runs_ms).toHaveLength(3);
    expect(r.runs_ms.every((t) => t > 0)).toBe(true);
    expect(r.median_ms).toBe([...r.runs_ms].sort((a, b) => a - b)[1]);
    expect(r.last_hidden_state_finite).toBe(true);
  });
});
