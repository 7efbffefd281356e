/**
 * accel/rows.ts (one-row products straight from stored f16/bf16/f32 bytes) against the reference it replaces:
 * widen exactly (io/safetensors.ts decodeFloat), then nn/linear.ts linear. Every f16 and bf16 bit pattern in
 * every SIMD lane and in the scalar tail; random shapes with odd lengths, every float class mixed in, with
 * and without a bias, both kernels (WebAssembly SIMD and plain JS), chunked and not; the product behind
 * nn/kernels.ts linear (installStoredRows); f16's faster loop (x pre-scaled) bit for bit against the plain one.
 * And the committed wasm bytes are what rows.wat assembles to.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { assemble, moduleSource, ROWS } from '../../scripts/build-wasm';
import { installStoredRows, rowProduct, rowsKernel, storedLinear, storedMatrix, storedMatrixOf, type RowsDType, type RowsKernel } from '../../src/accel/rows';
import { decodeFloat, f16Table } from '../../src/io/safetensors';
import { linear as linearReference } from '../../src/nn/linear';
import { activeKernels, linear, setKernels, REFERENCE_KERNELS } from '../../src/nn/kernels';
import { useBackend } from '../util/fixtures';

const KERNELS: readonly RowsKernel[] = ['wasm-simd', 'js'];
const ELEM: Record<RowsDType, number> = { F16: 2, BF16: 2, F32: 4 };

/**
 * Two fp32 sums of the same n products in different orders: each is within γ_n·Σ|wᵢxᵢ| of the exact sum
 * (γ_n ≈ n·2⁻²⁴, the classic bound for recursive summation in any order; the products are rounded alike in
 * both), so they differ by at most 2·n·2⁻²⁴·Σ|wᵢxᵢ|, plus n·2⁻¹⁴⁹ for products that fall below the fp32
 * subnormal range. NaN and ±inf must match exactly: their class does not depend on the order as long as no
 * finite product or partial sum overflows, so the test data keeps |w| ≤ 2¹⁰⁰ (f16's largest, 65504, included)
 * — an overflow would be a difference of any two summation orders (tfjs-cpu even sums in float64), not a bug.
 */
const SUM_ORDER_ULPS = 2 * 2 ** -24;

function expectSameMath(actual: Float32Array, expected: Float32Array, absSum: Float64Array, n: number, what: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) throw new Error(`${what}[${i}]: ${a}, expected ${e}`);
      continue;
    }
    const bound = SUM_ORDER_ULPS * n * absSum[i] + n * 2 ** -149;
    if (!(Math.abs(a - e) <= bound)) throw new Error(`${what}[${i}]: ${a}, expected ${e} (|Δ| ${Math.abs(a - e)} > ${bound})`);
  }
}

/** Random stored bits of a dtype: mostly unit-scale values, and now and then a special class. */
function randomBits(dtype: RowsDType, n: number, seed: number, specials: boolean): Uint8Array {
  let s = seed >>> 0;
  const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const bytes = new Uint8Array(n * ELEM[dtype]);
  const dv = new DataView(bytes.buffer);
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < n; i++) {
    f32[0] = (rnd() * 2 - 1) * 4;
    let bits16 = dtype === 'F16' ? f16BitsOf(f32[0]) : u32[0] >>> 16;
    if (specials && rnd() < 0.03) {
      // a subnormal, ±0, ±inf, a NaN, a large finite value (f16's largest; 2^100 for bf16 and f32)
      const pick = Math.floor(rnd() * 6);
      const sign = rnd() < 0.5 ? 0x8000 : 0;
      const sub = 1 + Math.floor(rnd() * (dtype === 'F16' ? 0x3fe : 0x7e));
      const special = dtype === 'F16' ? [sub, 0, 0x7c00, 0x7e00 | (sub & 0x1ff), 0x7bff, sub] : [sub, 0, 0x7f80, 0x7fc0 | (sub & 0x3f), 0x7180, sub];
      bits16 = sign | special[pick];
      f32[0] = dtype === 'F16' ? f16Table[bits16] : new Float32Array(new Uint32Array([bits16 << 16]).buffer)[0];
    }
    if (dtype === 'F32') dv.setFloat32(4 * i, f32[0], true);
    else dv.setUint16(2 * i, bits16, true);
  }
  return bytes;
}

/** fp32 → nearest f16 bits (only for test data: any rounding will do). */
function f16BitsOf(x: number): number {
  let best = 0;
  let lo = 0, hi = 0x7bff;
  const a = Math.abs(x);
  while (lo <= hi) { const mid = (lo + hi) >> 1; if (f16Table[mid] <= a) { best = mid; lo = mid + 1; } else hi = mid - 1; }
  return (x < 0 ? 0x8000 : 0) | best;
}

/** The reference: widen exactly, then nn/linear.ts linear on the cpu backend. Also Σ|wᵢxᵢ| per output. */
function reference(bytes: Uint8Array, dtype: RowsDType, rows: number, cols: number, x: Float32Array, m: number, bias?: Float32Array): { y: Float32Array; absSum: Float64Array } {
  const w = decodeFloat(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), dtype);
  const y = tf.tidy(() => linearReference({ weight: tf.tensor2d(w, [rows, cols]), bias: bias && tf.tensor1d(bias) }, tf.tensor2d(x, [m, cols])).dataSync() as Float32Array);
  const absSum = new Float64Array(m * rows);
  for (let j = 0; j < m; j++) for (let r = 0; r < rows; r++) {
    let s = bias ? Math.abs(bias[r]) : 0;
    for (let i = 0; i < cols; i++) s += Math.abs(w[r * cols + i] * x[j * cols + i]);
    absSum[j * rows + r] = s;
  }
  return { y, absSum };
}

beforeAll(async () => { await useBackend('cpu'); });

describe('rows.wasm is what rows.wat assembles to', () => {
  it('scripts/build-wasm.ts run now writes the committed src/accel/rows_wasm.ts byte for byte', async () => {
    expect(moduleSource(ROWS, await assemble(ROWS))).toBe(fs.readFileSync(ROWS.out, 'utf8'));
  });

  it('this Node has WebAssembly SIMD, so the wasm kernel is the one that runs', () => {
    expect(rowsKernel()).toBe('wasm-simd');
  });
});

describe('every f16 and bf16 bit pattern is widened exactly, in every SIMD lane and in the tail', () => {
  for (const dtype of ['F16', 'BF16'] as const) {
    const values = dtype === 'F16' ? f16Table : new Float32Array(Uint32Array.from({ length: 65536 }, (_, h) => h << 16).buffer);
    for (const kernel of KERNELS) {
      // cols = 17: columns 0–15 go through the 16-wide loop (each SIMD lane of each accumulator), 16 through the
      // scalar tail (the js kernel has no lanes: 0 and 16).
      it(`${dtype}, ${kernel}: W[r, k] = pattern r, +0 elsewhere, x = ones → y[r] = the pattern's value, for each column k of 17`, () => {
        const cols = 17, rows = 65536;
        for (const k of kernel === 'js' ? [0, 16] : Array.from({ length: cols }, (_, i) => i)) {
          const bytes = new Uint8Array(rows * cols * 2);
          const h = new Uint16Array(bytes.buffer);
          for (let r = 0; r < rows; r++) h[r * cols + k] = r;
          const y = rowProduct(storedMatrix(bytes, dtype, [rows, cols]), new Float32Array(cols).fill(1), 1, kernel);
          for (let r = 0; r < rows; r++) {
            const e = values[r];
            // +0 + (−0) is +0 in any order: a −0 pattern comes back as +0 (the reference's matMul gives +0 too)
            const ok = Number.isNaN(e) ? Number.isNaN(y[r]) : y[r] === e;
            if (!ok) throw new Error(`${dtype} pattern 0x${r.toString(16)} in column ${k}: ${y[r]}, expected ${e}`);
          }
        }
      });
    }
  }
});

describe('rowProduct = widen then nn/linear.ts linear (same math, another order of the fp32 sums)', () => {
  for (const dtype of ['F16', 'BF16', 'F32'] as const) {
    for (const kernel of KERNELS) {
      it(`${dtype}, ${kernel}: random shapes (odd lengths), every float class, with and without bias, m rows of x, small chunks`, () => {
        fc.assert(fc.property(
          fc.integer({ min: 1, max: 37 }), fc.integer({ min: 1, max: 75 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.boolean(),
          fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(1, 64, 1000, 1 << 20),
          (rows, cols, m, withBias, specials, seed, chunk) => {
            const bytes = randomBits(dtype, rows * cols, seed, specials);
            const x = Float32Array.from({ length: m * cols }, (_, i) => Math.sin(seed + 7 * i) * 2);
            const bias = withBias ? Float32Array.from({ length: rows }, (_, i) => Math.cos(seed + i)) : undefined;
            const { y: e, absSum } = reference(bytes, dtype, rows, cols, x, m, bias);
            const got = rowProduct(storedMatrix(bytes, dtype, [rows, cols]), x, m, kernel, chunk);
            const a = bias ? got.map((v, i) => v + bias[i % rows]) : got;
            expectSameMath(a, e, absSum, cols + 1, `${dtype} ${rows}×${cols}`);
          }), { numRuns: 60 });
      });
    }
  }

  it('a shard: rows [r0, r1) and columns [c0, c1) of the stored tensor, as readShard cuts them', () => {
    const rows = 13, cols = 21, dtype = 'F16' as const;
    const bytes = randomBits(dtype, rows * cols, 5, true);
    const whole = decodeFloat(Buffer.from(bytes), dtype);
    const x = Float32Array.from({ length: 6 }, (_, i) => i - 2.5);
    const got = rowProduct(storedMatrix(bytes, dtype, [rows, cols], [3, 11], [7, 13]), x, 1, 'wasm-simd', 40);
    const sub = new Float32Array(8 * 6);
    for (let r = 0; r < 8; r++) for (let c = 0; c < 6; c++) sub[r * 6 + c] = whole[(3 + r) * cols + 7 + c];
    const e = tf.tidy(() => linearReference({ weight: tf.tensor2d(sub, [8, 6]) }, tf.tensor2d(x, [1, 6])).dataSync() as Float32Array);
    const absSum = Float64Array.from({ length: 8 }, (_, r) => sub.slice(r * 6, r * 6 + 6).reduce((s, w, c) => s + Math.abs(w * x[c]), 0));
    expectSameMath(got, e, absSum, 6, 'shard');
  });
});

describe('f16: dot_f16_scaled (x pre-scaled by 2^112) = dot_f16 bit for bit, and its fall-backs', () => {
  const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

  it('random shapes, every f16 class (inf/NaN chunks fall back), x with subnormal, tiny, large (≥ 2^16: no scaling) and non-finite values, small chunks', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 37 }), fc.integer({ min: 1, max: 75 }), fc.integer({ min: 1, max: 3 }), fc.boolean(),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(1, 64, 1000, 1 << 20), fc.constantFrom('unit', 'subnormal', 'large', 'nonfinite'),
      (rows, cols, m, specials, seed, chunk, xKind) => {
        const bytes = randomBits('F16', rows * cols, seed, specials);
        const x = Float32Array.from({ length: m * cols }, (_, i) => {
          const v = Math.sin(seed + 7 * i) * 2;
          if (i % 5 !== 2) return v;
          return xKind === 'subnormal' ? v * 2 ** -140 : xKind === 'large' ? v * 2 ** 20 : xKind === 'nonfinite' ? (i % 2 ? Infinity : NaN) : v;
        });
        const w = storedMatrix(bytes, 'F16', [rows, cols]);
        const fast = rowProduct(w, x, m, 'wasm-simd', chunk), plain = rowProduct(w, x, m, 'wasm-simd', chunk, false);
        expect(bits(fast)).toEqual(bits(plain));
      }), { numRuns: 200 });
  });

  it('every finite f16 pattern times x values across the fp32 range (2^-149 … 65535 < 2^16) in every lane and the tail: the exact product, rounded once', () => {
    const cols = 17, rows = 0x7c00; // the non-negative finite patterns; W[r, k] = pattern r at one column k
    const xs = [2 ** -149, 3 * 2 ** -140, 2 ** -126, 1.5e-30, 0.1, 1, -3.7, 1234.5, 65535];
    for (const k of [0, 5, 16]) {
      const bytes = new Uint8Array(rows * cols * 2);
      const h = new Uint16Array(bytes.buffer);
      for (let r = 0; r < rows; r++) h[r * cols + k] = r;
      for (const xv of xs) {
        const x = new Float32Array(cols).fill(0);
        x[k] = xv;
        const y = rowProduct(storedMatrix(bytes, 'F16', [rows, cols]), x, 1, 'wasm-simd');
        for (let r = 0; r < rows; r++) {
          const e = Math.fround(f16Table[r] * Math.fround(xv));
          if (!Object.is(y[r], e) && !(y[r] === 0 && e === 0)) throw new Error(`pattern 0x${r.toString(16)} × ${xv} in column ${k}: ${y[r]}, expected ${e}`);
        }
      }
    }
  });
});

describe('behind nn/kernels.ts linear', () => {
  afterEach(() => setKernels(REFERENCE_KERNELS));

  it('installStoredRows sends storedLinear params to the kernel, others to the linear installed before; x [2, 3, in] keeps its leading shape', () => {
    installStoredRows();
    installStoredRows(); // idempotent: wraps once
    const rows = 5, cols = 19;
    const bytes = randomBits('BF16', rows * cols, 9, false);
    const p = storedLinear(storedMatrix(bytes, 'BF16', [rows, cols]), tf.tensor1d([1, 2, 3, 4, 5]));
    expect(storedMatrixOf(p)?.rows).toBe(rows);
    const x = tf.randomNormal([2, 3, cols], 0, 1, 'float32', 3);
    const w = tf.tensor2d(decodeFloat(Buffer.from(bytes), 'BF16'), [rows, cols]);
    const [got, plain, e] = tf.tidy(() => [linear(p, x), linear({ weight: w, bias: p.bias }, x), linearReference({ weight: w, bias: p.bias }, x)]);
    expect(got.shape).toEqual([2, 3, rows]);
    const ws = w.dataSync(), xs = x.dataSync();
    const absSum = Float64Array.from({ length: 6 * rows }, (_, k) => {
      const j = Math.floor(k / rows), r = k % rows;
      let s = Math.abs(p.bias!.dataSync()[r]);
      for (let i = 0; i < cols; i++) s += Math.abs(ws[r * cols + i] * xs[j * cols + i]);
      return s;
    });
    expectSameMath(got.dataSync() as Float32Array, e.dataSync() as Float32Array, absSum, cols + 1, 'stored');
    expect(Array.from(plain.dataSync())).toEqual(Array.from(e.dataSync()));
    expect((activeKernels().linear as { storedRows?: boolean }).storedRows).toBe(true);
    tf.dispose([p.bias!, x, w, got, plain, e]);
  });

  it('a stored weight that reaches another product fails with a line naming the cause, not garbage', () => {
    const p = storedLinear(storedMatrix(new Uint8Array(8), 'F16', [2, 2]));
    expect(() => tf.tidy(() => linearReference(p, tf.zeros([1, 2])))).toThrow(/stored-bytes weight/);
  });
});
