/**
 * A random VisualContext for HERO properties (no model involved): softmax attention maps, hidden states,
 * projected features, a tile grid and an original image size. The caller disposes it (disposeContext).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VisualContext } from '../../src/llava/visual_context';

export interface SynthSpec { rows: number; cols: number; G: number; layers: number; H: number; W: number; seed: number }

export function syntheticContext(s: SynthSpec): VisualContext {
  const P = 1 + s.rows * s.cols, N = s.G * s.G, Dv = 8, Hv = 2, D = 6;
  return tf.tidy(() => {
    const attentions = Array.from({ length: s.layers }, (_, l) =>
      tf.softmax(tf.randomNormal([P, Hv, N + 1, N + 1], 0, 2, 'float32', s.seed + 10 * l)) as tf.Tensor4D);
    const hiddenStates = Array.from({ length: s.layers + 1 }, (_, i) =>
      (i === s.layers ? tf.randomNormal([P, N + 1, Dv], 0, 1, 'float32', s.seed + 7) as tf.Tensor3D : undefined));
    return {
      hiddenStates, attentions, queries: [], keys: [],
      projected: tf.randomNormal([P, N, D], 0, 1, 'float32', s.seed + 3) as tf.Tensor3D,
      imageNewline: tf.randomNormal([D], 0, 1, 'float32', s.seed + 5) as tf.Tensor1D,
      imageSize: [s.H, s.W] as const, grid: [s.rows, s.cols] as const, patchGrid: s.G, featureLayer: s.layers - 1,
    } as unknown as tf.TensorContainer;
  }) as unknown as VisualContext;
}

export function disposeContext(ctx: VisualContext): void {
  for (const t of [...ctx.hiddenStates, ...ctx.attentions]) t?.dispose();
  ctx.projected.dispose();
  ctx.imageNewline?.dispose();
}
