/**
 * The BLAS kernel (src/accel/blas.ts) against the references it replaces — nn/linear.ts `linear` and
 * nn/attention.ts `attend` — on random shapes with odd sizes, with and without bias, masks and probabilities;
 * its choice at start-up (src/accel/index.ts): the line it prints, and the one line saying why when no
 * library is found (the finder pointed at a name that does not exist).
 *
 * The kernel specs need a BLAS library (libopenblas0-pthread; .ci/run installs it): without one they are
 * skipped, and the reason is printed. The fallback specs run everywhere.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { linear as linearReference } from '../../src/nn/linear';
import { activeKernels, REFERENCE_KERNELS } from '../../src/nn/kernels';
import { attendBlas, GEMV_MAX_ROWS, blasCandidates, blasThreadsFor, findBlas, linearBlas, useBlas, BLAS_ENV, DEFAULT_BLAS_LIBRARIES } from '../../src/accel/blas';
import { chooseAccelerations, installAccelerations, requestedAccel, ACCEL_ENV } from '../../src/accel';
import { expectHostAttentionMatchesReference } from '../util/host_attention';
import { installedKernels, REFERENCE_CHOICE, installKernels } from '../../src/accel/kernels';
import { HeroError } from '../../src/core/errors';
import { tidyAsync } from '../../src/core/scope';
import { leaveBackend, SYNC_READ_BACKENDS, useBackend } from '../util/fixtures';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';

const found = findBlas();
const blas = typeof found === 'string' ? undefined : found;
if (!blas) console.warn(`spec/accel/blas.spec.ts: the BLAS kernel specs are skipped: ${found}`);
const describeBlas = blas ? describe.each(SYNC_READ_BACKENDS) : describe.skip.each(SYNC_READ_BACKENDS);

/** A name no system has: the finder's failure without uninstalling anything. */
const BOGUS = 'libhero-lvlm-no-such-blas.so.0';

describeBlas('NN-linear Attn-1 · the BLAS kernel equals the reference (%s backend)', (backend) => {
  beforeAll(async () => { await useBackend(backend, { syncReads: true }); useBlas(blas!.library, 1); }); // host reads by design
  afterAll(async () => { installKernels(REFERENCE_CHOICE); await leaveBackend(); });

  const rand = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);

  it('linear: x·Wᵀ + b for any leading shape and odd sizes, with and without bias, row by row (sgemv) and as one product (sgemm)', async () => {
    let gemv = 0, gemm = 0;
    const shapes = fc.record({
      lead: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 3 }),
      inF: fc.integer({ min: 1, max: 67 }), outF: fc.integer({ min: 1, max: 67 }), bias: fc.boolean(), seed: fc.integer({ min: 1, max: 1e6 }),
    });
    await fc.assert(fc.asyncProperty(shapes, ({ lead, inF, outF, bias, seed }) => tidyAsync(async () => {
      const x = rand([...lead, inF], seed);
      const p = { weight: rand([outF, inF], seed + 1) as tf.Tensor2D, bias: bias ? rand([outF], seed + 2) as tf.Tensor1D : undefined };
      const y = linearBlas(p, x);
      if (x.size / inF > GEMV_MAX_ROWS) gemm++; else gemv++;
      expect(y.shape).toEqual([...lead, outF]);
      await expectCloseAsync(y, linearReference(p, x), TOL.sameMath, 'linear');
    })), { numRuns: 40, examples: [[{ lead: [GEMV_MAX_ROWS], inF: 9, outF: 5, bias: true, seed: 1 }], [{ lead: [GEMV_MAX_ROWS + 1], inF: 9, outF: 5, bias: false, seed: 2 }], [{ lead: [], inF: 67, outF: 3, bias: true, seed: 3 }]] });
    expect([gemv > 0, gemm > 0]).toEqual([true, true]);
  });

  it('linear: one larger product past the BLAS\'s blocking (257 rows × 515 in × 131 out), and a product with no rows', async () => {
    await tidyAsync(async () => {
      // W at the models' scale (std 1/√in, as an initialised or trained layer): unit-scale outputs, for which
      // TOL.sameMath's absolute part is meant (with std-1 weights the 515-term sums reach ±70 and their
      // rounding in another order reaches 5e-5 next to values near 0)
      const x = rand([257, 515], 5);
      const p = { weight: tf.mul(rand([131, 515], 6), 1 / Math.sqrt(515)) as tf.Tensor2D, bias: rand([131], 7) as tf.Tensor1D };
      await expectCloseAsync(linearBlas(p, x), linearReference(p, x), TOL.sameMath, 'large linear');
      const none = linearBlas(p, tf.zeros([0, 515]));
      expect(none.shape).toEqual([0, 131]);
    });
  });

  it('attend: out and probs for any (B, H, Tq, Tk, Dh), 2-D and broadcast 4-D masks, q scaled first or not, in blocks of any number of heads', async () => {
    await expectHostAttentionMatchesReference(attendBlas, { B: 3, H: 4, tq: fc.integer({ min: 1, max: 19 }), maxTq: 19, Tk: 23, Dh: 17 }, 60);
  });

  it('installed behind nn/kernels by the choice (accel blas), and the reference again after', async () => {
    const a = installAccelerations(backend, { accel: 'blas' });
    expect(a.kernels).toEqual({ attention: 'blas', linear: 'blas', widen: 'wasm-simd', blas: { library: blas!.library, threads: blasThreadsFor(1) } });
    expect(activeKernels().linear).toBe(linearBlas);
    expect(activeKernels().attend).toBe(attendBlas);
    expect(blas!.threads()).toBe(blasThreadsFor(1));
    installKernels(REFERENCE_CHOICE);
    expect(activeKernels()).toEqual(REFERENCE_KERNELS);
  });
});

describe('accel/index · the BLAS choice at start-up', () => {
  afterEach(() => { installKernels(REFERENCE_CHOICE); });

  (blas ? it : it.skip)('auto and blas on wasm and cpu: the BLAS for linear and attention, and the line names library, core and threads', () => {
    for (const backend of ['wasm', 'cpu']) {
      for (const accel of ['auto', 'blas'] as const) {
        const a = chooseAccelerations(backend, { accel, visionWorkers: 2 });
        expect(a.fallback).toBeUndefined();
        expect(a.kernels).toMatchObject({ attention: 'blas', linear: 'blas', blas: { library: blas!.library, threads: blasThreadsFor(2) } });
        const n = blasThreadsFor(2);
        expect(a.line).toBe(`accel: linear=${blas!.kind} (${blas!.library}, core ${blas!.core}, ${n} thread${n === 1 ? '' : 's'}), attention=${blas!.kind}, widen=wasm-simd, vision=2 workers`);
      }
    }
    // an explicit kernel still wins over the mode's default
    expect(chooseAccelerations('wasm', { accel: 'auto', attention: 'per-head' }).kernels.attention).toBe('per-head');
  });

  it('no library found: auto falls back to the tfjs kernels and says why in one line; blas is an error', () => {
    const a = chooseAccelerations('wasm', { accel: 'auto', blasLibraries: [BOGUS] });
    expect(a.kernels).toEqual({ attention: 'wasm-gemm', linear: 'wasm-gemm', widen: 'wasm-simd' });
    expect(a.line).toBe('accel: attention=wasm-gemm, linear=wasm-gemm (fma), widen=wasm-simd, vision=in-process');
    expect(a.fallback).toMatch(new RegExp(`^accel: no BLAS library, so linear runs on wasm-gemm \\(fma\\) and attention on wasm-gemm: none of ${BOGUS.replace(/\./g, '\\.')} could be used \\(${BOGUS.replace(/\./g, '\\.')}: .+\\) \\(apt-get install libopenblas0-pthread`));
    expect(a.fallback).not.toMatch(/\n/);
    expect(chooseAccelerations('cpu', { accel: 'auto', blasLibraries: [BOGUS] }).fallback).toMatch(/linear runs on wasm-gemm \(fma\) and attention on wasm-gemm: /);
    expect(() => chooseAccelerations('wasm', { accel: 'blas', blasLibraries: [BOGUS] })).toThrow(new RegExp(`^accel 'blas' \\(--accel, \\$HERO_LVLM_ACCEL\\): no BLAS library: none of ${BOGUS.replace(/\./g, '\\.')}`));
  });

  it('wasm (the library default) never looks; webgpu: auto uses its own kernels silently, blas is an error; a blas kernel without a library is refused', () => {
    expect(chooseAccelerations('wasm', { blasLibraries: [BOGUS] }).fallback).toBeUndefined();
    expect(chooseAccelerations('wasm', { accel: 'wasm', blasLibraries: [BOGUS] }).kernels.linear).toBe('wasm-gemm');
    const gpu = chooseAccelerations('webgpu', { accel: 'auto' });
    expect([gpu.fallback, gpu.kernels]).toEqual([undefined, { attention: 'batched', linear: 'reference', widen: 'wasm-simd' }]);
    expect(() => chooseAccelerations('webgpu', { accel: 'blas' })).toThrow(/not webgpu/);
    expect(() => chooseAccelerations('wasm', { linear: 'blas' })).toThrow(HeroError);
    expect(() => installKernels({ attention: 'batched', linear: 'blas' })).toThrow(/KernelChoice\.blas/);
    expect(installedKernels()).toEqual(REFERENCE_CHOICE);
    expect(() => useBlas(BOGUS, 1)).toThrow(new RegExp(`^BLAS kernel: none of ${BOGUS.replace(/\./g, '\\.')}`));
  });

  it('the mode from --accel, else $HERO_LVLM_ACCEL, else auto; a bad value names its source', () => {
    expect(requestedAccel(undefined, {})).toBe('auto');
    expect(requestedAccel(undefined, { [ACCEL_ENV]: 'wasm' })).toBe('wasm');
    expect(requestedAccel('blas', { [ACCEL_ENV]: 'wasm' })).toBe('blas');
    expect(() => requestedAccel('fast', {})).toThrow("--accel: 'fast' is not one of auto, blas, wasm");
    expect(() => requestedAccel(undefined, { [ACCEL_ENV]: 'gpu' })).toThrow("$HERO_LVLM_ACCEL: 'gpu' is not one of auto, blas, wasm");
    expect(() => chooseAccelerations('wasm', { accel: 'fast' as never })).toThrow(/accel: 'fast'/);
  });

  it('the libraries tried: $HERO_LVLM_BLAS alone when set, else OpenBLAS, MKL, BLIS; threads shared among concurrent callers', () => {
    expect(blasCandidates({ [BLAS_ENV]: '/opt/lib/libmkl_rt.so' })).toEqual(['/opt/lib/libmkl_rt.so']);
    expect(blasCandidates({})).toEqual(DEFAULT_BLAS_LIBRARIES);
    expect(DEFAULT_BLAS_LIBRARIES[0]).toBe('libopenblas.so.0');
    expect([blasThreadsFor(1, 2), blasThreadsFor(2, 2), blasThreadsFor(3, 2), blasThreadsFor(2, 16)]).toEqual([2, 1, 1, 8]);
  });
});
