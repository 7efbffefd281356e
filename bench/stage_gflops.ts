/**
 * `node -r ./src/cli/register-ts.js bench/stage_gflops.ts --vision FILE --decoder FILE [--peak GFLOPS] [--peak-busy GFLOPS] [--json FILE]`
 *
 * Each stage's arithmetic rate from the bench's results (bench/results/vision_<backend>[_blas].json and
 * decoder_<backend>[_blas].json): the analytic FLOPs of what the suite runs divided by its measured median time,
 * in all and per worker thread (the suites run one worker per core by default), beside --peak, the rate of one
 * large product on one thread (bench/blas_product.ts's `wasm/XNNPACK (Wᵀ kept)` line: XNNPACK's own peak here),
 * as a share of it, and beside --peak-busy, the same product's rate per thread with one thread per core multiplying
 * at once (its `… worker threads at once` line): what a worker of a pool can get while the other cores work too. FLOPs: the vision suite's ViT-L/14-336 over 5 crops (runtime/workers.ts visionFlopsPerCrop,
 * 24 layers); the decoder suite's prefill of T tokens through its layers at Vicuna-7B width (flops/flops.ts
 * layerPrefillFlops, causal attention: the chunked prefill computes each row against the keys before it).
 * The pool gives every worker the same share of the crops (accel/vision_pool.ts planCrops: 5 crops over 2 workers
 * are 2 whole crops and half of the fifth crop's rows each), so the stage's rate per worker is each worker's.
 * Reads files only; bench/issue23.sh runs it.
 */
import * as fs from 'fs';
import { parseFlags, type FlagSpecs } from '../src/cli/args';
import { layerPrefillFlops } from '../src/flops/flops';
import { visionFlopsPerCrop } from '../src/runtime/workers';
import type { ClipVisionConfig } from '../src/clip/config';

const FLAGS: FlagSpecs = {
  vision: { type: 'string', arg: 'FILE', help: 'the vision suite result JSON' },
  decoder: { type: 'string', arg: 'FILE', help: 'the decoder suite result JSON' },
  peak: { type: 'number', arg: 'GFLOPS', help: 'one thread\'s rate on one large product (bench/blas_product.ts), GFLOP/s' },
  'peak-busy': { type: 'number', arg: 'GFLOPS', help: 'the same product\'s rate per thread with one thread per core at once (bench/blas_product.ts), GFLOP/s' },
  json: { type: 'string', arg: 'FILE', help: 'also write the figures as JSON' },
};

/** CLIP ViT-L/14-336 as the vision suite builds it (bench/suites/vision.ts). */
const VIT_L_336 = { hidden_size: 1024, intermediate_size: 4096, num_attention_heads: 16, num_hidden_layers: 24, image_size: 336, patch_size: 14, num_channels: 3 } as ClipVisionConfig;
const VISION_CROPS = 5;
/** Vicuna-7B's width as the decoder suite builds it (bench/suites/decoder.ts). */
const VICUNA_7B = { hidden: 4096, intermediate: 11008, heads: 32, kvHeads: 32, headDim: 128, layers: 1, bytesPerElement: 2 };

const workersIn = (path: unknown): number => Number(/(\d+) (decoder )?worker/.exec(String(path ?? ''))?.[1] ?? 1);

function main(): void {
  const f = parseFlags(process.argv.slice(2), FLAGS, 'bench/stage_gflops.ts');
  const peak = f.peak as number | undefined, busy = f['peak-busy'] as number | undefined;
  const rows: Array<{ stage: string; gflop: number; seconds: number; gflops: number; workers: number; gflops_per_worker: number; of_peak: number | null; of_peak_busy: number | null }> = [];
  const add = (stage: string, flop: number, ms: number, workers: number): void => {
    const gflops = flop / 1e9 / (ms / 1000);
    rows.push({ stage, gflop: flop / 1e9, seconds: ms / 1000, gflops, workers, gflops_per_worker: gflops / workers, of_peak: peak ? gflops / workers / peak : null, of_peak_busy: busy ? gflops / workers / busy : null });
  };
  if (f.vision) {
    const v = JSON.parse(fs.readFileSync(f.vision as string, 'utf8')) as { tfjs_ms: { median: number }; path?: string };
    const W = workersIn(v.path);
    add(`vision, ViT-L/14-336 × ${VISION_CROPS} crops (${v.path ?? 'in-process'})`, VISION_CROPS * visionFlopsPerCrop(VIT_L_336), v.tfjs_ms.median, W);
  }
  if (f.decoder) {
    const d = JSON.parse(fs.readFileSync(f.decoder as string, 'utf8')) as { layers: number; path?: string; rows: Array<{ tokens: number; prefill_ms: { median: number } }> };
    for (const r of d.rows) {
      add(`prefill, ${r.tokens} tokens, ${d.layers} layer(s) at Vicuna-7B width (${d.path ?? 'in-process'})`,
        d.layers * layerPrefillFlops(r.tokens, { ...VICUNA_7B, layers: d.layers }, { attention: 'causal' }), r.prefill_ms.median, workersIn(d.path));
    }
  }
  for (const r of rows) {
    console.log(`${r.stage}: ${r.gflop.toFixed(0)} GFLOP in ${r.seconds.toFixed(2)} s = ${r.gflops.toFixed(1)} GFLOP/s, ${r.gflops_per_worker.toFixed(1)} per worker` +
      (r.of_peak !== null ? ` = ${(100 * r.of_peak).toFixed(0)} % of one thread's peak (${peak!.toFixed(1)} GFLOP/s)` : '') +
      (r.of_peak_busy !== null ? `, ${(100 * r.of_peak_busy).toFixed(0)} % of a thread's with every core busy (${busy!.toFixed(1)} GFLOP/s)` : ''));
  }
  if (f.json) fs.writeFileSync(f.json as string, JSON.stringify({ peak_gflops_one_thread: peak ?? null, peak_gflops_per_thread_all_busy: busy ?? null, stages: rows }, null, 2) + '\n');
}

main();
