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
import { attendGemm, gemmAvailable, gemmNT, gemmVariant, GEMM_MIN_ROWS, GEMM_VARIANTS, linearGemm } from '../../src/accel/gemm';
import { PER_HEAD_MIN_QUERIES } from '../../src/accel/attention';
import { expectHostAttentionMatchesReference } from '../util/host_attention';
import { installKernels, REFERENCE_CHOICE } from '../../src/accel/kernels';
import { activeKernels } from '../../src/nn/kernels';
import { tidyAsync } from '../../src/core/scope';
import { assemble, fusedMultiplyAdd, GEMM, GEMM_FMA, moduleSource } from '../../scripts/build-wasm';
import { leaveBackend, SYNC_READ_BACKENDS, useBackend } from '../util/fixtures';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';

const f32 = new Float32Array(1), i32 = new Int32Array(f32.buffer);
/** The fp32 next to r (an fp32, finite, not 0) away from zero when `up` says so of its magnitude, else toward zero. */
function nextF32(r: number, awayFromZero: boolean): number {
  f32[0] = r;
  i32[0] += awayFromZero ? 1 : -1;
  return f32[0];
}

/**
 * fp32 fused multiply-add, rounded once: a·b is exact in float64 (24 + 24 bits), a·b + c is rounded to
 * float64 (s) and its error kept (TwoSum: e, exact); fround(s) is round(a·b + c) unless s lies exactly halfway
 * between two fp32 values and e ≠ 0, when the exact value is on e's side of the halfway point.
 */
function fma32(a: number, b: number, c: number): number {
  const p = a * b, s = p + c, bb = s - p, e = (p - (s - bb)) + (c - bb);
  const r = Math.fround(s);
  if (e === 0 || r === s || r === 0 || !Number.isFinite(r)) return r;
  const other = nextF32(r, Math.abs(s) > Math.abs(r));                  // the fp32 on s's other side
  if (Math.abs(s - r) !== Math.abs(other - s)) return r;                // not halfway: fround(s) is right
  return (e > 0) === (other > r) ? other : r;                           // halfway: the side e points to
}

/**
 * Y + X·Wᵀ summed t = 0…k−1 in order, as gemm.wat does: 'mul+add' rounds each product and each sum to fp32,
 * 'fma' each step once.
 */
function orderedProduct(m: number, n: number, k: number, X: Float32Array, W: Float32Array, Y: Float32Array, fused: boolean): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let v = Y[i * n + j];
      for (let t = 0; t < k; t++) v = fused ? fma32(X[i * k + t], W[j * k + t], v) : Math.fround(v + Math.fround(X[i * k + t] * W[j * k + t]));
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
  it.each([GEMM, GEMM_FMA])('scripts/build-wasm.ts run now writes the committed $out byte for byte', async (src) => {
    expect(moduleSource(src, await assemble(src))).toBe(fs.readFileSync(src.out, 'utf8'));
  });

  it('the FMA variant differs from gemm.wat in the 8 multiply-adds only, and a source without them is refused', () => {
    const wat = fs.readFileSync(GEMM.wat, 'utf8'), fma = fusedMultiplyAdd(wat);
    const code = (t: string): string => t.replace(/;;.*$/gm, '');                  // the instructions, not the comments
    expect(code(fma).match(/f32x4\.relaxed_madd/g)).toHaveLength(8);
    expect(code(fma).match(/f32x4\.mul/g)).toBeNull();
    expect(fma.replace(/\(f32x4\.relaxed_madd \(local\.get \$a\) \(local\.get (\$b\d)\) \(local\.get (\$s\d\d)\)\)/g, '(f32x4.add (local.get $2) (f32x4.mul (local.get $a) (local.get $1)))')).toBe(wat);
    expect(() => fusedMultiplyAdd('(module)')).toThrow(/found 0/);
  });

  it("this Node runs the kernel, the 'fma' variant (relaxed SIMD: Node 22, or Node 20 with the flag gemm.ts sets)", () => {
    expect(gemmAvailable()).toBe(true);
    expect(gemmVariant()).toBe('fma');
  });
});

describe('NN-linear · gemmNT sums in the documented order, bit for bit', () => {
  it('the fp32 fused multiply-add of the check below: hand cases, and halfway points decided by the exact error', () => {
    expect(fma32(3, 5, 7)).toBe(22);
    expect(fma32(1 + 2 ** -23, 1 - 2 ** -23, -1)).toBe(-(2 ** -46));               // the product's low bits survive
    expect(Math.fround(Math.fround((1 + 2 ** -23) * (1 - 2 ** -23)) - 1)).toBe(0);   // where separate roundings lose them
    expect(fma32(2 ** -24, 1, 1)).toBe(1);                                          // 1 + 2^-24: a tie, to even
    expect(fma32(2 ** -12, 2 ** -12 + 2 ** -35, 1)).toBe(1 + 2 ** -23);             // 1 + 2^-24 + 2^-47: above halfway
    // (1 + 2^-23)·2^-24(1 − 2^-23) = 2^-24 − 2^-70, plus 1 + 2^-23: just below the halfway point 1 + 3·2^-24,
    // which float64 rounds the sum onto
    const a = 1 + 2 ** -23, b = 2 ** -24 * (1 - 2 ** -23);
    expect([Math.fround(a), Math.fround(b)]).toEqual([a, b]);
    expect(Math.fround(a * b + a)).toBe(1 + 2 ** -22);                               // rounded twice: the wrong side
    expect(fma32(a, b, a)).toBe(1 + 2 ** -23);                                       // the exact error decides
  });

  it.each(GEMM_VARIANTS)('%s: odd sizes, depths across the 256-deep blocks, several column blocks and row passes', (variant) => {
    const shapes = fc.record({
      m: fc.integer({ min: 1, max: 13 }), n: fc.integer({ min: 1, max: 41 }), k: fc.integer({ min: 1, max: 600 }),
      blockCols: fc.constantFrom(8, 16, 24, 256), passRows: fc.constantFrom(4, 8, 1000), seed: fc.integer({ min: 1, max: 1e6 }),
    });
    // relaxed_madd may be fused or not, as the engine's CPU allows: the whole run must be one or the other
    const seen = new Set<string>();
    fc.assert(fc.property(shapes, ({ m, n, k, blockCols, passRows, seed }) => {
      const X = values(m * k, seed), W = values(n * k, seed + 1), Y = values(m * n, seed + 2);
      const fused = orderedProduct(m, n, k, X, W, Y, true), separate = orderedProduct(m, n, k, X, W, Y, false);
      // passBytes so that exactly passRows rows of x fit per pass (gemm.ts: ⌊passBytes / 4(k + nc) / 4⌋·4 rows)
      const nc = Math.min(blockCols, Math.ceil(n / 8) * 8);
      gemmNT(m, n, k, X, W, Y, { variant, blockCols, passBytes: passRows * 4 * (k + nc) });
      const got = Array.from(Y);
      if (variant === 'mul+add') {
        expect(got).toEqual(Array.from(separate));
      } else {
        const which = got.every((v, i) => v === fused[i]) ? 'fused' : got.every((v, i) => v === separate[i]) ? 'separate' : 'neither';
        if (which !== 'fused' || !got.every((v, i) => v === separate[i])) seen.add(which);  // count only runs that tell the two apart
        expect(which).not.toBe('neither');
      }
    }), { numRuns: 60, examples: [[{ m: 4, n: 8, k: 256, blockCols: 8, passRows: 4, seed: 1 }], [{ m: 13, n: 41, k: 513, blockCols: 16, passRows: 4, seed: 2 }]] });
    expect(seen.size).toBeLessThanOrEqual(1);
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
    const tq = fc.oneof(fc.integer({ min: 1, max: PER_HEAD_MIN_QUERIES - 1 }), fc.integer({ min: PER_HEAD_MIN_QUERIES, max: PER_HEAD_MIN_QUERIES + 13 }));
    await expectHostAttentionMatchesReference(attendGemm, { B: 2, H: 3, tq, maxTq: PER_HEAD_MIN_QUERIES + 13, Tk: 70, Dh: 17 }, 40,
      (Tq) => { if (Tq >= PER_HEAD_MIN_QUERIES) host++; else few++; });
    expect([host > 0, few > 0]).toEqual([true, true]);
  });

  it('is what installKernels puts behind nn/kernels.ts for attention and linear = wasm-gemm', () => {
    installKernels({ attention: 'wasm-gemm', linear: 'wasm-gemm' });
    expect(activeKernels().linear).toBe(linearGemm);
    expect(activeKernels().attend).toBe(attendGemm);
  });
});
