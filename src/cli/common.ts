/**
 * Flags shared by `run` and `trace` (backend, weights, image, prompt, method and its options) and their
 * checks, all before any weight is read; runtimeFlags turns them into src/runtime openRuntime's options.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { BACKENDS } from '../backend';
import { WEBGPU_ADAPTERS, WEBGPU_ADAPTER_ENV } from '../accel/webgpu';
import { resolveIdWords, type FlagSpecs, type ParsedFlags } from './args';
import type { LlavaNextModel } from '../llava/model';
import type { LlavaNextConfig } from '../llava/config';
import { loadClipModelConfig } from '../clip/load';
import { loadTokenizer, llavaPromptIds, clipTextIds, PROMPT_TEMPLATES, type PromptTemplate } from '../io/tokenizer';
import { readImage, type AlphaMode, type RgbImage } from '../io/image';
import { METHOD_NAMES, methodByName } from '../methods';
import { methodFlags, ratioDefaultsHelp } from './method_flags';
import type { RuntimeOptions } from '../runtime';
import type { ResidencyAsk } from '../runtime/memory';
import { ACCEL_ENV, requestedAccel } from '../accel';
import { numImageTokens } from '../llava/anyres';
import { isLlava15 } from '../llava/llava15';
import { checkPositions } from '../llama/generate';

/** The most worker threads --vision-workers / --decoder-workers take: each holds a tfjs instance (and resident weights). */
export const MAX_WORKERS = 64;

export const BACKEND_FLAGS: FlagSpecs = {
  backend: { type: 'string', arg: 'NAME', help: `tfjs backend: ${BACKENDS.join(' | ')} (or $HERO_LVLM_BACKEND; default wasm)` },
  'webgpu-adapter': { type: 'string', arg: 'NAME', help: `webgpu only: a software adapter for tests, ${WEBGPU_ADAPTERS.join(' | ')} (Debian's chromium package provides it; or $${WEBGPU_ADAPTER_ENV}); unset: the GPU` },
  'vision-workers': { type: 'int', arg: 'N', max: MAX_WORKERS, help: "at most 64; encode the image crops, and HERO's tiles through the CLIP model, in N worker threads, one tfjs instance each (resident weights copied into each, streamed layers shared; wasm, cpu); 1 = in-process; default: one per core for a real-size vision tower (≥ 1 GFLOP per crop), in-process for a tiny one (src/runtime/workers.ts; the start-up line says which)" },
  'decoder-workers': { type: 'int', arg: 'N', max: MAX_WORKERS, help: 'at most 64; run the decoder layers in N worker threads, each holding 1/N of the attention heads, MLP columns and KV cache (wasm, cpu; run only, methods without a decoder hook); 1 = in-process; default: one per core (the most that split the heads and MLP evenly) for a real-size decoder (≥ 0.1 GFLOP per token), in-process for a tiny one' },
  accel: { type: 'string', arg: 'MODE', help: `the large products: auto (the system's BLAS on wasm and cpu when found, else the WebAssembly kernels, saying why) | blas (required) | wasm (the WebAssembly kernels: our matrix product, tfjs's for the rest) (or $${ACCEL_ENV}; default auto)` },
};

/**
 * The --vision-workers value, checked; undefined when not given: openRuntime then takes the default for the
 * model on this machine (src/runtime/workers.ts defaultWorkers), and says which.
 */
export function visionWorkersFlag(flags: ParsedFlags): number | undefined {
  const n = flags['vision-workers'] as number | undefined;
  if (n === undefined) return undefined;
  if (!(Number.isInteger(n) && n >= 1)) throw new HeroError(`--vision-workers: expected an integer ≥ 1, got ${n}`);
  return n;
}

/** The --decoder-workers value, checked; undefined when not given (the default, as --vision-workers). */
export function decoderWorkersFlag(flags: ParsedFlags): number | undefined {
  const n = flags['decoder-workers'] as number | undefined;
  if (n === undefined) return undefined;
  if (!(Number.isInteger(n) && n >= 1)) throw new HeroError(`--decoder-workers: expected an integer ≥ 1, got ${n}`);
  return n;
}

/** How the weights are held, and the refusal override (run, trace). */
export const WEIGHTS_FLAGS: FlagSpecs = {
  weights: { type: 'string', arg: 'auto|resident|streamed|disk', default: 'auto', help: 'resident: every weight in fp32 on the backend; streamed: layers, embedding and lm_head stay on the host in their stored dtype (f16/bf16/f32) and are widened to fp32 one at a time, the KV cache on the host (exact: same numbers, more time); disk: the same groups stay in the safetensors files and are read when used (positioned reads; host memory holds only what is in use); auto: resident when the memory estimate fits, else streamed, else disk' },
  force: { type: 'boolean', help: 'load the model even if the memory estimate exceeds the available memory ($HERO_LVLM_AVAILABLE_MEMORY bytes, else MemAvailable) or the wasm heap' },
};

/** Prompt tokens at most (an upper bound for the memory estimate, before the tokenizer is loaded): one per UTF-8 byte plus the template's. */
export function promptTokensBound(flags: ParsedFlags): number {
  if (flags['input-ids'] !== undefined) return (flags['input-ids'] as number[]).length;
  const text = (flags.prompt ?? flags['raw-prompt'] ?? '') as string;
  return Buffer.byteLength(text, 'utf8') + 128;
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

export const INPUT_FLAGS: FlagSpecs = {
  image: { type: 'string', arg: 'FILE', help: 'image file (PNG, JPEG, WebP, …)' },
  prompt: { type: 'string', arg: 'TEXT', help: 'the question; wrapped in the --template with one image placeholder' },
  template: { type: 'string', arg: 'NAME', default: 'vicuna_v1', help: "prompt template for --prompt: vicuna_v1 (original LLaVA's conv_vicuna_v1 with its system line, as the authors evaluate) | llava-hf (llava-hf's, no system line)" },
  'image-alpha': { type: 'string', arg: 'drop|white', default: 'drop', help: 'transparency: drop it and keep the stored colours (Pillow convert("RGB"), HF v4.45.1) | white (composite onto white)' },
  'raw-prompt': { type: 'string', arg: 'TEXT', help: 'a full prompt that already holds exactly one <image> placeholder (no template)' },
  'input-ids': { type: 'intList', arg: 'IDS', words: ['IMG'], help: 'prompt token ids, comma-separated, holding exactly one image token: IMG or its id (config image_token_index), e.g. 1,2,IMG,3' },
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
export function promptIds(flags: ParsedFlags, model: Pick<LlavaNextModel, 'config' | 'dir'>): { ids: number[]; question: string | null; template: PromptTemplate | null } {
  const given = ['prompt', 'raw-prompt', 'input-ids'].filter((k) => flags[k] !== undefined);
  if (given.length !== 1) throw new HeroError(`give exactly one of --prompt, --raw-prompt, --input-ids (got ${given.length ? given.map((g) => `--${g}`).join(', ') : 'none'})`);
  const imageId = model.config.image_token_index;
  if (flags['input-ids'] !== undefined) {
    const ids = resolveIdWords(flags['input-ids'] as Array<number | string>, { IMG: imageId });
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

/** A method as the flags configure it, before anything is loaded: its options, the CLIP model it needs and the CLIP text ids. */
export interface MethodChoice {
  readonly name: string;
  readonly options: unknown;
  /** the --clip directory, when the method reads a separate CLIP model and these options need it */
  readonly clipDir?: string;
  readonly clipTextIds?: readonly number[] | null;
}

/**
 * The configured method: the flags handed as raw values to the method, which fills in its defaults and
 * validates them against the config (Method.configure); for a method that reads a separate CLIP model
 * (Method.clip), that model's directory (--clip, checked) and the text it scores (--clip-input-ids, else
 * --clip-text, else the question), tokenized with the CLIP tokenizer and checked against its config.
 */
export function methodChoice(flags: ParsedFlags, config: LlavaNextConfig, question: string | null, log: (s: string) => void): MethodChoice {
  const method = methodByName(flags.method as string);
  const options = method.configure(flags, config);
  if (!method.clip) return { name: method.name, options };
  if (!method.clip.needed(options)) return { name: method.name, options, clipTextIds: null };
  const dir = flags.clip as string | undefined;
  if (dir === undefined) throw new HeroError(method.clip.missing);
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new HeroError(`--clip: '${dir}' has no config.json (expected an HF CLIPModel directory)`);
  const limit = loadClipModelConfig(dir).text.max_position_embeddings;
  let ids: number[];
  if (flags['clip-input-ids'] !== undefined) ids = flags['clip-input-ids'] as number[];
  else {
    const text = (flags['clip-text'] as string | undefined) ?? question;
    if (text === null) throw new HeroError('--clip-text or --clip-input-ids: required with --input-ids (there is no question text to score)');
    const r = clipTextIds(loadTokenizer(dir), text, limit);
    if (r.truncated) log(`warning: the CLIP text was truncated to ${limit} tokens`);
    ids = r.ids;
  }
  if (ids.length > limit) throw new HeroError(`--clip-input-ids: ${ids.length} tokens, CLIP's text limit is ${limit}`);
  return { name: method.name, options, clipDir: dir, clipTextIds: ids };
}

/**
 * The sequence against max_position_embeddings, before any weight is read: the prompt's tokens, the image's
 * visual tokens and the new ones (llama/generate.ts checkPositions, which the prefill runs again on the exact
 * count). The visual count is LLaVA-NeXT's full one for a method that keeps every token into the decoder
 * (`none`, and the decoder-side FastV/SparseVLM, which drop only inside it), and 0 for a vision-side method: a
 * lower bound, since its exact count is known only after its selection.
 */
export function checkSequenceFlag(config: LlavaNextConfig, ids: readonly number[], image: Pick<RgbImage, 'height' | 'width'>, method: string, maxNewTokens: number): void {
  const v = config.vision_config, G = v.image_size / v.patch_size;
  const full = isLlava15(config) ? G * G : numImageTokens([image.height, image.width], config.image_grid_pinpoints, v.image_size, G);
  const visual = methodByName(method).select ? 0 : full;
  checkPositions(ids.length - 1 + visual, maxNewTokens, config.text_config);
}

/** --weights, checked. */
function weightsFlag(flags: ParsedFlags): ResidencyAsk['weights'] {
  const asked = flags.weights as string;
  if (!['auto', 'resident', 'streamed', 'disk'].includes(asked)) throw new HeroError(`--weights: '${asked}' is not one of auto, resident, streamed, disk`);
  return asked as ResidencyAsk['weights'];
}

/** openRuntime's options from the backend, worker and weight flags (checked) and the configured method. */
export function runtimeFlags(flags: ParsedFlags, modelDir: string, method: MethodChoice, log: (s: string) => void, bar: Progress): RuntimeOptions {
  return {
    backend: flags.backend as string | undefined, webgpuAdapter: flags['webgpu-adapter'] as string | undefined,
    accel: requestedAccel(flags.accel as string | undefined), visionWorkers: visionWorkersFlag(flags), decoderWorkers: decoderWorkersFlag(flags),
    modelDir, clipDir: method.clipDir,
    residency: { weights: weightsFlag(flags), force: flags.force === true, promptTokens: promptTokensBound(flags), maxNewTokens: flags['max-new-tokens'] as number },
    method: { name: method.name, options: method.options, ...(method.clipTextIds !== undefined ? { clipTextIds: method.clipTextIds } : {}) },
    log, onStage: (s) => bar.stage(s), onLoad: (what, d, t) => bar.bar(what, d, t),
  };
}
