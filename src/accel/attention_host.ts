/**
 * Attention whose two products are computed on the host: nn/attention.ts `attend`
 * (o = softmax(q kᵀ · scale + mask) v) with q kᵀ · scale and probs · v as one host product per
 * (batch, head) pair, written straight into new tensors' memory (./host_tensor.ts), and the mask and
 * softmax in tfjs as in the reference. The products come from a kernel: the system's BLAS (./blas.ts
 * attendBlas) or our WebAssembly product (./gemm.ts attendGemm). Same math (spec/accel/blas.spec.ts,
 * spec/accel/gemm.spec.ts, within TOL.sameMath).                                             @eq Attn-1
 *
 * The pairs go through in blocks whose scores fit in HOST_ATTENTION_BLOCK_BYTES: the whole [B, H, Tq, Tk]
 * at once would be 1.1 GB at Vicuna-7B's 32 heads and 2 900 tokens, and its sum with the mask and its softmax
 * as much again each: more than the 4 GiB wasm heap holds beside a layer's weights (docs/memory.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { attend as attendReference, type AttendOptions } from '../nn/attention';
import { hostView, newHostFilledTensor } from './host_tensor';

/**
 * The scores the kernel holds at once, bytes (at least one head per block). A ViT-L/14-336 layer's 5 crops
 * × 16 heads of 577² scores (107 MB) go in two blocks.
 */
export const HOST_ATTENTION_BLOCK_BYTES = 64 * 2 ** 20;
let attentionBlockBytes = HOST_ATTENTION_BLOCK_BYTES;

/** Sets the block size (the specs make it small to split their small cases into many blocks); returns the previous one. */
export function setHostAttentionBlockBytes(bytes: number): number {
  const was = attentionBlockBytes;
  attentionBlockBytes = bytes;
  return was;
}

/** One (batch, head) pair's two products, on row-major host arrays. */
export interface HostAttentionProducts {
  /** the kernel's name in errors */
  readonly name: string;
  /** S [Tq, Tk] = (Q [Tq, Dh] · K [Tk, Dh]ᵀ) · scale */
  scores(Q: Float32Array, K: Float32Array, S: Float32Array, Tq: number, Tk: number, Dh: number, scale: number): void;
  /** O [Tq, Dh] = P [Tq, Tk] · V [Tk, Dh] */
  weighted(P: Float32Array, V: Float32Array, O: Float32Array, Tq: number, Tk: number, Dh: number): void;
}

/**
 * @param q [B, H, Tq, Dh]
 * @param k [B, H, Tk, Dh]
 * @param v [B, H, Tk, Dh]
 * @param opts.mask additive, [Tq, Tk] or [B|1, H|1, Tq, Tk]
 * @returns out [B, H, Tq, Dh]; probs [B, H, Tq, Tk] only with keepProbs
 */
export function attendOnHost(products: HostAttentionProducts, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number,
  opts: AttendOptions = {}): { out: tf.Tensor4D; probs?: tf.Tensor4D } {
  const [B, H, Tq, Dh] = q.shape;
  const Tk = k.shape[2];
  if (B * H * Tq * Tk * Dh === 0) return attendReference(q, k, v, scale, opts);   // an empty product: nothing to multiply
  const heads = Math.max(1, Math.floor(attentionBlockBytes / (4 * Tq * Tk)));     // (batch, head) pairs per block
  // The mask of pairs [i0, i1) (flat index b·H + h): a [Tq, Tk] one as it is, a 4-D one's rows for those pairs.
  let maskOf: (i0: number, i1: number) => tf.Tensor | undefined = () => opts.mask;
  const flat = opts.mask?.rank === 4 ? tf.reshape(opts.mask, [-1, Tq * Tk]) : undefined;  // [mb·mh, Tq·Tk], freed below
  if (flat) {
    const [mb, mh] = opts.mask!.shape;
    maskOf = (i0, i1) => tf.reshape(tf.gather(flat, Array.from({ length: i1 - i0 }, (_, j) => {
      const b = Math.floor((i0 + j) / H), h = (i0 + j) % H;
      return (mb === 1 ? 0 : b) * mh + (mh === 1 ? 0 : h);
    })), [i1 - i0, Tq, Tk]);                                                           // [pairs, Tq, Tk]
  }
  const outs: tf.Tensor[] = [], probsKept: tf.Tensor[] = [];
  for (let i0 = 0; i0 < B * H; i0 += heads) {
    const i1 = Math.min(B * H, i0 + heads);
    const [o, p] = tf.tidy(() => {                                                   // frees the block's scores
      const scores = newHostFilledTensor([i1 - i0, Tq, Tk], (S) => {                // [pairs, Tq, Tk]
        const Q = hostView(q, products.name), K = hostView(k, products.name);
        for (let i = i0; i < i1; i++) {
          products.scores(Q.subarray(i * Tq * Dh, (i + 1) * Tq * Dh), K.subarray(i * Tk * Dh, (i + 1) * Tk * Dh),
            S.subarray((i - i0) * Tq * Tk, (i - i0 + 1) * Tq * Tk), Tq, Tk, Dh, scale);
        }
      });
      const mask = maskOf(i0, i1);
      const probs = tf.softmax(mask ? tf.add(scores, mask) : scores);               // [pairs, Tq, Tk]
      const out = newHostFilledTensor([i1 - i0, Tq, Dh], (O) => {                    // [pairs, Tq, Dh]
        const P = hostView(probs, products.name), V = hostView(v, products.name);
        for (let i = i0; i < i1; i++) {
          products.weighted(P.subarray((i - i0) * Tq * Tk, (i - i0 + 1) * Tq * Tk), V.subarray(i * Tk * Dh, (i + 1) * Tk * Dh),
            O.subarray((i - i0) * Tq * Dh, (i - i0 + 1) * Tq * Dh), Tq, Tk, Dh);
        }
      });
      return opts.keepProbs ? [out, probs] : [out];
    });
    outs.push(o);
    if (p) probsKept.push(p);
  }
  flat?.dispose();
  const join = (ts: tf.Tensor[], shape: [number, number, number, number]): tf.Tensor4D => {
    const whole = ts.length === 1 ? ts[0] : tf.concat(ts, 0);
    const r = tf.reshape(whole, shape) as tf.Tensor4D;
    if (ts.length > 1) tf.dispose(ts);
    if (whole !== r) whole.dispose();
    return r;
  };
  const out = join(outs, [B, H, Tq, Dh]);
  return opts.keepProbs ? { out, probs: join(probsKept, [B, H, Tq, Tk]) } : { out };
}
