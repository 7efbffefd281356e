/**
 * Per-head attention: nn/attention.ts `attend` (o = softmax(q kᵀ · scale + mask) v) evaluated head by
 * head with 2-D products. Same math; only the summation order moves the last bits (spec/accel/attention.spec.ts
 * checks it against the reference within TOL.sameMath).                              @eq Attn-1
 *
 * Why it exists: tfjs-wasm's BatchMatMul runs XNNPACK only for a batch of one and no transposition, and
 * falls back to a naive loop (~1.3 GFLOP/s vs ~17) otherwise. So kᵀ is materialised once for all heads,
 * heads are taken out with `gather` (wasm's `slice` copies its whole input on every call), and the
 * probabilities are stacked back only when `keepProbs` (tapped layers). Installed on wasm by default
 * (src/accel/index.ts).
 *
 * Taking the heads out costs a fixed amount per call that does not depend on the number of queries (wasm's
 * gather moves ~30 M values/s): at 16 heads of 128 over 2673 cached keys, ~440 ms, against ~14 ms for the
 * naive batched product of one query row. So a call with few query rows — a decode step — runs the
 * reference `attend` as it is, and the loop is kept for prefill chunks (PER_HEAD_MIN_QUERIES).
 */
import * as tf from '@tensorflow/tfjs-core';
import { attend, type AttendOptions } from '../nn/attention';

/**
 * The number of query rows from which the per-head loop is used; below it the reference runs. Measured on
 * wasm (bench/README.md, "Attention for a few query rows"): the two cross between 40 and 48 rows, at 583
 * and at 2673 keys alike, since both costs grow with the number of keys.
 */
export const PER_HEAD_MIN_QUERIES = 48;

/**
 * The installed kernel: the head-by-head loop from PER_HEAD_MIN_QUERIES query rows, the reference below.
 * @param q [B, H, Tq, Dh]
 * @param k [B, H, Tk, Dh]
 * @param v [B, H, Tk, Dh]
 * @param opts.mask additive, [Tq, Tk] or [B|1, H|1, Tq, Tk]
 * @returns out [B, H, Tq, Dh]; probs [B, H, Tq, Tk] only with keepProbs
 */
export function attendPerHead(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number,
  opts: AttendOptions = {}): { out: tf.Tensor4D; probs?: tf.Tensor4D } {
  if (q.shape[2] >= PER_HEAD_MIN_QUERIES) return attendHeadByHead(q, k, v, scale, opts);
  const { out, probs } = attend(q, k, v, scale, opts);                               // few rows: the reference
  if (opts.keepProbs) return { out, probs };
  probs!.dispose();
  return { out };
}

/**
 * The head-by-head loop itself, whatever the number of query rows (attendPerHead picks it from
 * PER_HEAD_MIN_QUERIES rows; exported for the spec).
 * @param q [B, H, Tq, Dh]
 * @param k [B, H, Tk, Dh]
 * @param v [B, H, Tk, Dh]
 * @param opts.mask additive, [Tq, Tk] or [B|1, H|1, Tq, Tk]
 * @returns out [B, H, Tq, Dh]; probs [B, H, Tq, Tk] only with keepProbs
 */
export function attendHeadByHead(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number,
  opts: AttendOptions = {}): { out: tf.Tensor4D; probs?: tf.Tensor4D } {
  const [B, H, Tq, Dh] = q.shape;
  const Tk = k.shape[2];
  const rows = (t: tf.Tensor, shape: [number, number]): ((i: number) => tf.Tensor2D) => {
    const flat = tf.reshape(t, [-1, shape[0] * shape[1]]);                        // [B·H, r·c] (or [mb·mh, …])
    return (i: number): tf.Tensor2D => tf.reshape(tf.gather(flat, [i]), shape) as tf.Tensor2D;
  };
  const qs = rows(opts.scaleQueryFirst ? tf.mul(q, scale) : q, [Tq, Dh]);
  const kts = rows(tf.transpose(k, [0, 1, 3, 2]), [Dh, Tk]);                      // kᵀ per head [Dh, Tk]
  const vs = rows(v, [Tk, Dh]);
  let maskOf: ((b: number, h: number) => tf.Tensor) | undefined;
  if (opts.mask?.rank === 4) {
    const [mb, mh] = opts.mask.shape;
    const ms = rows(opts.mask, [Tq, Tk]);
    maskOf = (b, h) => ms((mb === 1 ? 0 : b) * mh + (mh === 1 ? 0 : h));
  } else if (opts.mask) {
    const m = opts.mask;
    maskOf = () => m;
  }
  const outs: tf.Tensor2D[] = [], probs: tf.Tensor2D[] = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const [o, p] = tf.tidy(() => {                                                // frees each head's scores
        const i = b * H + h;
        let s = tf.matMul(qs(i), kts(i));                                           // [Tq, Tk]
        if (!opts.scaleQueryFirst) s = tf.div(s, 1 / scale);
        if (maskOf) s = tf.add(s, maskOf(b, h));
        const pr = tf.softmax(s) as tf.Tensor2D;
        return [tf.matMul(pr, vs(i)), ...(opts.keepProbs ? [pr] : [])] as tf.Tensor2D[]; // [Tq, Dh], [Tq, Tk]
      });
      outs.push(o);
      if (p) probs.push(p);
    }
  }
  return {
    out: tf.reshape(tf.stack(outs), [B, H, Tq, Dh]) as tf.Tensor4D,
    probs: opts.keepProbs ? tf.reshape(tf.stack(probs), [B, H, Tq, Tk]) as tf.Tensor4D : undefined,
  };
}
