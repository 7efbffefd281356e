/**
 * The CLIP vision tower: embeddings → pre_layrnorm → L pre-LN encoder layers → post_layernorm on the
 * pooled CLS. Returns the intermediate tensors a caller asks for (taps) instead of hooks.
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/clip/modeling_clip.py CLIPVisionTransformer.forward
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertShape } from '../core/shape';
import { runLayersWithTaps, tidyRecord } from '../core/scope';
import { layerNorm, type LayerNormParams } from '../nn/norm';
import type { ClipVisionConfig } from './config';
import { visionEmbeddings, type VisionEmbeddingsParams } from './embeddings';
import { encoderLayer, type EncoderLayerParams, type KeysValues } from './encoder';
import { clsPatchAttention } from './cls';
import { useWeights, type Weights } from '../core/weights';

/** Keys under `vision_model.` (HF spells `pre_layrnorm` so). */
export interface ClipVisionParams {
  readonly embeddings: VisionEmbeddingsParams;
  readonly pre_layrnorm: LayerNormParams;
  readonly encoder: { readonly layers: Weights<EncoderLayerParams>[] };
  readonly post_layernorm: LayerNormParams;
}

/** Which intermediates to return: hidden states by index 0..L, attentions and q/k by layer 0..L−1. */
export interface VisionTaps {
  readonly hiddenStates?: 'all' | readonly number[];
  readonly attentions?: 'all' | readonly number[];
  readonly queryKey?: 'all' | readonly number[];
  /** head-mean CLS→patch attention [P, N] only (cheap; for attention-map reports) */
  readonly clsAttention?: 'all' | readonly number[];
}

export interface VisionOutput {
  /** L+1 entries [P, N+1, Dv]: 0 = after pre_layrnorm, i = output of layer i−1; undefined where not tapped */
  readonly hiddenStates: (tf.Tensor3D | undefined)[];
  /** L entries [P, Hv, N+1, N+1], softmax probabilities; undefined where not tapped */
  readonly attentions: (tf.Tensor4D | undefined)[];
  /** L entries [P, N+1, Dv], raw q_proj / k_proj outputs; undefined where not tapped */
  readonly queries: (tf.Tensor3D | undefined)[];
  readonly keys: (tf.Tensor3D | undefined)[];
  /** L entries [P, N]: mean over heads of the CLS row's attention to the patches; undefined where not tapped */
  readonly clsAttention: (tf.Tensor2D | undefined)[];
  /** [P, N+1, Dv], the last layer's output (no post-LN) */
  readonly lastHiddenState: tf.Tensor3D;
  /** [P, Dv] = post_layernorm(lastHiddenState[:, 0]) */
  readonly pooled: tf.Tensor2D;
}

/**
 * What encodes the crops of an image: `visionModel` in-process (the reference, the default everywhere) or
 * an acceleration computing the same outputs (src/accel/vision_pool.ts, chosen at start-up).
 */
export interface VisionEncoder {
  /** `visionModel(params, pixelValues, config, taps, onLayer)` of the model the encoder was built for. */
  encode(pixelValues: tf.Tensor4D, taps: VisionTaps, onLayer?: (done: number, total: number) => void): VisionOutput;
}

const wants = (t: 'all' | readonly number[] | undefined, i: number): boolean => t === 'all' || (t?.includes(i) ?? false);

/**
 * Some of each crop's token rows, for a crop split over threads (accel/vision_pool.ts): every step of the
 * tower but attention is row by row, so a thread can run rows [begin, end) of the crops given the other
 * rows' keys and values at each layer.
 */
export interface VisionRows {
  /** the rows [begin, end) of the N+1 (CLS first) */
  readonly rows: readonly [number, number];
  /** layer i's KeysValues: the rows' own keys and values → every row's */
  readonly keysValues: (layer: number) => KeysValues;
}

/**
 * The vision tower over P crops.                                                 @eq ViT-1 ViT-2 ViT-3 ViT-4
 * Only tapped attention maps are kept (for ViT-L they are 16 × 577² floats per crop and layer).
 * With `split` (VisionRows) every output is of the rows [begin, end) only — hidden states, q and k
 * [P, Tr, Dv], attentions [P, Hv, Tr, N+1] —, and clsAttention and pooled, which read the CLS row, are
 * meaningful only when begin = 0.
 * @param pixelValues [P, C, S, S]
 */
export function visionModel(p: ClipVisionParams, pixelValues: tf.Tensor4D, cfg: ClipVisionConfig, taps: VisionTaps = {},
  onLayer?: (done: number, total: number) => void, split?: VisionRows): VisionOutput {
  const S = cfg.image_size, L = cfg.num_hidden_layers;
  assertShape(pixelValues, ['P', 'C', 'S', 'S'], [-1, cfg.num_channels, S, S], 'CLIP vision: pixel_values');
  return tidyRecord(() => {
    const embedded = visionEmbeddings(p.embeddings, pixelValues, cfg);                               // [P, N+1, Dv]
    const rows = split ? tf.slice(embedded, [0, split.rows[0], 0], [-1, split.rows[1] - split.rows[0], -1]) : embedded; // [P, Tr, Dv]
    const h0 = layerNorm(p.pre_layrnorm, rows, cfg.layer_norm_eps);                                  // [P, N+1, Dv] ([P, Tr, Dv] with split)
    const run = runLayersWithTaps(h0, L, (i, x) => {
      const wantProbs = wants(taps.attentions, i), wantCls = wants(taps.clsAttention, i);
      const { y, taps: t } = useWeights(p.encoder.layers[i], (w) => encoderLayer(w, x, cfg, undefined, wantProbs || wantCls, split?.keysValues(i)));
      onLayer?.(i + 1, L); // progress only (tfjs may still be computing asynchronously on some backends)
      return {
        h: y,
        tap: {
          hidden: wants(taps.hiddenStates, i + 1) ? tf.clone(y) : undefined,
          probs: wantProbs ? t.probs : undefined,
          q: wants(taps.queryKey, i) ? t.q : undefined,
          k: wants(taps.queryKey, i) ? t.k : undefined,
          cls: wantCls
            ? clsPatchAttention(t.probs!, { reduce: 'mean' }) // [P, Hv, N+1, N+1] → [P, N]
            : undefined,
        },
      };
    });
    const last = run.h;                                                                // [P, N+1, Dv]
    const cls = tf.squeeze(tf.slice(last, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D; // [P, Dv]
    return {
      hiddenStates: [wants(taps.hiddenStates, 0) ? h0 : undefined, ...run.taps.map((t) => t?.hidden)],
      attentions: run.taps.map((t) => t?.probs),
      queries: run.taps.map((t) => t?.q),
      keys: run.taps.map((t) => t?.k),
      clsAttention: run.taps.map((t) => t?.cls),
      lastHiddenState: last,
      pooled: layerNorm(p.post_layernorm, cls, cfg.layer_norm_eps),                    // @eq ViT-4 (pooled CLS)
    };
  });
}

/** Disposes every tensor a VisionOutput holds. */
export function disposeVisionOutput(o: VisionOutput): void {
  const all: (tf.Tensor | undefined)[] = [o.lastHiddenState, o.pooled, ...o.hiddenStates, ...o.attentions, ...o.queries, ...o.keys, ...o.clsAttention];
  for (const t of all) t?.dispose();
}
