/**
 * LLaVA-1.5 (model_type 'llava') against HF transformers v4.45.1 (spec/fixtures/generate/llava15_cases.py):
 * CLIPImageProcessor and the original LLaVA's pad-to-square (cases/llava15_processor), then the whole model
 * through runPipeline (cases llava15_wide_crop, llava15_tall_pad): vision hidden states, projected features,
 * inputs_embeds, logits, greedy ids. Both checkpoint key layouts; the refusals.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readImage } from '../../src/io/image';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors';
import { flattenTree } from '../../src/io/checkpoint';
import { disposeLlavaNext, llavaNextKeys, loadLlavaNext, loadLlavaNextConfig } from '../../src/llava/load';
import { llavaNextConfig } from '../../src/llava/config';
import { expandToSquare, padColour, preprocessLlava15, validateClipImageProcessorConfig } from '../../src/llava/llava15';
import type { LlavaNextModel } from '../../src/llava/model';
import { runPipeline } from '../../src/pipeline';
import { expectClose } from '../util/close';
import { GOLDEN_BACKENDS, imagePath, loadCase, modelDir, useBackend } from '../util/fixtures';
import { TOL } from '../util/tolerances';
import { expectRefused, expectRefusedAsync } from '../util/errors';

const MODEL = modelDir('llava-1.5-tiny');
const IMAGES = ['wide_h30_w100', 'tall_h160_w30', 'square_h70_w80', 'odd_h31_w100'];
const preCfg = (): ReturnType<typeof validateClipImageProcessorConfig> =>
  validateClipImageProcessorConfig(JSON.parse(fs.readFileSync(path.join(MODEL, 'preprocessor_config.json'), 'utf8')), 'preprocessor_config.json');

describe('Proc-1 · LLaVA-1.5 preprocess equals CLIPImageProcessor v4.45.1, and LLaVA\'s pad variant (cases/llava15_processor)', () => {
  const gc = loadCase('llava15_processor');
  for (const name of IMAGES) {
    for (const aspect of ['crop', 'pad'] as const) {
      it(`${name} · ${aspect}`, async () => {
        const out = preprocessLlava15(await readImage(imagePath(name)), preCfg(), aspect);
        expect([...out.shape]).toEqual(gc.shape(`${name}.${aspect}.pixel_values`));
        expect(out.grid).toEqual([0, 0]);
        expectClose(out.pixelValues, gc.floats(`${name}.${aspect}.pixel_values`), TOL.pixels, `${name}.${aspect}`);
      });
    }
  }

  it('pad: the image-mean colour int(255·mean) = the golden\'s, the image centred with the floor offset', () => {
    expect(padColour(preCfg())).toEqual(gc.json.pad_colour);
    // a 1-row, 4-wide image → 4 × 4, pasted at row (4 − 1) // 2 = 1
    const img = { width: 4, height: 1, data: new Uint8Array(12).fill(7) };
    const sq = expandToSquare(img, [1, 2, 3]);
    expect([sq.width, sq.height]).toEqual([4, 4]);
    const rows = [0, 1, 2, 3].map((y) => Array.from(sq.data.subarray(y * 12, y * 12 + 3)));
    expect(rows).toEqual([[1, 2, 3], [7, 7, 7], [1, 2, 3], [1, 2, 3]]);
    const square = { width: 2, height: 2, data: new Uint8Array(12) };
    expect(expandToSquare(square, [1, 2, 3])).toBe(square);
  });

  it('refuses a CLIPImageProcessor config with pinpoints, and keeps the LLaVA-NeXT checks', () => {
    const raw = JSON.parse(fs.readFileSync(path.join(MODEL, 'preprocessor_config.json'), 'utf8'));
    expectRefused(() => validateClipImageProcessorConfig({ ...raw, image_grid_pinpoints: [[56, 56]] }, 'p.json'), /p\.json: image_grid_pinpoints is set/);
    expectRefused(() => validateClipImageProcessorConfig({ ...raw, resample: 2 }, 'p.json'), /resample/);
  });
});

describe('LLaVA-1.5 config · family detection', () => {
  const json = JSON.parse(fs.readFileSync(path.join(MODEL, 'config.json'), 'utf8'));
  it('model_type llava: no pinpoints, the fields of LlavaConfig; anything else is named', () => {
    const c = loadLlavaNextConfig(MODEL);
    expect(c.model_type).toBe('llava');
    expect(c.image_grid_pinpoints).toEqual([]);
    expect(llavaNextConfig({ ...json, model_type: 'llava_next', image_grid_pinpoints: [[56, 112]] }).model_type).toBe('llava_next');
    expectRefused(() => llavaNextConfig({ ...json, model_type: 'llava_onevision' }), /model_type is 'llava_onevision'/);
    expectRefused(() => llavaNextConfig({ ...json, vision_feature_select_strategy: 'full' }), /'full' is not supported/);
  });
});

/** The ≥ 4.52 name of a ≤ 4.51 LLaVA key (LlavaForConditionalGeneration's own conversion mapping, inverted). */
function newLayout(k: string): string {
  return k.replace(/^language_model\.model\./, 'model.language_model.').replace(/^vision_tower\./, 'model.vision_tower.')
    .replace(/^multi_modal_projector\./, 'model.multi_modal_projector.').replace(/^language_model\.lm_head\.weight$/, 'lm_head.weight');
}

describe('LLaVA-1.5 checkpoint · both key layouts', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-llava15-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('≤ 4.51 and ≥ 4.52 names load to identical params: 96 tensors, no image_newline', () => {
    for (const f of ['config.json', 'preprocessor_config.json']) fs.copyFileSync(path.join(MODEL, f), path.join(tmp, f));
    const src = SafetensorsFile.open(path.join(MODEL, 'model.safetensors'));
    const out: Record<string, TensorToWrite> = {};
    for (const k of src.names()) out[newLayout(k)] = { dtype: 'F32', shape: src.info(k).shape, data: src.readFloat32(k) };
    src.close();
    expect(Object.keys(out).some((k) => k.startsWith('model.language_model.'))).toBe(true);
    writeSafetensors(path.join(tmp, 'model.safetensors'), out);
    const a = loadLlavaNext(MODEL), b = loadLlavaNext(tmp);
    try {
      expect(llavaNextKeys(a.config).size).toBe(96);
      expect(a.params.image_newline).toBeUndefined();
      expect(a.derived).toEqual({ cropPx: 56, patchGrid: 4, tokensPerCrop: 16, featureLayer: 3 });
      const fa = flattenTree(a.params), fb = flattenTree(b.params);
      expect(fa.size).toBe(96);
      for (const [k, t] of fa) expect({ k, same: Array.from(t.dataSync()).every((v, i) => v === fb.get(k)!.dataSync()[i]) }).toEqual({ k, same: true });
    } finally {
      disposeLlavaNext(a);
      disposeLlavaNext(b);
    }
  });
});

describe.each(GOLDEN_BACKENDS)('LLaVA-1, LLaVA-4, LLaVA-5 · LLaVA-1.5 end to end vs HF v4.45.1 (%s backend)', (backend) => {
  let m: LlavaNextModel;
  beforeAll(async () => {
    await useBackend(backend);
    m = loadLlavaNext(MODEL);
  });
  afterAll(() => disposeLlavaNext(m));

  for (const name of ['llava15_wide_crop', 'llava15_tall_pad']) {
    it(`${name}: pixel_values, hidden states, projected features, inputs_embeds, logits, greedy ids`, async () => {
      const gc = loadCase(name);
      const ids = gc.numbers('input_ids');
      const image = m.config.image_token_index;
      const oneImageToken = ids.filter((t, i) => t !== image || ids[i - 1] !== image);
      const r = await runPipeline(m, {
        image: await readImage(path.join(path.dirname(path.dirname(MODEL)), gc.json.image)), imageAspect: gc.json.image_aspect,
        inputIds: oneImageToken, method: { name: 'none' }, maxNewTokens: 5, trace: true,
      });
      expect(r.inputIds).toEqual(ids);
      expect([r.visualTokens, r.visualTokensFull, r.numNewlines]).toEqual([16, 16, 0]);
      expectClose(r.trace.get('pixel_values')!.data as Float32Array, gc.floats('pixel_values'), TOL.pixels, 'pixel_values');
      for (let i = 0; i <= m.config.vision_config.num_hidden_layers; i++) {
        expectClose(r.trace.get(`vision.hidden_states.${i}`)!.data as Float32Array, gc.floats(`vision.hidden_states.${i}`), TOL.golden, `vision.hidden_states.${i}`);
      }
      for (const k of ['image_features_projected', 'inputs_embeds', 'logits']) {
        expect(r.trace.get(k)!.shape).toEqual(gc.shape(k));
        expectClose(r.trace.get(k)!.data as Float32Array, gc.floats(k), TOL.golden, k);
      }
      // LLaVA-1.5's sequence is the projected crop itself (no newline, nothing reordered)
      expect(Array.from(r.trace.get('image_features_packed')!.data as Float32Array)).toEqual(Array.from(r.trace.get('image_features_projected')!.data as Float32Array));
      expect([...ids, ...r.newIds]).toEqual(gc.numbers('generated_ids'));
    });
  }

  it('--image-aspect pad on LLaVA-NeXT is refused', async () => {
    const next = loadLlavaNext(modelDir('llava-next-tiny'));
    try {
      await expectRefusedAsync(async () => runPipeline(next, {
        image: await readImage(imagePath('wide_h30_w100')), imageAspect: 'pad', inputIds: [1, 1000, 2], method: { name: 'none' }, maxNewTokens: 1,
      }), /--image-aspect: pad is for LLaVA-1\.5/);
    } finally {
      disposeLlavaNext(next);
    }
  });
});
