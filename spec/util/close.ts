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

/**
 * A tensor's values on the host, read asynchronously (`await t.data()`), or an array as it is. The only read
 * tfjs-backend-webgpu has in Node (docs/gpu.md "Synchronous reads"): specs that run on GOLDEN_BACKENDS read
 * tensors with this (or data()/array()), never dataSync/arraySync.
 */
export async function host(x: tf.Tensor | Arr): Promise<Arr> {
  return x instanceof tf.Tensor ? x.data() : x;
}

function assertClose(actual: tf.Tensor | Arr, expected: tf.Tensor | Arr, a: Arr, e: Arr, tol: Tol, what: string): void {
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor) {
    expect({ what, shape: actual.shape }).toEqual({ what, shape: expected.shape });
  }
  const r = compare(a, e, tol);
  if (!r.ok) {
    throw new Error(`${what}: not close (${tol.why}): length ${a.length} vs ${e.length}; worst |a−e| = ${r.worst} ` +
      `at ${r.index} (actual ${a[r.index]}, expected ${e[r.index]}); bound atol=${r.bound}, rtol=${tol.rtol}`);
  }
}

/** Asserts closeness (shapes too, for tensors), with a message naming the worst element. Reads synchronously: cpu-only specs. */
export function expectClose(actual: tf.Tensor | Arr, expected: tf.Tensor | Arr, tol: Tol, what = 'tensor'): void {
  assertClose(actual, expected, toArr(actual), toArr(expected), tol, what);
}

/**
 * expectClose for the specs that run on GOLDEN_BACKENDS: the same check and message, the tensors read with
 * `await t.data()` (host), so it runs on a backend that reads asynchronously only (webgpu in Node).
 */
export async function expectCloseAsync(actual: tf.Tensor | Arr, expected: tf.Tensor | Arr, tol: Tol, what = 'tensor'): Promise<void> {
  assertClose(actual, expected, await host(actual), await host(expected), tol, what);
}
