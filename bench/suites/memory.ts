/**
 * memory: 20 consecutive runs of the whole pipeline (HERO) on the golden tiny LLaVA-NeXT + CLIP: the live
 * tensor count after each run, RSS from run 2 to 20, peak RSS.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../../src/backend';
import { loadClipModel, disposeClipModel } from '../../src/clip/load';
import { heroDefaults } from '../../src/hero/index';
import { readImage } from '../../src/io/image';
import { loadLlavaNext, disposeLlavaNext } from '../../src/llava/load';
import { runPipeline } from '../../src/pipeline';
import { ROOT } from '../common';

/** bench/results/memory_<backend>.json (after the run's metadata). */
export interface MemoryResult {
  backend: BackendName;
  tensors_after_each_run: number[];
  identical: boolean;
  rss_bytes: number[];
  rss_measured: string;
  rss_growth_run2_to_20: number;
  rss_before_gc_bytes: number[];
  v8_heap_used_bytes: number[];
  peak_rss_bytes: number;
}

export async function memorySuite(backend: BackendName): Promise<MemoryResult> {
  const fx = path.join(ROOT, 'spec', 'fixtures');
  const model = loadLlavaNext(path.join(fx, 'models', 'llava-next-tiny'));
  const clip = loadClipModel(path.join(fx, 'models', 'clip-tiny'));
  const image = await readImage(path.join(fx, 'images', 'square_h70_w80.png'));
  const method = { name: 'hero' as const, options: { ...heroDefaults(24, 'code'), ratio: 0.5, lowLayers: [0, 1], highLayers: [2] }, clip, clipTextIds: [998, 320, 1, 655, 87, 410, 12, 999] };
  const tensors: number[] = [], rss: number[] = [], rawRss: number[] = [], heapUsed: number[] = [];
  let peak = 0;
  for (let i = 0; i < 20; i++) {
    await runPipeline(model, { image, inputIds: [1, 5, 1000, 7, 9], method, maxNewTokens: 4 });
    tensors.push(tf.memory().numTensors);
    rawRss.push(process.memoryUsage().rss);
    // Collect JS garbage first when node runs with --expose-gc (npm run bench does): the per-head attention
    // path creates ~10⁴ small tensor objects per run, and V8 is free to leave them uncollected for a while,
    // which reads as RSS growth without anything being retained.
    (globalThis as { gc?: () => void }).gc?.();
    rss.push(process.memoryUsage().rss);
    heapUsed.push(process.memoryUsage().heapUsed);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  disposeClipModel(clip);
  disposeLlavaNext(model);
  const growth = (rss[19] - rss[1]) / rss[1];
  console.log(`memory  20 pipeline runs (${backend}): tensors after each run ${[...new Set(tensors)].join('/')} (identical: ${new Set(tensors).size === 1}); RSS run 2 → 20: ${(rss[1] / 2 ** 20).toFixed(0)} → ${(rss[19] / 2 ** 20).toFixed(0)} MiB (${(100 * growth).toFixed(2)} %); peak ${(peak / 2 ** 20).toFixed(0)} MiB`);
  const gcNote = (globalThis as { gc?: unknown }).gc ? 'after a forced GC' : 'no --expose-gc: without a forced GC';
  console.log(`        (RSS ${gcNote}; before it: ${(rawRss[1] / 2 ** 20).toFixed(0)} → ${(rawRss[19] / 2 ** 20).toFixed(0)} MiB; V8 heap used ${(heapUsed[1] / 2 ** 20).toFixed(0)} → ${(heapUsed[19] / 2 ** 20).toFixed(0)} MiB)`);
  return {
    backend, tensors_after_each_run: tensors, identical: new Set(tensors).size === 1, rss_bytes: rss, rss_measured: gcNote,
    rss_growth_run2_to_20: growth, rss_before_gc_bytes: rawRss, v8_heap_used_bytes: heapUsed, peak_rss_bytes: peak,
  };
}
