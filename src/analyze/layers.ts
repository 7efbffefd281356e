/**
 * Fig. 2 and Appendix D: the head-mean CLS→patch attention of every vision layer, for every crop, read
 * from the vision tower's `clsAttention` tap (clip/vision.ts, clip/cls.ts clsPatchAttention: mean over the
 * heads of A^l[c, h, 0, 1:], no softmax first).
 */
import * as tf from '@tensorflow/tfjs-core';
import { disposeVisionOutput, type VisionOutput, type VisionTaps } from '../clip/vision';

/**
 * Every layer's CLS map of every crop.                                                         @eq AN-0
 *   a^l_c = mean_h A^l[c, h, 0, 1 + j],  j = 0..N−1
 * @param encode runs the vision tower with the given taps (visionModel on the crops, or an acceleration)
 * @returns maps[c][l], each [N] (raster order over the G × G patch grid)
 */
export async function layerClsMaps(encode: (taps: VisionTaps) => VisionOutput): Promise<Float32Array[][]> {
  const out = encode({ clsAttention: 'all' });
  try {
    const perLayer: Float32Array[] = [];
    for (const t of out.clsAttention) perLayer.push(await (t as tf.Tensor2D).data() as Float32Array); // [P·N] each
    const P = out.clsAttention[0]!.shape[0], N = out.clsAttention[0]!.shape[1];
    return Array.from({ length: P }, (_, c) => perLayer.map((d) => d.slice(c * N, (c + 1) * N)));
  } finally {
    disposeVisionOutput(out);
  }
}
