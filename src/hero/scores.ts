/**
 * Stage 2 of HERO: per-token scores from the vision tower's CLS attention, averaged over heads and over a
 * set of layers: high layers for the thumbnail (HERO-5), low layers for the tiles (HERO-6).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { clsPatchAttention } from '../clip/cls';

/**
 * CLS→patch attention of crops [begin, end), averaged over heads, then over `layers`.     @eq HERO-5 @eq HERO-6
 *   a^k_j = mean_{l ∈ layers} mean_h σ(A^l[k, h, 0, 1+·])_j
 * σ is the identity for the paper (Eq. 5/6) and, with `secondSoftmax` (authors' code), a softmax over
 * the N probabilities of each head, applied to probabilities that are already a softmax.
 * @mirrors Lxxx-0327/HERO@41cc334 llava/model/multimodal_encoder/clip_encoder.py CLIPVisionTower.extract_features (attention scores)
 * @param attentions per layer [P, Hv, N+1, N+1] (undefined where not tapped)
 * @param crops half-open crop range [begin, end)
 * @param layers 0-based layer indices
 * @returns [end − begin, N]
 */
export function layerAveragedClsAttention(attentions: readonly (tf.Tensor4D | undefined)[], crops: readonly [number, number],
  layers: readonly number[], secondSoftmax: boolean): tf.Tensor2D {
  const [begin, end] = crops;
  if (layers.length === 0) throw new HeroError('HERO scores: the layer set is empty');
  const perLayer = layers.map((l) => {
    const a = attentions[l];
    if (!a) throw new HeroError(`HERO scores: the attention of vision layer ${l} was not tapped`);
    return clsPatchAttention(a, { reduce: 'mean', crops: [begin, end], softmaxFirst: secondSoftmax });           // [Pc, N]
  });
  return tf.mean(tf.stack(perLayer), 0) as tf.Tensor2D;                                                           // [Pc, N]
}

/**
 * Thumbnail token scores from the high layers.                                                 @eq HERO-5
 *   a⁰_j = mean_{l ∈ L_high} mean_h σ(A^l[0, h, 0, 1+·])_j
 * @returns [N]
 */
export function globalScores(attentions: readonly (tf.Tensor4D | undefined)[], highLayers: readonly number[],
  secondSoftmax: boolean): tf.Tensor1D {
  return tf.squeeze(layerAveragedClsAttention(attentions, [0, 1], highLayers, secondSoftmax), [0]) as tf.Tensor1D; // [N]
}

/**
 * Tile token scores from the low layers, for crops 1..K.                                       @eq HERO-6
 *   a^k_j = mean_{l ∈ L_low} mean_h σ(A^l[k, h, 0, 1+·])_j
 * @returns [K, N]
 */
export function tileScores(attentions: readonly (tf.Tensor4D | undefined)[], lowLayers: readonly number[],
  secondSoftmax: boolean): tf.Tensor2D {
  const first = attentions.find((a) => a !== undefined);
  if (!first) throw new HeroError('HERO scores: no attention was tapped');
  return layerAveragedClsAttention(attentions, [1, first.shape[0]], lowLayers, secondSoftmax); // [K, N]
}
