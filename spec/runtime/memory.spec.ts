/**
 * runtime/memory.ts: the weight plan (io/loader.ts weightPlan, from the headers) is exactly what loading
 * holds (core/weights.ts weightBytes of the loaded tree) for the golden models in every residency (resident,
 * streamed, disk); the estimate grows with layers, width, tokens and workers, in every residency; the token bound is LLaVA-NeXT's count at the largest
 * pinpoint grid; a run that does not fit is refused in one line naming what it needs and what is there.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { weightBytes } from '../../src/core/weights';
import { HeroError } from '../../src/core/errors';
import { checkRunMemory, GIB, maxDecoderTokens, runMemoryEstimate, WASM_HEAP_BYTES, type MemoryEstimate } from '../../src/runtime/memory';
import { disposeLlavaNext, llavaNextWeightPlan, loadLlavaNext, loadLlavaNextConfig } from '../../src/llava/load';
import { clipModelWeightPlan, disposeClipModel, loadClipModel } from '../../src/clip/load';
import type { WeightPlan } from '../../src/io/loader';
import type { LlavaNextConfig } from '../../src/llava/config';
import { writeRandomCheckpoint } from '../../src/weights/random_checkpoint';
import { modelDir } from '../util/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-memory-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('io/loader weightPlan = what loading holds', () => {
  it.each(['resident', 'streamed', 'disk'] as const)('llava-next-tiny and clip-tiny (f32), %s', (residency) => {
    const m = loadLlavaNext(modelDir('llava-next-tiny'), undefined, residency);
    const c = loadClipModel(modelDir('clip-tiny'), residency);
    try {
      for (const [plan, tree] of [[llavaNextWeightPlan(modelDir('llava-next-tiny'), residency), m.params], [clipModelWeightPlan(modelDir('clip-tiny'), residency), c.params]] as const) {
        const got = weightBytes(tree);
        expect({ resident: plan.residentFp32, host: plan.streamedHost, group: plan.largestGroupFp32, disk: plan.onDisk, diskGroup: plan.largestOnDisk })
          .toEqual({ resident: got.resident, host: got.streamedHost, group: got.largestStreamedFp32, disk: got.onDisk, diskGroup: got.largestOnDisk });
        if (residency === 'disk') expect(plan.onDisk).toBeGreaterThan(0);
      }
    } finally {
      disposeLlavaNext(m);
      disposeClipModel(c);
    }
  });

  it('an f16 checkpoint: streamed host bytes are 2 per value, resident 4; the largest group is a decoder layer or the embedding', () => {
    const dir = path.join(tmp, 'tiny-f16');
    writeRandomCheckpoint(dir, 'tiny-llava', 'f16', { seed: 1 });
    const res = llavaNextWeightPlan(dir, 'resident'), str = llavaNextWeightPlan(dir, 'streamed');
    expect(res.dtypes).toEqual(['F16']);
    expect(res.streamedHost).toBe(0);
    expect(str.residentFp32 + 2 * str.streamedHost).toBe(res.residentFp32);
    const t = loadLlavaNextConfig(dir).text_config;
    const D = t.hidden_size, F = t.intermediate_size, qkv = t.num_attention_heads * t.head_dim, kv = t.num_key_value_heads * t.head_dim;
    const layer = 4 * (2 * D + D * qkv + 2 * D * kv + qkv * D + 3 * D * F); // norms, q k v o, gate up down (no biases)
    expect(str.largestGroupFp32).toBe(Math.max(layer, 4 * t.vocab_size * D));
    // on disk: the same groups, nothing on the host; one use reads the largest group's f16 bytes
    const dsk = llavaNextWeightPlan(dir, 'disk');
    expect(dsk).toEqual({ ...str, streamedHost: 0, onDisk: str.streamedHost, largestOnDisk: str.largestGroupFp32 / 2 });
  });
});

describe('runtime/memory · runMemoryEstimate', () => {
  const llava = loadLlavaNextConfig(modelDir('llava-next-tiny'));
  const plan = (resident: number, host = 0, group = 0, disk = 0, diskGroup = 0): WeightPlan => ({ residentFp32: resident, streamedHost: host, largestGroupFp32: group, onDisk: disk, largestOnDisk: diskGroup, dtypes: ['F32'] });
  const withText = (c: LlavaNextConfig, t: Partial<LlavaNextConfig['text_config']>): LlavaNextConfig => ({ ...c, text_config: { ...c.text_config, ...t } });

  it('weights enter exactly: one more resident byte is one more byte on the backend and in all', () => {
    const a = runMemoryEstimate(llava, [plan(1000)], 50), b = runMemoryEstimate(llava, [plan(1001)], 50);
    expect(b.backend - a.backend).toBe(1);
    expect(b.host - a.host).toBe(1);
    const s = runMemoryEstimate(llava, [plan(1000, 777, 10)], 50, 1, true);
    expect(s.parts.streamedHost).toBe(777);
    expect(s.host - s.backend).toBeGreaterThanOrEqual(777);
  });

  it("a trace counts every vision layer's attention maps on the backend, and its tensors' host copies: ViT-L/14-336 × 5 crops, Vicuna-7B", () => {
    const seven = { ...llava, image_grid_pinpoints: [[672, 672]],
      vision_config: { ...llava.vision_config, image_size: 336, patch_size: 14, hidden_size: 1024, num_attention_heads: 16, num_hidden_layers: 24 },
      text_config: { ...llava.text_config, hidden_size: 4096, vocab_size: 32000 } } as LlavaNextConfig;
    const T = 3000, run = runMemoryEstimate(seven, [plan(1e6)], T, 2), trace = runMemoryEstimate(seven, [plan(1e6)], T, 2, false, 1, undefined, true);
    const maps = 5 * 25 * 577 * 16 * 577 * 4;                          // (L+1)·(N+1)·Hv·(N+1) fp32 per crop, 5 crops (the run counts a quarter)
    expect(trace.parts.activations - run.parts.activations).toBe(maps * 3 / 4);
    expect(trace.backend - run.backend).toBe(maps * 3 / 4);
    expect(run.parts.trace).toBe(0);
    const vision = 5 * 25 * 577 * (1024 + 16 * 577) * 4;                 // hidden states and maps, as host copies
    expect(trace.parts.trace).toBe(vision + 4 * T * (3 * 4096 + 32000));
    expect(trace.host - run.host).toBeGreaterThanOrEqual(trace.parts.trace);
  });

  it('never decreases with more decoder layers, a wider decoder, more tokens or more vision or decoder workers (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 500 }),
      fc.integer({ min: 1, max: 4 }), fc.boolean(), (L, w, T, dT, workers, hostKv) => {
        const c = withText(llava, { num_hidden_layers: L, hidden_size: 64 * w });
        const e = runMemoryEstimate(c, [plan(1e6)], T, workers, hostKv);
        const more = [
          runMemoryEstimate(withText(c, { num_hidden_layers: L + 1 }), [plan(1e6)], T, workers, hostKv),
          runMemoryEstimate(withText(c, { hidden_size: 64 * (w + 1) }), [plan(1e6)], T, workers, hostKv),
          runMemoryEstimate(c, [plan(1e6)], T + dT, workers, hostKv),
          runMemoryEstimate(c, [plan(1e6)], T, workers + 1, hostKv),
          runMemoryEstimate(c, [plan(1e6)], T, workers, hostKv, 2),
        ];
        return more.every((x) => x.host >= e.host && x.backend >= e.backend);
      }));
  });

  it('disk weights: one group\'s stored bytes on the host, not all of them; monotone in that group, layers, width, tokens and workers (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 2000 }),
      fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e5 }), fc.integer({ min: 2, max: 40 }),
      (L, w, T, workers, group, dGroup, groups) => {
        const c = withText(llava, { num_hidden_layers: L, hidden_size: 64 * w });
        const disk = (cfg: LlavaNextConfig, t: number, g: number, W = workers, dec = 1): MemoryEstimate =>
          runMemoryEstimate(cfg, [plan(1e5, 0, 2 * g, groups * g, g)], t, W, true, dec);
        const e = disk(c, T, group);
        const streamed = runMemoryEstimate(c, [plan(1e5, groups * group, 2 * group)], T, workers, true);
        const more = [disk(withText(c, { num_hidden_layers: L + 1 }), T, group), disk(withText(c, { hidden_size: 64 * (w + 1) }), T, group),
          disk(c, T + 1, group), disk(c, T, group + dGroup), disk(c, T, group, workers + 1), disk(c, T, group, workers, 2)];
        // exact: the largest group's stored bytes enter the host figure once, and the files are counted apart
        const none = runMemoryEstimate(c, [plan(1e5, 0, 2 * group, groups * group, 0)], T, workers, true);
        return more.every((x) => x.host >= e.host && x.backend >= e.backend) && e.host - none.host === group && e.parts.onDisk === groups * group &&
          e.host <= streamed.host && e.backend === streamed.backend;
      }));
  });

  it("vision workers over streamed weights hold a widened layer each, not the tower; HERO's CLIP pool counts when it is the larger", () => {
    const v = llava.vision_config, W = 2;
    const resident = runMemoryEstimate(llava, [plan(1e6)], 50, W), streamed = runMemoryEstimate(llava, [plan(0, 1e6, 10)], 50, W);
    // the two differ by W × (the tower − its non-layer weights − one layer): (L − 1) layers per worker
    const layerBytes = (resident.parts.visionWorkers - streamed.parts.visionWorkers) / (W * (v.num_hidden_layers - 1));
    const D = v.hidden_size, I = v.intermediate_size;
    expect(layerBytes).toBe(4 * (4 * (D * D + D) + 2 * D + 2 * D + D * I + I + I * D + D)); // q,k,v,o (+bias), 2 LayerNorms, fc1, fc2
    const wider = { ...v, hidden_size: 2 * v.hidden_size, intermediate_size: 2 * v.intermediate_size };
    expect(runMemoryEstimate(llava, [plan(1e6)], 50, W, false, 1, wider).parts.visionWorkers).toBeGreaterThan(resident.parts.visionWorkers);
    expect(runMemoryEstimate(llava, [plan(1e6)], 50, W, false, 1, v).parts.visionWorkers).toBe(resident.parts.visionWorkers);
    expect(runMemoryEstimate(llava, [plan(1e6)], 50, 1, false, 1, wider).parts.visionWorkers).toBe(0);
  });

  it('a host KV cache leaves two layers\' worth on the backend and moves the rest to the host', () => {
    const c = withText(llava, { num_hidden_layers: 8 });
    const dev = runMemoryEstimate(c, [plan(0)], 1000, 1, false), host = runMemoryEstimate(c, [plan(0)], 1000, 1, true);
    expect(dev.backend - host.backend).toBe(dev.parts.kvCache * (1 - 2 / 8));
    expect(dev.parts.kvCache).toBe(4 * 2 * 8 * 1000 * c.text_config.num_key_value_heads * c.text_config.head_dim);
  });
});

describe('runtime/memory · the KV cache of a grouped-query decoder (heads ≠ kv heads: llava-v1.6-mistral-7b, 34B)', () => {
  const llava = loadLlavaNextConfig(modelDir('llava-next-tiny'));
  const kv = (H: number, Hkv: number): number => runMemoryEstimate({ ...llava, text_config: { ...llava.text_config, num_attention_heads: H, num_key_value_heads: Hkv, head_dim: 16 } },
    [], 1000).parts.kvCache;

  it('counts 2·L·T·Hkv·Dh fp32 values: the kv heads, not the query heads', () => {
    const L = llava.text_config.num_hidden_layers;
    expect(kv(8, 2)).toBe(4 * 2 * L * 1000 * 2 * 16);
    expect(kv(8, 2)).toBe(kv(2, 2)); // the query heads do not enter
    expect(kv(8, 8)).toBe(4 * kv(8, 2)); // 8 kv heads hold 4× the cache of 2
  });
});

describe('runtime/memory · maxDecoderTokens', () => {
  it('never more than max_position_embeddings: a longer sequence is refused for its length, not as a memory need', () => {
    const cfg = loadLlavaNextConfig(modelDir('llava-next-tiny'));
    const P = cfg.text_config.max_position_embeddings;
    expect(maxDecoderTokens(cfg, 100_000, 32)).toBe(P);
    expect(maxDecoderTokens(cfg, 3, 1)).toBeLessThan(P);
  });

  it("LLaVA-NeXT-7B's geometry: 2928 visual tokens at 672×672 (576 thumbnail + 48×48 tiles + 48 newlines), plus text and new tokens", () => {
    const cfg = loadLlavaNextConfig(modelDir('llava-next-tiny'));
    const seven = { ...cfg, image_grid_pinpoints: [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]],
      vision_config: { ...cfg.vision_config, image_size: 336, patch_size: 14 }, text_config: { ...cfg.text_config, max_position_embeddings: 4096 } } as LlavaNextConfig;
    expect(maxDecoderTokens(seven, 40, 8)).toBe(2928 + 40 + 8);
  });
});

describe('runtime/memory · checkRunMemory', () => {
  const e = (host: number, backend: number): MemoryEstimate => ({ host, backend, parts: { residentFp32: backend, streamedHost: 0, largestGroupFp32: 0, onDisk: 0, largestOnDisk: 0, kvCache: 0, activations: 0, visionWorkers: 0, decoderWorkers: 0, trace: 0 } });
  const lines: string[] = [];
  const log = (s: string): void => { lines.push(s); };

  it('refuses more than the available memory in one line naming both, unless forced', () => {
    expect(() => checkRunMemory(e(30 * GIB, 3 * GIB), { backend: 'cpu', force: false, log, available: 20 * GIB }))
      .toThrow(new HeroError('the run needs about 30.00 GiB of memory but only 20.00 GiB is available; use --weights streamed, a machine with more memory, or --force to try anyway'));
    expect(() => checkRunMemory(e(30 * GIB, 3 * GIB), { backend: 'cpu', force: true, log, available: 20 * GIB })).not.toThrow();
  });

  it('refuses more than the wasm heap on wasm only', () => {
    expect(() => checkRunMemory(e(6 * GIB, 5 * GIB), { backend: 'wasm', force: false, log, available: 20 * GIB })).toThrow(/holds at most 4.00 GiB/);
    // a method only drops tokens, so the estimate (every visual token) does not depend on --ratio: never suggest it
    expect(() => checkRunMemory(e(6 * GIB, 5 * GIB), { backend: 'wasm', force: false, log, available: 20 * GIB }))
      .toThrow(new HeroError('the run needs about 5.00 GiB on the wasm backend, whose heap holds at most 4.00 GiB; use --weights streamed, --backend cpu (no heap limit), or --force to try anyway'));
    expect(() => checkRunMemory(e(6 * GIB, 5 * GIB), { backend: 'cpu', force: false, log, available: 20 * GIB })).not.toThrow();
    expect(WASM_HEAP_BYTES).toBe(4 * GIB);
  });
});
