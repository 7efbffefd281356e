/**
 * Flags and steps shared by `run` and `trace`: backend, model, image, prompt, method and its options.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { initBackend, requestedBackend, BACKENDS } from '../backend';
import type { FlagSpecs, ParsedFlags } from './args';
import type { LlavaNextModel } from '../llava/model';
import type { ClipModel } from '../clip/model';
import { disposeClipModel, loadClipModel } from '../clip/load';
import { checkSplit, installAccelerations, kvCacheFor, LazyVisionPool, startDecoderPool, startVisionEncoder, VisionPool, type Accelerations, type DecoderPool } from '../accel';
import type { WeightResidency } from '../io/loader';
import { LLAMA_DECODER, type Decoder } from '../llama/generate';
import { llavaNextWeightPlan, loadLlavaNext, loadLlavaNextConfig } from '../llava/load';
import { clipModelWeightPlan, loadClipModelConfig } from '../clip/load';
import { availableMemory, checkRunMemory, GIB, maxDecoderTokens, runMemoryEstimate, WASM_HEAP_BYTES, type MemoryEstimate } from '../runtime/memory';
import { loadTokenizer, llavaPromptIds, clipTextIds, PROMPT_TEMPLATES, type PromptTemplate } from '../io/tokenizer';
import { readImage, type AlphaMode, type RgbImage } from '../io/image';
import { METHOD_NAMES, methodByName, type MethodSpec } from '../methods';
import { methodFlags, ratioDefaultsHelp } from './method_flags';
import type { Method, MethodSpec as GenericMethodSpec } from '../methods/contract';

export const BACKEND_FLAGS: FlagSpecs = {
  backend: { type: 'string', arg: 'NAME', help: `tfjs backend: ${BACKENDS.join(' | ')} (or $HERO_LVLM_BACKEND; default wasm)` },
  'vision-workers': { type: 'int', arg: 'N', default: 1, help: "encode the image crops, and HERO's tiles through the CLIP model, in N worker threads, one tfjs instance each (resident weights copied into each, streamed layers shared; wasm, cpu); 1 = in-process" },
  'decoder-workers': { type: 'int', arg: 'N', default: 1, help: 'run the decoder layers in N worker threads, each holding 1/N of the attention heads, MLP columns and KV cache (wasm, cpu; run only, methods without a decoder hook); 1 = in-process' },
};

/** The --vision-workers value, checked. */
function visionWorkersFlag(flags: ParsedFlags): number {
  const n = flags['vision-workers'] as number;
  if (!(Number.isInteger(n) && n >= 1)) throw new HeroError(`--vision-workers: expected an integer ≥ 1, got ${n}`);
  return n;
}

/** The --decoder-workers value, checked (1 when the command has no such flag). */
function decoderWorkersFlag(flags: ParsedFlags): number {
  const n = (flags['decoder-workers'] ?? 1) as number;
  if (!(Number.isInteger(n) && n >= 1)) throw new HeroError(`--decoder-workers: expected an integer ≥ 1, got ${n}`);
  return n;
}

/**
 * The decoder worker pool the accelerations chosen at start-up ask for (--decoder-workers > 1), started
 * after the model is loaded; undefined — and one line saying so — where it is not used: in `trace` (every
 * layer's hidden states and attentions are recorded) and for a method with a decoder hook (FastV, SparseVLM),
 * which need the in-process decoder. Refuses (HeroError) a model whose heads or MLP width it cannot split.
 */
export function startDecoderWorkers(accel: Accelerations, model: LlavaNextModel, use: { trace?: boolean; methodHook?: string },
  log: (s: string) => void): DecoderPool | undefined {
  if (accel.decoderWorkers <= 1) return undefined;
  if (use.trace || use.methodHook) {
    log(`decoder: in-process (--decoder-workers ${accel.decoderWorkers} is not used ${use.trace ? 'by trace, which records every layer' : `with --method ${use.methodHook}, whose decoder hook needs the in-process decoder`})`);
    return undefined;
  }
  checkSplit(model.config.text_config, accel.decoderWorkers, `--decoder-workers ${accel.decoderWorkers}`);
  log(`decoder: ${accel.decoderWorkers} worker threads (each holds 1/${accel.decoderWorkers} of every layer's heads, MLP columns and KV cache; ` +
    'resident layers are copied into them once, streamed layers\' stored bytes are shared)');
  return startDecoderPool(accel, model.params.language_model, model.config.text_config);
}

const WORKER_WEIGHTS = "resident weights are copied into each, streamed layers' stored bytes are shared";

/**
 * The vision worker pools of a run or trace (--vision-workers > 1; none otherwise): LLaVA's tower, for the
 * pipeline's `visionEncoder` (the in-process reference `visionModel` without one), and — for a method that
 * reads a separate CLIP model (HERO-2) — that model's tower, handed to the method as `clipEncoder` and
 * started when the method first encodes. `atStage` lets each pool's workers go once its tower is done
 * (LLaVA's at the selection, the CLIP's at the prefill); `close` stops whatever is still running.
 */
export interface VisionPools {
  readonly encoder?: VisionPool;
  /** the method, with `clipEncoder` when its CLIP tower has a pool */
  readonly method: MethodSpec;
  atStage(stage: string): void;
  close(): Promise<void>;
}

export function startVisionPools(accel: Accelerations, model: LlavaNextModel, method: MethodSpec, log: (s: string) => void): VisionPools {
  if (accel.visionWorkers <= 1) return { method, atStage: () => undefined, close: async () => undefined };
  log(`vision tower: ${accel.visionWorkers} worker threads (${WORKER_WEIGHTS})`);
  const encoder = startVisionEncoder(accel, model.params.vision_tower.vision_model, model.config.vision_config);
  const clip = (method as GenericMethodSpec).clip;
  let clipPool: LazyVisionPool | undefined;
  if (clip) {
    log(`CLIP vision tower (${method.name}'s relevance pass): ${accel.visionWorkers} worker threads once the image is encoded (${WORKER_WEIGHTS})`);
    clipPool = new LazyVisionPool(() => VisionPool.start(clip.params.vision_model, clip.vision, accel.visionWorkers, accel.kernels));
  }
  return {
    encoder,
    method: clipPool ? { ...(method as GenericMethodSpec), clipEncoder: clipPool } as MethodSpec : method,
    atStage: (stage) => {
      if (stage === 'select') void encoder?.close();
      if (stage === 'prefill') void clipPool?.close();
    },
    close: async () => {
      await encoder?.close();
      await clipPool?.close();
    },
  };
}

/** How the weights are held, and the refusal override (run, trace). */
export const WEIGHTS_FLAGS: FlagSpecs = {
  weights: { type: 'string', arg: 'auto|resident|streamed', default: 'auto', help: 'resident: every weight in fp32 on the backend; streamed: layers, embedding and lm_head stay on the host in their stored dtype (f16/bf16/f32) and are widened to fp32 one at a time, the KV cache on the host (exact: same numbers, more time); auto: resident when the memory estimate fits, else streamed' },
  force: { type: 'boolean', help: 'load the model even if the memory estimate exceeds the available memory ($HERO_LVLM_AVAILABLE_MEMORY bytes, else MemAvailable) or the wasm heap' },
};

/** What chooseWeights decided. */
export interface WeightChoice {
  readonly residency: WeightResidency;
  /** the decoder on the KV cache that goes with it (on the host for streamed weights), for PipelineInput.decoder */
  readonly decoder?: Decoder;
}

/** Prompt tokens at most (an upper bound for the memory estimate, before the tokenizer is loaded): one per UTF-8 byte plus the template's. */
function promptTokensBound(flags: ParsedFlags): number {
  if (flags['input-ids'] !== undefined) return (flags['input-ids'] as number[]).length;
  const text = (flags.prompt ?? flags['raw-prompt'] ?? '') as string;
  return Buffer.byteLength(text, 'utf8') + 128;
}

/**
 * --weights: estimates the memory of both residencies from the configs and the safetensors headers
 * (report/memory.ts; no tensor data read), picks one (auto: resident when it fits on the backend and in
 * the available memory, else streamed), prints the choice and the estimate, and refuses a run that does not
 * fit (one line; --force overrides). Called before anything is loaded.
 */
export function chooseWeights(flags: ParsedFlags, dirs: { model: string; clip?: string }, backend: string, workers: { vision: number; decoder: number },
  log: (s: string) => void): WeightChoice {
  const asked = flags.weights as string;
  if (!['auto', 'resident', 'streamed'].includes(asked)) throw new HeroError(`--weights: '${asked}' is not one of auto, resident, streamed`);
  const llava = loadLlavaNextConfig(dirs.model);
  const T = maxDecoderTokens(llava, promptTokensBound(flags), flags['max-new-tokens'] as number);
  const clipVision = dirs.clip ? loadClipModelConfig(dirs.clip).vision : undefined;
  const estimate = (r: WeightResidency) => {
    const plans = [llavaNextWeightPlan(dirs.model, r), ...(dirs.clip ? [clipModelWeightPlan(dirs.clip, r)] : [])];
    return { plans, e: runMemoryEstimate(llava, plans, T, workers.vision, kvCacheFor(r, backend) !== undefined, workers.decoder, clipVision) };
  };
  let residency: WeightResidency = asked === 'streamed' ? 'streamed' : 'resident';
  let chosen = estimate(residency);
  if (asked === 'auto') {
    const avail = availableMemory();
    const fits = (e: MemoryEstimate): boolean => e.host <= avail && (backend !== 'wasm' || e.backend <= WASM_HEAP_BYTES);
    if (!fits(chosen.e)) {
      const why = backend === 'wasm' && chosen.e.backend > WASM_HEAP_BYTES
        ? `resident would need ${(chosen.e.backend / GIB).toFixed(1)} GiB on the backend, the wasm heap holds ${WASM_HEAP_BYTES / GIB} GiB`
        : `resident would need ${(chosen.e.host / GIB).toFixed(1)} GiB of memory, ${(avail / GIB).toFixed(1)} GiB available`;
      residency = 'streamed';
      chosen = estimate(residency);
      log(`weights: streamed (auto: ${why})`);
    } else log('weights: resident (auto: the estimate fits)');
  } else log(`weights: ${residency}`);
  if (residency === 'streamed') {
    const dtypes = [...new Set(chosen.plans.flatMap((p) => p.dtypes))].join('/');
    log(`weights: ${dtypes} on the host (${(chosen.e.parts.streamedHost / GIB).toFixed(2)} GiB), widened to fp32 one group at a time ` +
      `(at most ${(chosen.e.parts.largestGroupFp32 / GIB).toFixed(2)} GiB); KV cache ${kvCacheFor(residency, backend) ? 'on the host' : 'on the backend'}`);
  }
  checkRunMemory(chosen.e, { backend, force: flags.force === true, log, streamed: residency === 'streamed' });
  const newCache = kvCacheFor(residency, backend);
  return { residency, decoder: newCache && { ...LLAMA_DECODER, newCache } };
}

/** Progress: stage lines, and on a TTY bars rewritten in place (loading tensors, vision and decoder layers, decoded tokens). */
export interface Progress {
  stage(s: string): void;
  bar(what: string, done: number, total: number): void;
  end(): void;
}

/** Progress on stderr: bars only on a TTY, plain stage lines otherwise. */
export function progress(log: (s: string) => void, tty = process.stderr.isTTY === true): Progress {
  let open = false;
  const end = (): void => { if (open) { process.stderr.write('\n'); open = false; } };
  return {
    stage: (s) => { end(); log(`${s} …`); },
    bar: (what, done, total) => {
      if (!tty) return;
      const w = 30, n = Math.round((done / total) * w);
      process.stderr.write(`\r${what.padEnd(10)} [${'#'.repeat(n)}${'.'.repeat(w - n)}] ${done}/${total}`);
      open = true;
    },
    end,
  };
}

/**
 * The LLaVA-NeXT model of a run or trace: refuses a --model without config.json, chooses how its weights
 * and those of the method's CLIP model (--clip, when the method reads one) are held (chooseWeights), and
 * loads it with a progress bar. `workers` are the worker threads that will hold weights too.
 */
export function loadModelFlag(flags: ParsedFlags, modelDir: string, method: Method<unknown>, backend: string,
  workers: { vision: number; decoder: number }, log: (s: string) => void): { model: LlavaNextModel; weights: WeightChoice; bar: Progress; loadMs: number } {
  if (!fs.existsSync(path.join(modelDir, 'config.json'))) throw new HeroError(`--model: '${modelDir}' has no config.json (expected a llava-hf LLaVA-NeXT directory)`);
  const clipDir = flags.clip as string | undefined;
  const clipUsed = clipDir && fs.existsSync(path.join(clipDir, 'config.json')) && method.clip ? clipDir : undefined;
  const weights = chooseWeights(flags, { model: modelDir, clip: clipUsed }, backend, workers, log);
  const bar = progress(log);
  bar.stage('loading the model');
  const t0 = performance.now();
  const model = loadLlavaNext(modelDir, (d, t) => bar.bar('loading', d, t), weights.residency);
  return { model, weights, bar, loadMs: Math.floor((performance.now() - t0) * 1000) / 1000 };
}

export const INPUT_FLAGS: FlagSpecs = {
  image: { type: 'string', arg: 'FILE', help: 'image file (PNG, JPEG, WebP, …)' },
  prompt: { type: 'string', arg: 'TEXT', help: 'the question; wrapped in the --template with one image placeholder' },
  template: { type: 'string', arg: 'NAME', default: 'vicuna_v1', help: "prompt template for --prompt: vicuna_v1 (original LLaVA's conv_vicuna_v1 with its system line, as the authors evaluate) | llava-hf (llava-hf's, no system line)" },
  'image-alpha': { type: 'string', arg: 'drop|white', default: 'drop', help: 'transparency: drop it and keep the stored colours (Pillow convert("RGB"), HF v4.45.1) | white (composite onto white)' },
  'raw-prompt': { type: 'string', arg: 'TEXT', help: 'a full prompt that already holds exactly one <image> placeholder (no template)' },
  'input-ids': { type: 'intList', arg: 'IDS', help: 'prompt token ids, comma-separated, holding exactly one image token id (config image_token_index)' },
  'max-new-tokens': { type: 'int', arg: 'N', default: 32, help: 'greedy tokens to generate (stops early at eos)' },
};

/** Flags of a method that reads a separate CLIP model (Method.clip: HERO's relevance); loaded by methodSpec. */
export const CLIP_FLAGS: FlagSpecs = {
  clip: { type: 'string', arg: 'DIR', help: 'separate CLIP model (HF CLIPModel dir) for HERO relevance' },
  'clip-text': { type: 'string', arg: 'TEXT', help: 'text scored by CLIP (default: the --prompt question)' },
  'clip-input-ids': { type: 'intList', arg: 'IDS', help: 'CLIP text ids instead of --clip-text (bos … eos)' },
};

/** --method, --ratio, then every method's own flags (cli/method_flags.ts), and the CLIP flags. */
export const METHOD_FLAGS: FlagSpecs = {
  method: { type: 'string', arg: 'NAME', default: 'hero', help: `visual-token method: ${METHOD_NAMES.join(' | ')}` },
  ratio: { type: 'number', arg: 'R', help: `retention ratio r in (0, 1]; default: the method's own (${ratioDefaultsHelp()})` },
  ...methodFlags(),
  ...CLIP_FLAGS,
};

/**
 * Activates the requested backend, installs the accelerations for it (src/accel/index.ts: the default
 * choice, which is what the bench measures) and says which ones run (stderr); returns the backend and that choice (startVisionPools reads it).
 */
export async function setupBackend(flags: ParsedFlags, log: (s: string) => void): Promise<{ backend: string; accel: Accelerations }> {
  const name = requestedBackend(flags.backend as string | undefined);
  const visionWorkers = visionWorkersFlag(flags);
  const decoderWorkers = decoderWorkersFlag(flags);
  await initBackend(name, log);
  log(`backend: ${name}`);
  const accel = installAccelerations(name, { visionWorkers, decoderWorkers });
  log(accel.line);
  return { backend: name, accel };
}

export function checkImageFlag(flags: ParsedFlags): string {
  const image = flags.image as string | undefined;
  if (image === undefined) throw new HeroError('--image: required');
  return image;
}

/** Reads --image with the --image-alpha choice (drop: Pillow convert("RGB"); white: composited onto white). */
export async function readImageFlag(flags: ParsedFlags, file: string): Promise<{ image: RgbImage; alpha: AlphaMode }> {
  const v = flags['image-alpha'] as string;
  if (v !== 'drop' && v !== 'white') throw new HeroError(`--image-alpha: '${v}' is not 'drop' or 'white'`);
  const alpha: AlphaMode = v === 'white' ? 'composite-white' : 'drop';
  return { image: await readImage(file, { alpha }), alpha };
}

/** The --template value, checked. */
export function templateFlag(flags: ParsedFlags): PromptTemplate {
  const t = flags.template as string;
  if (!(PROMPT_TEMPLATES as readonly string[]).includes(t)) throw new HeroError(`--template: '${t}' is not one of ${PROMPT_TEMPLATES.join(', ')}`);
  return t as PromptTemplate;
}

/**
 * Prompt ids from --input-ids, --raw-prompt or --prompt (exactly one). Returns the question for CLIP too
 * (HERO scores the question alone, never the template, as the authors' code: docs/deviations.md), and the
 * template that wrapped it (null for --raw-prompt / --input-ids, which take the prompt as given).
 */
export function promptIds(flags: ParsedFlags, model: LlavaNextModel): { ids: number[]; question: string | null; template: PromptTemplate | null } {
  const given = ['prompt', 'raw-prompt', 'input-ids'].filter((k) => flags[k] !== undefined);
  if (given.length !== 1) throw new HeroError(`give exactly one of --prompt, --raw-prompt, --input-ids (got ${given.length ? given.map((g) => `--${g}`).join(', ') : 'none'})`);
  const imageId = model.config.image_token_index;
  if (flags['input-ids'] !== undefined) {
    const ids = flags['input-ids'] as number[];
    const n = ids.filter((t) => t === imageId).length;
    if (n !== 1) throw new HeroError(`--input-ids: holds ${n} image tokens (id ${imageId}); exactly one is required`);
    const V = model.config.text_config.vocab_size;
    const bad = ids.find((t) => t < 0 || t >= V);
    if (bad !== undefined) throw new HeroError(`--input-ids: id ${bad} is outside the vocabulary [0, ${V})`);
    return { ids, question: null, template: null };
  }
  const tok = loadTokenizer(model.dir);
  if (flags['raw-prompt'] !== undefined) {
    const text = flags['raw-prompt'] as string;
    const n = text.split('<image>').length - 1;
    if (n !== 1) throw new HeroError(`--raw-prompt: holds ${n} <image> placeholders; exactly one is required`);
    const ids = tok.encode(text, { addSpecialTokens: true });
    if (ids.filter((t) => t === imageId).length !== 1) throw new HeroError(`--raw-prompt: the tokenizer does not map <image> to image_token_index ${imageId}`);
    return { ids, question: text.replace('<image>', '').trim(), template: null };
  }
  const q = flags.prompt as string;
  if (q.includes('<image>')) throw new HeroError('--prompt: is the question only; the template adds the image placeholder (use --raw-prompt for a full prompt)');
  const template = templateFlag(flags);
  return { ids: llavaPromptIds(tok, q, imageId, { template }), question: q, template };
}

/**
 * The configured method: the flags handed as raw values to the method, which fills in its defaults and
 * validates them (Method.configure); for a method that reads a separate CLIP model (Method.clip), that model
 * (--clip) and the text it scores (--clip-input-ids, else --clip-text, else the question).
 */
export function methodSpec(flags: ParsedFlags, model: LlavaNextModel, question: string | null,
  log: (s: string) => void, residency: WeightResidency = 'resident', bar?: Progress): MethodSpec {
  const method = methodByName(flags.method as string);
  const options = method.configure(flags, model.config);
  if (!method.clip) return { name: method.name, options } as MethodSpec;
  let clip: ClipModel | null = null;
  let clipIds: number[] | null = null;
  if (method.clip.needed(options)) {
    const dir = flags.clip as string | undefined;
    if (dir === undefined) throw new HeroError(method.clip.missing);
    if (!fs.existsSync(path.join(dir, 'config.json'))) throw new HeroError(`--clip: '${dir}' has no config.json (expected an HF CLIPModel directory)`);
    bar?.stage('loading the CLIP model');
    clip = loadClipModel(dir, residency, bar && ((d, t) => bar.bar('loading', d, t)));
    bar?.end();
    try {
      if (flags['clip-input-ids'] !== undefined) clipIds = flags['clip-input-ids'] as number[];
      else {
        const text = (flags['clip-text'] as string | undefined) ?? question;
        if (text === null) throw new HeroError('--clip-text or --clip-input-ids: required with --input-ids (there is no question text to score)');
        const r = clipTextIds(loadTokenizer(dir), text, clip.text.max_position_embeddings);
        if (r.truncated) log(`warning: the CLIP text was truncated to ${clip.text.max_position_embeddings} tokens`);
        clipIds = r.ids;
      }
      if (clipIds.length > clip.text.max_position_embeddings) {
        throw new HeroError(`--clip-input-ids: ${clipIds.length} tokens, CLIP's text limit is ${clip.text.max_position_embeddings}`);
      }
    } catch (e) {
      disposeClipModel(clip); // the caller never sees this model
      throw e;
    }
  }
  return { name: method.name, options, clip, clipTextIds: clipIds } as MethodSpec;
}

/** Frees what a configured method holds (its CLIP model). */
export function disposeMethodSpec(spec: MethodSpec | undefined): void {
  const clip = (spec as GenericMethodSpec | undefined)?.clip;
  if (clip) disposeClipModel(clip);
}
