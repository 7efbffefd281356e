import * as tf from '@tensorflow/tfjs-core';
import type { ClipVisionConfig } from './config';

/** Keys under `vision_model.embeddings.` */
export interface VisionEmbeddingsParams {
  readonly class_embedding: tf.Tensor1D;
  readonly patch_embedding: { readonly weight: tf.Tensor4D };
  readonly position_embedding: { readonly weight: tf.Tensor2D };
}

/**
 * Cuts each crop into non-overlapping p×p patches, each flattened in (C, kh, kw) order: the order of the
 * Conv2d weight [Dv, C, p, p], so a patch times the flattened weight is the convolution at that patch.
 * @param x [P, C, S, S]
 * @returns [P, G², C·p·p], patches in raster order (row-major over the G×G grid)
 */
export function patchify(x: tf.Tensor4D, p: number): tf.Tensor3D {
  const [P, C, S] = x.shape;
  const G = S / p;
  const t = tf.reshape(x, [P, C, G, p, G, p]);                 // [P, C, G, p, G, p]
  const u = tf.transpose(t, [0, 2, 4, 1, 3, 5]);                // [P, G, G, C, p, p]
  return tf.reshape(u, [P, G * G, C * p * p]) as tf.Tensor3D;    // [P, G², C·p·p]
}

/**
 * Patch embedding (conv without bias, as unfold + matmul), class token, position embeddings.  @eq ViT-1
 *   z₀ = [x_cls ; x_p¹E ; … ; x_p^{G²}E] + E_pos
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/clip/modeling_clip.py CLIPVisionEmbeddings.forward
 * @param pixelValues [P, C, S, S]
 * @returns [P, N+1, Dv]
 */
export function visionEmbeddings(p: VisionEmbeddingsParams, pixelValues: tf.Tensor4D, cfg: ClipVisionConfig): tf.Tensor3D {
  const P = pixelValues.shape[0];
  const Dv = cfg.hidden_size;
  const patches = patchify(pixelValues, cfg.patch_size);                                  // [P, N, C·p·p]
  const w = tf.reshape(p.patch_embedding.weight, [Dv, -1]) as tf.Tensor2D;                 // [Dv, C·p·p]
  const x = tf.reshape(tf.matMul(tf.reshape(patches, [-1, w.shape[1]]), w, false, true), [P, -1, Dv]); // [P, N, Dv]
  const cls = tf.broadcastTo(tf.reshape(p.class_embedding, [1, 1, Dv]), [P, 1, Dv]);      // [P, 1, Dv]
  return tf.add(tf.concat([cls, x], 1), p.position_embedding.weight) as tf.Tensor3D;      // [P, N+1, Dv]
}
