/**
 * The one shape every visual-token method has (HERO, the baselines, plain LLaVA-NeXT). A Method is a
 * plain object in its method's own file (src/hero/method.ts, src/baselines/<name>.ts); the registry
 * src/methods/index.ts lists them, and the pipeline, the CLI and the report only ever talk to this interface.
 *
 * A method acts in up to two places of the pipeline:
 * - the vision side (`select`): from the VisualContext (vision tower with the method's `taps`, projector)
 *   to the visual token sequence the LLM gets; without it, LLaVA-NeXT's own packing (every token);
 * - the decoder side (`decoder`): a DecoderHook that rewrites the rows during the prefill.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import type { VisionEncoder, VisionTaps } from '../clip/vision';
import type { ClipModel } from '../clip/model';
import type { LlavaNextModel } from '../llava/model';
import type { LlavaNextConfig } from '../llava/config';
import type { ImageProcessorConfig } from '../llava/image_processor';
import type { VisualContext } from '../llava/visual_context';
import type { DecoderHook } from '../baselines/decoder_hooks';
import type { TensorToWrite } from '../io/safetensors';

/** A named host-side tensor, ready to be written to a trace file. */
export type TraceTensors = Map<string, TensorToWrite>;

/** Raw option values by flag name (as the CLI parses them: cli/method_flags.ts; undefined when not given). */
export type RawOptions = Readonly<Record<string, unknown>>;

/** A tensor the method exports, with the dtype it is written with in a trace file. */
export interface NamedTensor {
  readonly tensor: tf.Tensor;
  readonly dtype: 'F32' | 'I64' | 'U8';
}

/** A vision-side selection's result: the visual tokens the LLM gets, what was kept, the method's tensors. */
export interface PruneResult {
  /** The visual token sequence handed to the LLM [M, D] (kept features, newlines, merged tokens). */
  readonly features: tf.Tensor2D;
  /** Kept patch tokens per crop as 0/1 masks over raster order: [P][N] (thumbnail first). */
  readonly keepMasks: readonly Uint8Array[];
  /** Number of image_newline vectors in `features`. */
  readonly numNewlines: number;
  /** Method-specific quantities for `trace`, by public name (e.g. 'hero.budgets'). */
  readonly tensors: Readonly<Record<string, NamedTensor>>;
}

/**
 * One configured method: its name, its options (defaults filled in, validated) and, for a method that
 * reads a separate CLIP model (`Method.clip`), that model and the CLIP text ids (null when not needed).
 */
export interface MethodSpec<O = unknown> {
  readonly name: string;
  readonly options?: O;
  readonly clip?: ClipModel | null;
  readonly clipTextIds?: readonly number[] | null;
  /**
   * The separate CLIP model's vision tower as an acceleration (src/accel/vision_pool.ts, set by the runtime
   * with --vision-workers); default: `visionModel` in-process on `clip`'s weights.
   */
  readonly clipEncoder?: VisionEncoder;
}

/** The prompt as the decoder sees it: image rows [imageStart, imageEnd) of `ids` (contiguous). */
export interface PromptRows {
  /** [T, D] input embeddings (image features spliced in) */
  readonly embeds: tf.Tensor2D;
  readonly ids: readonly number[];
  readonly imageStart: number;
  readonly imageEnd: number;
  /** decoder layers L */
  readonly numLayers: number;
}

/** A method's decoder side for one prefill (a fresh one per prompt). */
export interface DecoderSide {
  readonly hook: DecoderHook;
  /** what the hook decided, as trace tensors (after the prefill) */
  readonly traceTensors?: () => TraceTensors;
  /** the visual tokens the decoder keeps from a layer on (the report's visual_tokens.in_decoder) */
  readonly visualTokensInDecoder?: () => { readonly fromLayer: number; readonly kept: number } | undefined;
}

/** Times a sub-stage of `select` (reported as its own stage, apart from the selection); `f` may be async. */
export type StageTimer = <T>(stage: string, f: () => T | Promise<T>) => Promise<T>;

/** A StageTimer that adds each stage's wall time (fractional ms, performance.now) to `into[stage]`, until `f` settles. */
export function stageTimer(into: Record<string, number>): StageTimer {
  return async (stage, f) => {
    const t0 = performance.now();
    try { return await f(); } finally { into[stage] = (into[stage] ?? 0) + performance.now() - t0; }
  };
}

/** A method needing a separate CLIP model (HERO's text relevance): when, and what to say when it is missing. */
export interface ClipNeed<O> {
  readonly needed: (options: O) => boolean;
  /** the error when needed but no --clip was given */
  readonly missing: string;
}

export interface Method<O = unknown, N extends string = string> {
  /** the --method value */
  readonly name: N;
  /**
   * Raw option values → options, with the defaults this model's config implies; validates every value once
   * (a HeroError naming the flag). Reads `raw.ratio` (undefined: the method's own default) and its own flags.
   * Takes the config only, so every option is checked before any weight is read.
   */
  readonly configure: (raw: RawOptions, config: LlavaNextConfig) => O;
  /** a separate CLIP model it reads (loaded by the caller: --clip, --clip-text, --clip-input-ids) */
  readonly clip?: ClipNeed<O>;
  /** the vision taps it reads (besides the feature layer, always tapped) */
  readonly taps: (spec: MethodSpec<O>, model: LlavaNextModel) => VisionTaps;
  /** the image processor config for this image (default: the checkpoint's own) */
  readonly processor?: (spec: MethodSpec<O>, image: { readonly height: number; readonly width: number }, processor: ImageProcessorConfig) => ImageProcessorConfig;
  /**
   * the vision side: the LLM's visual tokens (default: LLaVA-NeXT's packing, every token). Async: its host
   * reads are `await t.data()`, never dataSync (docs/gpu.md "Synchronous reads").
   */
  readonly select?: (spec: MethodSpec<O>, ctx: VisualContext, model: LlavaNextModel, time: StageTimer) => Promise<PruneResult>;
  /** the decoder side: a hook for the prefill (async: building it may read the prompt to the host) */
  readonly decoder?: (spec: MethodSpec<O>, prompt: PromptRows) => Promise<DecoderSide>;
}

/** --ratio checked: undefined (the method's default) or a number in (0, 1]. */
export function ratioOption(raw: RawOptions): number | undefined {
  const r = raw.ratio as number | undefined;
  if (r !== undefined && !(r > 0 && r <= 1)) throw new HeroError(`--ratio: ${r} is outside (0, 1]`);
  return r;
}

/** A string flag restricted to a few values (undefined when not given). */
export function choiceOption<T extends string>(raw: RawOptions, name: string, choices: readonly T[]): T | undefined {
  const v = raw[name] as string | undefined;
  if (v !== undefined && !(choices as readonly string[]).includes(v)) throw new HeroError(`--${name}: '${v}' is not one of ${choices.join(', ')}`);
  return v as T | undefined;
}
