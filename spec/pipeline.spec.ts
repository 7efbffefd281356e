/**
 * PipelineResult.clsAttention (the report's attention maps: head-mean CLS→patch attention per vision layer)
 * against an independent float64 recomputation from the HF v4.45.1 golden llava_wide: each layer's CLS
 * query against every key, q and k from layer_norm1 of the golden's vision.hidden_states.{l} (the input of
 * layer l) with the checkpoint's weights, softmax, patches only, mean over heads. cpu and wasm.
 */
import * as path from 'path';
import { type LlavaNextModel } from '../src/llava/model';
import { readImage } from '../src/io/image';
import { runPipeline } from '../src/pipeline';
import { SafetensorsFile } from '../src/io/safetensors';
import { GOLDEN_BACKENDS, imagePath, leaveBackend, loadCase, modelDir, useBackend } from './util/fixtures';
import { expectCloseAsync } from './util/close';
import { TOL } from './util/tolerances';
import { loadLlavaNext, disposeLlavaNext } from '../src/llava/load';

/** Head-mean CLS→patch attention of one layer in float64: [P·N], crop-major. */
function clsAttention64(hidden: Float32Array, P: number, T: number, D: number, H: number, eps: number,
  w: { ln: Float32Array; lnb: Float32Array; q: Float32Array; qb: Float32Array; k: Float32Array; kb: Float32Array }): number[] {
  const Dh = D / H, out: number[] = [];
  for (let p = 0; p < P; p++) {
    const xs = Array.from({ length: T }, (_, t) => {
      const x = Array.from(hidden.subarray((p * T + t) * D, (p * T + t + 1) * D));
      const mu = x.reduce((a, b) => a + b, 0) / D;
      const v = x.reduce((a, b) => a + (b - mu) ** 2, 0) / D;
      return x.map((xi, i) => ((xi - mu) / Math.sqrt(v + eps)) * w.ln[i] + w.lnb[i]);
    });
    const proj = (x: number[], W: Float32Array, b: Float32Array): number[] => Array.from({ length: D }, (_, o) => x.reduce((s, xi, i) => s + xi * W[o * D + i], b[o]));
    const q0 = proj(xs[0], w.q, w.qb);
    const ks = xs.map((x) => proj(x, w.k, w.kb));
    const mean = new Array<number>(T - 1).fill(0);
    for (let h = 0; h < H; h++) {
      const s = ks.map((k) => k.slice(h * Dh, (h + 1) * Dh).reduce((a, kv, i) => a + kv * q0[h * Dh + i], 0) / Math.sqrt(Dh));
      const m = Math.max(...s), e = s.map((v) => Math.exp(v - m)), z = e.reduce((a, b) => a + b, 0);
      for (let j = 1; j < T; j++) mean[j - 1] += e[j] / z / H;
    }
    out.push(...mean);
  }
  return out;
}

describe.each(GOLDEN_BACKENDS)('PipelineResult.clsAttention vs a float64 head mean from the golden llava_wide (%s backend)', (backend) => {
  let m: LlavaNextModel;
  beforeAll(async () => {
    await useBackend(backend);
    m = loadLlavaNext(modelDir('llava-next-tiny'));
  });
  afterAll(async () => { disposeLlavaNext(m); await leaveBackend(); });

  it('every layer, every crop, every patch', async () => {
    const gc = loadCase('llava_wide');
    const r = await runPipeline(m, { image: await readImage(imagePath('wide_h30_w100')), inputIds: gc.numbers('legacy_input_ids'), method: { name: 'none' }, maxNewTokens: 1, clsAttentionLayers: 'all' });
    const v = m.config.vision_config;
    const L = v.num_hidden_layers, D = v.hidden_size, H = v.num_attention_heads;
    const [P, T] = gc.shape('vision.hidden_states.0');
    expect(r.clsAttention.map((c) => c.layer)).toEqual(Array.from({ length: L }, (_, l) => l));
    const f = SafetensorsFile.open(path.join(modelDir('llava-next-tiny'), 'model.safetensors'));
    try {
      for (let l = 0; l < L; l++) {
        const pre = `vision_tower.vision_model.encoder.layers.${l}.`;
        const w = {
          ln: f.readFloat32(`${pre}layer_norm1.weight`), lnb: f.readFloat32(`${pre}layer_norm1.bias`),
          q: f.readFloat32(`${pre}self_attn.q_proj.weight`), qb: f.readFloat32(`${pre}self_attn.q_proj.bias`),
          k: f.readFloat32(`${pre}self_attn.k_proj.weight`), kb: f.readFloat32(`${pre}self_attn.k_proj.bias`),
        };
        const ref = clsAttention64(gc.floats(`vision.hidden_states.${l}`), P, T, D, H, v.layer_norm_eps, w);
        expect(r.clsAttention[l].maps.length).toBe(P * (T - 1));
        await expectCloseAsync(r.clsAttention[l].maps, ref, TOL.probs, `clsAttention layer ${l}`);
      }
    } finally {
      f.close();
    }
  });
});
