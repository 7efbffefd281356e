/**
 * CLIP vision tower against HF v4.45.1 (clip_vision_tiny; clip_vit_l_336_1layer at ViT-L/14-336 width,
 * F16 weights upcast), plus the patchify metamorphic test and attention properties.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { visionModel } from '../../src/clip/vision';
import { patchify, visionEmbeddings } from '../../src/clip/embeddings';
import { imageFeatures, type ClipModel } from '../../src/clip/model';
import { disposeTree } from '../../src/io/checkpoint';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors';
import { attentionProbs } from '../../src/nn/attention';
import { HeroError } from '../../src/core/errors';
import { tidyAsync } from '../../src/core/scope';
import { loadCase, modelDir, GOLDEN_BACKENDS, useBackend, itAtFullWidth, SOFTWARE_WEBGPU } from '../util/fixtures';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';
import { loadClipModel, loadClipVisionModel, disposeClipModel } from '../../src/clip/load';

describe.each(GOLDEN_BACKENDS)('ViT-1 ViT-2 ViT-3 ViT-4 · CLIP vision tower vs HF v4.45.1 (%s backend)', (backend) => {
  let m: ClipModel;
  beforeAll(async () => {
    await useBackend(backend);
    m = loadClipModel(modelDir('clip-tiny'));
  });
  afterAll(() => disposeClipModel(m));

  it('clip_vision_tiny: every hidden state, attention, pooled output and image embedding', async () => {
    const gc = loadCase('clip_vision_tiny');
    await tidyAsync(async () => {
      const out = visionModel(m.params.vision_model, gc.tensor('pixel_values') as tf.Tensor4D, m.vision, { hiddenStates: 'all', attentions: 'all' });
      for (const [i, h] of out.hiddenStates.entries()) await expectCloseAsync(h!, gc.tensor(`hidden_states.${i}`), TOL.golden, `hidden_states.${i}`);
      for (const [l, a] of out.attentions.entries()) await expectCloseAsync(a!, gc.tensor(`attentions.${l}`), TOL.probs, `attentions.${l}`);
      await expectCloseAsync(out.lastHiddenState, gc.tensor('last_hidden_state'), TOL.golden, 'last_hidden_state');
      await expectCloseAsync(out.pooled, gc.tensor('pooler_output'), TOL.golden, 'pooler_output');
      await expectCloseAsync(imageFeatures(m, gc.tensor('pixel_values') as tf.Tensor4D), gc.tensor('image_embeds'), TOL.golden, 'image_embeds');
    });
  });

  it('VisionRows: rows [a, b) of the crops, given every row\'s keys and values at each layer, are those rows of the HF outputs (CLS outputs from the first rows)', async () => {
    const gc = loadCase('clip_vision_tiny');
    const px = gc.tensor('pixel_values') as tf.Tensor4D;
    const h0 = gc.tensor('hidden_states.0');
    const L = m.vision.num_hidden_layers, T = h0.shape[1]!;
    h0.dispose();
    // Every row's keys and values per layer, as a whole-crop run computes them (the hook passes them through).
    const kv: Array<{ k: tf.Tensor3D; v: tf.Tensor3D }> = [];
    const whole = visionModel(m.params.vision_model, px, m.vision, {}, undefined,
      { rows: [0, T], keysValues: (i) => (k, v) => { kv[i] = { k: tf.keep(tf.clone(k)), v: tf.keep(tf.clone(v)) }; return { k, v }; } });
    const rowsOf = (t: tf.Tensor, axis: number, [a, b]: readonly [number, number]): tf.Tensor =>
      tf.slice(t, t.shape.map((_, d) => (d === axis ? a : 0)), t.shape.map((n, d) => (d === axis ? b - a : n)));
    try {
      expect(kv.length).toBe(L);
      for (const rows of [[0, 5], [5, T], [3, 4]] as Array<readonly [number, number]>) {
        await tidyAsync(async () => {
          const part = visionModel(m.params.vision_model, px, m.vision, { hiddenStates: 'all', attentions: 'all', clsAttention: 'all' }, undefined,
            { rows, keysValues: (i) => () => kv[i] });
          for (const [i, h] of part.hiddenStates.entries()) await expectCloseAsync(h!, rowsOf(gc.tensor(`hidden_states.${i}`), 1, rows), TOL.golden, `hidden_states.${i} rows ${rows}`);
          for (const [l, a] of part.attentions.entries()) await expectCloseAsync(a!, rowsOf(gc.tensor(`attentions.${l}`), 2, rows), TOL.probs, `attentions.${l} rows ${rows}`);
          await expectCloseAsync(part.lastHiddenState, rowsOf(gc.tensor('last_hidden_state'), 1, rows), TOL.golden, `last_hidden_state rows ${rows}`);
          if (rows[0] === 0) {
            await expectCloseAsync(part.pooled, gc.tensor('pooler_output'), TOL.golden, 'pooler_output');
            const all = visionModel(m.params.vision_model, px, m.vision, { clsAttention: 'all' });
            for (const [l, c] of part.clsAttention.entries()) await expectCloseAsync(c!, all.clsAttention[l]!, TOL.sameMath, `clsAttention.${l}`);
          }
        });
      }
    } finally {
      tf.dispose(kv.flatMap((x) => [x.k, x.v]));
      tf.dispose([whole.lastHiddenState, whole.pooled, px]);
    }
  });

  it('untapped intermediates are not returned; q/k taps are the raw projections', async () => {
    const gc = loadCase('clip_vision_tiny');
    await tidyAsync(async () => {
      const out = visionModel(m.params.vision_model, gc.tensor('pixel_values') as tf.Tensor4D, m.vision, { attentions: [1], queryKey: [1] });
      expect(out.hiddenStates.filter(Boolean)).toHaveLength(0);
      expect(out.attentions.map((a) => a !== undefined)).toEqual([false, true, false, false]);
      // softmax(q·8^-½ kᵀ) per head from the taps equals the tapped probabilities
      const [P, N1, D] = out.queries[1]!.shape;
      const heads = (t: tf.Tensor3D): tf.Tensor4D => tf.transpose(tf.reshape(t, [P, N1, 4, D / 4]), [0, 2, 1, 3]) as tf.Tensor4D;
      await expectCloseAsync(attentionProbs(heads(out.queries[1]!), heads(out.keys[1]!), (D / 4) ** -0.5), out.attentions[1]!, TOL.probs, 'probs from q/k');
    });
  });

  itAtFullWidth(backend)(`clip_vit_l_336_1layer: ViT-L/14-336 width from an F16 checkpoint${backend === 'webgpu' && SOFTWARE_WEBGPU ? ' (skipped: webgpu on a software adapter, too slow at this width; docs/gpu.md)' : ''}`, async () => {
    const gc = loadCase('clip_vit_l_336_1layer');
    const v = loadClipVisionModel(modelDir('clip-vit-l-336-1layer-f16'));
    try {
      await tidyAsync(async () => {
        const px = gc.tensor('pixel_values') as tf.Tensor4D;
        await expectCloseAsync(visionEmbeddings(v.params.embeddings, px, v.config), gc.tensor('embeddings'), TOL.golden, 'embeddings');
        const out = visionModel(v.params, px, v.config, { hiddenStates: 'all', attentions: 'all' });
        await expectCloseAsync(out.hiddenStates[0]!, gc.tensor('hidden_states.0'), TOL.golden, 'hidden_states.0');
        await expectCloseAsync(out.hiddenStates[1]!, gc.tensor('hidden_states.1'), TOL.golden, 'hidden_states.1');
        await expectCloseAsync(out.lastHiddenState, gc.tensor('last_hidden_state'), TOL.golden, 'last_hidden_state');
        await expectCloseAsync(out.pooled, gc.tensor('pooler_output'), TOL.golden, 'pooler_output');
        const a = out.attentions[0]!;                                                     // [1, 16, 577, 577]
        await expectCloseAsync(tf.reshape(tf.slice(a, [0, 0, 0, 0], [1, 1, -1, -1]), [1, 577, 577]), gc.tensor('attentions.0.head0'), TOL.probs, 'attentions.0.head0');
        await expectCloseAsync(tf.reshape(tf.slice(a, [0, 0, 0, 0], [1, -1, 1, -1]), [1, 16, 577]), gc.tensor('attentions.0.cls_row'), TOL.probs, 'attentions.0.cls_row');
      });
    } finally {
      disposeTree(v.params);
    }
  });
});

describe('ViT-1 · patch embedding as unfold + matmul equals tf.conv2d (metamorphic)', () => {
  it('for random crops and filters', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 1e6 }),
      async (P, G, p, seed) => {
        await tidyAsync(async () => {
          const S = G * p, D = 5;
          const x = tf.randomNormal([P, 3, S, S], 0, 1, 'float32', seed) as tf.Tensor4D;
          const w = tf.randomNormal([D, 3, p, p], 0, 1, 'float32', seed + 1) as tf.Tensor4D;          // torch layout [out, in, kh, kw]
          const unfold = tf.matMul(tf.reshape(patchify(x, p), [-1, 3 * p * p]), tf.reshape(w, [D, -1]), false, true); // [P·G², D]
          const conv = tf.conv2d(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, p, 'valid'); // [P, G, G, D]
          await expectCloseAsync(unfold, tf.reshape(conv, [-1, D]), TOL.primitive, 'unfold vs conv2d');
        });
      }), { numRuns: 20 });
  });
});

describe('Attn-1 · unmasked attention is invariant to permuting keys and values together', () => {
  it('(property)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 1e6 }), async (T, seed) => {
      await tidyAsync(async () => {
        const q = tf.randomNormal([1, 2, T, 4], 0, 1, 'float32', seed) as tf.Tensor4D;
        const k = tf.randomNormal([1, 2, T, 4], 0, 1, 'float32', seed + 1) as tf.Tensor4D;
        const v = tf.randomNormal([1, 2, T, 4], 0, 1, 'float32', seed + 2) as tf.Tensor4D;
        const perm = tf.tensor1d(Array.from({ length: T }, (_, i) => (i * 3 + 1) % T).some((x, i, a) => a.indexOf(x) !== i) ? Array.from({ length: T }, (_, i) => T - 1 - i) : Array.from({ length: T }, (_, i) => (i * 3 + 1) % T), 'int32');
        const out = tf.matMul(attentionProbs(q, k, 0.5), v);
        const outP = tf.matMul(attentionProbs(q, tf.gather(k, perm, 2) as tf.Tensor4D, 0.5), tf.gather(v, perm, 2));
        await expectCloseAsync(outP, out, TOL.primitive, 'permuted keys/values');
      });
    }), { numRuns: 30 });
  });
});

describe('CLIP checkpoint errors name the tensor', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-clip-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  function copyWith(name: string, edit: (t: Record<string, TensorToWrite>) => void): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(modelDir('clip-tiny'), 'config.json'), path.join(dir, 'config.json'));
    const f = SafetensorsFile.open(path.join(modelDir('clip-tiny'), 'model.safetensors'));
    const t: Record<string, TensorToWrite> = {};
    for (const n of f.names()) t[n] = { dtype: 'F32', shape: f.info(n).shape, data: f.readFloat32(n) };
    f.close();
    edit(t);
    writeSafetensors(path.join(dir, 'model.safetensors'), t);
    return dir;
  }
  it('a missing tensor', () => {
    const dir = copyWith('missing', (t) => { delete t['text_projection.weight']; });
    expect(() => loadClipModel(dir)).toThrow(HeroError);
    expect(() => loadClipModel(dir)).toThrow(/missing 1 tensor\(s\): text_projection\.weight/);
  });
  it('a wrong shape', () => {
    const dir = copyWith('shape', (t) => { t['visual_projection.weight'] = { dtype: 'F32', shape: [32, 16], data: new Float32Array(512) }; });
    expect(() => loadClipModel(dir)).toThrow(/visual_projection\.weight' has shape \[32, 16\], config expects \[16, 32\]/);
  });
  it('an unexpected tensor', () => {
    const dir = copyWith('extra', (t) => { t['vision_model.extra.weight'] = { dtype: 'F32', shape: [1], data: [0] }; });
    expect(() => loadClipModel(dir)).toThrow(/unexpected tensor\(s\): vision_model\.extra\.weight/);
  });
});
