/**
 * HERO-2: task relevance of each tile, from a separate CLIP model's image and text embeddings.
 * The embeddings themselves come from src/clip (get_image_features on each tile's preprocessed pixels,
 * get_text_features on the instruction); HERO only compares them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertShape } from '../core/shape';
import { l2Normalize } from '../core/l2';

/**
 * CLIP score without the logit scale: the cosine of each tile embedding with the text embedding.   @eq HERO-2
 *   t_k = ⟨v_k/‖v_k‖, u/‖u‖⟩
 * @mirrors Lxxx-0327/HERO@41cc334 llava/model/multimodal_encoder/clip_encoder.py CLIPVisionTower.extract_features (clip score)
 * @param tileImageEmbeds [K, Dp] raw `get_image_features` outputs
 * @param textEmbed [Dp] raw `get_text_features` output
 * @returns [K]
 */
export function clipSimilarity(tileImageEmbeds: tf.Tensor2D, textEmbed: tf.Tensor1D): tf.Tensor1D {
  assertShape(tileImageEmbeds, ['K', 'Dp'], [-1, textEmbed.shape[0]], 'HERO clipSimilarity: tile image embeddings');
  const v = l2Normalize(tileImageEmbeds);                          // [K, Dp]
  const u = l2Normalize(tf.reshape(textEmbed, [1, -1]));           // [1, Dp]
  return tf.sum(tf.mul(v, u), -1) as tf.Tensor1D;                  // [K]
}

/**
 * Relevance: a temperature softmax of the CLIP scores over the K tiles.                   @eq HERO-2
 *   s^t = softmax_k(t / τ_t)
 * @param clipSim [K]
 * @returns [K]
 */
export function relevance(clipSim: tf.Tensor1D, tauT: number): tf.Tensor1D {
  return tf.softmax(tf.div(clipSim, tauT)) as tf.Tensor1D;     // [K]
}
