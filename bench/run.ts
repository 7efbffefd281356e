/**
 * `npm run bench [-- --suite vision,hero,decoder,memory,scale] [--runs N] [--backends wasm,cpu] [--no-peer]
 *                  [--python PATH] [--vision-workers W] [--plain] [--attention auto|per-head|batched]
 *                  [--decoder-layers L] [--prefill-chunk C] [--accel wasm|blas|auto] [--charts-only]`
 *
 * Measures, on this machine, what HERO saves and costs, and how the tfjs implementation compares with
 * PyTorch on the same computation (bench/peer/peer.py, same weights and inputs through a safetensors file).
 * Random weights at real sizes are generated here (seeded); nothing is downloaded. Every figure is the
 * median [min, max] of --runs runs after one warm-up. One file per suite (bench/suites/), each returning a
 * typed result written to bench/results/<suite>_<backend>.json, and the charts drawn from them
 * (bench/charts.ts; `--charts-only` redraws them without running anything). Never part of `npm test`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BACKENDS as KNOWN_BACKENDS, initBackend, type BackendName } from '../src/backend';
import { HeroError } from '../src/core/errors';
import { helpText, parseFlags, type FlagSpecs } from '../src/cli/args';
import { installAccelerations, installedKernels, requestedAccel, type AttentionKernel } from '../src/accel';
import { DEFAULT_PYTHON, DEFAULT_SUITES, PYTHON_ENV, RESULTS, ROOT, SUITES, save, type BenchOptions, type SuiteName } from './common';
import { writeBenchCharts } from './charts';
import { visionSuite, type VisionState } from './suites/vision';
import { heroSuite } from './suites/hero';
import { decoderSuite } from './suites/decoder';
import { memorySuite } from './suites/memory';
import { scaleSuite } from './suites/scale';

const ATTENTION = ['auto', 'per-head', 'batched'] as const;

export const BENCH_FLAGS: FlagSpecs = {
  suite: { type: 'string', arg: 'LIST', default: DEFAULT_SUITES.join(','), help: `comma-separated suites (${SUITES.join(', ')}); hero needs vision's outputs and runs it; scale only when named` },
  runs: { type: 'int', arg: 'N', default: 3, help: 'timed runs per figure, after one warm-up' },
  backends: { type: 'string', arg: 'LIST', default: 'wasm', help: `comma-separated tfjs backends (${KNOWN_BACKENDS.join(', ')}); the peer runs with the first` },
  'no-peer': { type: 'boolean', help: 'do not run the PyTorch peer' },
  python: { type: 'string', arg: 'PATH', help: `Python of the PyTorch peer (default: $${PYTHON_ENV}, else ${DEFAULT_PYTHON})` },
  'vision-workers': { type: 'int', arg: 'W', help: 'worker threads for the vision tower, 0 = in-process (default: one per core)' },
  'decoder-workers': { type: 'int', arg: 'W', help: 'worker threads for the decoder suite (accel/decoder_pool.ts), 1 = in-process (default: one per core)' },
  plain: { type: 'boolean', help: 'also time the in-process vision path once' },
  attention: { type: 'string', arg: 'IMPL', default: 'auto', help: "attend's implementation: auto (per-head on wasm, batched elsewhere), per-head, batched; a forced one writes <suite>_attention-<impl>.json" },
  'decoder-layers': { type: 'int', arg: 'L', default: 1, help: 'decoder layers at Vicuna-7B width (32 do not fit a 4 GiB wasm heap in fp32)' },
  'prefill-chunk': { type: 'int', arg: 'C', default: 512, help: 'prefill positions per decoder call' },
  accel: { type: 'string', arg: 'MODE', default: 'wasm', help: "the large products: wasm (the WebAssembly kernels: ours for the products, src/accel/gemm.ts), blas (the system's BLAS, src/accel/blas.ts: results go to <suite>_<backend>_blas.json), auto (the BLAS when found)" },
  'charts-only': { type: 'boolean', help: 'only redraw bench/results/*.png from bench/results/*.json' },
  'scale-model': { type: 'string', arg: 'DIR', default: 'bench/.scale/llava-v1.6-vicuna-7b-f16', help: 'scale: the llava-v1.6-vicuna-7b-shaped checkpoint (generated there in f16 when absent, ≈ 14 GB)' },
  'scale-clip': { type: 'string', arg: 'DIR', default: 'bench/.scale/clip-vit-large-patch14-336-f16', help: 'scale: the CLIP ViT-L/14-336-shaped checkpoint (generated there in f16 when absent)' },
  'scale-full': { type: 'boolean', help: 'scale: also run r = 1.0 (every visual token)' },
};

const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter((x) => x !== '');

/** The bench's options from its argv (after `npm run bench --`); bad flags are HeroErrors naming the flag. */
export function benchOptions(argv: readonly string[], env: NodeJS.ProcessEnv, tmp: string): BenchOptions & { chartsOnly: boolean } {
  const f = parseFlags(argv, BENCH_FLAGS, 'npm run bench --');
  const suites = list(f.suite as string);
  const badSuite = suites.find((s) => !(SUITES as readonly string[]).includes(s));
  if (badSuite !== undefined || suites.length === 0) throw new HeroError(`--suite: '${f.suite}' is not a list of ${SUITES.join(', ')}`);
  const backends = list(f.backends as string);
  const badBackend = backends.find((b) => !(KNOWN_BACKENDS as readonly string[]).includes(b));
  if (badBackend !== undefined || backends.length === 0) throw new HeroError(`--backends: '${f.backends}' is not a list of ${KNOWN_BACKENDS.join(', ')}`);
  const attention = f.attention as string;
  if (!(ATTENTION as readonly string[]).includes(attention)) throw new HeroError(`--attention: '${attention}' is not one of ${ATTENTION.join(', ')}`);
  const accel = requestedAccel(f.accel as string, {});
  const runs = f.runs as number;
  if (runs < 1) throw new HeroError(`--runs: ${runs} must be at least 1`);
  const visionWorkers = (f['vision-workers'] as number | undefined) ?? os.cpus().length;
  if (visionWorkers < 0) throw new HeroError(`--vision-workers: ${visionWorkers} must be ≥ 0`);
  const decoderWorkers = (f['decoder-workers'] as number | undefined) ?? os.cpus().length;
  if (decoderWorkers < 1) throw new HeroError(`--decoder-workers: ${decoderWorkers} must be ≥ 1`);
  for (const k of ['decoder-layers', 'prefill-chunk'] as const) if ((f[k] as number) < 1) throw new HeroError(`--${k}: ${f[k]} must be at least 1`);
  return {
    suites: suites as SuiteName[], runs, backends: backends as BackendName[], peer: !f['no-peer'],
    python: (f.python as string | undefined) ?? (env[PYTHON_ENV] || DEFAULT_PYTHON),
    visionWorkers, decoderWorkers, plain: Boolean(f.plain), attention: attention as AttentionKernel | 'auto', accel,
    decoderLayers: f['decoder-layers'] as number, prefillChunk: f['prefill-chunk'] as number, tmp, chartsOnly: Boolean(f['charts-only']),
    scaleModel: path.resolve(f['scale-model'] as string), scaleClip: path.resolve(f['scale-clip'] as string), scaleFull: Boolean(f['scale-full']),
  };
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(helpText('npm run bench -- [flags]', 'Timings of the vision tower, HERO, the decoder and memory (bench/README.md).', BENCH_FLAGS));
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-bench-'));
  try {
    const opts = benchOptions(argv, process.env, tmp);
    if (!opts.chartsOnly) {
      for (const backend of opts.backends) {
        await initBackend(backend);
        // the workers' counts only set the BLAS's threads here (each suite starts its own pools): those of the suites that run
        const visionWorkers = opts.suites.some((s) => s === 'vision' || s === 'hero') ? Math.max(1, opts.visionWorkers) : 1;
        const decoderWorkers = opts.suites.includes('decoder') ? opts.decoderWorkers : 1;
        const a = installAccelerations(backend, { attention: opts.attention, accel: opts.accel, visionWorkers, decoderWorkers });
        if (a.fallback) console.log(`!! ${a.fallback}`);
        console.log(`== backend ${backend}, attention ${installedKernels().attention}, linear ${installedKernels().linear} ==\n${a.line}`);
        const has = (s: SuiteName): boolean => opts.suites.includes(s);
        let vision: VisionState | undefined;
        try {
          if (has('vision') || has('hero')) {
            const v = await visionSuite(opts, backend);
            vision = v.state;
            save(opts, `vision_${backend}`, v.result);
          }
          if (has('hero') && vision) save(opts, `hero_${backend}`, await heroSuite(opts, backend, vision));
        } finally {
          await vision?.dispose();
        }
        if (has('decoder')) save(opts, `decoder_${backend}`, await decoderSuite(opts, backend));
        if (has('memory')) save(opts, `memory_${backend}`, await memorySuite(backend));
        if (has('scale')) save(opts, `scale_${backend}`, await scaleSuite(opts, backend));
      }
    }
    // The charts are drawn from the JSON in bench/results/ (bench/charts.ts), after a run as with --charts-only.
    for (const f of await writeBenchCharts(RESULTS, opts.backends[0])) console.log(`wrote ${path.relative(ROOT, f)}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    if (e instanceof HeroError) {
      console.error(`bench: error: ${e.message}`);
      process.exit(e.exitCode);
    }
    console.error(e);
    process.exit(1);
  });
}
