/**
 * Our WebAssembly product (src/accel/gemm.ts, gemm.wat): the committed bytes are what gemm.wat assembles to;
 * gemmNT bit for bit against a plain-JS loop that rounds each product and each sum to fp32 in the order
 * gemm.ts documents (odd sizes, every edge of its blocks: rows not a multiple of 4, columns not a multiple of
 * 8, depths across the 256-deep blocks, several column blocks and passes); linearGemm and attendGemm against
 * the references nn/linear.ts `linear` and nn/attention.ts `attend` (TOL.sameMath) on both sides of their row
 * thresholds, on the host-memory backends.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { linear as linearReference } from '../../src/nn/linear';
import { attendGemm, gemmAvailable, gemmNT, GEMM_MIN_ROWS, linearGemm } from '../../src/accel/gemm';
import { attend as attendReference } from '../../src/nn/attention';
import { PER_HEAD_MIN_QUERIES } from '../../src/accel/attention';
import { HOST_ATTENTION_BLOCK_BYTES, setHostAttentionBlockBytes } from '../../src/accel/attention_host';
import { installKernels, REFERENCE_CHOICE } from '../../src/accel/kernels';
import { activeKernels } from '../../src/nn/kernels';
import { tidyAsync } from '../../src/core/scope';
import { assemble, GEMM, moduleSource } from '../../scripts/build-wasm';
import { leaveBackend, SYNC_READ_BACKENDS, useBackend } from '../util/fixtures';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';

/** Y + X·Wᵀ with each product and each sum rounded to fp32, t = 0…k−1 in order: the order gemm.wat sums in. */
function orderedProduct(m: number, n: number, k: number, X: Float32Array, W: Float32Array, Y: Float32Array): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let v = Y[i * n + j];
      for (let t = 0; t < k; t++) v = Math.fround(v + Math.fround(X[i * k + t] * W[j * k + t]));
      out[i * n + j] = v;
    }
  }
  return out;
}

/** Values from a small seeded generator (the spec needs no tensors for gemmNT). */
function values(count: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: count }, () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 31 - 1;
  });
}

describe('gemm.wasm is what gemm.wat assembles to', () => {
  it('scripts/build-wasm.ts run now writes the committed src/accel/gemm_wasm.ts byte for byte', async () => {
    expect(moduleSource(GEMM, await assemble(GEMM))).toBe(fs.readFileSync(GEMM.out, 'utf8'));
  });

  it('this Node has WebAssembly SIMD, so the kernel can run', () => {
    expect(gemmAvailable()).toBe(true);
  });
});

describe('NN-linear · gemmNT sums in the documented order, bit for bit', () => {
  it('odd sizes, depths across the 256-deep blocks, several column blocks and row passes', () => {
    const shapes = fc.record({
      m: fc.integer({ min: 1, max: 13 }), n: fc.integer({ min: 1, max: 41 }), k: fc.integer({ min: 1, max: 600 }),
      blockCols: fc.constantFrom(8, 16, 24, 256), passRows: fc.constantFrom(4, 8, 1000), seed: fc.integer({ min: 1, max: 1e6 }),
    });
    fc.assert(fc.property(shapes, ({ m, n, k, blockCols, passRows, seed }) => {
      const X = values(m * k, seed), W = values(n * k, seed + 1), Y = values(m * n, seed + 2);
      const want = orderedProduct(m, n, k, X, W, Y);
      // passBytes so that exactly passRows rows of x fit per pass (gemm.ts: ⌊passBytes / 4(k + nc) / 4⌋·4 rows)
      const nc = Math.min(blockCols, Math.ceil(n / 8) * 8);
      gemmNT(m, n, k, X, W, Y, { blockCols, passBytes: passRows * 4 * (k + nc) });
      expect(Array.from(Y)).toEqual(Array.from(want));
    }), { numRuns: 60, examples: [[{ m: 4, n: 8, k: 256, blockCols: 8, passRows: 4, seed: 1 }], [{ m: 13, n: 41, k: 513, blockCols: 16, passRows: 4, seed: 2 }]] });
  });

  it('an empty product leaves Y as it was; a block that is not a multiple of 8 is refused', () => {
    const Y = values(6, 3), was = Y.slice();
    gemmNT(2, 3, 0, new Float32Array(0), new Float32Array(0), Y);
    expect(Y).toEqual(was);
    expect(() => gemmNT(1, 1, 1, new Float32Array(1), new Float32Array(1), new Float32Array(1), { blockCols: 12 })).toThrow(/not a positive multiple of 8/);
  });
});

describe.each(SYNC_READ_BACKENDS)('NN-linear Attn-1 · linearGemm and attendGemm equal the references (%s backend)', (backend) => {
  beforeAll(async () => { await useBackend(backend, { syncReads: true }); });  // host reads by design
  afterAll(async () => { installKernels(REFERENCE_CHOICE); await leaveBackend(); });

  it('x·Wᵀ + b for any leading shape, with and without bias, below and above GEMM_MIN_ROWS', async () => {
    let below = 0, above = 0;
    const shapes = fc.record({
      a: fc.integer({ min: 1, max: 3 }), b: fc.integer({ min: 1, max: GEMM_MIN_ROWS + 9 }),
      inF: fc.integer({ min: 1, max: 300 }), outF: fc.integer({ min: 1, max: 40 }), bias: fc.boolean(), seed: fc.integer({ min: 1, max: 1e6 }),
    });
    await fc.assert(fc.asyncProperty(shapes, ({ a, b, inF, outF, bias, seed }) => tidyAsync(async () => {
      const x = tf.randomNormal([a, b, inF], 0, 1, 'float32', seed);
      // W at the models' scale (std 1/√in): unit-scale outputs, for which TOL.sameMath's absolute part is meant
      const p = {
        weight: tf.randomNormal([outF, inF], 0, 1 / Math.sqrt(inF), 'float32', seed + 1) as tf.Tensor2D,
        bias: bias ? tf.randomNormal([outF], 0, 1, 'float32', seed + 2) as tf.Tensor1D : undefined,
      };
      if (a * b >= GEMM_MIN_ROWS) above++; else below++;
      const y = linearGemm(p, x);
      expect(y.shape).toEqual([a, b, outF]);
      await expectCloseAsync(y, linearReference(p, x), TOL.sameMath, 'linear');
    })), { numRuns: 30, examples: [[{ a: 1, b: GEMM_MIN_ROWS, inF: 257, outF: 9, bias: true, seed: 1 }], [{ a: 1, b: GEMM_MIN_ROWS - 1, inF: 5, outF: 3, bias: false, seed: 2 }]] });
    expect([below > 0, above > 0]).toEqual([true, true]);
  });

  it('attend: out and probs for any (B, H, Tq, Tk, Dh) on both sides of PER_HEAD_MIN_QUERIES, 2-D and broadcast 4-D masks, q scaled first or not, in blocks of any number of heads', async () => {
    let host = 0, few = 0;
    const cases = fc.record({
      B: fc.integer({ min: 1, max: 2 }), H: fc.integer({ min: 1, max: 3 }),
      Tq: fc.oneof(fc.integer({ min: 1, max: PER_HEAD_MIN_QUERIES - 1 }), fc.integer({ min: PER_HEAD_MIN_QUERIES, max: PER_HEAD_MIN_QUERIES + 13 })),
      Tk: fc.integer({ min: 1, max: 70 }), Dh: fc.integer({ min: 1, max: 17 }),
      mask: fc.constantFrom('none', '2d', '4d-b1', '4d-mh1', '4d-full'), scaleQueryFirst: fc.boolean(), keepProbs: fc.boolean(), seed: fc.integer({ min: 1, max: 1e6 }),
      // the scores held at once (HOST_ATTENTION_BLOCK_BYTES): from one (batch, head) pair per block to all of them
      block: fc.integer({ min: 4, max: 4 * 2 * 3 * (PER_HEAD_MIN_QUERIES + 13) * 70 }),
    });
    const was = setHostAttentionBlockBytes(HOST_ATTENTION_BLOCK_BYTES);
    try {
      await fc.assert(fc.asyncProperty(cases, ({ B, H, Tq, Tk, Dh, mask, scaleQueryFirst, keepProbs, seed, block }) => tidyAsync(async () => {
        setHostAttentionBlockBytes(block);
        const rand = (shape: number[], sd: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', sd);
        const q = rand([B, H, Tq, Dh], seed) as tf.Tensor4D, k = rand([B, H, Tk, Dh], seed + 1) as tf.Tensor4D, v = rand([B, H, Tk, Dh], seed + 2) as tf.Tensor4D;
        const maskShape = { none: undefined, '2d': [Tq, Tk], '4d-b1': [1, H, Tq, Tk], '4d-mh1': [B, 1, Tq, Tk], '4d-full': [B, H, Tq, Tk] }[mask];
        // additive masks as the model writes them: 0 or a large negative, with at least one key open per row (column 0)
        const m = maskShape && tf.mul(tf.cast(tf.logicalAnd(tf.greater(rand(maskShape, seed + 3), 0.5), tf.greater(tf.range(0, Tk), 0)), 'float32'), -1e9);
        const opts = { mask: m, scaleQueryFirst, keepProbs };
        if (Tq >= PER_HEAD_MIN_QUERIES) host++; else few++;
        const got = attendGemm(q, k, v, 1 / Math.sqrt(Dh), opts), want = attendReference(q, k, v, 1 / Math.sqrt(Dh), opts);
        expect(got.out.shape).toEqual([B, H, Tq, Dh]);
        await expectCloseAsync(got.out, want.out, TOL.sameMath, 'attention out');
        if (keepProbs) await expectCloseAsync(got.probs!, want.probs!, TOL.sameMath, 'attention probs');
        else expect(got.probs).toBeUndefined();
      })), { numRuns: 40 });
    } finally {
      setHostAttentionBlockBytes(was);
    }
    expect([host > 0, few > 0]).toEqual([true, true]);
  });

  it('is what installKernels puts behind nn/kernels.ts for attention and linear = wasm-gemm', () => {
    installKernels({ attention: 'wasm-gemm', linear: 'wasm-gemm' });
    expect(activeKernels().linear).toBe(linearGemm);
    expect(activeKernels().attend).toBe(attendGemm);
  });
});
