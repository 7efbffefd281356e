/**
 * The whole job for one image and one prompt: preprocess → vision → (method) → LLM → greedy answer,
 * recording every intermediate tensor under its public trace name (docs/trace.md) when asked.
 * Used by the `trace` and `run` commands and the library API.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from './core/errors';
import type { TensorToWrite } from './io/safetensors';
import type { RgbImage } from './io/image';
import { preprocess, type ProcessedImage } from './llava/image_processor';
import { disposeVisionTaps, disposeVisualContext, encodeImage, type LlavaNextModel } from './llava/model';
import { packImageFeatures, packedTileMasks } from './llava/pack';
import { expandImageTokens, spliceImageFeatures } from './llava/merge';
import { imageNewlineOf, isLlava15, preprocessLlava15, singleCropFeatures, type ImageAspect } from './llava/llava15';
import type { VisualContext } from './llava/visual_context';
import { embedTokens } from './llama/decoder';
import { checkPositions, greedyDecode, LLAMA_DECODER, prefill, type Decoder, type DecoderCache } from './llama/generate';
import { hookedDecoder } from './baselines/decoder_hooks';
import type { VisionEncoder, VisionTaps } from './clip/vision';
import { stageTimer, type DecoderSide, type MethodSpec, type NamedTensor, type PruneResult, type TraceTensors } from './methods/contract';
import { methodOf } from './methods';

export type { TraceTensors } from './methods/contract';

export interface PipelineInput {
  /** The decoded image, or already-processed pixels (trace from the goldens' pixel_values). */
  readonly image?: RgbImage;
  readonly processed?: ProcessedImage;
  /** LLaVA-1.5 only: HF's centre crop (default) or the original LLaVA's pad-to-square (llava/llava15.ts). */
  readonly imageAspect?: ImageAspect;
  /** Prompt ids holding exactly one image token (config image_token_index); expanded here. */
  readonly inputIds: readonly number[];
  readonly method: MethodSpec;
  readonly maxNewTokens: number;
  /** Record every intermediate tensor (all hidden states and attentions): the `trace` command. */
  readonly trace?: boolean;
  /** Vision layers whose head-mean CLS→patch attention maps to return (the report's Fig. 2-style maps). */
  readonly clsAttentionLayers?: 'all' | readonly number[];
  /** Progress/timing callback: stage name when it starts. */
  readonly onStage?: (stage: string) => void;
  /** Progress inside a stage ('vision', 'prefill': layers done of total). */
  readonly onProgress?: (stage: string, done: number, total: number) => void;
  /**
   * The vision tower's implementation (an acceleration from src/accel/, e.g. a VisionPool); default: `visionModel` in-process.
   * A VisionPool copies the pixels to its workers with dataSync: it runs only on wasm/cpu (VisionPool.start refuses any
   * other backend), where synchronous reads work, so it is never on a webgpu run's path.
   */
  readonly visionEncoder?: VisionEncoder;
  /**
   * The decoder for the prefill and the decode steps (an acceleration's: src/accel/decoder_pool.ts DecoderPool's,
   * or the reference on src/accel/kv_host.ts HostKvCache); default: llama/generate.ts LLAMA_DECODER. A method
   * with a decoder hook runs baselines/decoder_hooks.ts hookedDecoder on this decoder's KV cache (never a pool's).
   */
  readonly decoder?: Decoder;
  /** Called after each generated token. */
  readonly onToken?: (step: number, id: number) => void;
}

export interface PipelineResult {
  readonly processed: ProcessedImage;
  /** Prompt ids after image-token expansion. */
  readonly inputIds: number[];
  /** Greedy continuation (without the prompt), eos included when emitted. */
  readonly newIds: number[];
  /** Visual tokens given to the LLM and before any dropping (the full LLaVA-NeXT count; LLaVA-1.5: N). */
  readonly visualTokens: number;
  readonly visualTokensFull: number;
  /** A decoder-side method: the visual tokens the decoder keeps from layer `fromLayer` on (absent otherwise). */
  readonly visualTokensInDecoder?: { readonly fromLayer: number; readonly kept: number };
  /** Kept patch tokens per crop (thumbnail first), from the method's masks; the full count without a selection. */
  readonly keptPerCrop: number[];
  readonly keepMasks: readonly Uint8Array[];
  readonly numNewlines: number;
  /** The method's named quantities (its trace tensors) as host arrays. */
  readonly methodTensors: TraceTensors;
  /** All recorded tensors by trace name (only with `trace`). */
  readonly trace: TraceTensors;
  /** Head-mean CLS→patch attention per requested vision layer: maps [P·N] (crop-major, raster order). */
  readonly clsAttention: ReadonlyArray<{ readonly layer: number; readonly maps: Float32Array }>;
  /**
   * Wall time per stage in ms, in this order: preprocess, vision, the method's own sub-stages of the selection
   * (Method.select's StageTimer), select (excluding those), prefill (the prompt's one forward call, which gives
   * the first token), decode (the other tokens). The stages are disjoint.
   */
  readonly timings: Record<string, number>;
}

/** Copies a tensor to the host as a trace entry with the given dtype (an asynchronous read, as every read here). */
export async function toHost(t: tf.Tensor, dtype: NamedTensor['dtype'] = 'F32', shape: readonly number[] = t.shape): Promise<TensorToWrite> {
  const data = await t.data();
  return { dtype, shape: [...shape], data: dtype === 'F32' ? Float32Array.from(data) : Array.from(data) };
}

/**
 * Async: every host read on this path (the selections, the hooks, the logits, the trace) is `await t.data()`,
 * never dataSync/arraySync, so it runs on a backend that can only read asynchronously (webgpu in Node;
 * docs/gpu.md "Synchronous reads", checked by spec/pipeline_async.spec.ts).
 */
export async function runPipeline(model: LlavaNextModel, input: PipelineInput): Promise<PipelineResult> {
  const method = methodOf(input.method);
  const spec = input.method as MethodSpec;
  const timings: Record<string, number> = {};
  const trace: TraceTensors = new Map();
  // performance.now(): fractional ms (a tiny model's prefill takes well under 1 ms on some machines).
  let t0 = performance.now();
  const stage = (name: string): void => {
    const now = performance.now();
    input.onStage?.(name);
    t0 = now;
  };
  const done = (name: string): void => { timings[name] = performance.now() - t0; };
  const cfg = model.config;

  // 1. Preprocess (pure TS, no tensors).
  stage('preprocess');
  // The method may change the anyres grid (its own grid rule): Method.processor gives its config.
  // LLaVA-1.5 (one crop, no grid to change): its own processor.
  const llava15 = isLlava15(cfg);
  if (input.imageAspect === 'pad' && !llava15) throw new HeroError('--image-aspect: pad is for LLaVA-1.5 checkpoints (LLaVA-NeXT pads its anyres canvas itself)');
  const processed = input.processed ?? (input.image
    ? (llava15 ? preprocessLlava15(input.image, model.processor, input.imageAspect)
      : preprocess(input.image, method.processor ? method.processor(spec, input.image, model.processor) : model.processor)) : undefined);
  if (!processed) throw new HeroError('runPipeline: neither an image nor processed pixels were given');
  const [P, , S] = processed.shape;
  done('preprocess');

  // 2. Vision tower + projector, with the taps the method needs (all of them for a trace).
  stage('vision');
  const methodTaps = method.taps(spec, model);
  const taps: VisionTaps = input.trace
    ? { hiddenStates: 'all', attentions: 'all', queryKey: methodTaps.queryKey }
    : { hiddenStates: methodTaps.hiddenStates, attentions: methodTaps.attentions, queryKey: methodTaps.queryKey };
  const wantCls = input.clsAttentionLayers;
  const pixels = tf.tensor4d(processed.pixelValues, [P, 3, S, S]);
  let ctx: VisualContext | undefined;
  let pruned: PruneResult | undefined;
  try {
    ctx = encodeImage(model, pixels, processed.imageSize, processed.grid, wantCls ? { ...taps, clsAttention: wantCls } : taps,
      input.onProgress && ((d, t) => input.onProgress!('vision', d, t)), input.visionEncoder);
    done('vision');
    const clsAttention: { layer: number; maps: Float32Array }[] = [];
    for (const [layer, t] of (ctx.clsAttention ?? []).entries()) if (t) clsAttention.push({ layer, maps: await t.data() as Float32Array });
    if (input.trace) {
      trace.set('pixel_values', await toHost(pixels, 'F32', [1, ...pixels.shape]));
      trace.set('image_sizes', { dtype: 'I64', shape: [1, 2], data: [...processed.imageSize] });
      for (const [i, h] of ctx.hiddenStates.entries()) if (h) trace.set(`vision.hidden_states.${i}`, await toHost(h));
      for (const [l, a] of ctx.attentions.entries()) if (a) trace.set(`vision.attentions.${l}`, await toHost(a));
      trace.set('image_features_projected', await toHost(ctx.projected));
    }

    // 3. The visual token sequence: LLaVA-NeXT packing (LLaVA-1.5: the one crop's tokens), or the method's selection.
    stage('select');
    const G = model.derived.patchGrid, N = G * G;
    const c = ctx;
    const fullPacked = tf.tidy(() => (llava15 ? singleCropFeatures(c.projected)
      : packImageFeatures(c.projected, imageNewlineOf(c, 'LLaVA-NeXT packing'), c.grid, G, c.imageSize)));
    const visualTokensFull = fullPacked.shape[0];
    // Sub-stages the method times itself (e.g. a second model's pass) are reported apart from the selection.
    const sub: Record<string, number> = {};
    const time = stageTimer(sub);
    if (!method.select) {
      // Plain LLaVA-NeXT: every thumbnail token, the tile tokens inside the unpadded region, a newline per row
      // (LLaVA-1.5: grid 0 × 0, so the crop's N tokens and no newline).
      const { masks, newlines } = packedTileMasks(c.grid, G, c.imageSize);
      pruned = { features: fullPacked, keepMasks: [new Uint8Array(N).fill(1), ...masks], numNewlines: newlines, tensors: {} };
    } else {
      fullPacked.dispose();
      pruned = await method.select(spec, ctx, model, time);
    }
    const selectMs = performance.now() - t0;
    Object.assign(timings, sub);
    timings.select = selectMs - Object.values(sub).reduce((a, b) => a + b, 0);
    const methodTensors: TraceTensors = new Map();
    for (const [name, nt] of Object.entries(pruned.tensors)) methodTensors.set(name, await toHost(nt.tensor, nt.dtype));
    for (const [k, v] of methodTensors) trace.set(k, v);
    // The vision taps have served the selection (and the trace, which holds host copies): freed before the decoder
    // runs, which needs the room (a trace taps every layer's attention maps: 2.6 GB for ViT-L/14-336 × 5 crops).
    disposeVisionTaps(ctx);

    // 4. Prompt ids with the image placeholder expanded, embeddings with the features spliced in; the
    // prefill: one forward call over the prompt (with the method's decoder hook), filling the KV cache.
    stage('prefill');
    const M = pruned.features.shape[0];
    const ids = expandImageTokens(input.inputIds, cfg.image_token_index, M);
    checkPositions(ids.length, input.maxNewTokens, cfg.text_config);
    const p = pruned;
    const embeds = tf.tidy(() => spliceImageFeatures(embedTokens(model.params.language_model, ids), ids, cfg.image_token_index, p.features));
    let lastLogits: Float32Array;
    let decoder: DecoderSide | undefined;
    let pre: Awaited<ReturnType<typeof prefill<DecoderCache>>>;
    let llm: Decoder<DecoderCache> = input.decoder ?? LLAMA_DECODER;
    try {
      // The image tokens are contiguous: rows [imageStart, imageEnd).
      decoder = await method.decoder?.(spec, {
        embeds, ids, imageStart: ids.indexOf(cfg.image_token_index), imageEnd: ids.lastIndexOf(cfg.image_token_index) + 1,
        numLayers: cfg.text_config.num_hidden_layers,
      });
      if (decoder) llm = hookedDecoder(decoder.hook, (n) => (input.decoder ?? LLAMA_DECODER).newCache(n));
      if (input.trace) {
        trace.set('image_features_packed', await toHost(pruned.features));
        trace.set('input_ids', { dtype: 'I64', shape: [1, ids.length], data: ids });
        trace.set('inputs_embeds', await toHost(embeds, 'F32', [1, ...embeds.shape]));
      }
      pre = await prefill(model.params.language_model, cfg.text_config, embeds, {
        decoder: llm, allLogits: input.trace, onLayer: input.onProgress && ((d, t) => input.onProgress!('prefill', d, t)),
      });
    } finally {
      embeds.dispose();
    }
    try {
      const V = pre.logits.shape[1], rows = pre.logits.shape[0];
      const logits = await pre.logits.data() as Float32Array; // [T', V] (T' = 1 without a trace)
      lastLogits = logits.slice((rows - 1) * V);
      if (input.trace) {
        trace.set('logits', { dtype: 'F32', shape: [1, rows, V], data: Float32Array.from(logits) });
        for (const [k, v] of decoder?.traceTensors?.() ?? []) trace.set(k, v);
      }
    } catch (e) {
      pre.cache.dispose();
      throw e;
    } finally {
      pre.logits.dispose();
    }
    done('prefill');

    // 5. Greedy decoding: the prefill's last row gives the first token, then one forward call per token.
    stage('decode');
    const gen = await greedyDecode(model.params.language_model, cfg.text_config, pre.cache, lastLogits, {
      maxNewTokens: input.maxNewTokens, eosTokenId: model.eosTokenIds, onStep: input.onToken, decoder: llm,
    });
    done('decode');
    if (input.trace) trace.set('generated_ids', { dtype: 'I64', shape: [1, ids.length + gen.newIds.length], data: [...ids, ...gen.newIds] });

    const keptPerCrop = pruned.keepMasks.map((m) => m.reduce((a, b) => a + b, 0));
    return {
      processed, inputIds: ids, newIds: gen.newIds, visualTokens: M, visualTokensFull, keptPerCrop, visualTokensInDecoder: decoder?.visualTokensInDecoder?.(),
      keepMasks: pruned.keepMasks, numNewlines: pruned.numNewlines, methodTensors, trace, clsAttention,
      // µs resolution, rounded down (so the stages still sum to at most the wall time around the call)
      timings: Object.fromEntries(Object.entries(timings).map(([k, ms]) => [k, Math.floor(ms * 1000) / 1000])),
    };
  } finally {
    pixels.dispose();
    if (ctx) disposeVisualContext(ctx);
    pruned?.features.dispose();
    for (const nt of Object.values(pruned?.tensors ?? {})) nt.tensor.dispose();
  }
}
