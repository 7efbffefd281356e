/** Seeded random weights for timings (bench, gpu-check): the shapes of the key spec, reproducible, sane scales. */
import * as tf from '@tensorflow/tfjs-core';
import { randomParams, VIT_L_336 } from '../../src/weights/random_params';
import { disposeTree } from '../../src/io/checkpoint';

describe('randomParams', () => {
  const spec = new Map<string, readonly number[]>([['a.weight', [64, 256]], ['a.bias', [64]], ['layer_norm1.weight', [256]]]);
  type T = { a: { weight: tf.Tensor; bias: tf.Tensor }; layer_norm1: { weight: tf.Tensor } };

  it('builds the tree of the key spec; the same seed gives the same values, another seed others', () => {
    const x = randomParams<T>(spec, 3), y = randomParams<T>(spec, 3), z = randomParams<T>(spec, 4);
    try {
      expect(x.tree.a.weight.shape).toEqual([64, 256]);
      expect(x.host['a.weight'].shape).toEqual([64, 256]);
      expect(Array.from(x.tree.a.weight.dataSync())).toEqual(Array.from(y.tree.a.weight.dataSync()));
      expect(Array.from(x.tree.a.weight.dataSync())).not.toEqual(Array.from(z.tree.a.weight.dataSync()));
      // weights ~ N(0, 1/fan_in): std ≈ 1/16; norm weights ≈ 1; biases small
      const w = x.tree.a.weight.dataSync() as Float32Array;
      const std = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
      expect(Math.abs(std - 1 / 16)).toBeLessThan(0.005);
      expect(Math.max(...Array.from(x.tree.layer_norm1.weight.dataSync(), (v) => Math.abs(v - 1)))).toBeLessThan(0.15);
      expect(Math.max(...Array.from(x.tree.a.bias.dataSync(), Math.abs))).toBeLessThan(0.15);
    } finally {
      [x, y, z].forEach((p) => disposeTree(p.tree));
    }
  });

  it('VIT_L_336 is CLIP ViT-L/14-336: 24 layers of 1024, 16 heads, 576 patches', () => {
    expect([VIT_L_336.num_hidden_layers, VIT_L_336.hidden_size, VIT_L_336.num_attention_heads, VIT_L_336.intermediate_size]).toEqual([24, 1024, 16, 4096]);
    expect((VIT_L_336.image_size / VIT_L_336.patch_size) ** 2).toBe(576);
  });
});
