import * as tf from '@tensorflow/tfjs-core';
import type { Tol } from './tolerances';

type Arr = ArrayLike<number>;

/** Result of comparing two arrays: the worst element and whether all are within tolerance. */
export function compare(actual: Arr, expected: Arr, tol: Tol): { ok: boolean; worst: number; index: number; bound: number } {
  if (actual.length !== expected.length) return { ok: false, worst: Infinity, index: -1, bound: 0 };
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) if (Number.isFinite(expected[i])) maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
  const atol = tol.scaleByMax ? tol.atol * Math.max(1, maxAbs) : tol.atol;
  let worst = 0, index = -1, ok = true;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(a) || Number.isNaN(e)) { ok = false; worst = NaN; index = i; break; }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a !== e) { ok = false; worst = Infinity; index = i; break; }
      continue;
    }
    const d = Math.abs(a - e);
    if (d > atol + tol.rtol * Math.abs(e)) ok = false;
    if (d > worst) { worst = d; index = i; }
  }
  return { ok, worst, index, bound: atol };
}

function toArr(x: tf.Tensor | Arr): Arr {
  return x instanceof tf.Tensor ? x.dataSync() : x;
}

/** Asserts closeness (shapes too, for tensors), with a message naming the worst element. */
export function expectClose(actual: tf.Tensor | Arr, expected: tf.Tensor | Arr, tol: Tol, what = 'tensor'): void {
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor) {
    expect({ what, shape: actual.shape }).toEqual({ what, shape: expected.shape });
  }
  const a = toArr(actual), e = toArr(expected);
  const r = compare(a, e, tol);
  if (!r.ok) {
    throw new Error(`${what}: not close (${tol.why}): length ${a.length} vs ${e.length}; worst |a−e| = ${r.worst} ` +
      `at ${r.index} (actual ${a[r.index]}, expected ${e[r.index]}); bound atol=${r.bound}, rtol=${tol.rtol}`);
  }
}
