import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import {
  applySparseVlmPlan, dpcKnnCluster, emptySparseVlmRecord, matrixRank, singularValues, sparseVlmHook, sparseVlmRaters,
  sparseVlmTraceTensors, validateSparseVlm, SPARSEVLM_DEFAULTS, type SparseVlmOptions, type SparseVlmPlan, type SparseVlmRecord,
} from '../../src/baselines/sparsevlm';
import { sparseVlmKeptCount, sparseVlmRecycleCounts } from '../../src/baselines/sparsevlm_budget';
import type { LlamaParams } from '../../src/llama/decoder';
import { hookedForward, HookKvCache, type DecoderHook } from '../../src/baselines/decoder_hooks';
import { llamaKeys } from '../../src/llama/load';
import { KvCache } from '../../src/llama/kv_cache';
import { llamaConfig, type LlamaConfig } from '../../src/llama/config';
import { disposeTree } from '../../src/io/checkpoint';
import { tidyAsync } from '../../src/core/scope';
import { Rng } from '../../src/weights/rng';
import { randomParams } from '../../src/weights/random_params';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

describe('SparseVLM-1 · text raters', () => {
  it('picks the text tokens whose mean visual→text softmax is strictly above the mean (hand-checked)', async () => {
    await tidyAsync(async () => {
      // V = [[1,0],[0,1]], T = [[0,0],[ln3,0],[0,ln3]]: V·Tᵀ rows [0, ln3, 0] and [0, 0, ln3]
      // softmax over text: [1/5, 3/5, 1/5] and [1/5, 1/5, 3/5]; mean over visual m = [1/5, 2/5, 2/5]; mean(m) = 1/3
      const V = tf.tensor2d([[1, 0], [0, 1]]), T = tf.tensor2d([[0, 0], [Math.log(3), 0], [0, Math.log(3)]]);
      expect(await sparseVlmRaters(V, T)).toEqual([1, 2]);
      // all text tokens equal: nobody is strictly above the mean
      expect(await sparseVlmRaters(V, tf.tensor2d([[1, 1], [1, 1]]))).toEqual([]);
      expect(await sparseVlmRaters(V, tf.zeros([0, 2]) as tf.Tensor2D)).toEqual([]);
    });
  });
});

describe('SparseVLM-2 · rank and count', () => {
  it('singular values and torch.linalg.matrix_rank (hand-checked)', () => {
    expect(singularValues([3, 0, 0, 0, 4, 0], 2, 3).map((s) => +s.toFixed(12))).toEqual([4, 3]);
    // [[1,2],[2,4]] has rank 1 (σ = 5, 0); [[1,0,0],[0,1,0]] rank 2
    expect(matrixRank([1, 2, 2, 4], 2, 2)).toBe(1);
    expect(matrixRank([1, 0, 0, 0, 1, 0], 2, 3)).toBe(2);
    // tolerance σ_max·max(2, 3)·2⁻²³ = 3.58e-7: a second singular value of 1e-5 counts, 1e-7 does not
    expect(matrixRank([1, 0, 0, 0, 1e-5, 0], 2, 3)).toBe(2);
    expect(matrixRank([1, 0, 0, 0, 1e-7, 0], 2, 3)).toBe(1);
    expect(matrixRank([], 0, 5)).toBe(0);
  });

  it('rank of a product A·B with inner size k is min(k, rows, cols) (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1e6 }),
      (rows, k, cols, seed) => {
        const rng = new Rng(seed, 'rank');
        const A = Array.from({ length: rows * k }, () => rng.uniform() - 0.5), B = Array.from({ length: k * cols }, () => rng.uniform() - 0.5);
        const P = Array.from({ length: rows * cols }, (_, i) => {
          let s = 0;
          for (let j = 0; j < k; j++) s += A[Math.floor(i / cols) * k + j] * B[j * cols + (i % cols)];
          return s;
        });
        expect(matrixRank(P, rows, cols)).toBe(Math.min(k, rows, cols));
      }));
  });

  it('count = min(int(rank·scale + bias), v − 1), all kept when rank = v (hand-checked)', () => {
    expect(sparseVlmKeptCount(3, 34, 5.5, 0.5)).toEqual({ kept: 17, pruned: true });    // int(17.0) = 17
    expect(sparseVlmKeptCount(10, 5, 13.5, 0)).toEqual({ kept: 4, pruned: true });      // capped at v − 1
    expect(sparseVlmKeptCount(3, 100, 0.8, 0)).toEqual({ kept: 2, pruned: true });      // int(2.4000000000000004) = 2
    expect(sparseVlmKeptCount(12, 576, 9, 6)).toEqual({ kept: 114, pruned: true });     // LLaVA-1.5's "128" constants
    expect(sparseVlmKeptCount(5, 5, 13.5, 0)).toEqual({ kept: 5, pruned: false });      // rank = v: keep all
  });

  it('recycling counts n = int(0.3·d) + 1, c = int(n/10) + 1 (hand-checked)', () => {
    expect(sparseVlmRecycleCounts(0)).toEqual({ candidates: 0, clusters: 0 });
    expect(sparseVlmRecycleCounts(1)).toEqual({ candidates: 1, clusters: 1 });      // int(0.3) + 1
    expect(sparseVlmRecycleCounts(9)).toEqual({ candidates: 3, clusters: 1 });      // int(2.7) + 1; int(0.3) + 1
    expect(sparseVlmRecycleCounts(30)).toEqual({ candidates: 10, clusters: 2 });    // int(9.0) + 1; int(1.0) + 1
    expect(sparseVlmRecycleCounts(1399)).toEqual({ candidates: 420, clusters: 43 }); // int(419.7) + 1; int(42.0) + 1
  });
});

describe('SparseVLM-3 · DPC-kNN recycling', () => {
  it('clusters points on a line by density peaks (hand-checked)', async () => {
    // x = 0, 1, 3, 10, 12, 12.5 (C = 1, d = |x_i − x_j|). With c = 3 nearest (self included) the mean squared
    // distances are 10/3, 5/3, 13/3, 10.25/3, 4.25/3, 6.5/3 → ρ = exp(−that): densest p4, then p1, p5, p0, p3, p2.
    // δ: p4 = max d = 12.5; p1 = d(1,12) = 11; p5 = .5; p0 = 1; p3 = 2; p2 = 2.
    // δ·ρ: p4 3.03, p1 2.08, p3 .066, p5 .057, p0 .036, p2 .026.
    // c = 2: centres [4, 1]; 0, 2 join p1 (group 1); 3, 5 join p4 (group 0).
    // c = 3: centres [4, 1, 3]; 0, 2 → p1; 5 → p4 (.5 < 2.5).
    const x = tf.tensor2d([[0], [1], [3], [10], [12], [12.5]]);
    const three = await dpcKnnCluster(x, 3, new Rng(0, 't'));
    expect(three).toEqual({ centres: [4, 1, 3], assign: [1, 1, 1, 2, 0, 0] });
    // c = 2 is also the neighbourhood (self + nearest): mean squared distances .5, .5, 2, 2, .125, .125 — ties that
    // the seeded noise breaks. The denser of p4/p5 has δ = 12.5 (score ≈ 11), the denser of p0/p1 δ ≥ 11 (≈ 6.7),
    // everything else ≤ 1·e^−.5: centres = [p4 or p5, p0 or p1]; 0, 1, 2 join the second, 3, 4, 5 the first.
    const two = await dpcKnnCluster(x, 2, new Rng(0, 't'));
    expect([4, 5]).toContain(two.centres[0]);
    expect([0, 1]).toContain(two.centres[1]);
    expect(two.assign).toEqual([1, 1, 1, 0, 0, 0]);
    x.dispose();
    // two equal points, two clusters: both δ = max d = 0, scores tie → centres [0, 1]; token 1 is as near to
    // centre 0 as to itself (argmin takes centre 0), but a centre always joins its own cluster
    const twin = tf.tensor2d([[0], [0]]);
    expect(await dpcKnnCluster(twin, 2, new Rng(0, 't'))).toEqual({ centres: [0, 1], assign: [0, 1] });
    twin.dispose();
  });

  it('a plan keeps its head rows, merges each group as Σx/(count + 1e-6), then the tail (hand-checked)', () => {
    tf.tidy(() => {
      const h = tf.tensor2d([[1], [2], [3], [4], [5]]);
      const out = applySparseVlmPlan(h, { head: [0, 2], groups: [[1, 3]], tailFrom: 4 });
      expectClose(out, tf.tensor2d([[1], [3], [6 / 2.000001], [5]]), TOL.primitive, 'plan rows');
      // the 1e-6 of the official divisor is visible in fp32 (spacing 2.4e-7 at 3): 2.9999985, not 3
      expect(Math.abs(out.dataSync()[2] - 3)).toBeGreaterThan(1e-6);
    });
  });
});

/** A small random Llama (the test's own weights). */
function randomLlama(cfg: LlamaConfig, seed: number): LlamaParams {
  return randomParams<LlamaParams>(llamaKeys(cfg, ''), seed).tree;   // src/weights/init.ts rules
}

/** Replays recorded plans (the same pruning) on a sequence that may carry extra rows at the end. */
function replayHook(r: SparseVlmRecord): DecoderHook {
  return {
    layers: r.layers.map((x) => x.layer),
    after: async (layer, h, _probs, positions) => {
      const plan: SparseVlmPlan = r.layers.find((x) => x.layer === layer)!.plan;
      const out = applySparseVlmPlan(h, plan);
      const next = positions.slice(0, out.shape[0]);
      return { h: out, positions: next, nextPosition: next[next.length - 1] + 1 };
    },
  };
}

describe('SparseVLM · the hook on hand-made attention (hand-checked)', () => {
  it('raters, count, keep mask, recycled merge, renumbered positions', async () => {
    await tidyAsync(async () => {
      // Rows: 0 pre-prompt, 1..4 visual, 5..6 text. Visual embeddings [1,0]; text [0,0] and [ln3,0]:
      // softmax per visual row [1/4, 3/4] → m = [.25, .75] → raters = {text 1} = row 6, R = 1.
      const embeds = tf.tensor2d([[9, 9], [1, 0], [1, 0], [1, 0], [1, 0], [0, 0], [Math.log(3), 0]]);
      const record = emptySparseVlmRecord();
      const o: SparseVlmOptions = { layers: [0], ratio: 0.5, scale: 2, bias: 0, seed: 0 };
      const hook = await sparseVlmHook(o, embeds, 1, 5, 2, record);
      // Row 6's attention over keys 0..6; visual keys 1..4 score [.3, .1, .2, .05]; rank of a 1×4 row = 1.
      const probs = tf.zeros([1, 7, 7]).bufferSync();
      [0.1, 0.3, 0.1, 0.2, 0.05, 0.05, 0.2].forEach((p, j) => probs.set(p, 0, 6, j));
      const h = tf.tensor2d([[0], [10], [20], [30], [40], [50], [60]]);
      const out = await hook.after(0, h, probs.toTensor() as tf.Tensor3D, [0, 1, 2, 3, 4, 5, 6]);
      // k = min(int(1·2 + 0), 3) = 2 → keep visual 0 (.3) and 2 (.2) = rows 1, 3; dropped visual 1 (.1), 3 (.05):
      // candidates int(0.3·2) + 1 = 1 → visual 1 (row 2), one cluster: 20 / (1 + 1e-6).
      expect(record.raters).toEqual([6]);
      expect(record.layers.map((x) => [x.kept, x.recycled, x.rank, Array.from(x.keep)])).toEqual([[2, 1, 1, [1, 0, 1, 0]]]);
      expectClose(out.h, tf.tensor2d([[0], [10], [30], [20 / 1.000001], [50], [60]]), TOL.primitive, 'rows');
      expect(out.positions).toEqual([0, 1, 2, 3, 4, 5]);
      expect(out.nextPosition).toBe(6);
      const t = sparseVlmTraceTensors({ ...record, numLayers: 2 });
      expect(t.get('sparsevlm.visual_counts')!.data).toEqual([3, 3]);
      expect(t.get('sparsevlm.kept_counts')!.data).toEqual([2]);
      expect(t.get('sparsevlm.recycled_counts')!.data).toEqual([1]);
      expect(t.get('sparsevlm.keep.0')!.data).toEqual([1, 0, 1, 0]);
    });
  });
});

describe('SparseVLM · inside a random Llama (properties)', () => {
  const cfg = llamaConfig({ hidden_size: 32, intermediate_size: 48, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 5,
    vocab_size: 50, max_position_embeddings: 256, rms_norm_eps: 1e-5 });
  let p: LlamaParams;
  beforeAll(() => { p = randomLlama(cfg, 7); });
  afterAll(() => disposeTree(p));
  /** pre-prompt, M visual rows, text rows: random embeddings */
  const prompt = (pre: number, M: number, text: number, seed: number): tf.Tensor2D => tf.randomNormal([pre + M + text, 32], 0, 1, 'float32', seed) as tf.Tensor2D;
  const arb = fc.record({
    pre: fc.integer({ min: 1, max: 3 }), M: fc.integer({ min: 8, max: 40 }), text: fc.integer({ min: 3, max: 8 }),
    ratio: fc.constantFrom(0.25, 0.5, 0.75), seed: fc.integer({ min: 0, max: 1e6 }),
    layers: fc.constantFrom([0, 2], [1, 3, 4], [1], [0, 1, 2, 3, 4]),
  });
  // runs that got past the hook's own checks (a too-small ratio or no rater is a one-line error)
  let ran = 0;
  afterAll(() => expect(ran).toBeGreaterThan(15));

  it('counts per layer follow the formula, never grow, and the layer average stays within r·M', async () => {
    await fc.assert(fc.asyncProperty(arb, async ({ pre, M, text, ratio, seed, layers }) => {
      await tidyAsync(async () => {
        const x = prompt(pre, M, text, seed);
        const record = emptySparseVlmRecord();
        let hook: DecoderHook;
        try {
          hook = await sparseVlmHook({ layers, ratio, seed: 0 }, x, pre, pre + M, 5, record);
        } catch (e) {
          // too small a ratio for the first pruning layer, or no rater: both are one-line errors
          expect(String(e)).toMatch(/--ratio: .* is below|no text token rates/);
          return;
        }
        const out = await hookedForward(p, x, cfg, { hook });
        ran++;
        let v = M;
        // the generic case the constants were derived for: every pruning layer's raters' attention has full
        // rank R and more visual tokens than raters (rank = v would keep all v, which the derivation's
        // schedule does not model: with R ≥ v after a deep cut the average may pass r·M)
        let generic = true;
        for (const r of record.layers) {
          generic &&= r.rank === record.raters.length && r.rank < v;
          const full = Math.min(Math.trunc(r.rank * record.scale + record.bias), v - 1);
          expect(r.kept).toBe(r.rank === v ? v : full);
          expect(r.recycled).toBe(r.rank === v ? 0 : sparseVlmRecycleCounts(v - r.kept).clusters);
          expect(r.keep.length).toBe(v);
          expect(r.keep.reduce((a, b) => a + b, 0)).toBe(r.kept);
          expect(r.kept + r.recycled).toBeLessThanOrEqual(v);
          v = r.kept + r.recycled;
        }
        const counts = sparseVlmTraceTensors(record).get('sparsevlm.visual_counts')!.data;
        counts.forEach((c, l) => expect(c).toBeLessThanOrEqual(l === 0 ? M : counts[l - 1]));
        if (generic) {
          expect(counts.reduce((a, b) => a + b, 0) / 5).toBeLessThanOrEqual(ratio * M + 1e-9);
        }
        expect(out.logits.shape).toEqual([pre + v + text, 50]);
      });
      // CI's counterexample: k* = 0 leaves the 2 recycled tokens, which the 2 raters' rank-2 attention then keeps whole
    }), { numRuns: 20, examples: [[{ pre: 1, M: 30, text: 3, ratio: 0.25, seed: 262737, layers: [1, 3, 4] }]] });
  });

  it('causality: rows before the image never see the pruning; with the same pruning a later token changes no earlier row', async () => {
    await fc.assert(fc.asyncProperty(arb, async ({ pre, M, text, ratio, seed, layers }) => {
      await tidyAsync(async () => {
        const x = prompt(pre, M, text, seed);
        const record = emptySparseVlmRecord();
        let out;
        try {
          out = (await hookedForward(p, x, cfg, { hook: await sparseVlmHook({ layers, ratio, seed: 0 }, x, pre, pre + M, 5, record) })).logits;
        } catch { return; }
        ran++;
        const plain = (await hookedForward(p, x, cfg)).logits;
        expectClose(tf.slice(out, [0, 0], [pre, -1]), tf.slice(plain, [0, 0], [pre, -1]), TOL.sameMath, 'pre-prompt rows');
        // change the last token; replay the same pruning: every row but the last is unchanged
        const T = x.shape[0];
        const y = tf.concat([tf.slice(x, [0, 0], [T - 1, -1]), tf.randomNormal([1, 32], 0, 1, 'float32', seed + 1)]) as tf.Tensor2D;
        const changed = (await hookedForward(p, y, cfg, { hook: replayHook(record) })).logits;
        const Tn = out.shape[0];
        expectClose(tf.slice(changed, [0, 0], [Tn - 1, -1]), tf.slice(out, [0, 0], [Tn - 1, -1]), TOL.sameMath, 'earlier rows');
      });
    }), { numRuns: 12 });
  });

  it('the cached decode (per-layer caches and positions) equals a full recompute with the same pruning', async () => {
    await fc.assert(fc.asyncProperty(arb, fc.integer({ min: 1, max: 4 }), async ({ pre, M, text, ratio, seed, layers }, steps) => {
      await tidyAsync(async () => {
        const x = prompt(pre, M, text, seed);
        const extra = tf.randomNormal([steps, 32], 0, 1, 'float32', seed + 2) as tf.Tensor2D;
        const record = emptySparseVlmRecord();
        const cache = new HookKvCache(new KvCache(5));
        try {
          let hook: DecoderHook;
          try { hook = await sparseVlmHook({ layers, ratio, seed: 0 }, x, pre, pre + M, 5, record); } catch { return; }
          const prefill = (await hookedForward(p, x, cfg, { cache, hook })).logits;
          ran++;
          // every layer caches the rows it processed: a pruning layer and those before it hold more
          const lengths = Array.from({ length: 5 }, (_, l) => cache.kv.keys(l)!.shape[1]);
          let n = x.shape[0];
          lengths.forEach((len, l) => {
            expect(len).toBe(n);
            const r = record.layers.find((y) => y.layer === l);
            if (r) n = n - r.keep.length + r.kept + r.recycled;
            expect(cache.nextPosition(l)).toBe(len);
          });
          const stepLogits: tf.Tensor[] = [];
          for (let t = 0; t < steps; t++) stepLogits.push((await hookedForward(p, tf.slice(extra, [t, 0], [1, -1]), cfg, { cache })).logits);
          const full = (await hookedForward(p, tf.concat([x, extra]) as tf.Tensor2D, cfg, { hook: replayHook(record) })).logits;
          const Tn = prefill.shape[0];
          expectClose(tf.slice(full, [0, 0], [Tn, -1]), prefill, TOL.sameMath, 'prefill rows');
          expectClose(tf.slice(full, [Tn, 0], [steps, -1]), tf.concat(stepLogits), TOL.sameMath, 'decode steps');
        } finally {
          cache.dispose();
        }
      });
    }), { numRuns: 12 });
  });
});

describe('SparseVLM · options', () => {
  it('defaults are the official v1 pruning layers and the paper\'s 50 % row', () => {
    expect(SPARSEVLM_DEFAULTS.layers).toEqual([2, 6, 15, 19]);
    expect(SPARSEVLM_DEFAULTS.ratio).toBe(0.5);
  });
  it('rejects layer sets outside the decoder and bad constants, naming the flag', () => {
    expect(() => validateSparseVlm(SPARSEVLM_DEFAULTS, 2)).toThrow(/--sparsevlm-layers: 2,6,15,19 is not an ascending list within 0..1 \(the decoder has 2 layers\)/);
    expect(() => validateSparseVlm({ ...SPARSEVLM_DEFAULTS, layers: [3, 3] }, 32)).toThrow(/--sparsevlm-layers/);
    expect(() => validateSparseVlm({ ...SPARSEVLM_DEFAULTS, layers: [] }, 32)).toThrow(/--sparsevlm-layers/);
    expect(() => validateSparseVlm({ ...SPARSEVLM_DEFAULTS, ratio: 0 }, 32)).toThrow(/--ratio/);
    expect(() => validateSparseVlm({ ...SPARSEVLM_DEFAULTS, scale: -1 }, 32)).toThrow(/--sparsevlm-scale/);
    expect(() => validateSparseVlm({ ...SPARSEVLM_DEFAULTS, bias: 1 }, 32)).toThrow(/--sparsevlm-bias: needs --sparsevlm-scale/);
    expect(() => validateSparseVlm(SPARSEVLM_DEFAULTS, 32)).not.toThrow();
  });
});
