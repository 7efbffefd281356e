/**
 * `node --expose-gc -r ./src/cli/register-ts.js bench/attention_rows.ts [--backend wasm] [--heads 16] [--keys 583,2673] [--rows 1,8,32,48,64] [--runs 3]`
 *
 * Where the per-head attention loop (src/accel/attention.ts attendHeadByHead) starts to pay against the
 * reference batched `attend` (src/nn/attention.ts): both on --heads heads of 128 over each --keys count,
 * for each --rows number of query rows, with a [rows, keys] mask as the decoder passes. The crossover sets
 * PER_HEAD_MIN_QUERIES (the defaults are one decoder worker's 16 heads of Vicuna-7B, and the paper's
 * Table 4 token counts). Prints median [min, max] of --runs runs after one warm-up, and the machine's
 * load (measure on an idle machine). Not part of `npm test` or `npm run bench`.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/backend';
import { parseFlags, type FlagSpecs } from '../src/cli/args';
import { attendHeadByHead, PER_HEAD_MIN_QUERIES } from '../src/accel/attention';
import { attend } from '../src/nn/attention';
import { fmt, timeIt } from './common';

const FLAGS: FlagSpecs = {
  backend: { type: 'string', arg: 'B', default: 'wasm', help: 'wasm or cpu' },
  heads: { type: 'int', arg: 'H', default: 16, help: 'attention heads (of 128)' },
  keys: { type: 'string', arg: 'N,…', default: '583,2673', help: 'cached key counts' },
  rows: { type: 'string', arg: 'N,…', default: '1,8,32,48,64', help: 'query row counts' },
  runs: { type: 'int', arg: 'R', default: 3, help: 'timed runs per figure, after one warm-up' },
};

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), FLAGS, 'bench/attention_rows.ts');
  const list = (s: string): number[] => s.split(',').map(Number);
  const H = f.heads as number, Dh = 128, runs = f.runs as number;
  await initBackend(f.backend as BackendName, () => undefined);
  console.log(`${f.backend}, ${H} heads of ${Dh}; PER_HEAD_MIN_QUERIES = ${PER_HEAD_MIN_QUERIES}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);
  for (const Tk of list(f.keys as string)) {
    for (const Tq of list(f.rows as string)) {
      const [q, k, v, mask] = [[1, H, Tq, Dh], [1, H, Tk, Dh], [1, H, Tk, Dh], [Tq, Tk]].map((s, i) => tf.randomNormal(s, 0, 1, 'float32', i + 1));
      const time = (fn: typeof attend): ReturnType<typeof timeIt> => timeIt(() => {
        const o = tf.tidy(() => fn(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, 1 / Math.sqrt(Dh), { mask }).out);
        o.dataSync();
        o.dispose();
      }, runs);
      const batched = await time(attend), perHead = await time(attendHeadByHead);
      console.log(`${Tk} keys, ${Tq} query rows: batched ${fmt(batched)}, per-head ${fmt(perHead)} → ${batched.median <= perHead.median ? 'batched' : 'per-head'}`);
      tf.dispose([q, k, v, mask]);
    }
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
