/**
 * The Llama decoder against HF v4.45.1 (case llama_tiny: GQA with 4 query / 2 kv heads), plus the
 * KV-cache equivalence property.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { llamaForward, embedTokens, selfAttention, type LlamaParams } from '../../src/llama/decoder';
import { loadLlama, llamaKeys } from '../../src/llama/load';
import { ropeTables } from '../../src/nn/rope';
import { positionMask } from '../../src/nn/attention';
import { KvCache } from '../../src/llama/kv_cache';
import { greedyGenerate, argmax } from '../../src/llama/generate';
import { llamaConfig, type LlamaConfig } from '../../src/llama/config';
import { disposeTree } from '../../src/io/checkpoint';
import { tidyAsync } from '../../src/core/scope';
import { randomParams } from '../../src/weights/random_params';
import { loadCase, modelDir, GOLDEN_BACKENDS, useBackend } from '../util/fixtures';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';
import { expectGreedyAsHf } from '../util/llama_golden';

describe.each(GOLDEN_BACKENDS)('Llama-1 Llama-2 Llama-3 RoPE-2 Llama-KV Gen-1 · llama decoder vs HF v4.45.1 llama_tiny (%s backend)', (backend) => {
  let m: { config: LlamaConfig; params: LlamaParams };
  const gc = loadCase('llama_tiny');
  beforeAll(async () => {
    await useBackend(backend);
    m = loadLlama(modelDir('llama-tiny'));
  });
  afterAll(() => disposeTree(m.params));

  it('full forward: logits, hidden states (last = after the final norm), attentions', async () => {
    await tidyAsync(async () => {
      const ids = gc.numbers('input_ids');
      const out = await llamaForward(m.params, embedTokens(m.params, ids), m.config, { taps: { hiddenStates: true, attentions: true } });
      await expectCloseAsync(out.logits, tf.squeeze(gc.tensor('logits'), [0]), TOL.golden, 'logits');
      for (const [i, h] of out.hiddenStates!.entries()) await expectCloseAsync(h, tf.squeeze(gc.tensor(`hidden_states.${i}`), [0]), TOL.golden, `hidden_states.${i}`);
      for (const [l, a] of out.attentions!.entries()) await expectCloseAsync(a!, tf.squeeze(gc.tensor(`attentions.${l}`), [0]), TOL.probs, `attentions.${l}`);
    });
  });

  it('Llama-KV: prefix into a cache (keys after RoPE), then step-by-step and chunked decoding', async () => {
    const ids = gc.numbers('input_ids');
    await tidyAsync(async () => {
      const cache = new KvCache(m.config.num_hidden_layers);
      try {
        const pre = await llamaForward(m.params, embedTokens(m.params, ids.slice(0, 10)), m.config, { cache });
        await expectCloseAsync(pre.logits, tf.squeeze(gc.tensor('prefix_logits'), [0]), TOL.golden, 'prefix_logits');
        for (let l = 0; l < m.config.num_hidden_layers; l++) {
          await expectCloseAsync(cache.keys(l)!, tf.squeeze(gc.tensor(`prefix_cache.${l}.key`), [0]), TOL.golden, `prefix_cache.${l}.key`);
          await expectCloseAsync(cache.values(l)!, tf.squeeze(gc.tensor(`prefix_cache.${l}.value`), [0]), TOL.golden, `prefix_cache.${l}.value`);
        }
        const steps: tf.Tensor[] = [];
        for (const id of ids.slice(10)) steps.push((await llamaForward(m.params, embedTokens(m.params, [id]), m.config, { cache })).logits);
        expect(cache.length).toBe(16);
        await expectCloseAsync(tf.concat(steps), tf.squeeze(gc.tensor('step_logits'), [0]), TOL.golden, 'step_logits');
      } finally {
        cache.dispose();
      }
      const chunkCache = new KvCache(m.config.num_hidden_layers);
      try {
        await llamaForward(m.params, embedTokens(m.params, ids.slice(0, 10)), m.config, { cache: chunkCache });
        const chunk = (await llamaForward(m.params, embedTokens(m.params, ids.slice(10)), m.config, { cache: chunkCache })).logits;
        await expectCloseAsync(chunk, tf.squeeze(gc.tensor('chunk_logits'), [0]), TOL.golden, 'chunk_logits');
      } finally {
        chunkCache.dispose();
      }
    });
  });

  it('positions: a forward call with a cache advances it by its own rows (0..T−1, then T for the next step)', async () => {
    const cache = new KvCache(m.config.num_hidden_layers);
    try {
      tf.tidy(() => { llamaForward(m.params, embedTokens(m.params, [1, 5, 9, 11]), m.config, { cache, lastOnly: true }); });
      const a = cache.length;
      tf.tidy(() => { llamaForward(m.params, embedTokens(m.params, [7]), m.config, { cache, lastOnly: true }); });
      expect([a, cache.length]).toEqual([4, 5]);
    } finally {
      cache.dispose();
    }
  });

  it('Gen-1: greedy generation equals HF generate (ids exact, per-step scores)', async () => {
    await expectGreedyAsHf(m, gc);
  });
});

describe('Llama-KV · prefill-all equals prefix + step-by-step decoding (property)', () => {
  it('holds for random tiny configs and lengths', async () => {
    await fc.assert(fc.asyncProperty(
      fc.record({ kv: fc.constantFrom(1, 2), layers: fc.integer({ min: 1, max: 2 }), T: fc.integer({ min: 2, max: 7 }), split: fc.integer({ min: 1, max: 6 }), seed: fc.integer({ min: 0, max: 1000 }) }),
      async ({ kv, layers, T, split, seed }) => {
        const cfg = llamaConfig({ hidden_size: 16, intermediate_size: 24, num_attention_heads: 4, num_key_value_heads: kv, num_hidden_layers: layers, vocab_size: 11, max_position_embeddings: 64, rms_norm_eps: 1e-5 });
        const p = randomLlama(cfg, seed);
        const cut = Math.min(split, T - 1);
        await tidyAsync(async () => {
          const x = tf.randomNormal([T, 16], 0, 1, 'float32', seed) as tf.Tensor2D;
          const full = (await llamaForward(p, x, cfg)).logits;
          const cache = new KvCache(layers);
          const parts = [(await llamaForward(p, tf.slice(x, [0, 0], [cut, -1]), cfg, { cache })).logits];
          for (let t = cut; t < T; t++) parts.push((await llamaForward(p, tf.slice(x, [t, 0], [1, -1]), cfg, { cache })).logits);
          cache.dispose();
          await expectCloseAsync(tf.concat(parts), full, TOL.sameMath, 'cached vs full logits');
        });
        disposeTree(p);
      }), { numRuns: 25 });
  });

  it('argmax takes the first of equal maxima (torch.argmax)', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });
});

describe('Llama-1 · GQA head order: kv head j serves query heads j·g … j·g+g−1 (HF repeat_kv)', () => {
  /** One causal attention layer in float64, kv head of query head h = ⌊h / g⌋ (not h mod Hkv). */
  function attention64(x: number[][], w: { q: number[][]; k: number[][]; v: number[][]; o: number[][] }, H: number, Hkv: number, Dh: number, theta: number): number[][] {
    const T = x.length, g = H / Hkv, half = Dh / 2;
    const mm = (a: number[][], W: number[][]): number[][] => a.map((r) => W.map((wr) => wr.reduce((s, v, i) => s + v * r[i], 0))); // x Wᵀ
    const rot = (vec: number[], pos: number): number[] => vec.map((_, i) => {
      const a = pos * theta ** (-(2 * (i % half)) / Dh);
      return i < half ? vec[i] * Math.cos(a) - vec[i + half] * Math.sin(a) : vec[i] * Math.cos(a) + vec[i - half] * Math.sin(a);
    });
    const head = (m: number[][], h: number): number[][] => m.map((r) => r.slice(h * Dh, (h + 1) * Dh));
    const q = mm(x, w.q), k = mm(x, w.k), v = mm(x, w.v);
    const o = x.map(() => new Array<number>(H * Dh).fill(0));
    for (let h = 0; h < H; h++) {
      const j = Math.floor(h / g);
      const qh = head(q, h).map((r, t) => rot(r, t)), kh = head(k, j).map((r, t) => rot(r, t)), vh = head(v, j);
      for (let t = 0; t < T; t++) {
        const sc = kh.slice(0, t + 1).map((kr) => kr.reduce((s, val, i) => s + val * qh[t][i], 0) / Math.sqrt(Dh));
        const m = Math.max(...sc), e = sc.map((s) => Math.exp(s - m)), z = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < Dh; i++) o[t][h * Dh + i] = e.reduce((s, p, u) => s + (p / z) * vh[u][i], 0);
      }
    }
    return mm(o, w.o);
  }

  it.each([[4, 2], [6, 2], [6, 3]])('H = %i, Hkv = %i: selfAttention equals the float64 reference', async (H, Hkv) => {
    const Dh = 2, D = 8, T = 3;
    const cfg = llamaConfig({ hidden_size: D, intermediate_size: 8, num_attention_heads: H, num_key_value_heads: Hkv, head_dim: Dh, num_hidden_layers: 1, vocab_size: 5, max_position_embeddings: 16 });
    await tidyAsync(async () => {
      const W = (r: number, c: number, seed: number): tf.Tensor2D => tf.randomNormal([r, c], 0, 1, 'float32', seed) as tf.Tensor2D;
      const p = { q_proj: { weight: W(H * Dh, D, 1) }, k_proj: { weight: W(Hkv * Dh, D, 2) }, v_proj: { weight: W(Hkv * Dh, D, 3) }, o_proj: { weight: W(D, H * Dh, 4) } };
      const x = W(T, D, 5);
      const pos = [0, 1, 2];
      const { out } = selfAttention(p, x, cfg, ropeTables(T, Dh, cfg.rope_theta), positionMask(pos, pos));
      const arr = (t: tf.Tensor2D): Promise<number[][]> => t.array();
      const ref = attention64(await arr(x), { q: await arr(p.q_proj.weight), k: await arr(p.k_proj.weight), v: await arr(p.v_proj.weight), o: await arr(p.o_proj.weight) }, H, Hkv, Dh, cfg.rope_theta);
      await expectCloseAsync(out, ref.flat(), TOL.primitive, 'attention output');
    });
  });
});

function randomLlama(cfg: LlamaConfig, seed: number): LlamaParams {
  return randomParams<LlamaParams>(llamaKeys(cfg, ''), seed).tree;   // src/weights/init.ts rules
}
