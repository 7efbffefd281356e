/**
 * The method registry (src/methods/index.ts): every --method name has exactly one Method object, every flag a
 * method contributes reaches the CLI, an unknown name is refused naming --method, and each method validates
 * its own options (a bad --ratio is refused by every method, whatever its default).
 */
import { METHODS, METHOD_NAMES, methodByName } from '../../src/methods';
import { METHOD_FLAGS } from '../../src/cli/common';
import { METHOD_CLI, methodFlags } from '../../src/cli/method_flags';
import { attentionMapLabels } from '../../src/report/method_report';
import type { LlavaNextConfig } from '../../src/llava/config';
import { HeroError } from '../../src/core/errors';
import type { LlavaNextModel } from '../../src/llava/model';

/** Only what the methods' configure functions read from a config (and their taps from a model). */
const config = {
  vision_config: { num_hidden_layers: 24, num_attention_heads: 16, image_size: 336, patch_size: 14 }, text_config: { num_hidden_layers: 32 },
  vision_feature_layer: -2,
} as unknown as LlavaNextConfig;
const model = { config, derived: { tokensPerCrop: 576, featureLayer: 23 } } as unknown as LlavaNextModel;

describe('method registry', () => {
  it('one Method per name, in the order of METHOD_NAMES', () => {
    expect(METHODS.map((m) => m.name)).toEqual([...METHOD_NAMES]);
    for (const n of METHOD_NAMES) expect(methodByName(n).name).toBe(n);
    expect(() => methodByName('magic')).toThrow(/--method: unknown method 'magic' \(choose one of hero, none, /);
  });

  it("every method's flags are CLI flags; a flag two methods read is listed once with both helps", () => {
    for (const n of METHOD_NAMES) for (const k of Object.keys(METHOD_CLI[n].flags)) expect(Object.keys(METHOD_FLAGS)).toContain(k);
    expect(methodFlags().alpha.help).toMatch(/^HERO α .*; HiRED α/);
    expect(METHOD_FLAGS.ratio.help).toMatch(/hero 0\.2.*fastervlm 0\.25.*hired 0\.2.*globalcom2 0\.25.*fastv 0\.5.*sparsevlm 0\.5/);
  });

  it.each(METHOD_NAMES)('%s: refuses --ratio outside (0, 1] in its own configure', (name) => {
    for (const ratio of [0, 1.5, NaN]) {
      expect(() => methodByName(name).configure({ method: name, ratio, alpha: 1 }, config)).toThrow(HeroError);
      expect(() => methodByName(name).configure({ method: name, ratio, alpha: 1 }, config)).toThrow(/--ratio/);
    }
  });

  it('the defaults come from the method and the model config (no --ratio given)', () => {
    const cfg = (name: string, raw = {}): unknown => methodByName(name).configure({ method: name, ...raw }, config);
    expect(cfg('hero', { alpha: 1 })).toMatchObject({ ratio: 0.2, lowLayers: [5, 6, 7, 8], highLayers: [21] });
    expect(cfg('fastervlm')).toEqual({ tokensPerCrop: 144, grid: 'fixed' }); // ⌊576 · 0.25⌋
    expect(cfg('hired')).toEqual({ ratio: 0.2, alpha: 0.5, gridOrientation: 'as-coded' });
    expect(cfg('globalcom2')).toEqual({ ratio: 0.25, visionHeads: 16, placement: 'as-coded' });
    expect(cfg('fastv')).toEqual({ layer: 2, ratio: 0.5 });
    expect(cfg('sparsevlm')).toMatchObject({ layers: [2, 6, 15, 19], ratio: 0.5, seed: 0 });
    expect(cfg('none')).toEqual({});
    expect(cfg('prumerge+')).toEqual({ plus: true });
  });
});

describe('attentionMapLabels: what each method frames in the run report', () => {
  const spec = (name: string, raw = {}) => ({ name, options: methodByName(name).configure({ method: name, ...raw }, config) }) as never;
  it('a method without its own marks frames the layers of its taps in every crop', () => {
    // FasterVLM reads the CLS attention that produces hidden_states[-2] = the output of layer 22 (0-based, 24 layers)
    expect(attentionMapLabels(spec('fastervlm'), model, new Map(), 3, 576)).toEqual({
      marks: [{ layers: [22], crops: [0, 1, 2], label: 'read by fastervlm: layer 22' }],
    });
  });
  it('HERO marks its own layer sets: high layers on the thumbnail, low layers on the tiles', () => {
    const { marks } = attentionMapLabels(spec('hero', { alpha: 1 }), model, new Map(), 3, 576);
    expect(marks!.map((k: { layers: readonly number[]; crops: readonly number[] }) => [k.layers, k.crops])).toEqual([[[21], [0]], [[5, 6, 7, 8], [1, 2]]]);
  });
  it('plain LLaVA-NeXT reads no attention: nothing framed, no extra row', () => {
    expect(attentionMapLabels(spec('none'), model, new Map(), 3, 576)).toEqual({});
  });
});
