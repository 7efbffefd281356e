/** The README's library example, run on the golden tiny model (ids instead of a prompt: it has no tokenizer). */
import * as lib from '../src/index';
import * as saliencyMod from '../src/hero/saliency';
import * as relevanceMod from '../src/hero/relevance';
import * as budgetMod from '../src/hero/budget';
import * as scoresMod from '../src/hero/scores';
import * as selectMod from '../src/hero/select';
import { imagePath, modelDir, loadCase } from './util/fixtures';

describe('library API (README example)', () => {
  it('loads, runs the pipeline with a trace, and exposes the HERO equations one by one', async () => {
    const model = lib.loadLlavaNext(modelDir('llava-next-tiny'));
    try {
      const image = await lib.readImage(imagePath('wide_h30_w100'));
      const ids = loadCase('llava_wide').numbers('legacy_input_ids');
      const r = await lib.runPipeline(model, { image, inputIds: ids, method: { name: 'none' }, maxNewTokens: 5, trace: true });
      expect(r.visualTokens).toBe(34);
      expect(r.trace.get('logits')!.shape).toEqual([1, 40, 1024]);
      expect(r.newIds).toEqual([524, 936, 162, 854, 79]); // the llava_wide golden's greedy tokens
    } finally {
      lib.disposeLlavaNext(model);
    }
    // lib.hero exposes the equation functions themselves (the ones the HERO specs test), not wrappers or stubs
    const impl: Record<string, unknown> = { ...saliencyMod, ...relevanceMod, ...budgetMod, ...scoresMod, ...selectMod };
    for (const f of ['saliency', 'relevance', 'clsSimilarity', 'clipSimilarity', 'validMask', 'density', 'importance', 'tokenBudgets', 'layerAveragedClsAttention', 'topKMask', 'heroLayout']) {
      expect({ f, same: (lib.hero as Record<string, unknown>)[f] === impl[f] && impl[f] !== undefined }).toEqual({ f, same: true });
    }
    expect(lib.prefillFlops(2673, lib.presetDims('vicuna-7b')) / 1e12).toBeCloseTo(38.37, 2);
  });

  it('LLaVA-1.5: the same entry points load and run it; its processor is exported', async () => {
    const model = lib.loadLlavaNext(modelDir('llava-1.5-tiny'));
    try {
      expect(lib.isLlava15(model.config)).toBe(true);
      const image = await lib.readImage(imagePath('wide_h30_w100'));
      const ids = loadCase('llava15_wide_crop').numbers('input_ids');
      const r = await lib.runPipeline(model, { image, inputIds: ids.filter((t, i) => t !== 1000 || ids[i - 1] !== 1000), method: { name: 'none' }, maxNewTokens: 5 });
      expect(r.visualTokens).toBe(16);
      expect([...ids, ...r.newIds]).toEqual(loadCase('llava15_wide_crop').numbers('generated_ids'));
      expect(lib.preprocessLlava15(image, model.processor, 'pad').shape).toEqual([1, 3, 56, 56]);
    } finally {
      lib.disposeLlavaNext(model);
    }
  });
});
