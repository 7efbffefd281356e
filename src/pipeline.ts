/**
 * The whole job for one image and one prompt: preprocess → vision → (method) → LLM → greedy answer,
 * recording every intermediate tensor under its public trace name (docs/trace.md) when asked.
 * Used by `hero-lvlm trace`, `hero-lvlm run` and the library API.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from './core/errors';
import type { TensorToWrite } from './io/safetensors';
import type { RgbImage } from './io/image';
import { preprocess, type ProcessedImage } from './llava/image_processor';
import { disposeVisualContext, encodeImage, type LlavaNextModel } from './llava/model';
import { packImageFeatures, packedTileMasks } from './llava/pack';
import { expandImageTokens, spliceImageFeatures } from './llava/merge';
import type { NamedTensor, PruneResult, VisualContext } from './llava/pruning';
import { embedTokens, llamaForward, type DropAfter } from './llama/decoder';
import { fastvKeep } from './baselines/fastv';
import { sparseVlm, type SparseVlmRecord } from './baselines/sparsevlm';
import { checkPositions, greedyGenerate } from './llama/generate';
import type { VisionEncoder, VisionTaps } from './clip/vision';
import { METHOD_TAPS, methodProcessor, runMethod, type MethodSpec } from './methods';

/** A named host-side tensor, ready to be written to a trace file. */
export type TraceTensors = Map<string, TensorToWrite>;

export interface PipelineInput {
  /** The decoded image, or already-processed pixels (trace from the goldens' pixel_values). */
  readonly image?: RgbImage;
  readonly processed?: ProcessedImage;
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
  /** Progress inside a stage ('vision': layers done of total). */
  readonly onProgress?: (stage: string, done: number, total: number) => void;
  /** The vision tower's implementation (an acceleration from src/accel/, e.g. a VisionPool); default: `visionModel` in-process. */
  readonly visionEncoder?: VisionEncoder;
  /** Called after each generated token. */
  readonly onToken?: (step: number, id: number) => void;
}

export interface PipelineResult {
  readonly processed: ProcessedImage;
  /** Prompt ids after image-token expansion. */
  readonly inputIds: number[];
  /** Greedy continuation (without the prompt), eos included when emitted. */
  readonly newIds: number[];
  /** Visual tokens given to the LLM and before any dropping (the full LLaVA-NeXT count). */
  readonly visualTokens: number;
  readonly visualTokensFull: number;
  /** FastV: the visual tokens the decoder keeps from layer `fromLayer` on (absent for the other methods). */
  readonly visualTokensInDecoder?: { readonly fromLayer: number; readonly kept: number };
  /** Kept patch tokens per crop (thumbnail first), from the method's masks; the full count for 'none'. */
  readonly keptPerCrop: number[];
  readonly keepMasks: readonly Uint8Array[];
  readonly numNewlines: number;
  /** The method's named quantities (e.g. hero.*) as host arrays. */
  readonly methodTensors: TraceTensors;
  /** All recorded tensors by trace name (only with `trace`). */
  readonly trace: TraceTensors;
  /** Head-mean CLS→patch attention per requested vision layer: maps [P·N] (crop-major, raster order). */
  readonly clsAttention: ReadonlyArray<{ readonly layer: number; readonly maps: Float32Array }>;
  /** Wall time per stage in ms; the stages are disjoint (select excludes clip_relevance). */
  readonly timings: Record<string, number>;
}

/** Copies a tensor to the host as a trace entry with the given dtype. */
export function toHost(t: tf.Tensor, dtype: NamedTensor['dtype'] = 'F32', shape: readonly number[] = t.shape): TensorToWrite {
  const data = t.dataSync();
  return { dtype, shape: [...shape], data: dtype === 'F32' ? Float32Array.from(data) : Array.from(data) };
}

export function runPipeline(model: LlavaNextModel, input: PipelineInput): PipelineResult {
  const timings: Record<string, number> = {};
  const trace: TraceTensors = new Map();
  let t0 = Date.now();
  const stage = (name: string): void => {
    const now = Date.now();
    input.onStage?.(name);
    t0 = now;
  };
  const done = (name: string): void => { timings[name] = Date.now() - t0; };
  const cfg = model.config;

  // 1. Preprocess (pure TS, no tensors).
  stage('preprocess');
  // The method may change the anyres grid (FasterVLM's own grid rule): methodProcessor gives its pinpoints.
  const processed = input.processed ?? (input.image ? preprocess(input.image, methodProcessor(input.method, input.image, model.processor)) : undefined);
  if (!processed) throw new HeroError('runPipeline: neither an image nor processed pixels were given');
  const [P, , S] = processed.shape;
  done('preprocess');

  // 2. Vision tower + projector, with the taps the method needs (all of them for a trace).
  stage('vision');
  const methodTaps = METHOD_TAPS(input.method, model);
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
    const clsAttention = (ctx.clsAttention ?? []).flatMap((t, layer) => (t ? [{ layer, maps: t.dataSync() as Float32Array }] : []));
    if (input.trace) {
      trace.set('pixel_values', toHost(pixels, 'F32', [1, ...pixels.shape]));
      trace.set('image_sizes', { dtype: 'I64', shape: [1, 2], data: [...processed.imageSize] });
      ctx.hiddenStates.forEach((h, i) => h && trace.set(`vision.hidden_states.${i}`, toHost(h)));
      ctx.attentions.forEach((a, l) => a && trace.set(`vision.attentions.${l}`, toHost(a)));
      trace.set('image_features_projected', toHost(ctx.projected));
    }

    // 3. The visual token sequence: LLaVA-NeXT packing, or a dropping method.
    stage('select');
    const G = model.derived.patchGrid, N = G * G;
    const c = ctx;
    const fullPacked = tf.tidy(() => packImageFeatures(c.projected, c.imageNewline, c.grid, G, c.imageSize));
    const visualTokensFull = fullPacked.shape[0];
    if (input.method.name === 'none' || input.method.name === 'fastv' || input.method.name === 'sparsevlm') {
      // Plain LLaVA-NeXT: every thumbnail token, the tile tokens inside the unpadded region, a newline per row.
      const { masks, newlines } = packedTileMasks(c.grid, G, c.imageSize);
      pruned = { features: fullPacked, keepMasks: [new Uint8Array(N).fill(1), ...masks], numNewlines: newlines, tensors: {} };
    } else {
      fullPacked.dispose();
      pruned = runMethod(input.method, ctx, model, timings);
    }
    done('select');
    // Stages are disjoint: HERO's CLIP passes (timed inside runMethod) are reported apart from the selection.
    if (timings.clip_relevance !== undefined) timings.select -= timings.clip_relevance;
    const methodTensors: TraceTensors = new Map();
    for (const [name, nt] of Object.entries(pruned.tensors)) methodTensors.set(name, toHost(nt.tensor, nt.dtype));
    for (const [k, v] of methodTensors) trace.set(k, v);

    // 4. Prompt ids with the image placeholder expanded, embeddings with the features spliced in.
    stage('prefill');
    const M = pruned.features.shape[0];
    const ids = expandImageTokens(input.inputIds, cfg.image_token_index, M);
    checkPositions(ids.length, input.maxNewTokens, cfg.text_config);
    const p = pruned;
    const embeds = tf.tidy(() => spliceImageFeatures(embedTokens(model.params.language_model, ids), ids, cfg.image_token_index, p.features));
    // FastV drops image rows inside the decoder, after layer K−1 (the image tokens are contiguous).
    const method = input.method;
    let inDecoder: PipelineResult['visualTokensInDecoder'];
    const dropAfter: DropAfter | undefined = method.name === 'fastv' ? {
      layer: method.options.layer,
      select: (probs) => {
        const start = ids.indexOf(cfg.image_token_index), end = ids.lastIndexOf(cfg.image_token_index) + 1;
        const rows = fastvKeep(probs, start, end, method.options.ratio);
        inDecoder = { fromLayer: method.options.layer, kept: rows.filter((i) => i >= start && i < end).length };
        return rows;
      },
    } : undefined;
    // SparseVLM prunes and merges visual rows after several layers; a fresh hook per prefill.
    const hookFor = (record?: SparseVlmRecord) => (method.name === 'sparsevlm'
      ? sparseVlm.hook(method.options, embeds, ids.indexOf(cfg.image_token_index), ids.lastIndexOf(cfg.image_token_index) + 1, cfg.text_config.num_hidden_layers, record)
      : undefined);
    if (input.trace) {
      trace.set('image_features_packed', toHost(pruned.features));
      trace.set('input_ids', { dtype: 'I64', shape: [1, ids.length], data: ids });
      trace.set('inputs_embeds', toHost(embeds, 'F32', [1, ...embeds.shape]));
      const record = sparseVlm.emptyRecord();
      const out = llamaForward(model.params.language_model, embeds, cfg.text_config, { dropAfter, hook: hookFor(record) });
      trace.set('logits', toHost(out.logits, 'F32', [1, ...out.logits.shape]));
      if (dropAfter) trace.set('fastv.kept_positions', { dtype: 'I64', shape: [out.positions.length], data: out.positions });
      if (method.name === 'sparsevlm') for (const [k, v] of sparseVlm.traceTensors(record)) trace.set(k, v);
      out.logits.dispose();
    }
    done('prefill');

    // 5. Greedy decoding (prefill again with a KV cache, then one token per step).
    stage('decode');
    const gen = greedyGenerate(model.params.language_model, cfg.text_config, embeds, {
      maxNewTokens: input.maxNewTokens, eosTokenId: model.eosTokenIds, onStep: input.onToken, dropAfter, hook: hookFor(),
    });
    embeds.dispose();
    done('decode');
    if (input.trace) trace.set('generated_ids', { dtype: 'I64', shape: [1, ids.length + gen.newIds.length], data: [...ids, ...gen.newIds] });

    const keptPerCrop = pruned.keepMasks.map((m) => m.reduce((a, b) => a + b, 0));
    return {
      processed, inputIds: ids, newIds: gen.newIds, visualTokens: M, visualTokensFull, keptPerCrop, visualTokensInDecoder: inDecoder,
      keepMasks: pruned.keepMasks, numNewlines: pruned.numNewlines, methodTensors, trace, clsAttention, timings,
    };
  } finally {
    pixels.dispose();
    if (ctx) disposeVisualContext(ctx);
    pruned?.features.dispose();
    for (const nt of Object.values(pruned?.tensors ?? {})) nt.tensor.dispose();
  }
}
