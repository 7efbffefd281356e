/**
 * accel/kv_host.ts HostKvCache against the reference llama/kv_cache.ts KvCache it replaces: the same
 * keys, values and logits, bit for bit (values are copied, never recomputed), through a prefill and
 * step-by-step decoding, with and without a decoder hook that drops rows (FastV: per-layer positions),
 * on the golden llama-tiny. cpu and wasm only (SYNC_READ_BACKENDS): HostKvCache reads each chunk with dataSync
 * by design, so the guard of $HERO_LVLM_FORBID_SYNC_READS stays off (the spec's own reads are asynchronous all the same).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostKvCache } from '../../src/accel/kv_host';
import { KvCache } from '../../src/llama/kv_cache';
import { embedTokens, llamaForward } from '../../src/llama/decoder';
import { hookedForward, HookKvCache, type DecoderHook } from '../../src/baselines/decoder_hooks';
import { disposeTree } from '../../src/io/checkpoint';
import { loadLlama } from '../../src/llama/load';
import { fastvHook } from '../../src/baselines/fastv';
import { tidyAsync } from '../../src/core/scope';
import { leaveBackend, loadCase, modelDir, SYNC_READ_BACKENDS, useBackend } from '../util/fixtures';

// With neither wasm nor cpu in $HERO_LVLM_TEST_BACKENDS the block is reported as skipped.
(SYNC_READ_BACKENDS.length ? describe.each([...SYNC_READ_BACKENDS]) : describe.skip.each(['wasm']))('accel/kv_host · HostKvCache = KvCache exactly (%s backend)', (backend) => {
  let m: ReturnType<typeof loadLlama>;
  beforeAll(async () => { await useBackend(backend, { syncReads: true }); m = loadLlama(modelDir('llama-tiny')); });
  afterAll(async () => { disposeTree(m.params); await leaveBackend(); });

  /** Logits of a prefill of ids[0..10) then one step per remaining id, and every layer's keys and values after. */
  const run = async (cache: KvCache, hook?: DecoderHook): Promise<{ logits: number[][]; kv: number[][] }> => {
    const ids = loadCase('llama_tiny').numbers('input_ids');
    const logits: number[][] = [];
    try {
      // with a hook, the prefill and the decode steps run the hook's runner on the cache (per-layer positions)
      const hc = hook ? new HookKvCache(cache) : undefined;
      const step = async (ids1: number[], opts: { hook?: DecoderHook; lastOnly?: boolean }): Promise<number[]> =>
        tidyAsync(async () => Array.from(await (hc
          ? await hookedForward(m.params, embedTokens(m.params, ids1), m.config, { cache: hc, ...opts })
          : llamaForward(m.params, embedTokens(m.params, ids1), m.config, { cache, ...opts })).logits.data()));
      logits.push(await step(ids.slice(0, 10), { hook }));
      for (const id of ids.slice(10)) logits.push(await step([id], { lastOnly: true }));
      const kv: number[][] = [];
      for (let l = 0; l < m.config.num_hidden_layers; l++) {
        const k = cache.keys(l)!, v = cache.values(l)!;
        kv.push(Array.from(await k.data()), Array.from(await v.data()), [...k.shape]);
        if (cache instanceof HostKvCache) tf.dispose([k, v]); // HostKvCache hands out copies
      }
      return { logits, kv };
    } finally {
      cache.dispose();
    }
  };

  it('prefill and step-by-step decoding', async () => {
    const L = m.config.num_hidden_layers;
    const host = new HostKvCache(L);
    const want = await run(new KvCache(L));
    const got = await run(host);
    expect(got.logits).toEqual(want.logits);
    expect(got.kv).toEqual(want.kv);
  });

  it('after a decoder hook that drops rows (FastV at layer 1, keeping half of rows 2..8)', async () => {
    const L = m.config.num_hidden_layers;
    const hook = (): DecoderHook => fastvHook({ layer: 1, ratio: 0.5 }, 2, 8, L);
    const want = await run(new KvCache(L), hook());
    const got = await run(new HostKvCache(L), hook());
    expect(got.logits).toEqual(want.logits);
    expect(got.kv).toEqual(want.kv);
    // layer 0 caches every row; layer 1, after the hook, fewer (kv holds k, v, shape per layer)
    expect(want.kv[3 * 1 + 2][1]).toBeLessThan(want.kv[2][1]);
  });

  it('grows while it has spare capacity: multi-row chunks after the first (chunked prefill, a second turn) land where the reference puts them', async () => {
    // [Hkv = 2, T, Dh = 3] chunks of 3, 1, 2, 5, 4, 1 rows: capacity 3, then 6 (doubled); the 2-row chunk fills
    // it exactly; the 5-row one grows it to 12; the 4-row one finds 1 row spare and must grow although it is not
    // full (a growth test on one row, or on a full cache, would write it into the next head's rows).
    const Hkv = 2, Dh = 3;
    const host = new HostKvCache(1), ref = new KvCache(1);
    let seed = 1;
    const chunk = (T: number): tf.Tensor3D => tf.tensor3d(Float32Array.from({ length: Hkv * T * Dh }, () => (seed = (seed * 48271) % 2147483647) / 2147483647), [Hkv, T, Dh]);
    try {
      for (const T of [3, 1, 2, 5, 4, 1]) {
        const [k, v] = [chunk(T), chunk(T)];
        const [got, want] = tf.tidy(() => [host.append(0, k, v), ref.append(0, k.clone(), v.clone())].map((r) => [Array.from(r.k.dataSync()), Array.from(r.v.dataSync())]));
        ref.advance(T); host.advance(T);
        tf.dispose([k, v]);
        expect(got).toEqual(want);
        const hk = host.keys(0)!, rk = ref.keys(0)!;
        expect({ shape: hk.shape, keys: Array.from(await hk.data()) }).toEqual({ shape: rk.shape, keys: Array.from(await rk.data()) });
        hk.dispose();
      }
    } finally {
      host.dispose();
      ref.dispose();
    }
  });

  it('holds its keys and values on the host: no tensor outlives a forward call', async () => {
    const L = m.config.num_hidden_layers;
    const cache = new HostKvCache(L);
    const before = tf.memory().numTensors;
    await tidyAsync(async () => { await llamaForward(m.params, embedTokens(m.params, [1, 2, 3, 4]), m.config, { cache }); });
    expect(tf.memory().numTensors).toBe(before);
    const Hkv = m.config.num_key_value_heads, Dh = m.config.head_dim;
    expect(cache.hostBytes).toBe(2 * L * 4 * Hkv * 4 * Dh); // k and v, L layers, 4 positions, fp32
    cache.dispose();
    expect(cache.hostBytes).toBe(0);
  });
});
