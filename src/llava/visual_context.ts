/**
 * The one interface every visual-token dropping method implements (HERO and the baselines FasterVLM,
 * HiRED, GlobalCom², PruMerge+; FastV drops inside the decoder and is wired separately).
 *
 * The LLaVA-NeXT pipeline computes a VisualContext once per image (vision tower with taps, projector);
 * a method reads what it needs and returns the LLM-facing visual token sequence plus named tensors that
 * `hero-lvlm trace` writes out. Methods never run the vision tower themselves.
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
  /** The learned `image_newline` vector [D]. */
  readonly imageNewline: tf.Tensor1D;
  /** Original image size (H, W), HF convention. */
  readonly imageSize: readonly [number, number];
  /** Tile grid (rows, cols); P = 1 + rows·cols. */
  readonly grid: readonly [number, number];
  /** Patch grid side G (N = G²). */
  readonly patchGrid: number;
  /** Index into hiddenStates of the LLaVA feature layer (vision_feature_layer resolved, e.g. L−1 for −2). */
  readonly featureLayer: number;
}

/** A tensor the method exports, with the dtype it is written with in a trace file. */
export interface NamedTensor {
  readonly tensor: tf.Tensor;
  readonly dtype: 'F32' | 'I64' | 'U8';
}

export interface PruneResult {
  /** The visual token sequence handed to the LLM [M, D] (kept features, newlines, merged tokens). */
  readonly features: tf.Tensor2D;
  /** Kept patch tokens per crop as 0/1 masks over raster order: [P][N] (thumbnail first). */
  readonly keepMasks: readonly Uint8Array[];
  /** Number of image_newline vectors in `features`. */
  readonly numNewlines: number;
  /** Method-specific quantities for `trace`, by public name (e.g. 'hero.budgets'). */
  readonly tensors: Readonly<Record<string, NamedTensor>>;
}
