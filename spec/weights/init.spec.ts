/** The one random-weight init (default model, timing weights, the specs' random models). */
import { drawInit, fanIn, fanInInit, initByName, normalInit } from '../../src/weights/init';
import { Rng } from '../../src/weights/rng';

describe('weights init', () => {
  it('fan-in is the product of every axis but the first (1 for a vector)', () => {
    expect(fanIn([64, 256])).toBe(256);
    expect(fanIn([8, 3, 14, 14])).toBe(588);
    expect(fanIn([7])).toBe(1);
    expect(fanInInit(256)).toEqual({ kind: 'normal', mean: 0, std: 1 / 16 });
  });

  it('initByName: norm weights around 1, biases small, the rest N(0, 1/fan_in)', () => {
    expect(initByName('model.layers.0.input_layernorm.weight', [8], 0.02, 0.1)).toEqual(normalInit(0.1, 1));
    expect(initByName('vision_model.pre_layrnorm.weight', [8], 0.02, 0.1)).toEqual(normalInit(0.1, 1));
    expect(initByName('vision_model.pre_layrnorm.bias', [8], 0.02, 0.1)).toEqual(normalInit(0.02));
    expect(initByName('a.q_proj.bias', [8], 0.02, 0.1)).toEqual(normalInit(0.02));
    expect(initByName('a.q_proj.weight', [8, 64], 0.02, 0.1)).toEqual(normalInit(1 / 8));
  });

  it('drawInit: the Rng stream (seed, name), mean + std·N(0,1) in fp32; constants filled', () => {
    const x = drawInit(normalInit(0.5, 1), 1000, 9, 'm/w');
    const ref = new Rng(9, 'm/w');
    expect(Array.from(x)).toEqual(Array.from({ length: 1000 }, () => Math.fround(1 + 0.5 * ref.normal())));
    expect(Array.from(drawInit(normalInit(0.5, 1), 4, 9, 'm/other'))).not.toEqual(Array.from(x.subarray(0, 4)));
    expect(Array.from(drawInit({ kind: 'const', value: 2 }, 3, 9, 'c'))).toEqual([2, 2, 2]);
  });
});
