/**
 * Fig. 1 of the paper: per tile, the CLS similarity to the thumbnail (HERO-1's input c_k) and the CLIP score
 * with the question (HERO-2's input t_k), raw and normalised across the tiles. The scores are HERO's own
 * functions (src/hero/saliency.ts, src/hero/relevance.ts); only the min-max normalisation is new here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { clsSimilarity, saliency } from '../hero/saliency';
import { clipSimilarity, relevance } from '../hero/relevance';

/** The per-tile numbers of Fig. 1 (K tiles, row-major); the CLIP ones are null without a CLIP model. */
export interface TileAnalysis {
  /** c_k = cos(CLS_k, CLS_0), HERO-1's input */
  readonly clsSimilarity: number[];
  /** t_k = cos(image_k, text), HERO-2's input */
  readonly clipScore: number[] | null;
  /** min-max over the tiles: (x − min) / (max − min); 0 for every tile when all are equal */
  readonly clsSimilarityMinMax: number[];
  readonly clipScoreMinMax: number[] | null;
  /** HERO's own normalisation: s^v = softmax(c / τ_v), s^t = softmax(t / τ_t) */
  readonly saliency: number[];
  readonly relevance: number[] | null;
}

/**
 * Min-max normalisation across tiles.                                                          @eq AN-3
 *   x̃_k = (x_k − min x) / (max x − min x)   (0 when max = min)
 * @choice the paper says only "normalized across tiles"; min-max is the plain reading, HERO's softmaxes
 * are reported beside it.
 */
export function minMax(x: readonly number[]): number[] {
  const lo = Math.min(...x), hi = Math.max(...x);
  return x.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
}

/**
 * Fig. 1's numbers for one image.                                                              @eq AN-3
 * @param lastHidden [P, N+1, Dv] the last vision layer's output (before post-LN), thumbnail first
 * @param clip the separate CLIP model's raw tile embeddings [K, Dp] and text embedding [Dp], or null
 */
export async function analyzeTiles(lastHidden: tf.Tensor3D, clip: { tileImageEmbeds: tf.Tensor2D; textEmbed: tf.Tensor1D } | null,
  tauV: number, tauT: number): Promise<TileAnalysis> {
  const t = tf.tidy(() => {
    const c = clsSimilarity(lastHidden);                                         // [K]
    const s = saliency(c, tauV);                                                 // [K]
    const ct = clip ? clipSimilarity(clip.tileImageEmbeds, clip.textEmbed) : undefined; // [K]
    return { c, s, ct, r: ct ? relevance(ct, tauT) : undefined };
  }) as { c: tf.Tensor1D; s: tf.Tensor1D; ct?: tf.Tensor1D; r?: tf.Tensor1D };
  try {
    const arr = async (x: tf.Tensor | undefined): Promise<number[] | null> => (x ? Array.from(await x.data()) : null);
    const c = (await arr(t.c))!, s = (await arr(t.s))!, ct = await arr(t.ct), r = await arr(t.r);
    return { clsSimilarity: c, clipScore: ct, clsSimilarityMinMax: minMax(c), clipScoreMinMax: ct && minMax(ct), saliency: s, relevance: r };
  } finally {
    for (const x of [t.c, t.s, t.ct, t.r]) x?.dispose();
  }
}
