import * as tf from '@tensorflow/tfjs-core';

/**
 * Applies `n` layers in sequence, each inside tf.tidy so its intermediates are freed. The previous hidden
 * state is disposed once replaced, except the caller's input `x`, which we never own. `onLayer` sees each
 * layer's output while it is alive: it must clone what it wants to keep (taps), and return nothing.
 * This and the lifecycle classes (KvCache, WeightStore) are the only places on the math path that free memory.
 */
export function runLayers<T extends tf.Tensor>(x: T, n: number, layer: (i: number, h: T) => T,
  onLayer?: (i: number, h: T) => void): T {
  let h = x;
  for (let i = 0; i < n; i++) {
    const next = tf.tidy(() => layer(i, h));
    onLayer?.(i, next);
    if (h !== x) h.dispose();
    h = next;
  }
  return h;
}
