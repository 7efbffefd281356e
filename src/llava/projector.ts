import type * as tf from '@tensorflow/tfjs-core';
import type { LinearParams } from '../nn/linear';
import { linear } from '../nn/kernels';
import { activation } from '../nn/activations';

/** Keys under `multi_modal_projector.` */
export interface ProjectorParams {
  readonly linear_1: LinearParams;
  readonly linear_2: LinearParams;
}

/**
 * The two-layer MLP adapter from vision width to text width.               @eq LLaVA-1
 *   y = W₂ · act(W₁ x + b₁) + b₂      (act = projector_hidden_act, exact-erf "gelu" for LLaVA-NeXT)
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/modeling_llava_next.py LlavaNextMultiModalProjector.forward
 * @param x [P, N, Dv]
 * @returns [P, N, D]
 */
export function projector(p: ProjectorParams, x: tf.Tensor3D, act: string): tf.Tensor3D {
  return linear(p.linear_2, activation(act)(linear(p.linear_1, x))); // [P, N, D]
}
