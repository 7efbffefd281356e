/**
 * Memory estimate before loading a model, the residency it implies (chooseResidency: resident or streamed
 * weights), and the refusal when it would not fit. Reads only configs and safetensors headers.
 */
import * as fs from 'fs';
import * as os from 'os';
import { HeroError } from '../core/errors';
import type { LlavaNextConfig } from '../llava/config';
import { clipStreamGroups, clipVisionKeys } from '../clip/load';
import type { ClipVisionConfig } from '../clip/config';
import { streamGroupOf, type WeightPlan, type WeightResidency } from '../io/loader';
import { llavaNextWeightPlan, loadLlavaNextConfig } from '../llava/load';
import { clipModelWeightPlan, loadClipModelConfig } from '../clip/load';
import { kvCacheFor } from '../accel';
import { numImageTokens } from '../llava/anyres';

/** Environment variable that overrides the detected available memory (bytes), e.g. under a cgroup limit. */
export const MEMORY_ENV = 'HERO_LVLM_AVAILABLE_MEMORY';

/**
 * Bytes the OS can give us: $HERO_LVLM_AVAILABLE_MEMORY when set (a non-negative integer, else an error),
 * /proc/meminfo MemAvailable, else os.freemem().
 */
export function availableMemory(env: NodeJS.ProcessEnv = process.env): number {
  const over = env[MEMORY_ENV];
  if (over !== undefined) {
    const n = Number(over);
    if (over.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new HeroError(`$${MEMORY_ENV}: '${over}' is not a byte count`);
    return n;
  }
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  return os.freemem();
}

export const GIB = 2 ** 30;

/** tfjs-wasm keeps every tensor in one heap of at most 4 GiB (a wasm32 address space). */
export const WASM_HEAP_BYTES = 4 * GIB;

/** What a run holds, from the configs and the weight plans (io/loader.ts weightPlan). */
export interface MemoryEstimate {
  /** bytes on the backend at the peak (the wasm heap on wasm): resident weights, one streamed group, KV cache, activations */
  readonly backend: number;
  /** process memory at the peak: the host copy of the streamed weights, the backend, the vision workers' copies */
  readonly host: number;
  readonly parts: {
    readonly residentFp32: number; readonly streamedHost: number; readonly largestGroupFp32: number;
    /** bytes left in the files (`--weights disk`), and the largest group's, which one use reads into memory */
    readonly onDisk: number; readonly largestOnDisk: number;
    readonly kvCache: number; readonly activations: number; readonly visionWorkers: number; readonly decoderWorkers: number;
    /** a trace's recorded tensors, host copies kept to the end (0 for other runs) */
    readonly trace: number;
  };
}

/**
 * The memory a `run` needs. Weights: as the plans say (resident fp32, or the stored bytes on the host
 * plus one materialised group, or — on disk — the stored bytes of the largest group, read for one use,
 * plus that group materialised). KV cache: 2·L·T·Hkv·Dh fp32 values for T positions. Activations: the
 * vision tower's for the most crops P the pinpoints give, (L+1)·(N+1)·(Dv + Hv·(N+1)/4) values per crop,
 * or the decoder's, T·(6·D + 3·F) + 2·T² + V values, whichever is larger (the stages run one after the
 * other). Vision workers each hold the vision tower in fp32 (resident) or its non-layer weights and one
 * widened encoder layer (streamed: the stored bytes are shared, already counted), and their crops'
 * activations; the pool of HERO's CLIP tower (`clipVision`) runs after LLaVA's, so the larger one counts.
 * The backend peak is the decoder's or the vision stage's, the host peak adds the streamed host bytes.
 * @choice the activation terms are upper-bound estimates, not counts; the weights are exact.
 * @param tokens T, the longest sequence the decoder sees (prompt with visual tokens + new tokens)
 * @param hostKvCache the KV cache is on the host (src/accel/kv_host.ts)
 * @param decoderWorkers > 1: the decoder's layers split over that many worker threads (src/accel/decoder_pool.ts),
 *   which hold between them up to three more copies of the resident weights (slices, kept Wᵀ, its packing; streamed:
 *   one layer) and the decoder's activations
 * @param clipVision the vision tower of the separate CLIP model a method reads (HERO-2), which goes through
 *   vision workers too
 * @param trace a `trace` run (cli/trace.ts): every vision layer's hidden states and attention maps of every crop
 *   are tapped — on the backend (joined there from the workers) until the selection has read them, and as host copies
 *   to the end, with the projected and packed features, the inputs' embeddings and every position's logits
 */
export function runMemoryEstimate(llava: LlavaNextConfig, plans: readonly WeightPlan[], tokens: number, visionWorkers = 1, hostKvCache = false,
  decoderWorkers = 1, clipVision?: ClipVisionConfig, trace = false): MemoryEstimate {
  const v = llava.vision_config, t = llava.text_config;
  const S = v.image_size;
  // LLaVA-1.5 (no pinpoints): its one crop.
  const P = 1 + Math.max(0, ...llava.image_grid_pinpoints.map(([h, w]) => Math.ceil(h / S) * Math.ceil(w / S)));
  // A run keeps the taps its method asks for (a quarter of the layers' maps is the bound); a trace keeps them all.
  const perCropOf = (c: ClipVisionConfig, allMaps = false): number => {
    const n1 = (S / c.patch_size) ** 2 + 1;
    return 4 * (c.num_hidden_layers + 1) * n1 * (c.hidden_size + c.num_attention_heads * n1 / (allMaps ? 1 : 4));
  };
  const perCrop = perCropOf(v, trace);
  const T = tokens;
  const decoderAct = 4 * (T * (6 * t.hidden_size + 3 * t.intermediate_size) + 2 * T * T + t.vocab_size);
  const kvCache = 4 * 2 * t.num_hidden_layers * T * t.num_key_value_heads * t.head_dim;
  const sum = (f: (p: WeightPlan) => number): number => plans.reduce((a, p) => a + f(p), 0);
  const residentFp32 = sum((p) => p.residentFp32), streamedHost = sum((p) => p.streamedHost), onDisk = sum((p) => p.onDisk);
  const largestGroupFp32 = Math.max(0, ...plans.map((p) => p.largestGroupFp32));
  // On disk, one group's stored bytes are in memory while it is used (the workers' slices of it, together one group).
  const largestOnDisk = Math.max(0, ...plans.map((p) => p.largestOnDisk));
  const stored = streamedHost + onDisk > 0;
  // A pool's workers: each its copy of the tower (resident), or (streamed) what the loader keeps resident plus
  // its largest stream group widened (clip/load.ts clipStreamGroups, as io/loader.ts groups the keys).
  const poolBytes = (c: ClipVisionConfig): number => {
    let resident = 0;
    const groups = new Map<string, number>();
    for (const [k, shape] of clipVisionKeys(c, '')) {
      const bytes = 4 * shape.reduce((a, d) => a * d, 1);
      const group = stored ? streamGroupOf(k, clipStreamGroups('')) : undefined;
      if (group === undefined) resident += bytes;
      else groups.set(group, (groups.get(group) ?? 0) + bytes);
    }
    return visionWorkers * (resident + Math.max(0, ...groups.values())) + P * perCropOf(c);
  };
  const visionWorkersBytes = visionWorkers > 1 ? Math.max(poolBytes(v), clipVision ? poolBytes(clipVision) : 0) : 0;
  const visionStage = residentFp32 + largestGroupFp32 + P * perCrop; // in-process: the towers' activations on the main backend
  // A host KV cache leaves one layer's keys and values on the backend (twice: the stored copy and the one attended).
  const kvOnBackend = hostKvCache ? 2 * kvCache / t.num_hidden_layers : kvCache;
  const decoderStage = residentFp32 + largestGroupFp32 + kvOnBackend + decoderAct;
  const backend = Math.max(visionStage, decoderStage);
  const traceHost = trace ? P * perCrop + 4 * T * (3 * t.hidden_size + t.vocab_size) : 0;
  // Resident: each worker's slices, their kept Wᵀ and XNNPACK's packing of it (accel/linear.ts keepTransposed), at
  // most three copies of the resident weights in all; streamed: one layer, widened per use.
  const decoderWorkersBytes = decoderWorkers > 1 ? (stored ? largestGroupFp32 : 3 * residentFp32) + decoderAct : 0;
  return {
    backend,
    host: streamedHost + largestOnDisk + traceHost + Math.max(visionStage + visionWorkersBytes, decoderStage + (hostKvCache ? kvCache : 0) + decoderWorkersBytes),
    parts: {
      residentFp32, streamedHost, largestGroupFp32, onDisk, largestOnDisk, kvCache, activations: Math.max(P * perCrop, decoderAct), visionWorkers: visionWorkersBytes,
      decoderWorkers: decoderWorkersBytes, trace: traceHost,
    },
  };
}

/**
 * T for the estimate: every visual token LLaVA-NeXT makes at the largest pinpoint grid (thumbnail, tiles,
 * one newline per tile row; a method only drops), the text around them and the new tokens, at most
 * max_position_embeddings.
 */
export function maxDecoderTokens(llava: LlavaNextConfig, textTokens: number, maxNewTokens: number): number {
  const v = llava.vision_config;
  const G = v.image_size / v.patch_size;
  // An image of a pinpoint's own size fills that grid with no padding: the most a pinpoint can give (AnyRes-2).
  // LLaVA-1.5 (no pinpoints): the one crop's G² tokens.
  const visual = Math.max(G * G, ...llava.image_grid_pinpoints.map((p) => numImageTokens(p, llava.image_grid_pinpoints, v.image_size, G)));
  // The decoder never holds more than max_position_embeddings positions (a longer sequence is refused for that,
  // by name): a longer bound would make the memory refusal name the wrong cause.
  return Math.min(visual + textTokens + maxNewTokens, llava.text_config.max_position_embeddings);
}

/**
 * Refuses, before loading, a run whose estimate exceeds the available memory or, on wasm, the heap
 * (unless `force`); logs the estimate either way.
 */
export function checkRunMemory(e: MemoryEstimate, opts: { backend: string; force: boolean; log: (s: string) => void; available?: number; streamed?: boolean; residency?: WeightResidency }): void {
  const avail = opts.available ?? availableMemory();
  const g = (b: number): string => `${(b / GIB).toFixed(2)} GiB`;
  const disk = e.parts.onDisk ? `weights on disk ${g(e.parts.onDisk)}, read per use (at most ${g(e.parts.largestOnDisk)} at a time), ` : '';
  opts.log(`memory: about ${g(e.host)} in all (${disk}weights on the host ${g(e.parts.streamedHost)}, backend ${g(e.backend)}: ` +
    `resident weights ${g(e.parts.residentFp32)}, one streamed group ${g(e.parts.largestGroupFp32)}, KV cache ${g(e.parts.kvCache)}, ` +
    `activations ${g(e.parts.activations)}${e.parts.visionWorkers ? `, vision workers ${g(e.parts.visionWorkers)}` : ''}` +
    `${e.parts.decoderWorkers ? `, decoder workers ${g(e.parts.decoderWorkers)}` : ''}` +
    `${e.parts.trace ? `; the trace's tensors ${g(e.parts.trace)}` : ''}); ${g(avail)} available`);
  if (opts.force) return;
  const residency = opts.residency ?? (opts.streamed ? 'streamed' : 'resident');
  // what holds less: on the backend, any stored residency; on the host, disk after streamed
  const lessBackend = residency === 'resident' ? 'use --weights streamed, ' : '';
  const lessHost = residency === 'disk' ? '' : residency === 'streamed' ? 'use --weights disk, ' : 'use --weights streamed, ';
  if (opts.backend === 'wasm' && e.backend > WASM_HEAP_BYTES) {
    // A method only drops tokens, so --ratio does not change the estimate (it counts every visual token).
    throw new HeroError(`the run needs about ${g(e.backend)} on the wasm backend, whose heap holds at most ${g(WASM_HEAP_BYTES)}; ` +
      `${lessBackend || 'use '}--backend cpu (no heap limit), or --force to try anyway`);
  }
  if (e.host > avail) {
    throw new HeroError(`the run needs about ${g(e.host)} of memory but only ${g(avail)} is available; ` +
      `${lessHost || 'use '}a machine with more memory, or --force to try anyway`);
  }
}

/** What the caller asks of the residency (--weights, --force) and the sequence it will run (the estimate's T). */
export interface ResidencyAsk {
  readonly weights: 'auto' | WeightResidency;
  /** load even if the estimate exceeds the available memory or the wasm heap */
  readonly force?: boolean;
  /** prompt tokens at most (an upper bound, before the tokenizer is loaded) and new tokens */
  readonly promptTokens: number;
  readonly maxNewTokens: number;
  /** a `trace` run: its recorded tensors count (runMemoryEstimate's `trace`) */
  readonly trace?: boolean;
}

/**
 * Estimates the memory of both residencies from the configs and the safetensors headers (no tensor data
 * read), picks one (auto: resident when it fits on the backend and in the available memory, else
 * streamed), prints the choice and the estimate, and refuses a run that does not fit (one line; `force`
 * overrides). Called before anything is loaded.
 */
export function chooseResidency(ask: ResidencyAsk, dirs: { model: string; clip?: string }, backend: string, workers: { vision: number; decoder: number },
  log: (s: string) => void): WeightResidency {
  const llava = loadLlavaNextConfig(dirs.model);
  const T = maxDecoderTokens(llava, ask.promptTokens, ask.maxNewTokens);
  const clipVision = dirs.clip ? loadClipModelConfig(dirs.clip).vision : undefined;
  const estimate = (r: WeightResidency) => {
    const plans = [llavaNextWeightPlan(dirs.model, r), ...(dirs.clip ? [clipModelWeightPlan(dirs.clip, r)] : [])];
    return { plans, e: runMemoryEstimate(llava, plans, T, workers.vision, kvCacheFor(r, backend) !== undefined, workers.decoder, clipVision, ask.trace === true) };
  };
  let residency: WeightResidency = ask.weights === 'auto' ? 'resident' : ask.weights;
  let chosen = estimate(residency);
  if (ask.weights === 'auto') {
    const avail = availableMemory();
    const fits = (e: MemoryEstimate): boolean => e.host <= avail && (backend !== 'wasm' || e.backend <= WASM_HEAP_BYTES);
    // resident, else streamed, else disk: the first whose estimate fits (disk when none does; checkRunMemory then refuses)
    const whys: string[] = [];
    for (const next of ['streamed', 'disk'] as const) {
      if (fits(chosen.e)) break;
      whys.push(backend === 'wasm' && chosen.e.backend > WASM_HEAP_BYTES
        ? `${residency} would need ${(chosen.e.backend / GIB).toFixed(1)} GiB on the backend, the wasm heap holds ${WASM_HEAP_BYTES / GIB} GiB`
        : `${residency} would need ${(chosen.e.host / GIB).toFixed(1)} GiB of memory, ${(avail / GIB).toFixed(1)} GiB available`);
      residency = next;
      chosen = estimate(residency);
    }
    log(`weights: ${residency} (auto: ${whys.length ? whys.join('; ') : 'the estimate fits'})`);
  } else log(`weights: ${residency}`);
  if (residency === 'disk') {
    const dtypes = [...new Set(chosen.plans.flatMap((p) => p.dtypes))].join('/');
    log(`weights: ${dtypes} read from the safetensors files when used (${(chosen.e.parts.onDisk / GIB).toFixed(2)} GiB, at most ` +
      `${(chosen.e.parts.largestOnDisk / GIB).toFixed(2)} GiB at a time), widened to fp32 one group at a time; KV cache ${kvCacheFor(residency, backend) ? 'on the host' : 'on the backend'}`);
  }
  if (residency === 'streamed') {
    const dtypes = [...new Set(chosen.plans.flatMap((p) => p.dtypes))].join('/');
    log(`weights: ${dtypes} on the host (${(chosen.e.parts.streamedHost / GIB).toFixed(2)} GiB), widened to fp32 one group at a time ` +
      `(at most ${(chosen.e.parts.largestGroupFp32 / GIB).toFixed(2)} GiB); KV cache ${kvCacheFor(residency, backend) ? 'on the host' : 'on the backend'}`);
  }
  checkRunMemory(chosen.e, { backend, force: ask.force === true, log, residency });
  return residency;
}
