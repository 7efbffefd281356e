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

/** The tensors reachable from `x` through plain objects and arrays (as tf.tidy finds them; typed arrays are not walked). */
function tensorsIn(x: unknown, out: tf.Tensor[] = [], seen = new Set<object>()): tf.Tensor[] {
  if (x instanceof tf.Tensor) out.push(x);
  else if (x !== null && typeof x === 'object' && !ArrayBuffer.isView(x) && !seen.has(x)) {
    seen.add(x);
    for (const v of Object.values(x)) tensorsIn(v, out, seen);
  }
  return out;
}

/**
 * tidyRecord for an async function (tf.tidy refuses one): every tensor created while `fn` runs and not
 * reachable from its result is freed when it settles, also when it throws; the result's tensors are kept
 * (owned by the caller). Host reads inside (`await t.data()`) are the reason it exists: the pipeline never
 * reads a tensor synchronously (docs/gpu.md "Synchronous reads").
 * The scope is tfjs's engine scope stack, which is global: tensors that other code creates while `fn` awaits
 * are tracked here too, so scopes must not interleave (the pipeline awaits them one after another).
 */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const engine = tf.engine();
  engine.startScope();
  let out: T;
  try {
    out = await fn();
  } catch (e) {
    engine.endScope();
    throw e;
  }
  engine.endScope(tensorsIn(out));
  return out;
}
