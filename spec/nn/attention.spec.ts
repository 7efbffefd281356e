import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { attend, attentionProbs, causalMask, MASK_MIN } from '../../src/nn/attention';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

const qk = fc.record({ T: fc.integer({ min: 1, max: 9 }), seed: fc.integer({ min: 1, max: 1e6 }), c: fc.double({ min: -50, max: 50, noNaN: true }) });

describe('NN-softmax Attn-1 · attention probabilities', () => {
  it('rows sum to 1 and adding a per-row constant to the scores changes nothing', () => {
    fc.assert(fc.property(qk, ({ T, seed, c }) => tf.tidy(() => {
      const q = tf.randomNormal([1, 2, T, 4], 0, 2, 'float32', seed) as tf.Tensor4D;
      const k = tf.randomNormal([1, 2, T, 4], 0, 2, 'float32', seed + 1) as tf.Tensor4D;
      const p = attentionProbs(q, k, 0.5);
      expectClose(tf.sum(p, -1), tf.ones([1, 2, T]), TOL.primitive, 'row sums');
      // softmax(z + c) = softmax(z): add c through an all-c additive mask
      expectClose(attentionProbs(q, k, 0.5, { mask: tf.fill([T, T], c) }), p, TOL.primitive, 'shifted');
      // scaling q first or the product is the same function
      expectClose(attentionProbs(q, k, 0.5, { scaleQueryFirst: true }), p, TOL.primitive, 'scale order');
    })));
  });
});

describe('Attn-2 · causal mask', () => {
  it('blocks exactly the future keys, with cached positions always visible', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 5 }), (T, past) => tf.tidy(() => {
      const m = causalMask(T, past).arraySync() as number[][];
      m.forEach((row, i) => row.forEach((v, j) => expect(v).toBe(j <= past + i ? 0 : MASK_MIN)));
    })));
  });

  it('perturbing keys/values after position t leaves the outputs at positions ≤ t unchanged', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 1e6 }), (T, seed) => tf.tidy(() => {
      const t = Math.floor(T / 2);
      const q = tf.randomNormal([1, 1, T, 4], 0, 1, 'float32', seed) as tf.Tensor4D;
      const k = tf.randomNormal([1, 1, T, 4], 0, 1, 'float32', seed + 1) as tf.Tensor4D;
      const v = tf.randomNormal([1, 1, T, 4], 0, 1, 'float32', seed + 2) as tf.Tensor4D;
      const noise = tf.concat([tf.zeros([1, 1, t + 1, 4]), tf.randomNormal([1, 1, T - t - 1, 4], 0, 5, 'float32', seed + 3)], 2);
      const out = tf.matMul(attentionProbs(q, k, 0.5, { mask: causalMask(T) }), v);
      const out2 = tf.matMul(attentionProbs(q, tf.add(k, noise) as tf.Tensor4D, 0.5, { mask: causalMask(T) }), tf.add(v, noise));
      expectClose(tf.slice(out2, [0, 0, 0, 0], [1, 1, t + 1, 4]), tf.slice(out, [0, 0, 0, 0], [1, 1, t + 1, 4]), TOL.primitive, 'prefix outputs');
    })));
  });
});

describe('Attn-1 · attend is the batched formula', () => {
  it('equals softmax(q kᵀ·scale + mask) v with the probabilities it returns, for either scale order', () => {
    fc.assert(fc.property(qk, fc.boolean(), ({ T, seed }, scaleQueryFirst) => tf.tidy(() => {
      const q = tf.randomNormal([2, 3, T, 4], 0, 2, 'float32', seed) as tf.Tensor4D;
      const k = tf.randomNormal([2, 3, T + 1, 4], 0, 2, 'float32', seed + 1) as tf.Tensor4D;
      const v = tf.randomNormal([2, 3, T + 1, 4], 0, 2, 'float32', seed + 2) as tf.Tensor4D;
      const mask = tf.randomNormal([T, T + 1], 0, 1, 'float32', seed + 3);
      const { out, probs } = attend(q, k, v, 0.37, { mask, scaleQueryFirst });
      // float64 loop: p = softmax over keys of (q·k)·scale + mask, o = p v
      const [qs, ks, vs, ms] = [q, k, v, mask].map((t) => t.arraySync()) as [number[][][][], number[][][][], number[][][][], number[][]];
      const P: number[] = [], O: number[] = [];
      qs.forEach((qb, b) => qb.forEach((qh, h) => qh.forEach((qi, i) => {
        const z = ks[b][h].map((kj, j) => kj.reduce((s, x, d) => s + x * qi[d], 0) * 0.37 + ms[i][j]);
        const mx = Math.max(...z), e = z.map((x) => Math.exp(x - mx)), sum = e.reduce((a, x) => a + x, 0);
        const p = e.map((x) => x / sum);
        P.push(...p);
        O.push(...vs[b][h][0].map((_, d) => p.reduce((s, pj, j) => s + pj * vs[b][h][j][d], 0)));
      })));
      expectClose(probs!, P, TOL.primitive, 'probs');
      expectClose(out, O, TOL.primitive, 'out');
    })), { numRuns: 20 });
  });
});
