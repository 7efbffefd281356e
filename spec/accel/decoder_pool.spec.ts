/**
 * accel/decoder_pool.ts DecoderPool (the decoder's layers split over worker threads by heads and MLP
 * columns) against the reference it replaces, llamaForward with a KvCache: the prefill's logits, the
 * keys/values cached, and 5 greedy decode steps (prefill/greedyDecode with the pool's forward and cache),
 * on the golden llama-tiny (GQA: 4 query heads, 2 kv heads), on a random Vicuna-shaped config and on a
 * streamed f16 checkpoint whose stored bytes the workers share. The workers run the kernels the CLI
 * installs on that backend, the in-process side the reference kernels. cpu and wasm.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { checkSplit, DecoderPool, headRows, readShard, shardOf, shardShape, storedReader } from '../../src/accel/decoder_pool';
import { chooseAccelerations } from '../../src/accel';
import { installedKernels, REFERENCE_CHOICE } from '../../src/accel/kernels';
import { HeroError } from '../../src/core/errors';
import { disposeTree } from '../../src/io/checkpoint';
import { decodeFloat } from '../../src/io/safetensors';
import { StoredWeights } from '../../src/io/stored';
import { llamaConfig, type LlamaConfig } from '../../src/llama/config';
import { embedTokens, llamaForward, type LlamaParams } from '../../src/llama/decoder';
import { greedyDecode, prefill, type Decoder } from '../../src/llama/generate';
import { KvCache } from '../../src/llama/kv_cache';
import { llamaKeys, loadLlama } from '../../src/llama/load';
import { disposeLlavaNext, loadLlavaNext } from '../../src/llava/load';
import type { LlavaNextModel } from '../../src/llava/model';
import { randomParams } from '../../src/weights/random_params';
import { writeRandomCheckpoint } from '../../src/weights/random_checkpoint';
import { expectClose } from '../util/close';
import { loadCase, modelDir, POOL_BACKENDS, useBackend } from '../util/fixtures';
import { TOL } from '../util/tolerances';

/**
 * A small config with Vicuna's proportions: D = 256, H = Hkv = 8 (Dh = 32), F = 512, 3 layers; with the
 * projection biases Vicuna does not have (o_proj's and down_proj's are added by worker 0 only).
 */
const VICUNA_SMALL: LlamaConfig = llamaConfig({
  hidden_size: 256, num_attention_heads: 8, num_key_value_heads: 8, intermediate_size: 512, num_hidden_layers: 3,
  vocab_size: 512, max_position_embeddings: 128, rms_norm_eps: 1e-5, attention_bias: true, mlp_bias: true,
});

describe('shards: which rows/columns a worker holds', () => {
  it('the workers’ shards of every layer weight put back together are the whole weight, each element once', () => {
    const cfg = VICUNA_SMALL;
    const keys = llamaKeys({ ...cfg, attention_bias: true, mlp_bias: true }, '');
    for (const W of [1, 2, 4, 8]) {
      for (const [name, shape] of keys) {
        if (!name.startsWith('model.layers.0.')) continue;
        const leaf = name.slice('model.layers.0.'.length);
        const n = shape.reduce((a, d) => a * d, 1);
        const seen = new Uint8Array(n);
        for (let w = 0; w < W; w++) {
          const s = shardOf(leaf, cfg, w, W);
          // element i of the weight holds the value i: the shard's values are the indices it covers
          const idx = readShard(shape, s, (a, b, into, at) => { for (let i = a; i < b; i++) into[at + i - a] = i; });
          expect(idx.length).toBe(shardShape(shape, s).reduce((a, d) => a * d, 1) * (s.kind === 'none' ? 0 : 1));
          idx.forEach((i) => { seen[i] += 1; });
        }
        const norm = leaf.endsWith('layernorm.weight');
        expect({ W, leaf, covered: [...new Set(seen)] }).toEqual({ W, leaf, covered: norm ? [0] : [1] }); // norms stay on the main thread
      }
    }
  });

  it('a worker’s query heads and kv heads match repeat_kv (kv head j serves query heads j·H/Hkv …)', () => {
    const cfg = llamaConfig({ hidden_size: 64, num_attention_heads: 8, num_key_value_heads: 2, head_dim: 8, intermediate_size: 32, num_hidden_layers: 1 });
    for (let w = 0; w < 2; w++) {
      const q = shardOf('self_attn.q_proj.weight', cfg, w, 2), k = shardOf('self_attn.k_proj.weight', cfg, w, 2);
      if (q.kind !== 'rows' || k.kind !== 'rows') throw new Error('row shards expected');
      const rep = 8 / 2, Dh = 8;
      expect([q.from / Dh, q.to / Dh]).toEqual([(k.from / Dh) * rep, (k.to / Dh) * rep]);
    }
  });

  it('f16/bf16 shards read from stored bytes equal the whole tensor widened, then sliced', () => {
    fc.assert(fc.property(fc.constantFrom('F16' as const, 'BF16' as const), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), (dtype, rows, colsPerW) => {
      const W = 2, cols = colsPerW * W;
      const bytes = Buffer.from(Uint8Array.from({ length: rows * cols * 2 }, (_, i) => (i * 37 + 11) % 251));
      const whole = decodeFloat(bytes, dtype);
      for (let w = 0; w < W; w++) {
        const s = { kind: 'cols' as const, from: w * colsPerW, to: (w + 1) * colsPerW };
        const want = Array.from({ length: rows }, (_, r) => Array.from(whole.subarray(r * cols + s.from, r * cols + s.to))).flat();
        expect(Array.from(readShard([rows, cols], s, storedReader(bytes, dtype)))).toEqual(want);
      }
    }));
  });

  it('a streamed lm_head\'s rows over W workers (headRows): in order, every row once, V not divisible by W included', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40000 }), fc.integer({ min: 1, max: 64 }), (V, W) => {
      let next = 0;
      for (let w = 0; w < W; w++) {
        const r = headRows(V, w, W);
        expect(r.from).toBe(next);
        expect(r.to).toBeGreaterThanOrEqual(r.from);
        next = r.to;
      }
      expect(next).toBe(V);
    }));
  });

  it('refuses a worker count that does not divide H, Hkv and F', () => {
    const cfg = llamaConfig({ hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, intermediate_size: 96, num_hidden_layers: 1 });
    expect(() => checkSplit(cfg, 2)).not.toThrow();
    expect(() => checkSplit(cfg, 4)).toThrow(/num_key_value_heads 2.*intermediate_size 96 not divisible by 4|num_key_value_heads 2 not divisible/);
    expect(() => checkSplit(cfg, 3)).toThrow(HeroError);
    expect(() => checkSplit(cfg, 0)).toThrow(/integer ≥ 1/);
  });
});

/** Prefill of `ids` then 5 greedy steps, through the reference and through the pool, compared. */
async function expectSameGeneration(params: LlamaParams, cfg: LlamaConfig, pool: DecoderPool, ids: number[]): Promise<void> {
  const embeds = tf.tidy(() => embedTokens(params, ids));                          // [T, D]
  const ref = await prefill(params, cfg, embeds, { allLogits: true });
  const decoder: Decoder = pool;
  const got = await prefill(params, cfg, embeds, { allLogits: true, decoder });
  embeds.dispose();
  let refLast: Float32Array, gotLast: Float32Array;
  try {
    expectClose(got.logits, ref.logits, TOL.decoderPool, 'prefill logits [T, V]');
    expect(got.cache.length).toBe(ref.cache.length);
    for (let l = 0; l < cfg.num_hidden_layers; l++) {
      const k = got.cache.keys(l)!, v = got.cache.values(l)!;
      expectClose(k, ref.cache.keys(l)!, TOL.decoderPool, `keys ${l}`);
      expectClose(v, ref.cache.values(l)!, TOL.decoderPool, `values ${l}`);
      tf.dispose([k, v]);
    }
    const V = cfg.vocab_size, T = ids.length;
    refLast = (ref.logits.dataSync() as Float32Array).slice((T - 1) * V);
    gotLast = (got.logits.dataSync() as Float32Array).slice((T - 1) * V);
  } catch (e) {
    ref.cache.dispose();
    got.cache.dispose();
    throw e;
  } finally {
    tf.dispose([ref.logits, got.logits]);
  }
  const want = await greedyDecode(params, cfg, ref.cache, refLast, { maxNewTokens: 6, keepScores: true });
  const have = await greedyDecode(params, cfg, got.cache, gotLast, { maxNewTokens: 6, keepScores: true, decoder });
  expect(have.newIds).toEqual(want.newIds);
  want.scores!.forEach((s, i) => expectClose(have.scores![i], s, TOL.decoderPool, `decode step ${i} logits`));
  expect(want.scores!.length).toBe(6); // the prefill's token and 5 decode steps
}

// DecoderPool runs on wasm and cpu only; with neither in $HERO_LVLM_TEST_BACKENDS the block is reported as skipped.
(POOL_BACKENDS.length ? describe.each([...POOL_BACKENDS]) : describe.skip.each(['wasm']))('DecoderPool = llamaForward with a KvCache (%s backend)', (backend) => {
  let tiny: ReturnType<typeof loadLlama>;
  let tinyPool: DecoderPool;
  let small: { params: LlamaParams };
  let smallPool: DecoderPool;
  let tmp: string;
  let streamed: LlavaNextModel;
  let streamedPool: DecoderPool;
  let streamedBf16: LlavaNextModel;
  let streamedBf16Pool: DecoderPool;
  let onDisk: LlavaNextModel;
  let onDiskPool: DecoderPool;
  beforeAll(async () => {
    await useBackend(backend);
    expect(installedKernels()).toEqual(REFERENCE_CHOICE); // the in-process side is the reference
    const kernels = chooseAccelerations(backend).kernels;
    tiny = loadLlama(modelDir('llama-tiny'));
    tinyPool = DecoderPool.start(tiny.params, tiny.config, 2, kernels);
    small = { params: randomParams<LlamaParams>(llamaKeys(VICUNA_SMALL, ''), 7).tree };
    smallPool = DecoderPool.start(small.params, VICUNA_SMALL, 2, kernels);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-decpool-'));
    writeRandomCheckpoint(path.join(tmp, 'f16'), 'tiny-llava', 'f16', { seed: 3 });
    streamed = loadLlavaNext(path.join(tmp, 'f16'), undefined, 'streamed');
    streamedPool = DecoderPool.start(streamed.params.language_model, streamed.config.text_config, 2, kernels);
    writeRandomCheckpoint(path.join(tmp, 'bf16'), 'tiny-llava', 'bf16', { seed: 4 });
    streamedBf16 = loadLlavaNext(path.join(tmp, 'bf16'), undefined, 'streamed');
    streamedBf16Pool = DecoderPool.start(streamedBf16.params.language_model, streamedBf16.config.text_config, 2, kernels);
    onDisk = loadLlavaNext(path.join(tmp, 'f16'), undefined, 'disk');
    onDiskPool = DecoderPool.start(onDisk.params.language_model, onDisk.config.text_config, 2, kernels);
  });
  afterAll(async () => {
    await Promise.all([tinyPool, smallPool, streamedPool, streamedBf16Pool, onDiskPool].map((p) => p?.close()));
    if (streamedBf16) disposeLlavaNext(streamedBf16);
    if (onDisk) disposeLlavaNext(onDisk);
    if (tiny) disposeTree(tiny.params);
    if (small) disposeTree(small.params);
    if (streamed) disposeLlavaNext(streamed);
    fs.rmSync(tmp, { recursive: true, force: true });
    await useBackend('cpu');
  });

  it('golden llama-tiny (grouped-query heads): prefill logits, cached keys/values, 5 greedy steps', async () => {
    await expectSameGeneration(tiny.params, tiny.config, tinyPool, loadCase('llama_tiny').numbers('input_ids'));
  });

  it('a Vicuna-shaped random config (D 256, H = Hkv = 8, F 512, 3 layers, with biases)', async () => {
    await expectSameGeneration(small.params, VICUNA_SMALL, smallPool, Array.from({ length: 40 }, (_, i) => (i * 97 + 5) % 512));
  });

  it('streamed f16 weights: the workers share the stored bytes (no copy), widen their slices for the prefill, and multiply them straight from the bytes on decode steps (accel/rows.ts, the lm_head too, each worker its rows)', async () => {
    const lm = streamed.params.language_model;
    const layer = lm.model.layers[0] as unknown as StoredWeights<unknown>;
    expect(layer).toBeInstanceOf(StoredWeights);
    for (const t of layer.tensors.values()) expect(t.bytes?.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(streamedPool.rowsKernel).toBe('wasm-simd');
    expect(streamedPool.headSplit).toBe(true); // decode steps: each worker its rows of the streamed lm_head
    expect(tinyPool.rowsKernel).toBeUndefined(); // resident layers: the installed linear, as before
    expect(tinyPool.headSplit).toBe(false);
    await expectSameGeneration(lm, streamed.config.text_config, streamedPool, Array.from({ length: 12 }, (_, i) => (i * 31 + 2) % 1000));
  });

  it('streamed bf16 weights: the same, the decode steps from the bf16 bytes', async () => {
    expect(streamedBf16Pool.rowsKernel).toBe('wasm-simd');
    await expectSameGeneration(streamedBf16.params.language_model, streamedBf16.config.text_config, streamedBf16Pool, Array.from({ length: 9 }, (_, i) => (i * 53 + 7) % 1000));
  });

  it('streamed f16 weights still arriving (io/background_read.ts): the workers wait for each tensor\'s bytes, same generation', async () => {
    const late = loadLlavaNext(path.join(tmp, 'f16'), undefined, 'streamed', { backgroundReads: true, backgroundDelayMs: 30, backgroundMinBytes: 1024 });
    let pool: DecoderPool | undefined;
    try {
      const layers = late.params.language_model.model.layers.map((l) => l as unknown as StoredWeights<unknown>);
      const last = [...layers[layers.length - 1].tensors.values()].find((t) => t.arrival)!; // a matrix (the norms, < 1 KiB, are read at load)
      pool = DecoderPool.start(late.params.language_model, late.config.text_config, 2, chooseAccelerations(backend).kernels);
      expect(Atomics.load(last.arrival!.progress, 0)).toBeLessThanOrEqual(last.arrival!.seq); // the pool started before the last layer's bytes were there
      // The pool's prefill first, while the bytes arrive; the reference: the same checkpoint read before loading returned, in-process.
      const cfg = late.config.text_config, ids = Array.from({ length: 12 }, (_, i) => (i * 31 + 2) % 1000);
      const embeds = tf.tidy(() => embedTokens(streamed.params.language_model, ids));
      const got = await prefill(late.params.language_model, cfg, embeds, { allLogits: true, decoder: pool as Decoder });
      const ref = await prefill(streamed.params.language_model, cfg, embeds, { allLogits: true });
      try {
        expectClose(got.logits, ref.logits, TOL.decoderPool, 'prefill logits [T, V]');
      } finally {
        tf.dispose([embeds, got.logits, ref.logits]);
        got.cache.dispose();
        ref.cache.dispose();
      }
    } finally {
      await pool?.close();
      disposeLlavaNext(late);
    }
  });

  it('f16 weights on disk (--weights disk): each worker reads its rows/columns from the file when it uses them, same generation', async () => {
    const layer = onDisk.params.language_model.model.layers[0] as unknown as StoredWeights<unknown>;
    for (const t of layer.tensors.values()) expect(t.disk).toBeDefined();
    expect(onDiskPool.rowsKernel).toBe('wasm-simd');
    await expectSameGeneration(onDisk.params.language_model, onDisk.config.text_config, onDiskPool, Array.from({ length: 12 }, (_, i) => (i * 31 + 2) % 1000));
  });

  it('without a cache: the logits of llamaForward without one (the chunk attends within itself)', async () => {
    const ids = loadCase('llama_tiny').numbers('input_ids');
    const embeds = tf.tidy(() => embedTokens(tiny.params, ids));
    const want = await llamaForward(tiny.params, embeds, tiny.config);
    const got = tinyPool.forward(tiny.params, embeds, tiny.config);
    expectClose(got.logits, want.logits, TOL.decoderPool, 'logits');
    tf.dispose([embeds, want.logits, got.logits]);
  });

  it('frees every tensor in the workers once the caches are disposed', () => {
    const before = tinyPool.workerTensors();
    const embeds = tf.tidy(() => embedTokens(tiny.params, [1, 5, 9]));
    const cache = tinyPool.newCache(tiny.config.num_hidden_layers);
    const out = tinyPool.forward(tiny.params, embeds, tiny.config, { cache, lastOnly: true });
    expect(out.logits.shape).toEqual([1, tiny.config.vocab_size]);
    expect(tinyPool.workerTensors().every((n, w) => n > before[w])).toBe(true); // each worker holds its heads' keys and values
    cache.dispose();
    tf.dispose([embeds, out.logits]);
    expect(tinyPool.workerTensors()).toEqual(before);
  });

  it('every worker installed the kernels the CLI chooses on this backend', () => {
    expect(tinyPool.workerKernels).toEqual([0, 1].map(() => chooseAccelerations(backend).kernels));
  });

  it('refuses taps, a foreign cache or params, in one HeroError', () => {
    const p = tiny.params, cfg = tiny.config, L = cfg.num_hidden_layers;
    const embeds = tf.tidy(() => embedTokens(p, [1, 5, 9, 11]));
    expect(() => tinyPool.forward(p, embeds, cfg, { taps: { hiddenStates: true } })).toThrow(/decoder workers: taps/);
    const plain = new KvCache(L);
    expect(() => tinyPool.forward(p, embeds, cfg, { cache: plain })).toThrow(HeroError);
    expect(() => smallPool.forward(p, embeds, cfg)).toThrow(/not the ones the pool was started with/);
    plain.dispose();
    embeds.dispose();
  });
});

describe('DecoderPool.start refusals', () => {
  it('refuses a split that is not exact before starting any worker', () => {
    const cfg = llamaConfig({ hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, intermediate_size: 128, num_hidden_layers: 1 });
    expect(() => DecoderPool.start({} as LlamaParams, cfg, 4)).toThrow(/not divisible by 4/);
  });
});
