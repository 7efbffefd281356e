/**
 * Checkpoint key layouts: a LLaVA-NeXT file saved with transformers ≥ 4.52 names (`model.language_model.*`,
 * `model.vision_tower.*`, `lm_head.weight`, …) loads to the same params as the ≤ 4.51 names; unknown and
 * missing keys are named.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { buildTree, canonicalKey, flattenTree } from '../../src/io/checkpoint';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors';
import { loadLlavaNext, disposeLlavaNext } from '../../src/llava/load';
import { modelDir } from '../util/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-ckpt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The ≥ 4.52 name of a ≤ 4.51 LLaVA-NeXT key (the inverse of KEY_RENAMES). */
function newLayout(k: string): string {
  return k.replace(/^language_model\.model\./, 'model.language_model.').replace(/^vision_tower\./, 'model.vision_tower.')
    .replace(/^multi_modal_projector\./, 'model.multi_modal_projector.').replace(/^image_newline$/, 'model.image_newline')
    .replace(/^language_model\.lm_head\.weight$/, 'lm_head.weight');
}

function rewrite(name: string, edit: (k: string) => string | null): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of ['config.json', 'preprocessor_config.json']) fs.copyFileSync(path.join(modelDir('llava-next-tiny'), f), path.join(dir, f));
  const src = SafetensorsFile.open(path.join(modelDir('llava-next-tiny'), 'model.safetensors'));
  const out: Record<string, TensorToWrite> = {};
  for (const k of src.names()) { const nk = edit(k); if (nk) out[nk] = { dtype: 'F32', shape: src.info(k).shape, data: src.readFloat32(k) }; }
  src.close();
  writeSafetensors(path.join(dir, 'model.safetensors'), out);
  return dir;
}

describe('checkpoint key layouts', () => {
  it('maps every ≥ 4.52 key back to the canonical name, and only LLaVA files rename a bare lm_head', () => {
    expect(canonicalKey('model.language_model.layers.0.mlp.up_proj.weight', true)).toBe('language_model.model.layers.0.mlp.up_proj.weight');
    expect(canonicalKey('lm_head.weight', true)).toBe('language_model.lm_head.weight');
    expect(canonicalKey('lm_head.weight', false)).toBe('lm_head.weight');
    expect(canonicalKey('model.image_newline', true)).toBe('image_newline');
  });

  it('a ≥ 4.52-layout file loads to identical params', () => {
    const a = loadLlavaNext(modelDir('llava-next-tiny'));
    const b = loadLlavaNext(rewrite('new', newLayout));
    try {
      const fa = flattenTree(a.params), fb = flattenTree(b.params);
      expect(fa.size).toBe(97);
      for (const [k, t] of fa) expect({ k, same: Array.from(t.dataSync()).every((v, i) => v === fb.get(k)!.dataSync()[i]) }).toEqual({ k, same: true });
    } finally {
      disposeLlavaNext(a);
      disposeLlavaNext(b);
    }
  });

  it('a missing and an unknown tensor are named', () => {
    expect(() => loadLlavaNext(rewrite('missing', (k) => (k === 'image_newline' ? null : k)))).toThrow(/missing 1 tensor\(s\): image_newline/);
    expect(() => loadLlavaNext(rewrite('extra', (k) => (k === 'image_newline' ? 'image_newline_v2' : k)))).toThrow(/missing 1 tensor\(s\): image_newline/);
    const dir = rewrite('stray', (k) => k);
    const f = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
    const t: Record<string, TensorToWrite> = {};
    for (const k of f.names()) t[k] = { dtype: 'F32', shape: f.info(k).shape, data: f.readFloat32(k) };
    f.close();
    t['multi_modal_projector.linear_3.weight'] = { dtype: 'F32', shape: [1], data: [0] };
    t['vision_tower.vision_model.embeddings.position_ids'] = { dtype: 'I64', shape: [1, 17], data: Array.from({ length: 17 }, (_, i) => i) };
    writeSafetensors(path.join(dir, 'model.safetensors'), t);
    // position_ids buffers are ignored; an unknown weight is not
    expect(() => loadLlavaNext(dir)).toThrow(/unexpected tensor\(s\): multi_modal_projector\.linear_3\.weight/);
  });
});

describe('flattenTree', () => {
  it('is the inverse of buildTree', () => tf.tidy(() => {
    const m = new Map<string, tf.Tensor>([['a.b.0.c', tf.scalar(1)], ['a.b.1.c', tf.scalar(2)], ['d', tf.scalar(3)]]);
    const back = flattenTree(buildTree(m));
    expect([...back.keys()].sort()).toEqual([...m.keys()].sort());
    for (const [k, t] of m) expect(back.get(k)).toBe(t);
  }));
});
