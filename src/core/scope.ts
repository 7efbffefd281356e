import * as tf from '@tensorflow/tfjs-core';

/**
 * Applies `n` layers in sequence, each inside tf.tidy so its intermediates are freed; the caller's input `x`
 * is never disposed. `layer` returns { h, tap } (the tap, e.g. attention probabilities, may be absent);
 * tf.tidy keeps both because they are returned. Taps are collected per layer (undefined where the layer returned none); the caller owns them. With
 * `keepHidden`, every layer output is kept and returned in `hidden` (owned by the caller); otherwise each
 * is freed once the next layer has consumed it.
 */
export function runLayersWithTaps<T extends tf.Tensor, U extends tf.TensorContainer>(x: T, n: number,
  layer: (i: number, h: T) => { h: T; tap?: U }, keepHidden = false): { h: T; taps: (U | undefined)[]; hidden: T[] } {
  let h = x;
  const taps: (U | undefined)[] = [];
  const hidden: T[] = [];
  for (let i = 0; i < n; i++) {
    const out = tf.tidy(() => layer(i, h));
    if (keepHidden) hidden.push(out.h);
    else if (h !== x) h.dispose();
    taps.push(out.tap);
    h = out.h;
  }
  return { h, taps, hidden };
}

/**
 * tf.tidy for functions that return a plain record mixing tensors with numbers, tuples and undefined
 * (tfjs's TensorContainer type does not admit those, although tidy handles them): every tensor reachable
 * from the result is kept, everything else created inside is freed.
 */
export function tidyRecord<T>(fn: () => T): T {
  return tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as T;
}
