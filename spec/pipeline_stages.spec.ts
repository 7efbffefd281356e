/**
 * runPipeline's stages and their timings (PipelineResult.timings): the keys in stage order, each stage
 * measuring itself (`prefill` is the prompt's one forward call, `decode` the other tokens), the stages
 * disjoint (their sum is at most the wall time around the call), and a trace prefills once: the prompt goes
 * through the decoder exactly once (the trace's logits and the generation share that forward call).
 * No threshold on absolute time. Every forward call (llamaForward, or a hookedDecoder's forward for a method
 * with a decoder hook) is counted through module mocks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type LlavaNextModel } from '../src/llava/model';
import { loadLlavaNext, disposeLlavaNext } from '../src/llava/load';
import { type ClipModel } from '../src/clip/model';
import { loadClipModel, disposeClipModel } from '../src/clip/load';
import { readImage, type RgbImage } from '../src/io/image';
import { runPipeline, type PipelineInput, type PipelineResult } from '../src/pipeline';
import { imagePath, loadCase, modelDir, useBackend } from './util/fixtures';

/** Rows of every forward call (llamaForward, a hookedDecoder's forward) since the last reset (> 1: a prompt chunk; 1: a decode step), and the stage it ran in. */
const forwardRows: number[] = [];
const forwardStages: string[] = [];
let currentStage = '';
jest.mock('../src/llama/decoder', () => {
  const actual = jest.requireActual('../src/llama/decoder');
  return {
    ...actual,
    llamaForward: (...args: Parameters<typeof actual.llamaForward>) => {
      forwardRows.push((args[1] as tf.Tensor2D).shape[0]);
      forwardStages.push(currentStage);
      return actual.llamaForward(...args);
    },
  };
});
jest.mock('../src/baselines/decoder_hooks', () => {
  const actual = jest.requireActual('../src/baselines/decoder_hooks');
  return {
    ...actual,
    hookedDecoder: (...args: Parameters<typeof actual.hookedDecoder>) => {
      const d = actual.hookedDecoder(...args);
      return {
        newCache: d.newCache,
        forward: (...f: Parameters<typeof d.forward>) => {
          forwardRows.push((f[1] as tf.Tensor2D).shape[0]);
          forwardStages.push(currentStage);
          return d.forward(...f);
        },
      };
    },
  };
});

const STAGES = ['preprocess', 'vision', 'select', 'prefill', 'decode'];

describe('runPipeline timings: one key per stage, in order, disjoint; prefill is the prefill (cpu)', () => {
  let m: LlavaNextModel;
  let clip: ClipModel;
  let image: RgbImage;
  let ids: number[];
  beforeAll(async () => {
    await useBackend('cpu');
    m = loadLlavaNext(modelDir('llava-next-tiny'));
    clip = loadClipModel(modelDir('clip-tiny'));
    image = await readImage(imagePath('wide_h30_w100'));
    ids = loadCase('llava_wide').numbers('legacy_input_ids');
  });
  afterAll(() => { disposeLlavaNext(m); disposeClipModel(clip); });

  const timed = async (input: Omit<PipelineInput, 'image' | 'inputIds'>): Promise<{ r: PipelineResult; wall: number }> => {
    forwardRows.length = 0;
    forwardStages.length = 0;
    const t0 = performance.now();
    const r = await runPipeline(m, { image, inputIds: ids, ...input, onStage: (s) => { currentStage = s; } });
    return { r, wall: performance.now() - t0 };
  };
  const checkTimes = (t: Record<string, number>, wall: number): void => {
    expect(t.prefill).toBeGreaterThan(0);
    for (const v of Object.values(t)) expect(v).toBeGreaterThanOrEqual(0);
    expect(Object.values(t).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(wall);
  };

  it('none: preprocess, vision, select, prefill, decode; one prompt forward, then one per further token', async () => {
    const { r, wall } = await timed({ method: { name: 'none' }, maxNewTokens: 4 });
    expect(Object.keys(r.timings)).toEqual(STAGES);
    checkTimes(r.timings, wall);
    // the prefill gives the first token, inside the prefill stage; each further token is one decode step of one row
    expect(r.newIds.length).toBeGreaterThan(1);
    expect(forwardRows).toEqual([r.inputIds.length, ...Array.from({ length: r.newIds.length - 1 }, () => 1)]);
    expect(forwardStages).toEqual(['prefill', ...Array.from({ length: r.newIds.length - 1 }, () => 'decode')]);
  });

  it('hero: its CLIP pass is its own stage before select (select excludes it)', async () => {
    const gc = loadCase('hero_square_r50_a80');
    const s = gc.json.settings;
    const { r, wall } = await timed({
      method: {
        name: 'hero', clip, clipTextIds: gc.numbers('clip_input_ids'),
        options: { variant: 'code', ratio: s.R, alpha: s.alpha, tauV: s.T_cls, tauT: s.T_clip, lowLayers: s.low_layers, highLayers: s.high_layers, densityWeight: 0.2 },
      },
      maxNewTokens: 2,
    });
    expect(Object.keys(r.timings)).toEqual(['preprocess', 'vision', 'clip_relevance', 'select', 'prefill', 'decode']);
    checkTimes(r.timings, wall);
  });

  it('a trace prefills once: the trace logits and the generation come from the same forward call', async () => {
    const plain = await timed({ method: { name: 'fastv', options: { layer: 1, ratio: 0.5 } }, maxNewTokens: 3 });
    const { r, wall } = await timed({ method: { name: 'fastv', options: { layer: 1, ratio: 0.5 } }, maxNewTokens: 3, trace: true });
    expect(Object.keys(r.timings)).toEqual(STAGES);
    checkTimes(r.timings, wall);
    expect(forwardRows.filter((n) => n > 1)).toEqual([r.inputIds.length]);
    expect(forwardRows).toHaveLength(r.newIds.length);
    expect(forwardStages[0]).toBe('prefill');
    // the logits are those of the rows FastV keeps, the answer the same as without a trace
    const kept = r.trace.get('fastv.kept_positions')!.data as number[];
    expect(r.trace.get('logits')!.shape).toEqual([1, kept.length, m.config.text_config.vocab_size]);
    expect(kept.length).toBeLessThan(r.inputIds.length);
    expect(r.newIds).toEqual(plain.r.newIds);
    // the first new token is the argmax of the trace's last logits row
    const V = m.config.text_config.vocab_size, lg = r.trace.get('logits')!.data as Float32Array;
    const last = Array.from(lg.subarray((kept.length - 1) * V));
    expect(r.newIds[0]).toBe(last.indexOf(Math.max(...last)));
  });

  it('maxNewTokens 0 with a trace: the prefill still runs (the logits), nothing is generated', async () => {
    const { r } = await timed({ method: { name: 'none' }, maxNewTokens: 0, trace: true });
    expect(forwardRows).toEqual([r.inputIds.length]);
    expect(r.newIds).toEqual([]);
    expect(r.trace.get('logits')!.shape).toEqual([1, r.inputIds.length, m.config.text_config.vocab_size]);
  });
});
