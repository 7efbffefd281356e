/**
 * accel/widen.ts (f16/bf16 → fp32 by WebAssembly SIMD, written straight into the tensor's memory) against
 * the reference it replaces, io/safetensors.ts decodeFloatInto then tf.tensor: bit for bit (the widening is
 * exact, so there is no tolerance) for all 2^16 patterns of each 16-bit dtype — NaN payloads, ±0, ±inf,
 * subnormals — at every position of a SIMD step and in the scalar tail, from unaligned bytes, at an offset of
 * the output, across chunk boundaries; the tensors it makes on wasm and cpu; its installation with the kernels
 * (what streamed groups and the decoder workers' slices then use).
 */
import * as tf from '@tensorflow/tfjs-core';
import { newHostFilledTensor } from '../../src/accel/host_tensor';
import { installKernels, REFERENCE_CHOICE } from '../../src/accel/kernels';
import { chooseAccelerations } from '../../src/accel';
import { widenInto, widenKernel, WIDEN_CHUNK } from '../../src/accel/widen';
import { decodeFloatInto } from '../../src/io/safetensors';
import { REFERENCE_WIDENING, setStoredWidening, storedWidening, StoredWeights } from '../../src/io/stored';
import { useBackend } from '../util/fixtures';

type D16 = 'F16' | 'BF16';

/** Every 16-bit pattern once, in the order given by `perm` (little-endian bytes). */
function allPatterns(perm: (i: number) => number = (i) => i): Buffer {
  const b = Buffer.alloc(2 * 65536);
  for (let i = 0; i < 65536; i++) b.writeUInt16LE(perm(i), 2 * i);
  return b;
}

function reference(b: Buffer, dtype: D16 | 'F32', n: number, at = 0): Uint32Array {
  const out = new Float32Array(at + n);
  decodeFloatInto(b, dtype, out, at);
  return new Uint32Array(out.buffer);
}

function simd(b: Uint8Array, dtype: D16 | 'F32', n: number, at = 0): Uint32Array {
  const out = new Float32Array(at + n);
  widenInto(b, dtype, out, at);
  return new Uint32Array(out.buffer);
}

/** Bitwise equality, reporting the first difference as numbers (a NaN payload counts). */
function expectSameBits(a: Uint32Array, e: Uint32Array, what: string): void {
  expect(a.length).toBe(e.length);
  for (let i = 0; i < e.length; i++) if (a[i] !== e[i]) throw new Error(`${what}[${i}]: bits ${a[i].toString(16)}, expected ${e[i].toString(16)}`);
}

describe('accel/widen · widenInto = decodeFloatInto, bit for bit', () => {
  beforeAll(() => expect(widenKernel()).toBe('wasm-simd')); // Node has WebAssembly SIMD: the kernel, not its fallback, is under test

  it.each(['F16', 'BF16'] as const)('%s: all 65536 patterns, in order and shuffled (each pattern in every lane and the tail)', (dtype) => {
    for (const perm of [(i: number) => i, (i: number) => (i * 40503) & 0xffff, (i: number) => (i * 7 + 3) & 0xffff]) {
      const b = allPatterns(perm);
      expectSameBits(simd(b, dtype, 65536), reference(b, dtype, 65536), dtype);
      // the last 1–7 patterns go through the scalar tail
      for (const n of [65535, 65529]) expectSameBits(simd(b.subarray(0, 2 * n), dtype, n), reference(b.subarray(0, 2 * n), dtype, n), `${dtype} n=${n}`);
    }
  });

  it.each(['F16', 'BF16'] as const)('%s: unaligned bytes, an offset into the output, lengths 0–17 and across chunks', (dtype) => {
    const whole = allPatterns((i) => (i * 2654435761) >>> 16);
    for (const n of [0, 1, 7, 8, 9, 15, 16, 17, WIDEN_CHUNK - 1, WIDEN_CHUNK, WIDEN_CHUNK + 1, 2 * WIDEN_CHUNK + 5]) {
      const odd = Buffer.alloc(2 * n + 1).subarray(1);                // byteOffset 1: not 2-aligned
      whole.copy(odd, 0, 0, 2 * n);
      expectSameBits(simd(odd, dtype, n, 3), reference(Buffer.from(odd), dtype, n, 3), `${dtype} n=${n}`);
    }
    expect(() => widenInto(whole.subarray(0, 8), dtype, new Float32Array(5), 2)).toThrow(/do not fit/);
  });

  it('F32 bytes are copied as they are', () => {
    const b = Buffer.from(new Float32Array([1.5, -0, NaN, Infinity, 2 ** -149]).buffer);
    expectSameBits(simd(b, 'F32', 5), reference(b, 'F32', 5), 'F32');
  });
});

describe('accel/widen · the tensors and the installation', () => {
  afterEach(() => installKernels(REFERENCE_CHOICE));

  it.each(['wasm', 'cpu'] as const)('newHostFilledTensor on %s: the values the fill writes; a fill that throws leaves no tensor', async (backend) => {
    await useBackend(backend);
    const t = newHostFilledTensor([2, 3], (out) => out.set([1, 2, 3, 4, 5, 6]));
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(await t.data())).toEqual([1, 2, 3, 4, 5, 6]);
    t.dispose();
    const before = tf.memory().numTensors;
    expect(() => newHostFilledTensor([4], () => { throw new Error('read failed'); })).toThrow('read failed');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('installed with the kernels: a streamed f16/bf16 group materialises the reference\'s very tensors through it', async () => {
    await useBackend('wasm');
    expect(chooseAccelerations('wasm').kernels.widen).toBe('wasm-simd');
    expect(chooseAccelerations('wasm').line).toMatch(/, widen=wasm-simd, /);
    expect(chooseAccelerations('wasm', { widen: 'reference' }).line).not.toMatch(/widen/);
    const patterns = allPatterns((i) => (i * 40503) & 0xffff);
    for (const dtype of ['F16', 'BF16'] as const) {
      const group = new StoredWeights<{ w: tf.Tensor }>('g', new Map([['w', { dtype, shape: [256, 256], bytes: patterns }]]));
      installKernels({ ...REFERENCE_CHOICE, widen: 'wasm-simd' });
      expect(storedWidening().kind).toBe('wasm-simd');
      const fast = group.materialise().w;
      setStoredWidening();
      expect(storedWidening()).toBe(REFERENCE_WIDENING);
      const ref = group.materialise().w;
      expectSameBits(new Uint32Array((await fast.data() as Float32Array).buffer), new Uint32Array((await ref.data() as Float32Array).buffer), dtype);
      tf.dispose([fast, ref]);
    }
  });
});
