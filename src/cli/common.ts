/**
 * Flags and steps shared by `run` and `trace`: backend, model, image, prompt, method and its options.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { initBackend, requestedBackend, BACKENDS } from '../backend';
import type { FlagSpecs, ParsedFlags } from './args';
import type { LlavaNextModel } from '../llava/model';
import { disposeClipModel, loadClipModel, type ClipModel } from '../clip/model';
import { chooseAccelerations, installAccelerations, startVisionEncoder, type VisionPool } from '../accel';
import { loadTokenizer, llavaPromptIds, clipTextIds, PROMPT_TEMPLATES, type PromptTemplate } from '../io/tokenizer';
import { readImage, type AlphaMode, type RgbImage } from '../io/image';
import { heroDefaults, validateHeroOptions, type HeroOptions } from '../hero';
import { METHOD_NAMES, type MethodName, type MethodSpec } from '../methods';
import { FASTV_DEFAULTS, validateFastv } from '../baselines/fastv';
import { FASTERVLM_GRIDS } from '../baselines/fastervlm';
import { sparseVlm } from '../baselines/sparsevlm';

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
export function startVisionPool(flags: ParsedFlags, model: LlavaNextModel, log: (s: string) => void): VisionPool | undefined {
  const n = visionWorkersFlag(flags);
  if (n === 1) return undefined;
  log(`vision tower: ${n} worker threads (copying the weights into each)`);
  return startVisionEncoder(chooseAccelerations(requestedBackend(flags.backend as string | undefined), { visionWorkers: n }),
    model.params.vision_tower.vision_model, model.config.vision_config);
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

export const METHOD_FLAGS: FlagSpecs = {
  method: { type: 'string', arg: 'NAME', default: 'hero', help: `visual-token method: ${METHOD_NAMES.join(' | ')}` },
  ratio: { type: 'number', arg: 'R', help: 'retention ratio r in (0, 1]; default: the method\'s own (hero 0.2; hired 0.2; fastervlm 0.25, T = ⌊r·N⌋; globalcom2 0.25; fastv 0.5; sparsevlm 0.5)' },
  alpha: { type: 'number', arg: 'A', help: 'HERO α in [0, 1]: weight of visual saliency vs text relevance (default 0.5); HiRED α (0.5)' },
  'tau-v': { type: 'number', arg: 'T', help: 'HERO τ_v, temperature of the saliency softmax (default 0.05)' },
  'tau-t': { type: 'number', arg: 'T', help: 'HERO τ_t, temperature of the relevance softmax (default 0.05)' },
  'low-layers': { type: 'intList', arg: 'L,…', help: 'HERO layers for tile token scores (default 5,6,7,8; 0-based)' },
  'high-layers': { type: 'intList', arg: 'L,…', help: 'HERO layers for thumbnail token scores (default 21)' },
  'density-weight': { type: 'number', arg: 'W', help: "HERO weight λ of the valid-token density (code variant 0.2, paper 0)" },
  variant: { type: 'string', arg: 'code|paper', default: 'code', help: "HERO as the authors' code computes it, or as the paper states it" },
  clip: { type: 'string', arg: 'DIR', help: 'separate CLIP model (HF CLIPModel dir) for HERO relevance' },
  'clip-text': { type: 'string', arg: 'TEXT', help: 'text scored by CLIP (default: the --prompt question)' },
  'clip-input-ids': { type: 'intList', arg: 'IDS', help: 'CLIP text ids instead of --clip-text (bos … eos)' },
  'tokens-per-crop': { type: 'int', arg: 'T', help: 'FasterVLM tokens kept per crop (default: ratio × N)' },
  'fastv-layer': { type: 'int', arg: 'K', default: 2, help: 'FastV: decoder layer after which image tokens are dropped' },
  'fastervlm-grid': { type: 'string', arg: 'G', help: "FasterVLM anyres grid: fixed (default: the largest square pinpoint, 672×672, as its authors ran it) | fill-ratio (FasterVLM's own select_best_resolution) | best-fit (LLaVA/HF)" },
  'hired-grid': { type: 'string', arg: 'O', help: "HiRED tile stacking before unpadding: as-coded (default: (cols, rows), HiRED's vendored HF 4.42) | corrected ((rows, cols))" },
  'globalcom2-placement': { type: 'string', arg: 'P', help: "GlobalCom² tile-token placement: as-coded (default: n-th kept valid token in tile cell n) | corrected (each in its own cell)" },
  'sparsevlm-layers': { type: 'intList', arg: 'L,…', help: 'SparseVLM: decoder layers after which visual tokens are pruned (default 2,6,15,19; 0-based)' },
  'sparsevlm-scale': { type: 'number', arg: 'S', help: 'SparseVLM: fixed scale of int(rank·scale + bias) instead of the per-input one derived from --ratio' },
  'sparsevlm-bias': { type: 'number', arg: 'B', help: 'SparseVLM: fixed bias, with --sparsevlm-scale (default 0)' },
  'sparsevlm-seed': { type: 'int', arg: 'N', default: 0, help: 'SparseVLM: seed of the DPC-kNN density noise (unseeded in the official code)' },
};

/** A string flag restricted to a few values (undefined when not given). */
function choiceFlag<T extends string>(flags: ParsedFlags, name: string, choices: readonly T[]): T | undefined {
  const v = flags[name] as string | undefined;
  if (v !== undefined && !(choices as readonly string[]).includes(v)) throw new HeroError(`--${name}: '${v}' is not one of ${choices.join(', ')}`);
  return v as T | undefined;
}

/**
 * Activates the requested backend, installs the accelerations for it (src/accel/index.ts: the default
 * choice, which is what the bench measures) and says which ones run (stderr).
 */
export async function setupBackend(flags: ParsedFlags, log: (s: string) => void): Promise<string> {
  const name = requestedBackend(flags.backend as string | undefined);
  const visionWorkers = visionWorkersFlag(flags);
  await initBackend(name, log);
  log(`backend: ${name}`);
  log(installAccelerations(name, { visionWorkers }).line);
  return name;
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

function layerListFlag(flags: ParsedFlags, name: string): number[] | undefined {
  return flags[name] as number[] | undefined;
}

/** Builds and validates the method and its options from the flags. */
export function methodSpec(flags: ParsedFlags, model: LlavaNextModel, question: string | null,
  log: (s: string) => void): MethodSpec {
  const name = flags.method as string;
  if (!(METHOD_NAMES as readonly string[]).includes(name)) throw new HeroError(`--method: unknown method '${name}' (choose one of ${METHOD_NAMES.join(', ')})`);
  const ratio = flags.ratio as number | undefined;
  if (ratio !== undefined && !(ratio > 0 && ratio <= 1)) throw new HeroError(`--ratio: ${ratio} is outside (0, 1]`);
  const N = model.derived.tokensPerCrop;
  const L = model.config.vision_config.num_hidden_layers;
  switch (name as MethodName) {
    case 'none': return { name: 'none' };
    case 'fastervlm': {
      const t = (flags['tokens-per-crop'] as number | undefined) ?? Math.floor(N * (ratio ?? 0.25));
      if (!(t >= 1 && t <= N)) throw new HeroError(`--tokens-per-crop: ${t} is outside [1, ${N}]`);
      return { name: 'fastervlm', options: { tokensPerCrop: t, grid: choiceFlag(flags, 'fastervlm-grid', FASTERVLM_GRIDS) ?? 'fixed' } };
    }
    case 'hired': {
      const alpha = (flags.alpha as number | undefined) ?? 0.5;
      if (!(alpha >= 0 && alpha < 1)) throw new HeroError(`--alpha: ${alpha} is outside [0, 1) for HiRED`);
      return { name: 'hired', options: { ratio: ratio ?? 0.2, alpha, gridOrientation: choiceFlag(flags, 'hired-grid', ['as-coded', 'corrected'] as const) ?? 'as-coded' } };
    }
    case 'globalcom2': return { name: 'globalcom2', options: { ratio: ratio ?? 0.25, visionHeads: model.config.vision_config.num_attention_heads,
      placement: choiceFlag(flags, 'globalcom2-placement', ['as-coded', 'corrected'] as const) ?? 'as-coded' } };
    case 'prumerge+': return { name: 'prumerge+', options: { plus: true } };
    case 'fastv': {
      const options = { layer: flags['fastv-layer'] as number, ratio: ratio ?? FASTV_DEFAULTS.ratio };
      validateFastv(options, model.config.text_config.num_hidden_layers);
      return { name: 'fastv', options };
    }
    case 'sparsevlm': {
      const scale = flags['sparsevlm-scale'] as number | undefined;
      if (scale !== undefined && ratio !== undefined) throw new HeroError('--sparsevlm-scale: give either --ratio or --sparsevlm-scale/--sparsevlm-bias, not both');
      const options = {
        layers: layerListFlag(flags, 'sparsevlm-layers') ?? sparseVlm.defaults.layers, ratio: ratio ?? sparseVlm.defaults.ratio,
        scale, bias: flags['sparsevlm-bias'] as number | undefined, seed: flags['sparsevlm-seed'] as number,
      };
      sparseVlm.validate(options, model.config.text_config.num_hidden_layers);
      return { name: 'sparsevlm', options };
    }
    case 'hero': {
      const variant = flags.variant as string;
      if (variant !== 'code' && variant !== 'paper') throw new HeroError(`--variant: '${variant}' is not 'code' or 'paper'`);
      const given = (k: string): boolean => flags[k] !== undefined;
      // Defaults need a tower deep enough for layers 5..8 and 21; otherwise the sets must be given.
      const base: Partial<HeroOptions> = given('low-layers') && given('high-layers') ? {} : heroDefaults(L, variant);
      const options: HeroOptions = {
        ...(base as HeroOptions),
        variant,
        ratio: ratio ?? 0.2,
        alpha: (flags.alpha as number | undefined) ?? base.alpha ?? 0.5,
        tauV: (flags['tau-v'] as number | undefined) ?? base.tauV ?? 0.05,
        tauT: (flags['tau-t'] as number | undefined) ?? base.tauT ?? 0.05,
        lowLayers: layerListFlag(flags, 'low-layers') ?? base.lowLayers!,
        highLayers: layerListFlag(flags, 'high-layers') ?? base.highLayers!,
        densityWeight: (flags['density-weight'] as number | undefined) ?? base.densityWeight ?? (variant === 'code' ? 0.2 : 0),
      };
      validateHeroOptions(options, L);
      const needsClip = options.alpha < 1;
      let clip: ClipModel | null = null;
      let clipIds: number[] | null = null;
      if (needsClip) {
        const dir = flags.clip as string | undefined;
        if (dir === undefined) throw new HeroError('--clip: HERO needs a CLIP model for the text-relevance score (or pass --alpha 1 to use saliency only)');
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
      return { name: 'hero', options, clip, clipTextIds: clipIds };
    }
  }
}
