/** CLIP config refusals: hidden_act other than quick_gelu / gelu is refused in one line naming the file. */
import { clipTextConfig, clipVisionConfig } from '../../src/clip/config';
import { HeroError } from '../../src/core/errors';

describe('clip config refusals', () => {
  it.each([['vision', clipVisionConfig], ['text', clipTextConfig]] as const)('%s: quick_gelu (default) and gelu accepted, others refused', (_, parse) => {
    expect(parse({}).hidden_act).toBe('quick_gelu');
    expect(parse({ hidden_act: 'gelu' }).hidden_act).toBe('gelu');
    for (const act of ['silu', 'relu', 'gelu_new']) {
      let err: unknown;
      try { parse({ hidden_act: act }, 'clip/config.json vision_config'); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(HeroError);
      expect((err as Error).message).toBe(`clip/config.json vision_config: hidden_act '${act}' is not supported (CLIP uses quick_gelu or gelu)`);
    }
  });
});
