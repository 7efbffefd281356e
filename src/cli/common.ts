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
import { installAccelerations, startVisionEncoder, type Accelerations, type VisionPool } from '../accel';
import { loadTokenizer, llavaPromptIds, clipTextIds, PROMPT_TEMPLATES, type PromptTemplate } from '../io/tokenizer';
import { readImage, type AlphaMode, type RgbImage } from '../io/image';
import { METHOD_NAMES, methodByName, methodFlags, ratioDefaultsHelp, type MethodSpec } from '../methods';
import type { MethodSpec as GenericMethodSpec } from '../method';

export const BACKEND_FLAGS: FlagSpecs = {
  backend: { type: 'string', arg: 'NAME', help: `tfjs backend: ${BACKENDS.join(' | ')} (or $HERO_LVLM_BACKEND; default wasm)` },
  'vision-workers': { type: 'int', arg: 'N', default: 1, help: 'encode the image crops in N worker threads, one tfjs instance and weight copy each (wasm, cpu); 1 = in-process' },
};

/** The --vision-workers value, checked. */
function visionWorkersFlag(flags: ParsedFlags): number {
  const n = flags['vision-workers'] as number;
  if (!(Number.isInteger(n) && n >= 1)) throw new HeroError(`--vision-workers: expected an integer ≥ 1, got ${n}`);
  return n;
}

/**
 * The accelerated vision encoder (src/accel/vision_pool.ts) when --vision-workers > 1, started after the
 * model is loaded; undefined otherwise (the pipeline then runs the in-process reference `visionModel`).
 */
/** The vision worker pool the accelerations chosen at start-up ask for (--vision-workers > 1), else undefined. */
export function startVisionPool(accel: Accelerations, model: LlavaNextModel, log: (s: string) => void): VisionPool | undefined {
  if (accel.visionWorkers <= 1) return undefined;
  log(`vision tower: ${accel.visionWorkers} worker threads (copying the weights into each)`);
  return startVisionEncoder(accel, model.params.vision_tower.vision_model, model.config.vision_config);
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

/** --method, --ratio, then every method's own flags (src/methods.ts), and the CLIP flags. */
export const METHOD_FLAGS: FlagSpecs = {
  method: { type: 'string', arg: 'NAME', default: 'hero', help: `visual-token method: ${METHOD_NAMES.join(' | ')}` },
  ratio: { type: 'number', arg: 'R', help: `retention ratio r in (0, 1]; default: the method's own (${ratioDefaultsHelp()})` },
  ...methodFlags(),
  ...CLIP_FLAGS,
};

/**
 * Activates the requested backend, installs the accelerations for it (src/accel/index.ts: the default
 * choice, which is what the bench measures) and says which ones run (stderr); returns the backend and that choice (startVisionPool reads it).
 */
export async function setupBackend(flags: ParsedFlags, log: (s: string) => void): Promise<{ backend: string; accel: Accelerations }> {
  const name = requestedBackend(flags.backend as string | undefined);
  const visionWorkers = visionWorkersFlag(flags);
  await initBackend(name, log);
  log(`backend: ${name}`);
  const accel = installAccelerations(name, { visionWorkers });
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
  log: (s: string) => void): MethodSpec {
  const method = methodByName(flags.method as string);
  const options = method.configure(flags, model);
  if (!method.clip) return { name: method.name, options } as MethodSpec;
  let clip: ClipModel | null = null;
  let clipIds: number[] | null = null;
  if (method.clip.needed(options)) {
    const dir = flags.clip as string | undefined;
    if (dir === undefined) throw new HeroError(method.clip.missing);
    if (!fs.existsSync(path.join(dir, 'config.json'))) throw new HeroError(`--clip: '${dir}' has no config.json (expected an HF CLIPModel directory)`);
    clip = loadClipModel(dir);
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
