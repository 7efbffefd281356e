/**
 * What LLaVA-NeXT's vision side hands a visual-token method (model.ts encodeImage): the vision tower's
 * tapped hidden states, attentions and q/k projections, the projected features and the image geometry,
 * computed once per image. A method (src/methods/contract.ts Method.select) reads what it needs and returns
 * a PruneResult; methods never run the vision tower themselves.
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface VisualContext {
  /** Vision hidden states [P, N+1, Dv] for i = 0..L (0 = after pre_layrnorm); undefined where not tapped. */
  readonly hiddenStates: readonly (tf.Tensor3D | undefined)[];
  /** Vision attention probabilities [P, Hv, N+1, N+1] for layers l = 0..L−1; undefined where not tapped. */
  readonly attentions: readonly (tf.Tensor4D | undefined)[];
  /**
   * Per layer, the raw q_proj / k_proj outputs [P, N+1, Dv] (bias included, before any scaling); undefined
   * where not tapped. Baselines that need attention logits or keys (GlobalCom², PruMerge+) derive them here.
   */
  readonly queries: readonly (tf.Tensor3D | undefined)[];
  readonly keys: readonly (tf.Tensor3D | undefined)[];
  /** Projector output [P, N, D] for every crop (thumbnail first, then tiles row-major), CLS dropped. */
  readonly projected: tf.Tensor3D;
  /** Head-mean CLS→patch attention [P, N] per layer where tapped (reports' attention maps). */
  readonly clsAttention?: readonly (tf.Tensor2D | undefined)[];
  /** The crops [P, 3, S, S] the tower saw (HERO's relevance score runs the separate CLIP on the tiles). */
  readonly pixelValues?: tf.Tensor4D;
  /** The learned `image_newline` vector [D]; absent for LLaVA-1.5 (llava15.ts). */
  readonly imageNewline?: tf.Tensor1D;
  /** Original image size (H, W), HF convention. */
  readonly imageSize: readonly [number, number];
  /** Tile grid (rows, cols); P = 1 + rows·cols. LLaVA-1.5: (0, 0), its one crop in the thumbnail's slot. */
  readonly grid: readonly [number, number];
  /** Patch grid side G (N = G²). */
  readonly patchGrid: number;
  /** Index into hiddenStates of the LLaVA feature layer (vision_feature_layer resolved, e.g. L−1 for −2). */
  readonly featureLayer: number;
}
