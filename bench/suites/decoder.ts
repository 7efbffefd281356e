/**
 * decoder: prefill and per-token decode (KV cache) at Vicuna-7B width with --decoder-layers layers at the
 * paper's Table 4 token counts; the measured speedup next to the analytic FLOPs ratio (HERO-7/8); against
 * the PyTorch peer's prefill.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../../src/backend';
import { prefillFlops } from '../../src/flops/flops';
import { presetDims } from '../../src/flops/presets';
import { disposeTree } from '../../src/io/checkpoint';
import { writeSafetensors, type TensorToWrite } from '../../src/io/safetensors';
import { llamaConfig } from '../../src/llama/config';
import { llamaForward, type LlamaParams } from '../../src/llama/decoder';
import { llamaKeys } from '../../src/llama/load';
import { KvCache } from '../../src/llama/kv_cache';
import { DecoderPool } from '../../src/accel';
import { randomParams } from '../../src/weights/random_params';
import { bestThreads, fairBlas, fmt, peer, peerBlasLine, timeIt, type BenchOptions, type PeerInfo, type Stat } from '../common';

/** One token count of the decoder suite. */
export interface DecoderRow {
  ratio: number;
  tokens: number;
  prefill_ms: Stat;
  decode_ms_per_token: Stat;
  analytic_tflops_32_layers: number;
  prefill_ms_extrapolated_32_layers: number;
}

/** What the peer reports for the decoder suite: prefill and one decode position per token count, at 1 and 2 threads. */
export interface DecoderPeer extends PeerInfo {
  threads_1: Record<string, Stat>; threads_2: Record<string, Stat>;
  decode_threads_1: Record<string, Stat>; decode_threads_2: Record<string, Stat>;
}

/** tfjs / PyTorch at PyTorch's best thread count on this machine, per token count (absent on an unfair BLAS). */
export interface DecoderRatio { tokens: number; prefill: number; prefill_torch_threads: number; decode: number; decode_torch_threads: number }

/** bench/results/decoder_<backend>.json (after the run's metadata). */
export interface DecoderResult {
  backend: BackendName;
  /** 'in-process' or 'W decoder workers' (accel/decoder_pool.ts) */
  path: string;
  layers: number;
  rows: DecoderRow[];
  measured_speedup_r02: number;
  analytic_ratio_r02: number;
  fraction_of_analytic: number;
  peer: DecoderPeer | string;
  /** tfjs / PyTorch-best per token count, or why there is none */
  vs_pytorch: DecoderRatio[] | string;
  cpu: string;
}

export async function decoderSuite(opts: BenchOptions, backend: BackendName): Promise<DecoderResult> {
  const LAYERS = opts.decoderLayers, CHUNK = opts.prefillChunk;
  // Vicuna-7B width, LAYERS layers (32 do not fit a 4 GiB wasm heap in fp32), a 32-token head.
  const cfg = llamaConfig({ hidden_size: 4096, intermediate_size: 11008, num_attention_heads: 32, num_key_value_heads: 32, num_hidden_layers: LAYERS, vocab_size: 32, max_position_embeddings: 4096, rms_norm_eps: 1e-5 });
  const { tree, host } = randomParams<LlamaParams>(llamaKeys(cfg, ''), 21);
  // The decoder as the CLI runs it with --decoder-workers W (accel/decoder_pool.ts), or in-process (W ≤ 1).
  const W = opts.decoderWorkers;
  const pool = W > 1 ? DecoderPool.start(tree, cfg, W) : undefined;
  const forward = pool ? pool.forward : llamaForward;
  const newCache = (L: number): KvCache => (pool ? pool.newCache(L) : new KvCache(L));
  const how = pool ? `${W} decoder workers` : 'in-process';
  const counts = [{ r: 1.0, n: 2673 }, { r: 0.4, n: 1105 }, { r: 0.2, n: 583 }]; // paper Table 4 token counts
  const dims = presetDims('vicuna-7b');
  const rows: DecoderRow[] = [];
  const inputs: Record<string, TensorToWrite> = {};
  for (const { r, n } of counts) {
    const x = tf.randomNormal([n, 4096], 0, 1, 'float32', n) as tf.Tensor2D;
    inputs[`__input__${n}`] = { dtype: 'F32', shape: [n, 4096], data: x.dataSync() as Float32Array };
    // Prefill in chunks of CHUNK positions through the KV cache (same FLOPs; the full [32, n, n] score
    // tensor of a 2673-token prompt does not fit the wasm heap next to the weights).
    const prefillInto = async (cache: KvCache): Promise<void> => {
      for (let s0 = 0; s0 < n; s0 += CHUNK) {
        const xs = tf.slice(x, [s0, 0], [Math.min(CHUNK, n - s0), -1]);
        (await forward(tree, xs, cfg, { cache, lastOnly: true })).logits.dispose();
        xs.dispose();
      }
    };
    const prefill = await timeIt(async () => { const c = newCache(LAYERS); await prefillInto(c); c.dispose(); }, Math.max(1, opts.runs - 1));
    // Per-token decode after a prefill of n positions (KV cache kept in place across steps).
    const cache = newCache(LAYERS);
    await prefillInto(cache);
    const one = tf.randomNormal([1, 4096], 0, 1, 'float32', 1) as tf.Tensor2D;
    const decode = await timeIt(async () => { (await forward(tree, one, cfg, { cache, lastOnly: true })).logits.dispose(); }, 4, 1);
    cache.dispose(); one.dispose(); x.dispose();
    rows.push({ ratio: r, tokens: n, prefill_ms: prefill, decode_ms_per_token: decode, analytic_tflops_32_layers: prefillFlops(n, dims) / 1e12, prefill_ms_extrapolated_32_layers: (prefill.median * 32) / LAYERS });
    console.log(`decoder Vicuna-7B width, ${LAYERS} layer(s), ${n} tokens (r = ${r}) (${backend}, ${how}): prefill ${fmt(prefill)}, decode ${fmt(decode)}/token`);
  }
  const full = rows[0], r02 = rows[2];
  const measured = full.prefill_ms.median / r02.prefill_ms.median;
  const analytic = prefillFlops(full.tokens, dims) / prefillFlops(r02.tokens, dims);
  console.log(`        speedup at r = 0.2: measured ${measured.toFixed(2)}×, analytic FLOPs ratio ${analytic.toFixed(2)}× → ${((100 * measured) / analytic).toFixed(0)} % of analytic`);
  let peerRes: DecoderPeer | string = 'not run';
  if (backend === opts.backends[0]) {
    const file = path.join(opts.tmp, 'decoder.safetensors');
    const w: Record<string, TensorToWrite> = { ...inputs };
    for (const [k, v] of Object.entries(host)) if (k.startsWith('model.layers.0.')) w[k.replace('model.layers.0.', '')] = v;
    writeSafetensors(file, w);
    peerRes = peer<DecoderPeer>(opts, 'decoder', file, { tokens: counts.map((c) => c.n), layers: LAYERS, heads: 32, head_dim: 128, threads: [1, 2], runs: Math.max(1, opts.runs - 1), warmup: 1 });
    fs.rmSync(file);
    if (typeof peerRes === 'object') {
      const p = peerRes;
      console.log(`        ${peerBlasLine(p)}`);
      for (const { n } of counts) {
        console.log(`        PyTorch ${n}: prefill 1 thread ${fmt(p.threads_1[String(n)])}, 2 threads ${fmt(p.threads_2[String(n)])}; ` +
          `decode 1 thread ${fmt(p.decode_threads_1[String(n)])}, 2 threads ${fmt(p.decode_threads_2[String(n)])}/token`);
      }
    } else console.log(`        ${peerRes}`);
  }
  await pool?.close();
  disposeTree(tree);
  let vs: DecoderRatio[] | string = typeof peerRes === 'string' ? peerRes : fairBlas(peerRes) ?? [];
  if (typeof vs === 'string') console.log(`        ${vs}`);
  else {
    const p = peerRes as DecoderPeer;
    vs = rows.map((row) => {
      const k = String(row.tokens);
      const pre = bestThreads({ threads_1: p.threads_1[k], threads_2: p.threads_2[k] });
      const dec = bestThreads({ threads_1: p.decode_threads_1[k], threads_2: p.decode_threads_2[k] });
      return { tokens: row.tokens, prefill: row.prefill_ms.median / pre.median, prefill_torch_threads: pre.threads, decode: row.decode_ms_per_token.median / dec.median, decode_torch_threads: dec.threads };
    });
    for (const v of vs) console.log(`        tfjs / PyTorch-best at ${v.tokens}: prefill ${v.prefill.toFixed(2)}× (torch ${v.prefill_torch_threads} thr), decode ${v.decode.toFixed(2)}× (torch ${v.decode_torch_threads} thr)`);
  }
  return {
    backend, path: how, layers: LAYERS, rows, measured_speedup_r02: measured, analytic_ratio_r02: analytic, fraction_of_analytic: measured / analytic, peer: peerRes,
    vs_pytorch: vs, cpu: `${os.cpus().length}× ${os.cpus()[0]?.model}`,
  };
}
