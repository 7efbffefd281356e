/**
 * The CLIP text tower: token + position embeddings → L causal pre-LN layers → final_layer_norm → the
 * hidden state at the end-of-text position.
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/clip/modeling_clip.py CLIPTextTransformer.forward
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { runLayersWithTaps } from '../core/scope';
import { layerNorm, type LayerNormParams } from '../nn/norm';
import { MASK_MIN, causalMask } from '../nn/attention';
import type { ClipTextConfig } from './config';
import { encoderLayer, type EncoderLayerParams } from './encoder';
import { useWeights, type Weights } from '../core/weights';

/** Keys under `text_model.` */
export interface ClipTextParams {
  readonly embeddings: { readonly token_embedding: { readonly weight: tf.Tensor2D }; readonly position_embedding: { readonly weight: tf.Tensor2D } };
  readonly encoder: { readonly layers: Weights<EncoderLayerParams>[] };
  readonly final_layer_norm: LayerNormParams;
}

export interface TextTaps {
  readonly hiddenStates?: boolean;
  readonly attentions?: boolean;
}

export interface TextOutput {
  /** L+1 entries [B, Lt, Dt] (0 = embeddings) when tapped */
  readonly hiddenStates?: tf.Tensor3D[];
  /** L entries [B, Ht, Lt, Lt] when tapped */
  readonly attentions?: tf.Tensor4D[];
  /** [B, Lt, Dt], after final_layer_norm */
  readonly lastHiddenState: tf.Tensor3D;
  /** [B, Dt], at each sequence's end-of-text position */
  readonly pooled: tf.Tensor2D;
}

/**
 * Pooling position: the first `eos_token_id`; with the legacy eos_token_id == 2 configs, HF uses the
 * position of the largest id instead.                                             @eq CLIP-T2
 */
export function eosPositions(inputIds: readonly (readonly number[])[], cfg: ClipTextConfig): number[] {
  return inputIds.map((ids, b) => {
    if (cfg.eos_token_id === 2) return ids.indexOf(Math.max(...ids));
    const i = ids.indexOf(cfg.eos_token_id);
    if (i < 0) throw new HeroError(`CLIP text sequence ${b} has no end-of-text token (id ${cfg.eos_token_id})`);
    return i;
  });
}

/**
 * The text tower with a causal mask (plus a padding mask when given).            @eq CLIP-T1
 * @param inputIds [B, Lt], every row the same length
 * @param attentionMask [B, Lt] of 0/1
 */
export function textModel(p: ClipTextParams, inputIds: readonly (readonly number[])[], cfg: ClipTextConfig,
  opts: { attentionMask?: readonly (readonly number[])[]; taps?: TextTaps } = {}): TextOutput {
  const B = inputIds.length;
  const Lt = inputIds[0]?.length ?? 0;
  if (B === 0 || Lt === 0 || inputIds.some((r) => r.length !== Lt)) throw new HeroError('CLIP text: input ids must be a non-empty rectangle');
  if (Lt > cfg.max_position_embeddings) throw new HeroError(`CLIP text is ${Lt} tokens, the limit is ${cfg.max_position_embeddings}`);
  const bad = inputIds.flat().find((t) => !Number.isInteger(t) || t < 0 || t >= cfg.vocab_size);
  if (bad !== undefined) throw new HeroError(`CLIP text: token id ${bad} is outside the vocabulary [0, ${cfg.vocab_size})`);
  const eos = eosPositions(inputIds, cfg);
  const taps = opts.taps ?? {};
  return tf.tidy(() => {
    const ids = tf.tensor2d(inputIds.flat(), [B, Lt], 'int32');
    const tok = tf.gather(p.embeddings.token_embedding.weight, ids);                                    // [B, Lt, Dt]
    const pos = tf.slice(p.embeddings.position_embedding.weight, [0, 0], [Lt, -1]);                     // [Lt, Dt]
    const h0 = tf.add(tok, pos) as tf.Tensor3D;                                                         // [B, Lt, Dt]
    // Additive mask: causal (0 / finfo.min) plus, for padded keys, finfo.min again (HF adds both).
    let mask: tf.Tensor = tf.reshape(causalMask(Lt), [1, 1, Lt, Lt]);                                   // [1, 1, Lt, Lt]
    if (opts.attentionMask) {
      const pad = tf.mul(tf.sub(1, tf.tensor2d(opts.attentionMask.flat(), [B, Lt])), MASK_MIN);          // [B, Lt]
      mask = tf.add(mask, tf.reshape(pad, [B, 1, 1, Lt]));                                               // [B, 1, Lt, Lt]
    }
    const run = runLayersWithTaps(h0, cfg.num_hidden_layers, (i, x) => {
      const { y, taps: t } = useWeights(p.encoder.layers[i], (w) => encoderLayer(w, x, cfg, mask, taps.attentions === true));
      return { h: y, tap: taps.attentions ? t.probs : undefined };
    }, taps.hiddenStates === true);
    const last = layerNorm(p.final_layer_norm, run.h, cfg.layer_norm_eps);                             // [B, Lt, Dt]
    const pooled = tf.gatherND(last, tf.tensor2d(eos.map((e, b) => [b, e]), [B, 2], 'int32')) as tf.Tensor2D; // [B, Dt]
    return {
      hiddenStates: taps.hiddenStates ? [h0, ...run.hidden] : undefined,
      attentions: taps.attentions ? (run.taps as tf.Tensor4D[]) : undefined,
      lastHiddenState: last,
      pooled,
    };
  });
}
