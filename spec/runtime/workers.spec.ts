/**
 * runtime/workers.ts: the default worker counts. The tiny golden model stays in-process on any machine; a
 * llava-v1.6-vicuna-7b-shaped config (a sparse random-weights checkpoint: headers and configs, no data)
 * gets one worker per core for the vision tower and the most ≤ cores that split its decoder evenly; a count
 * given explicitly always wins; the reason is in the start-up line. The FLOP counts are checked against
 * an independent count: 2 FLOPs per weight of every matrix a crop's tokens / a new token pass through,
 * from the checkpoint's key spec (llava/load.ts llavaNextKeys), plus attention's products for a crop.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadLlavaNextConfig, llavaNextKeys } from '../../src/llava/load';
import { openRuntime, workerCounts } from '../../src/runtime';
import { decoderFlopsPerToken, defaultWorkers, visionFlopsPerCrop } from '../../src/runtime/workers';
import { installAccelerations, VisionPool } from '../../src/accel';
import { writeRandomCheckpoint } from '../../src/weights/random_checkpoint';
import type { LlavaNextConfig } from '../../src/llava/config';
import { leaveBackend, modelDir } from '../util/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-workers-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tiny = (): LlavaNextConfig => loadLlavaNextConfig(modelDir('llava-next-tiny'));
let big: string;
beforeAll(() => {
  big = path.join(tmp, 'vicuna-7b-sparse');
  writeRandomCheckpoint(big, 'llava-v1.6-vicuna-7b', 'f16', { seed: 1, sparse: true });
});

/** Σ over the 2-D weights whose key matches `re`: rows × columns. */
function matrixWeights(cfg: LlavaNextConfig, re: RegExp): number {
  let n = 0;
  for (const [k, s] of llavaNextKeys(cfg)) if (s.length === 2 && re.test(k) && !k.includes('embed')) n += s[0] * s[1];
  return n;
}

describe('runtime/workers · the FLOP counts behind the rule', () => {
  it.each([['tiny', (): LlavaNextConfig => tiny()], ['7B-shaped', (): LlavaNextConfig => loadLlavaNextConfig(big)]])('%s: a decode step = 2 × every decoder-layer matrix + the lm_head; a crop = 2 × N × every encoder-layer matrix + attention', (_, cfgOf) => {
    const cfg = cfgOf();
    expect(decoderFlopsPerToken(cfg.text_config)).toBe(2 * matrixWeights(cfg, /^language_model\.(model\.layers\.|lm_head)/));
    const v = cfg.vision_config, N = (v.image_size / v.patch_size) ** 2 + 1;
    const patch = v.hidden_size * v.num_channels * v.patch_size ** 2;
    const attention = v.num_hidden_layers * 4 * N * N * v.hidden_size;
    expect(visionFlopsPerCrop(v)).toBe(2 * N * matrixWeights(cfg, /^vision_tower\.vision_model\.encoder\.layers\./) + attention + 2 * (N - 1) * patch);
  });
});

describe('runtime/workers · defaultWorkers', () => {
  it('the tiny golden model stays in-process on any core count, saying why', () => {
    for (const cores of [1, 2, 64]) {
      const d = defaultWorkers(tiny(), cores);
      expect([d.vision.count, d.decoder.count]).toEqual([1, 1]);
      expect(d.vision.why).toMatch(/^default for this model: .* GFLOP per crop, below the 1 GFLOP that pays for worker threads$/);
      expect(d.decoder.why).toMatch(/^default for this model: .* GFLOP per token, below the 0.1 GFLOP that pays for worker threads$/);
    }
  });

  it('a 7B-shaped model: one worker per core (the decoder: the most ≤ cores that split 32 heads and 11008 MLP columns evenly)', () => {
    const cfg = loadLlavaNextConfig(big);
    const at = (cores: number): number[] => { const d = defaultWorkers(cfg, cores); return [d.vision.count, d.decoder.count]; };
    expect(at(2)).toEqual([2, 2]);
    expect(at(1)).toEqual([1, 1]);
    expect(at(3)).toEqual([3, 2]); // 3 divides neither 32 nor 11008
    expect(at(16)).toEqual([16, 16]);
    const d = defaultWorkers(cfg, 2);
    expect(d.vision.why).toMatch(/^default for this model on 2 cores: \d+ GFLOP per crop$/);
    expect(d.decoder.why).toMatch(/^default for this model on 2 cores: \d+\.?\d* GFLOP per token$/);
  });
});

describe('runtime · workerCounts and the start-up lines', () => {
  afterEach(async () => {
    installAccelerations('cpu', { attention: 'batched', linear: 'reference' });
    await leaveBackend();
  });

  it('the default on a 7B-shaped checkpoint, and explicit counts win (each or both)', () => {
    expect(workerCounts({ modelDir: big, cores: 2 })).toMatchObject({ vision: 2, decoder: 2, visionWhy: expect.stringMatching(/^default for this model on 2 cores/) });
    expect(workerCounts({ modelDir: big, cores: 2, visionWorkers: 1 })).toMatchObject({ vision: 1, decoder: 2, visionWhy: '--vision-workers 1' });
    expect(workerCounts({ modelDir: big, cores: 2, visionWorkers: 1, decoderWorkers: 1 })).toEqual({ vision: 1, decoder: 1, visionWhy: '--vision-workers 1', decoderWhy: '--decoder-workers 1' });
    expect(workerCounts({ modelDir: modelDir('llava-next-tiny'), cores: 2, visionWorkers: 2, decoderWorkers: 2 })).toMatchObject({ vision: 2, decoder: 2 });
    // webgpu is parallel itself: the pools (wasm, cpu only) are not its default
    expect(workerCounts({ backend: 'webgpu', modelDir: big, cores: 2 })).toMatchObject({ vision: 1, decoder: 1, visionWhy: expect.stringMatching(/^default on webgpu: in-process/) });
    // a command without the flags that fixes the counts (analyze) says why in its own words
    expect(workerCounts({ modelDir: big, cores: 2, visionWorkers: 1, decoderWorkers: 1, workersReason: 'analyze runs its towers and decoder in-process' }))
      .toEqual({ vision: 1, decoder: 1, visionWhy: 'analyze runs its towers and decoder in-process', decoderWhy: 'analyze runs its towers and decoder in-process' });
  });

  const opts = (log: string[]): Parameters<typeof openRuntime>[0] => ({
    backend: 'cpu', modelDir: modelDir('llava-next-tiny'), cores: 2,
    residency: { weights: 'resident', promptTokens: 16, maxNewTokens: 4 }, method: { name: 'none', options: {} }, log: (s) => { log.push(s); },
  });

  it('openRuntime on the tiny model without counts: both in-process, each line saying it is the default and why', async () => {
    const log: string[] = [];
    const rt = await openRuntime(opts(log));
    try {
      expect(rt.visionEncoder).toBeUndefined();
      expect(log).toContainEqual(expect.stringMatching(/^vision tower: in-process \(default for this model: .* GFLOP per crop, below/));
      expect(log).toContainEqual(expect.stringMatching(/^decoder: in-process \(default for this model: .* GFLOP per token, below/));
    } finally {
      await rt.close();
    }
  });

  it('openRuntime with --vision-workers 2 given: the pool, the line naming the flag', async () => {
    const log: string[] = [];
    const rt = await openRuntime({ ...opts(log), visionWorkers: 2 });
    try {
      expect(rt.visionEncoder).toBeDefined();
      expect(log).toContainEqual(expect.stringMatching(/^vision tower: 2 worker threads \(--vision-workers 2; .*; the crops left over shared by rows\)$/));
      expect((rt.visionEncoder as VisionPool).shareRows).toBe(true);
      expect(log).toContainEqual(expect.stringMatching(/^decoder: in-process \(default for this model/));
    } finally {
      await rt.close();
    }
  });

  it('openRuntime with streamed weights read in the background: the pool gives whole crops (VisionPoolOptions.shareRows), and says so', async () => {
    const log: string[] = [];
    const rt = await openRuntime({ ...opts(log), visionWorkers: 2, residency: { weights: 'streamed', promptTokens: 16, maxNewTokens: 4 }, backgroundReads: true });
    try {
      expect((rt.visionEncoder as VisionPool).shareRows).toBe(false);
      expect(log).toContainEqual(expect.stringMatching(/^vision tower: 2 worker threads \(.*; whole crops, leaving the background reads a core\)$/));
    } finally {
      await rt.close();
    }
  });
});
