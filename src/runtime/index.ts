/**
 * One start-up for every command (run, trace, eval predict and sweep, analyze and page): the backend and its
 * accelerations, the residency plan (./memory.ts), the models loaded, the backend's limits checked, the
 * worker pools started. What comes back is what a command hands to runPipeline: the model, the configured
 * method, and the acceleration seams (the vision tower's encoder, the decoder), so no model code ever
 * threads them. Flags and options are checked by the caller before this is called; files are read only
 * through the loaders (llava/load.ts, clip/load.ts).
 */
import * as os from 'os';
import { initBackend, requestedBackend } from '../backend';
import { checkSplit, installAccelerations, type AccelMode, kvCacheFor, LazyVisionPool, startDecoderPool, startVisionEncoder, VisionPool, type Accelerations } from '../accel';
import { checkWeightsFit, describeBindingFit } from '../accel/webgpu';
import type { WeightResidency } from '../io/loader';
import type { VisionEncoder } from '../clip/vision';
import type { ClipModel } from '../clip/model';
import { disposeClipModel, loadClipModel } from '../clip/load';
import type { LlavaNextModel } from '../llava/model';
import { disposeLlavaNext, loadLlavaNext } from '../llava/load';
import { LLAMA_DECODER, type Decoder } from '../llama/generate';
import type { MethodSpec } from '../methods';
import { chooseResidency, type ResidencyAsk } from './memory';
import { loadLlavaNextConfig } from '../llava/load';
import { defaultWorkers } from './workers';

export interface RuntimeOptions {
  /** the tfjs backend (undefined: $HERO_LVLM_BACKEND, else wasm) */
  readonly backend?: string;
  /** webgpu only: a software adapter for tests ('swiftshader'; src/accel/webgpu.ts), else the GPU */
  readonly webgpuAdapter?: string;
  /** the large products: auto (the system's BLAS when found, saying so), blas (required), wasm (tfjs's kernels); default wasm */
  readonly accel?: AccelMode;
  /**
   * worker threads for the vision towers and for the decoder layers (1 = in-process); undefined: the default
   * for this model on this machine (./workers.ts defaultWorkers: one per core for real-size models, in-process for tiny ones)
   */
  readonly visionWorkers?: number;
  readonly decoderWorkers?: number;
  /** the cores the defaults count (default os.availableParallelism()) */
  readonly cores?: number;
  /** why the counts given are what they are, for the start-up lines (default: the flags, `--vision-workers N`) */
  readonly workersReason?: string;
  /** the LLaVA-NeXT checkpoint directory, and the method's separate CLIP model when it reads one */
  readonly modelDir: string;
  readonly clipDir?: string;
  /** how the weights are held (auto: the memory plan decides), the longest decoder sequence, --force */
  readonly residency: ResidencyAsk;
  /** the configured method (Method.configure's options; CLIP text ids when it reads a CLIP model) */
  readonly method: { readonly name: string; readonly options: unknown; readonly clipTextIds?: readonly number[] | null };
  /** keep the decoder in-process: a trace records every layer, a decoder hook rewrites rows between them */
  readonly inProcessDecoder?: string;
  /** many images (eval predict, sweep): the pools live until close(), atStage lets none go */
  readonly keepPools?: boolean;
  /**
   * streamed weights: read the model's stored bytes on a background thread while the image is encoded
   * (io/background_read.ts) instead of before the run starts; Node only (the CLI's run, trace and eval predict)
   */
  readonly backgroundReads?: boolean;
  readonly log: (s: string) => void;
  /** progress: a stage starts ('loading the model', …); tensors loaded of total */
  readonly onStage?: (stage: string) => void;
  readonly onLoad?: (what: string, done: number, total: number) => void;
}

export interface Runtime {
  readonly backend: string;
  readonly accel: Accelerations;
  readonly residency: WeightResidency;
  readonly model: LlavaNextModel;
  /** the separate CLIP model (clipDir), also in `method.clip`; null when none was asked for */
  readonly clip: ClipModel | null;
  /** the method with its CLIP model and that model's encoder (MethodSpec.clipEncoder), ready for runPipeline */
  readonly method: MethodSpec;
  /** the acceleration seams, for runPipeline: the vision tower's encoder, the decoder (pool, host KV cache) */
  readonly visionEncoder?: VisionEncoder;
  readonly decoder: Decoder;
  /** wall time of loading the models, ms */
  readonly loadMs: number;
  /** lets each pool's workers go once its tower is done (LLaVA's at 'select', the CLIP's at 'prefill'); nothing with keepPools */
  atStage(stage: string): void;
  /** stops the pools and frees the models */
  close(): Promise<void>;
}

const WORKER_WEIGHTS = "resident weights are copied into each, streamed layers' stored bytes are shared";

/**
 * Step 1 of openRuntime alone, for a command that loads no LLaVA model (analyze on a CLIPModel): the backend
 * and the accelerations for it (src/accel/index.ts: the default choice, as the bench measures), each said in one line.
 */
export async function startBackend(o: Pick<RuntimeOptions, 'backend' | 'webgpuAdapter' | 'accel' | 'visionWorkers' | 'decoderWorkers' | 'log'>): Promise<{ backend: string; accel: Accelerations }> {
  const backend = requestedBackend(o.backend);
  await initBackend(backend, o.log, { webgpuAdapter: o.webgpuAdapter });
  o.log(`backend: ${backend}`);
  const accel = installAccelerations(backend, { visionWorkers: o.visionWorkers ?? 1, decoderWorkers: o.decoderWorkers ?? 1, accel: o.accel });
  if (accel.fallback) o.log(accel.fallback);
  o.log(accel.line);
  return { backend, accel };
}

/** The backends whose work the worker pools split (accel/vision_pool.ts, decoder_pool.ts): single-threaded tfjs instances. */
const POOL_BACKENDS: readonly string[] = ['wasm', 'cpu'];

/**
 * The worker counts: each as given, else the default for this model on this machine (./workers.ts), with the
 * reason said in the start-up lines ('--vision-workers 2', or 'default for this model on 2 cores: …').
 */
export function workerCounts(o: Pick<RuntimeOptions, 'backend' | 'modelDir' | 'visionWorkers' | 'decoderWorkers' | 'cores' | 'workersReason'>): { vision: number; decoder: number; visionWhy: string; decoderWhy: string } {
  const backend = requestedBackend(o.backend);
  const pooled = POOL_BACKENDS.includes(backend);
  const d = o.visionWorkers === undefined || o.decoderWorkers === undefined
    ? pooled
      ? defaultWorkers(loadLlavaNextConfig(o.modelDir), o.cores ?? os.availableParallelism?.() ?? os.cpus().length)
      : { vision: { count: 1, why: `default on ${backend}: in-process (worker pools are for ${POOL_BACKENDS.join(' and ')}; ${backend} is parallel itself)` }, decoder: { count: 1, why: `default on ${backend}: in-process` } }
    : undefined;
  const vision = o.visionWorkers ?? d!.vision.count, decoder = o.decoderWorkers ?? d!.decoder.count;
  return {
    vision, decoder,
    visionWhy: o.visionWorkers !== undefined ? o.workersReason ?? `--vision-workers ${vision}` : d!.vision.why,
    decoderWhy: o.decoderWorkers !== undefined ? o.workersReason ?? `--decoder-workers ${decoder}` : d!.decoder.why,
  };
}

export async function openRuntime(o: RuntimeOptions): Promise<Runtime> {
  // 0. The worker counts (given, or this model's default here); 1. the backend and the accelerations for them.
  const counts = workerCounts(o);
  const { backend, accel } = await startBackend({ ...o, visionWorkers: counts.vision, decoderWorkers: o.inProcessDecoder ? 1 : counts.decoder });
  const visionWorkers = counts.vision, decoderWorkers = o.inProcessDecoder ? 1 : counts.decoder;
  // 2. Residency from the configs and the safetensors headers (no tensor data read); refuses what does not fit.
  const residency = chooseResidency(o.residency, { model: o.modelDir, clip: o.clipDir }, backend, { vision: visionWorkers, decoder: decoderWorkers }, o.log);
  // 3. The models, 4. within the backend's limits (webgpu: every weight within the device's buffer limits).
  o.onStage?.('loading the model');
  const t0 = performance.now();
  const background = o.backgroundReads === true && residency === 'streamed';
  const model = loadLlavaNext(o.modelDir, o.onLoad && ((d, t) => o.onLoad!('loading', d, t)), residency, { backgroundReads: background });
  const loadMs = Math.floor((performance.now() - t0) * 1000) / 1000;
  let clip: ClipModel | null = null;
  const closers: (() => Promise<void> | void)[] = [() => disposeLlavaNext(model)];
  const close = async (): Promise<void> => { for (const c of closers.splice(0).reverse()) await c(); };
  try {
    checkWeightsFit(model.params);
    const fit = describeBindingFit(model.params, residency !== 'resident');
    if (fit) o.log(fit);
    if (background) o.log(`weights: the large matrices' stored bytes are read on a background thread while the run starts (each use waits for its own)`);
    if (o.clipDir) {
      o.onStage?.('loading the CLIP model');
      clip = loadClipModel(o.clipDir, residency, o.onLoad && ((d, t) => o.onLoad!('loading', d, t)), { backgroundReads: background });
      const c = clip;
      closers.push(() => disposeClipModel(c));
      checkWeightsFit(c.params);
    }
    // 5. The pools: LLaVA's vision tower, the method's CLIP tower (started on its first encode), the decoder.
    let encoder: VisionPool | undefined, clipPool: LazyVisionPool | undefined;
    if (visionWorkers <= 1) o.log(`vision tower: in-process (${counts.visionWhy})`);
    else {
      // While the background thread reads, whole crops leave it a core (VisionPoolOptions.shareRows).
      const shareRows = !background;
      o.log(`vision tower: ${visionWorkers} worker threads (${counts.visionWhy}; ${WORKER_WEIGHTS}; ` +
        `${shareRows ? 'the crops left over shared by rows' : 'whole crops, leaving the background reads a core'})`);
      const e = encoder = startVisionEncoder(accel, model.params.vision_tower.vision_model, model.config.vision_config, { shareRows })!;
      closers.push(() => e.close());
      if (clip) {
        const c = clip;
        o.log(`CLIP vision tower (${o.method.name}'s relevance pass): ${visionWorkers} worker threads once the image is encoded (${WORKER_WEIGHTS})`);
        clipPool = new LazyVisionPool(() => VisionPool.start(c.params.vision_model, c.vision, visionWorkers, accel.kernels, { shareRows }));
        const p = clipPool;
        closers.push(() => p.close());
      }
    }
    let decoder: Decoder = LLAMA_DECODER;
    if (counts.decoder <= 1) o.log(`decoder: in-process (${counts.decoderWhy})`);
    const newCache = kvCacheFor(residency, backend);
    if (newCache) decoder = { ...LLAMA_DECODER, newCache };
    if (counts.decoder > 1 && o.inProcessDecoder) {
      o.log(o.decoderWorkers !== undefined
        ? `decoder: in-process (--decoder-workers ${counts.decoder} is not used ${o.inProcessDecoder})`
        : `decoder: in-process ${o.inProcessDecoder} (instead of the ${counts.decoder} worker threads that are the ${counts.decoderWhy})`);
    } else if (accel.decoderWorkers > 1) {
      checkSplit(model.config.text_config, accel.decoderWorkers, `--decoder-workers ${accel.decoderWorkers}`);
      o.log(`decoder: ${accel.decoderWorkers} worker threads (${counts.decoderWhy}; each holds 1/${accel.decoderWorkers} of every layer's heads, MLP columns and KV cache; ` +
        'resident layers are copied into them once, streamed layers\' stored bytes are shared)');
      const pool = startDecoderPool(accel, model.params.language_model, model.config.text_config)!;
      closers.push(() => pool.close());
      if (pool.rowsKernel) o.log(`decoder: decode steps multiply the streamed layers and lm_head straight from their stored bytes (accel/rows.ts, ${pool.rowsKernel})`);
      decoder = pool;
    }
    const method = { ...o.method, ...(clip ? { clip, clipTextIds: o.method.clipTextIds ?? null } : {}), ...(clipPool ? { clipEncoder: clipPool } : {}) } as MethodSpec;
    return {
      backend, accel, residency, model, clip, method, visionEncoder: encoder, decoder, loadMs, close,
      atStage: (stage) => {
        if (o.keepPools) return;
        if (stage === 'select') void encoder?.close();
        if (stage === 'prefill') void clipPool?.close();
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
