/**
 * `node --expose-gc -r ./src/cli/register-ts.js bench/blas_product.ts [--rows 583] [--in 4096] [--out 11008] [--runs 3]`
 *
 * One large linear product y = x Wᵀ (Vicuna-7B's gate/up projection at r = 0.2's 583 tokens by default) on
 * tfjs-wasm: XNNPACK (accel/linear.ts, Wᵀ kept so only the product is timed) and our WebAssembly product
 * (accel/gemm.ts, packing W on each call, as it runs) against the BLAS kernel (accel/blas.ts) at 1 thread and
 * at one per core. Then XNNPACK and our product again in one worker thread per core, all
 * multiplying at the same time (each its own tfjs-wasm instance, as the vision and decoder pools run): the rate
 * one worker gets while every core is busy, the ceiling of a pool's stage, which on a machine whose cores share
 * a physical core or its caches is below the one-thread figure. Prints the CPU, the BLAS and the kernel it runs, the
 * load average before and after (the figures are only comparable on an idle machine), and per figure the
 * median [min, max] of --runs runs after one warm-up, in ms and GFLOP/s. bench/README.md, "The BLAS kernel".
 */
import * as os from 'os';
import * as path from 'path';
import { isMainThread, parentPort, Worker, workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend';
import { HeroError } from '../src/core/errors';
import { parseFlags, type FlagSpecs } from '../src/cli/args';
import { blasThreadsFor, describeBlas, findBlas, linearBlas, useBlas } from '../src/accel/blas';
import { keepTransposed, linearTransposePolicy, releaseTransposed } from '../src/accel/linear';
import { linearGemm } from '../src/accel/gemm';
import { fmt, stat, timeIt, type Stat } from './common';

/** What a concurrent worker gets: the product's shape, the runs, and the start line every worker waits at. */
interface ConcurrentJob { kernel: ConcurrentKernel; rows: number; inF: number; outF: number; runs: number; workers: number; ready: Int32Array }
type ConcurrentKernel = 'XNNPACK' | 'wasm-gemm';

/** The product's operands, the same in every thread: x [rows, in] and W [out, in] at the models' scale (std 1/√in). */
function operands(rows: number, inF: number, outF: number): { x: tf.Tensor; p: { weight: tf.Tensor2D } } {
  const x = tf.randomNormal([rows, inF], 0, 1, 'float32', 1);
  return { x, p: { weight: tf.mul(tf.randomNormal([outF, inF], 0, 1, 'float32', 2), 1 / Math.sqrt(inF)) as tf.Tensor2D } };
}

/** One worker of the concurrent figure: its own tfjs-wasm, the product after one warm-up, timed once every worker is warm. */
async function concurrentWorker(job: ConcurrentJob): Promise<number[]> {
  await initBackend('wasm', () => undefined);
  const { x, p } = operands(job.rows, job.inF, job.outF);
  const product = job.kernel === 'XNNPACK' ? linearTransposePolicy : linearGemm;
  if (job.kernel === 'XNNPACK') keepTransposed(p.weight);
  product(p, x).dispose();                                                            // warm-up (XNNPACK packs Wᵀ once)
  Atomics.add(job.ready, 0, 1);
  Atomics.notify(job.ready, 0);
  for (let n = Atomics.load(job.ready, 0); n < job.workers; n = Atomics.load(job.ready, 0)) Atomics.wait(job.ready, 0, n);
  const ts: number[] = [];
  for (let i = 0; i < job.runs; i++) {
    const t = performance.now();
    product(p, x).dispose();
    ts.push(performance.now() - t);
  }
  return ts;
}

/** The product in `workers` threads at once: every timed run of every thread. */
function concurrent(kernel: ConcurrentKernel, rows: number, inF: number, outF: number, runs: number, workers: number): Promise<Stat> {
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const hook = path.join(__dirname, '..', 'src', 'cli', 'register-ts.js');
  return Promise.all(Array.from({ length: workers }, () => new Promise<number[]>((resolve, reject) => {
    const w = new Worker(`require(${JSON.stringify(hook)}); require(${JSON.stringify(__filename)});`,
      { eval: true, workerData: { kernel, rows, inF, outF, runs, workers, ready } satisfies ConcurrentJob });
    w.once('message', resolve);
    w.once('error', reject);
  }))).then((all) => stat(all.flat()));
}

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
  const { x, p } = operands(rows, inF, outF);
  const product = `${rows} × ${inF} × ${outF}`;

  keepTransposed(p.weight);
  const xnn = await timeIt(() => { linearTransposePolicy(p, x).dispose(); }, runs);
  releaseTransposed(p.weight);
  console.log(`wasm/XNNPACK (Wᵀ kept)    ${product}: ${fmt(xnn)}  ${gflops(xnn.median)} GFLOP/s`);
  const own = await timeIt(() => { linearGemm(p, x).dispose(); }, runs);
  console.log(`wasm-gemm (accel/gemm.ts) ${product}: ${fmt(own)}  ${gflops(own.median)} GFLOP/s`);

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
  tf.dispose([x, p.weight]);
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  if (cores > 1) {
    const c = await concurrent('XNNPACK', rows, inF, outF, runs, cores);
    console.log(`wasm/XNNPACK (Wᵀ kept), ${cores} worker threads at once ${product}: ${fmt(c)}  ${gflops(c.median)} GFLOP/s per thread`);
    const g = await concurrent('wasm-gemm', rows, inF, outF, runs, cores);
    console.log(`wasm-gemm, ${cores} worker threads at once ${product}: ${fmt(g)}  ${gflops(g.median)} GFLOP/s per thread`);
  }
  console.log(`load average after: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e instanceof HeroError ? `bench: error: ${e.message}` : e);
    process.exit(1);
  });
} else {
  void concurrentWorker(workerData as ConcurrentJob).then((ts) => parentPort!.postMessage(ts));
}
