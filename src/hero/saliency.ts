/**
 * HERO-1: visual saliency of each tile, from the vision tower's last-layer CLS tokens.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertShape } from '../core/shape';
import { l2Normalize } from '../core/l2';

export { l2Normalize, NORMALIZE_EPS } from '../core/l2';

/**
 * Cosine similarity of each tile's CLS token to the thumbnail's.                         @eq HERO-1
 *   c_k = ⟨CLS_k/‖CLS_k‖, CLS_0/‖CLS_0‖⟩,  k = 1..K
 * CLS = `hidden_states[-1][:, 0]`: the last encoder layer's output, before post_layernorm (authors' code).
 * @mirrors Lxxx-0327/HERO@41cc334 llava/model/multimodal_encoder/clip_encoder.py CLIPVisionTower.extract_features (CLS similarity)
 * @param lastHidden [P, N+1, Dv], thumbnail first, P = 1 + K
 * @returns [K]
 */
export function clsSimilarity(lastHidden: tf.Tensor3D): tf.Tensor1D {
  const [P, , Dv] = lastHidden.shape;
  assertShape(lastHidden, ['P', 'N+1', 'Dv'], [-1, -1, -1], 'HERO clsSimilarity: last hidden state');
  const cls = l2Normalize(tf.reshape(tf.slice(lastHidden, [0, 0, 0], [P, 1, Dv]), [P, Dv]));  // [P, Dv]
  const thumb = tf.slice(cls, [0, 0], [1, Dv]);                                                // [1, Dv]
  const tiles = tf.slice(cls, [1, 0], [P - 1, Dv]);                                            // [K, Dv]
  return tf.sum(tf.mul(tiles, thumb), -1) as tf.Tensor1D;                                      // [K]
}

/**
 * Saliency: a temperature softmax of the CLS similarities over the K tiles.             @eq HERO-1
 *   s^v = softmax_k(c / τ_v)
 * @mirrors Lxxx-0327/HERO@41cc334 llava/model/multimodal_encoder/clip_encoder.py CLIPVisionTower.extract_features (softmax(sim / T_cls))
 * @param clsSim [K]
 * @returns [K]
 */
export function saliency(clsSim: tf.Tensor1D, tauV: number): tf.Tensor1D {
  return tf.softmax(tf.div(clsSim, tauV)) as tf.Tensor1D;     // [K]
}
