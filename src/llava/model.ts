/**
 * LLaVA-NeXT end to end, in the order of the paper's pipeline figure:
 *   crops → CLIP vision tower (with taps) → projector → [packing | a token-dropping method]
 *   → splice into the token embeddings → Llama → logits / greedy tokens.
 * One image per prompt, batch 1 (docs/deviations.md).
 */
import * as path from 'path';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { assertShape } from '../core/shape';
import { tidyRecord } from '../core/scope';
import { SafetensorsDir } from '../io/safetensors';
import { buildTree, disposeTree, linearKeys, loadTensors } from '../io/checkpoint';
import { clipVisionKeys, visionModel, type ClipVisionParams, type VisionEncoder, type VisionTaps } from '../clip/vision';
import { llamaKeys, tieLmHead, type LlamaParams } from '../llama/decoder';
import { loadImageProcessorConfig, type ImageProcessorConfig } from './image_processor';
import { loadEosTokenIds } from './generation_config';
import { deriveLlava, loadLlavaNextConfig, type LlavaDerived, type LlavaNextConfig } from './config';
import { projector, type ProjectorParams } from './projector';
import type { VisualContext } from './pruning';

/** Params tree, mirroring the (pre-4.52) llava-hf checkpoint keys. */
export interface LlavaNextParams {
  readonly vision_tower: { readonly vision_model: ClipVisionParams };
  readonly multi_modal_projector: ProjectorParams;
  readonly image_newline: tf.Tensor1D;
  readonly language_model: LlamaParams;
}

export interface LlavaNextModel {
  readonly dir: string;
  readonly config: LlavaNextConfig;
  readonly derived: LlavaDerived;
  readonly processor: ImageProcessorConfig;
  /** ids that end greedy decoding: generation_config.json's eos_token_id, else config.json's (loadEosTokenIds) */
  readonly eosTokenIds: readonly number[];
  readonly params: LlavaNextParams;
}

/** Every tensor a LLaVA-NeXT checkpoint must hold, by canonical name, with its shape from the config. */
export function llavaNextKeys(cfg: LlavaNextConfig): Map<string, readonly number[]> {
  const v = cfg.vision_config, t = cfg.text_config;
  const spec = new Map<string, readonly number[]>([
    ...clipVisionKeys(v, 'vision_tower.vision_model.'),
    ...llamaKeys(t, 'language_model.'),
  ]);
  linearKeys(spec, 'multi_modal_projector.linear_1', t.hidden_size, v.hidden_size, true);
  linearKeys(spec, 'multi_modal_projector.linear_2', t.hidden_size, t.hidden_size, true);
  spec.set('image_newline', [t.hidden_size]);
  return spec;
}

/** fp32 bytes the params of a config occupy once loaded (f16/bf16 files double in memory). */
export function llavaNextFp32Bytes(cfg: LlavaNextConfig): number {
  let n = 0;
  for (const shape of llavaNextKeys(cfg).values()) n += shape.reduce((a, d) => a * d, 1);
  return 4 * n;
}

/**
 * Loads a LLaVA-NeXT directory in HF layout: config.json, preprocessor_config.json, generation_config.json
 * when present, and model.safetensors (or a sharded index).
 * Key names of both HF layouts are accepted (io/checkpoint.ts KEY_RENAMES).
 */
export function loadLlavaNext(dir: string, onProgress?: (done: number, total: number) => void): LlavaNextModel {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new HeroError(`--model: '${dir}' is not a directory`);
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new HeroError(`--model: '${dir}' has no config.json (expected a llava-hf LLaVA-NeXT directory)`);
  const config = loadLlavaNextConfig(dir);
  const derived = deriveLlava(config);
  const processor = loadImageProcessorConfig(dir);
  const eosTokenIds = loadEosTokenIds(dir);
  // The processor accepts pinpoints that are not multiples of the crop (partial edge tiles, as v4.45.1), but
  // pack_image_features views the tiles as (best_h // S) × (best_w // S), which then has fewer tiles than the
  // processor cut: HF v4.45.1 fails there too. Refuse it up front, naming the file.
  for (const p of processor.image_grid_pinpoints) {
    if (p[0] % processor.crop_size.height !== 0 || p[1] % processor.crop_size.height !== 0) {
      throw new HeroError(`${path.join(dir, 'preprocessor_config.json')}: image_grid_pinpoints entry [${p}] is not a multiple of crop_size ${processor.crop_size.height}; the processor supports that (partial edge tiles) but the model cannot pack the resulting grid`);
    }
  }
  const store = SafetensorsDir.open(dir);
  try {
    const tensors = loadTensors(store, llavaNextKeys(config), { llavaLayout: true, onProgress });
    const tree = buildTree<LlavaNextParams>(tensors);
    // text_config.tie_word_embeddings: no lm_head in the file, logits use embed_tokens (HF ties the language model's own weights).
    return { dir, config, derived, processor, eosTokenIds, params: { ...tree, language_model: tieLmHead(tree.language_model, config.text_config) } };
  } finally {
    store.close();
  }
}

export function disposeLlavaNext(m: LlavaNextModel): void {
  disposeTree(m.params);
}

/**
 * Runs the vision tower over all crops of one image with the requested taps, then the projector on the
 * feature layer without CLS ("default" strategy).                       @eq LLaVA-1
 * @mirrors hf-4.45.1 LlavaNextForConditionalGeneration.forward (vision_feature_layer, [:, 1:], projector)
 * @param pixelValues [P, 3, S, S]
 * @param encoder an accelerated vision tower with this model's weights (src/accel/vision_pool.ts); default:
 *   `visionModel` in-process, the reference
 */
export function encodeImage(m: LlavaNextModel, pixelValues: tf.Tensor4D, imageSize: readonly [number, number],
  grid: readonly [number, number], taps: VisionTaps = {}, onLayer?: (done: number, total: number) => void,
  encoder?: VisionEncoder): VisualContext {
  const { cropPx: S, patchGrid: G, featureLayer } = m.derived;
  assertShape(pixelValues, ['P', 'C', 'S', 'S'], [1 + grid[0] * grid[1], 3, S, S], 'pixel_values');
  return tidyRecord(() => {
    // The feature layer is always tapped; the caller's taps add what its method needs.
    const hs = taps.hiddenStates === 'all' ? 'all' : [...new Set([...(taps.hiddenStates ?? []), featureLayer])];
    const out = encoder
      ? encoder.encode(pixelValues, { ...taps, hiddenStates: hs }, onLayer)
      : visionModel(m.params.vision_tower.vision_model, pixelValues, m.config.vision_config, { ...taps, hiddenStates: hs }, onLayer);
    const feats = tf.slice(out.hiddenStates[featureLayer]!, [0, 1, 0], [-1, -1, -1]) as tf.Tensor3D; // [P, N, Dv]
    const projected = projector(m.params.multi_modal_projector, feats, m.config.projector_hidden_act); // [P, N, D]
    return {
      hiddenStates: out.hiddenStates, attentions: out.attentions, queries: out.queries, keys: out.keys,
      clsAttention: out.clsAttention,
      projected, pixelValues: tf.clone(pixelValues), imageNewline: tf.clone(m.params.image_newline), imageSize, grid, patchGrid: G, featureLayer,
    }; // out.pooled is not returned, so tf.tidy frees it

  });
}

/** Disposes every tensor a VisualContext holds. */
export function disposeVisualContext(ctx: VisualContext): void {
  for (const t of [...ctx.hiddenStates, ...ctx.attentions, ...ctx.queries, ...ctx.keys, ...(ctx.clsAttention ?? [])]) t?.dispose();
  ctx.projected.dispose();
  ctx.pixelValues?.dispose();
  ctx.imageNewline.dispose();
}
