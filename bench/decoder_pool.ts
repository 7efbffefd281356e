/**
 * `node --expose-gc -r ./src/cli/register-ts.js bench/decoder_pool.ts [--backend wasm] [--tokens 583] [--layers 1] [--workers 2] [--runs 3]`
 *
 * The decoder in-process (llamaForward with a KvCache) against the same decoder over worker threads
 * (src/accel/decoder_pool.ts DecoderPool, heads and MLP columns split), both with the kernels the CLI
 * installs on the backend: the prefill of --tokens positions in one call, then the decode per token after
 * it (KV cache kept across steps), at Vicuna-7B width (D 4096, H 32, F 11008) with random weights and
 * --layers layers. Prints median [min, max] of --runs runs after one warm-up, and the machine's load
 * (measure on an idle machine). Not part of `npm test` or `npm run bench`.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/backend';
import { parseFlags, type FlagSpecs } from '../src/cli/args';
import { DecoderPool, installAccelerations } from '../src/accel';
import { disposeTree } from '../src/io/checkpoint';
import { llamaConfig } from '../src/llama/config';
import { llamaForward, type LlamaParams } from '../src/llama/decoder';
import { KvCache } from '../src/llama/kv_cache';
import { llamaKeys } from '../src/llama/load';
import { randomParams } from '../src/weights/random_params';
import { fmt, timeIt } from './common';

const FLAGS: FlagSpecs = {
  backend: { type: 'string', arg: 'B', default: 'wasm', help: 'wasm or cpu' },
  tokens: { type: 'int', arg: 'N', default: 583, help: 'prefill positions (583: HERO r = 0.2 in the paper\'s Table 4)' },
  layers: { type: 'int', arg: 'L', default: 1, help: 'decoder layers at Vicuna-7B width' },
  workers: { type: 'int', arg: 'W', default: 2, help: 'decoder worker threads' },
  runs: { type: 'int', arg: 'R', default: 3, help: 'timed runs per figure, after one warm-up' },
};

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), FLAGS, 'bench/decoder_pool.ts');
  const backend = f.backend as BackendName, N = f.tokens as number, L = f.layers as number, W = f.workers as number, runs = f.runs as number;
  await initBackend(backend, () => undefined);
  const accel = installAccelerations(backend, { decoderWorkers: W });
  console.log(`${accel.line}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);
  const cfg = llamaConfig({ hidden_size: 4096, intermediate_size: 11008, num_attention_heads: 32, num_key_value_heads: 32, num_hidden_layers: L, vocab_size: 32, max_position_embeddings: 4096, rms_norm_eps: 1e-5 });
  const { tree } = randomParams<LlamaParams>(llamaKeys(cfg, ''), 21);
  const x = tf.randomNormal([N, 4096], 0, 1, 'float32', N) as tf.Tensor2D;
  const one = tf.randomNormal([1, 4096], 0, 1, 'float32', 1) as tf.Tensor2D;
  const t0 = performance.now();
  const pool = DecoderPool.start(tree, cfg, W, accel.kernels);
  console.log(`pool start (copying each worker's half of ${L} layer(s)): ${(performance.now() - t0).toFixed(0)} ms`);
  const paths = {
    'in-process': { forward: llamaForward, newCache: (n: number): KvCache => new KvCache(n) },
    [`${W} workers`]: { forward: pool.forward, newCache: pool.newCache },
  };
  try {
    for (const [name, { forward, newCache }] of Object.entries(paths)) {
      const prefill = await timeIt(async () => {
        const c = newCache(L);
        (await forward(tree, x, cfg, { cache: c, lastOnly: true })).logits.dispose();
        c.dispose();
      }, runs);
      const cache = newCache(L);
      (await forward(tree, x, cfg, { cache, lastOnly: true })).logits.dispose();
      const decode = await timeIt(async () => { (await forward(tree, one, cfg, { cache, lastOnly: true })).logits.dispose(); }, 4, 1);
      cache.dispose();
      console.log(`decoder ${name}, Vicuna-7B width, ${L} layer(s), ${N} tokens (${backend}): prefill ${fmt(prefill)}, decode ${fmt(decode)}/token`);
    }
  } finally {
    await pool.close();
    tf.dispose([x, one]);
    disposeTree(tree);
  }
  console.log(`load average after: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
