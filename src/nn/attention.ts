import * as tf from '@tensorflow/tfjs-core';

/** The additive mask value HF uses for blocked positions: the most negative float32 (torch.finfo.min). */
export const MASK_MIN = -3.4028234663852886e38;

/**
 * Attention probabilities softmax(q kᵀ · scale + mask) over the last axis.          @eq Attn-1 NN-softmax
 *   softmax(z)_j = exp(z_j − max z) / Σ_i exp(z_i − max z)   (tf.softmax)
 * `scaleQueryFirst` multiplies q by the scale before the product (HF v4.45.1 CLIPAttention); otherwise
 * the product is scaled (HF v4.45.1 LlamaAttention eager: `matmul(q, kᵀ) / √Dh`). Both are fp32 here; the
 * order only moves the last bits, and mirroring it keeps the goldens at ~1e-6.
 * @param q [B, H, Tq, Dh]
 * @param k [B, H, Tk, Dh]
 * @param mask additive, broadcastable to [B, H, Tq, Tk]
 * @returns [B, H, Tq, Tk]
 */
export function attentionProbs(q: tf.Tensor4D, k: tf.Tensor4D, scale: number,
  opts: { mask?: tf.Tensor; scaleQueryFirst?: boolean } = {}): tf.Tensor4D {
  let scores = opts.scaleQueryFirst
    ? tf.matMul(tf.mul(q, scale), k, false, true)               // [B, H, Tq, Tk]
    : tf.div(tf.matMul(q, k, false, true), 1 / scale);          // [B, H, Tq, Tk]
  if (opts.mask) scores = tf.add(scores, opts.mask);
  return tf.softmax(scores) as tf.Tensor4D;
}

/** How `attend` evaluates the heads: one batched product, or head by head (see `attend`). */
export type AttentionImpl = 'batched' | 'per-head';
let implSetting: AttentionImpl | 'auto' = 'auto';

/**
 * Chooses the attention implementation for `attend` (process-wide; tests and the bench compare the two).
 * 'auto' (the default) is 'per-head' on the wasm backend and 'batched' elsewhere.
 */
export function setAttentionImpl(impl: AttentionImpl | 'auto'): void { implSetting = impl; }

/** The implementation `attend` uses now on the active backend. */
export function attentionImpl(): AttentionImpl {
  return implSetting !== 'auto' ? implSetting : tf.getBackend() === 'wasm' ? 'per-head' : 'batched';
}

/**
 * Scaled dot-product attention, o = softmax(q kᵀ · scale + mask) v.                  @eq Attn-1
 *
 * Two implementations of the same math (a spec checks they agree within TOL.sameMath):
 * - 'batched': `attentionProbs`, then one batched product with v. The readable reference.
 * - 'per-head': a loop over the B·H heads with 2-D products. It exists for speed on tfjs-wasm, whose
 *   BatchMatMul runs XNNPACK only for a batch of one and no transposition, and falls back to a naive
 *   loop (~1.3 GFLOP/s vs ~17) otherwise; kᵀ is therefore materialised once for all heads. Heads are
 *   taken out with `gather` because wasm's `slice` copies its whole input on every call.
 *   The probabilities are stacked back only when `keepProbs` (tapped layers).
 * @param q [B, H, Tq, Dh]
 * @param k [B, H, Tk, Dh]
 * @param v [B, H, Tk, Dh]
 * @param opts.mask additive, [Tq, Tk] or [B|1, H|1, Tq, Tk]
 * @returns out [B, H, Tq, Dh]; probs [B, H, Tq, Tk] ('batched' always returns them, 'per-head' only with keepProbs)
 */
export function attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number,
  opts: { mask?: tf.Tensor; scaleQueryFirst?: boolean; keepProbs?: boolean; impl?: AttentionImpl } = {}):
  { out: tf.Tensor4D; probs?: tf.Tensor4D } {
  if ((opts.impl ?? attentionImpl()) === 'batched') {
    const probs = attentionProbs(q, k, scale, opts);
    return { out: tf.matMul(probs, v) as tf.Tensor4D, probs };
  }
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

/**
 * Causal additive mask for `Tq` new queries after `past` cached positions: 0 where key ≤ query position,
 * MASK_MIN elsewhere.                                                                @eq Attn-2
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py _prepare_4d_causal_attention_mask_with_cache_position
 * @returns [Tq, past + Tq]
 */
export function causalMask(Tq: number, past = 0): tf.Tensor2D {
  const Tk = past + Tq;
  const m = new Float32Array(Tq * Tk);
  for (let i = 0; i < Tq; i++) for (let j = 0; j < Tk; j++) m[i * Tk + j] = j <= past + i ? 0 : MASK_MIN;
  return tf.tensor2d(m, [Tq, Tk]);
}

/**
 * Causal mask by position ids: query q sees key k iff pos(k) ≤ pos(q). Equals causalMask for contiguous
 * positions; needed once tokens have been dropped (FastV).                         @eq Attn-2
 * @returns [Tq, Tk]
 */
export function positionMask(queryPos: readonly number[], keyPos: readonly number[]): tf.Tensor2D {
  const m = new Float32Array(queryPos.length * keyPos.length);
  queryPos.forEach((q, i) => keyPos.forEach((k, j) => { m[i * keyPos.length + j] = k <= q ? 0 : MASK_MIN; }));
  return tf.tensor2d(m, [queryPos.length, keyPos.length]);
}

/** [B, T, H·Dh] → [B, H, T, Dh] */
export function splitHeads(x: tf.Tensor3D, H: number): tf.Tensor4D {
  const [B, T, HD] = x.shape;
  return tf.transpose(tf.reshape(x, [B, T, H, HD / H]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/** [B, H, T, Dh] → [B, T, H·Dh] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, Dh] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * Dh]) as tf.Tensor3D;
}
