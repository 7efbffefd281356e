/**
 * `node --expose-gc -r ./src/cli/register-ts.js bench/blas_product.ts [--rows 583] [--in 4096] [--out 11008] [--runs 3]`
 *
 * One large linear product y = x Wᵀ (Vicuna-7B's gate/up projection at r = 0.2's 583 tokens by default) on
 * tfjs-wasm: XNNPACK (accel/linear.ts, Wᵀ kept so only the product is timed) against the BLAS kernel
 * (accel/blas.ts) at 1 thread and at one per core. Prints the CPU, the BLAS and the kernel it runs, the
 * load average before and after (the figures are only comparable on an idle machine), and per figure the
 * median [min, max] of --runs runs after one warm-up, in ms and GFLOP/s. bench/README.md, "The BLAS kernel".
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend';
import { HeroError } from '../src/core/errors';
import { parseFlags, type FlagSpecs } from '../src/cli/args';
import { blasThreadsFor, describeBlas, findBlas, linearBlas, useBlas } from '../src/accel/blas';
import { keepTransposed, linearTransposePolicy, releaseTransposed } from '../src/accel/linear';
import { fmt, timeIt } from './common';

const FLAGS: FlagSpecs = {
  rows: { type: 'int', arg: 'N', default: 583, help: 'rows of x' },
  in: { type: 'int', arg: 'K', default: 4096, help: 'inner dimension' },
  out: { type: 'int', arg: 'M', default: 11008, help: 'rows of W' },
  runs: { type: 'int', arg: 'R', default: 3, help: 'timed runs per figure, after one warm-up' },
};

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), FLAGS, 'bench/blas_product.ts');
  const [rows, inF, outF, runs] = [f.rows, f.in, f.out, f.runs] as number[];
  const gflops = (ms: number): string => (2 * rows * inF * outF / ms / 1e6).toFixed(1);
  await initBackend('wasm', () => undefined);
  console.log(`cpu: ${os.cpus().length}× ${os.cpus()[0]?.model}; load average before: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const x = tf.randomNormal([rows, inF], 0, 1, 'float32', 1);
  const p = { weight: tf.mul(tf.randomNormal([outF, inF], 0, 1, 'float32', 2), 1 / Math.sqrt(inF)) as tf.Tensor2D };
  const product = `${rows} × ${inF} × ${outF}`;

  keepTransposed(p.weight);
  const xnn = await timeIt(() => { linearTransposePolicy(p, x).dispose(); }, runs);
  releaseTransposed(p.weight);
  console.log(`wasm/XNNPACK (Wᵀ kept)    ${product}: ${fmt(xnn)}  ${gflops(xnn.median)} GFLOP/s`);

  const found = findBlas();
  if (typeof found === 'string') {
    console.log(`!! no BLAS: ${found}`);
  } else {
    for (const threads of [...new Set([1, blasThreadsFor(1)])]) {
      const b = useBlas(found.library, threads);
      const s = await timeIt(() => { linearBlas(p, x).dispose(); }, runs);
      console.log(`${describeBlas(b)} ${product}: ${fmt(s)}  ${gflops(s.median)} GFLOP/s`);
    }
  }
  console.log(`load average after: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  tf.dispose([x, p.weight]);
}

main().catch((e) => {
  console.error(e instanceof HeroError ? `bench: error: ${e.message}` : e);
  process.exit(1);
});
