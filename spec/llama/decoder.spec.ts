/**
 * The Llama decoder against HF v4.45.1 (case llama_tiny: GQA with 4 query / 2 kv heads), plus the
 * KV-cache equivalence property.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { loadLlama, llamaForward, embedTokens, type LlamaParams } from '../../src/llama/decoder';
import { KvCache } from '../../src/llama/kv_cache';
import { greedyGenerate, argmax } from '../../src/llama/generate';
import { llamaConfig, type LlamaConfig } from '../../src/llama/config';
import { disposeTree } from '../../src/io/checkpoint';
import { tidyRecord } from '../../src/core/scope';
import { loadCase, modelDir, GOLDEN_BACKENDS, useBackend } from '../util/fixtures';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

describe.each(GOLDEN_BACKENDS)('Llama-1 Llama-2 Llama-3 RoPE-2 Llama-KV Gen-1 · llama decoder vs HF v4.45.1 llama_tiny (%s backend)', (backend) => {
  let m: { config: LlamaConfig; params: LlamaParams };
  const gc = loadCase('llama_tiny');
  beforeAll(async () => {
    await useBackend(backend);
    m = loadLlama(modelDir('llama-tiny'));
  });
  afterAll(() => disposeTree(m.params));

  it('full forward: logits, hidden states (last = after the final norm), attentions', () => {
    tf.tidy(() => {
      const ids = gc.numbers('input_ids');
      const out = llamaForward(m.params, embedTokens(m.params, ids), m.config, { taps: { hiddenStates: true, attentions: true } });
      expectClose(out.logits, tf.squeeze(gc.tensor('logits'), [0]), TOL.golden, 'logits');
      out.hiddenStates!.forEach((h, i) => expectClose(h, tf.squeeze(gc.tensor(`hidden_states.${i}`), [0]), TOL.golden, `hidden_states.${i}`));
      out.attentions!.forEach((a, l) => expectClose(a!, tf.squeeze(gc.tensor(`attentions.${l}`), [0]), TOL.probs, `attentions.${l}`));
    });
  });

  it('Llama-KV: prefix into a cache (keys after RoPE), then step-by-step and chunked decoding', () => {
    const ids = gc.numbers('input_ids');
    tf.tidy(() => {
      const cache = new KvCache(m.config.num_hidden_layers);
      try {
        const pre = llamaForward(m.params, embedTokens(m.params, ids.slice(0, 10)), m.config, { cache });
        expectClose(pre.logits, tf.squeeze(gc.tensor('prefix_logits'), [0]), TOL.golden, 'prefix_logits');
        for (let l = 0; l < m.config.num_hidden_layers; l++) {
          expectClose(cache.keys(l)!, tf.squeeze(gc.tensor(`prefix_cache.${l}.key`), [0]), TOL.golden, `prefix_cache.${l}.key`);
          expectClose(cache.values(l)!, tf.squeeze(gc.tensor(`prefix_cache.${l}.value`), [0]), TOL.golden, `prefix_cache.${l}.value`);
        }
        const steps = ids.slice(10).map((id) => llamaForward(m.params, embedTokens(m.params, [id]), m.config, { cache }).logits);
        expect(cache.length).toBe(16);
        expectClose(tf.concat(steps), tf.squeeze(gc.tensor('step_logits'), [0]), TOL.golden, 'step_logits');
      } finally {
        cache.dispose();
      }
      const chunkCache = new KvCache(m.config.num_hidden_layers);
      try {
        llamaForward(m.params, embedTokens(m.params, ids.slice(0, 10)), m.config, { cache: chunkCache });
        const chunk = llamaForward(m.params, embedTokens(m.params, ids.slice(10)), m.config, { cache: chunkCache }).logits;
        expectClose(chunk, tf.squeeze(gc.tensor('chunk_logits'), [0]), TOL.golden, 'chunk_logits');
      } finally {
        chunkCache.dispose();
      }
    });
  });

  it('Gen-1: greedy generation equals HF generate (ids exact, per-step scores)', () => {
    const ids = gc.numbers('input_ids');
    const embeds = tf.tidy(() => embedTokens(m.params, ids));
    const gen = greedyGenerate(m.params, m.config, embeds, { maxNewTokens: 8, eosTokenId: m.config.eos_token_id, keepScores: true });
    embeds.dispose();
    expect([...ids, ...gen.newIds]).toEqual(gc.numbers('generated_ids'));
    const scores = gc.floats('generate_scores');
    const V = m.config.vocab_size;
    gen.scores!.forEach((s, i) => expectClose(s, scores.subarray(i * V, (i + 1) * V), TOL.golden, `generate_scores[${i}]`));
  });
});

describe('Llama-KV · prefill-all equals prefix + step-by-step decoding (property)', () => {
  it('holds for random tiny configs and lengths', () => {
    fc.assert(fc.property(
      fc.record({ kv: fc.constantFrom(1, 2), layers: fc.integer({ min: 1, max: 2 }), T: fc.integer({ min: 2, max: 7 }), split: fc.integer({ min: 1, max: 6 }), seed: fc.integer({ min: 0, max: 1000 }) }),
      ({ kv, layers, T, split, seed }) => {
        const cfg = llamaConfig({ hidden_size: 16, intermediate_size: 24, num_attention_heads: 4, num_key_value_heads: kv, num_hidden_layers: layers, vocab_size: 11, max_position_embeddings: 64, rms_norm_eps: 1e-5 });
        const p = randomLlama(cfg, seed);
        const cut = Math.min(split, T - 1);
        tf.tidy(() => {
          const x = tf.randomNormal([T, 16], 0, 1, 'float32', seed) as tf.Tensor2D;
          const full = llamaForward(p, x, cfg).logits;
          const cache = new KvCache(layers);
          const parts = [llamaForward(p, tf.slice(x, [0, 0], [cut, -1]), cfg, { cache }).logits];
          for (let t = cut; t < T; t++) parts.push(llamaForward(p, tf.slice(x, [t, 0], [1, -1]), cfg, { cache }).logits);
          cache.dispose();
          expectClose(tf.concat(parts), full, TOL.sameMath, 'cached vs full logits');
        });
        disposeTree(p);
      }), { numRuns: 25 });
  });

  it('argmax takes the first of equal maxima (torch.argmax)', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });
});

function randomLlama(cfg: LlamaConfig, seed: number): LlamaParams {
  const D = cfg.hidden_size, F = cfg.intermediate_size, Dh = cfg.head_dim;
  let s = seed;
  const w = (shape: number[]): tf.Tensor => tf.randomNormal(shape, 0, 1 / Math.sqrt(shape[shape.length - 1]), 'float32', ++s);
  return tidyRecord(() => ({
    model: {
      embed_tokens: { weight: w([cfg.vocab_size, D]) as tf.Tensor2D },
      layers: Array.from({ length: cfg.num_hidden_layers }, () => ({
        input_layernorm: { weight: tf.add(1, w([D])) as tf.Tensor1D },
        post_attention_layernorm: { weight: tf.add(1, w([D])) as tf.Tensor1D },
        self_attn: {
          q_proj: { weight: w([cfg.num_attention_heads * Dh, D]) as tf.Tensor2D },
          k_proj: { weight: w([cfg.num_key_value_heads * Dh, D]) as tf.Tensor2D },
          v_proj: { weight: w([cfg.num_key_value_heads * Dh, D]) as tf.Tensor2D },
          o_proj: { weight: w([D, cfg.num_attention_heads * Dh]) as tf.Tensor2D },
        },
        mlp: { gate_proj: { weight: w([F, D]) as tf.Tensor2D }, up_proj: { weight: w([F, D]) as tf.Tensor2D }, down_proj: { weight: w([D, F]) as tf.Tensor2D } },
      })),
      norm: { weight: tf.add(1, w([D])) as tf.Tensor1D },
    },
    lm_head: { weight: w([cfg.vocab_size, D]) as tf.Tensor2D },
  }) as unknown as LlamaParams);
}
