/**
 * The start-up choice of accelerations (src/accel/index.ts): what each backend gets by default, the line
 * the CLI prints, and that installing puts exactly those kernels behind nn/kernels.ts.
 */
import { HostKvCache, kvCacheFor } from '../../src/accel';
import { chooseAccelerations, installAccelerations } from '../../src/accel';
import { installedKernels, REFERENCE_CHOICE } from '../../src/accel/kernels';
import { attendPerHead } from '../../src/accel/attention';
import { linearTransposePolicy } from '../../src/accel/linear';
import { attendGemm, linearGemm } from '../../src/accel/gemm';
import { activeKernels, REFERENCE_KERNELS } from '../../src/nn/kernels';
import { HeroError } from '../../src/core/errors';

describe('installAccelerations', () => {
  afterEach(() => { installAccelerations('cpu', { attention: 'batched', linear: 'reference' }); });

  it('by default: our WebAssembly product for attention and linear on wasm and cpu (the reference on webgpu), the vision tower in-process', () => {
    expect(chooseAccelerations('wasm').line).toBe('accel: attention=wasm-gemm, linear=wasm-gemm (fma), widen=wasm-simd, vision=in-process');
    expect(chooseAccelerations('cpu').line).toBe('accel: attention=wasm-gemm, linear=wasm-gemm (fma), widen=wasm-simd, vision=in-process');
    expect(chooseAccelerations('webgpu').kernels).toEqual({ attention: 'batched', linear: 'reference', widen: 'wasm-simd' }); // no Wᵀ copy on webgpu (accel/binding_split.ts)
    expect(chooseAccelerations('wasm', { visionWorkers: 2 }).line).toBe('accel: attention=wasm-gemm, linear=wasm-gemm (fma), widen=wasm-simd, vision=2 workers');
  });

  it('the decoder in-process by default (the line unchanged), in N workers when asked', () => {
    expect(chooseAccelerations('wasm').decoderWorkers).toBe(1);
    expect(chooseAccelerations('wasm', { decoderWorkers: 2 }).decoderWorkers).toBe(2);
    expect(chooseAccelerations('wasm', { visionWorkers: 2, decoderWorkers: 2 }).line)
      .toBe('accel: attention=wasm-gemm, linear=wasm-gemm (fma), widen=wasm-simd, vision=2 workers, decoder=2 workers');
    expect(chooseAccelerations('cpu', { decoderWorkers: 1 }).line).toBe('accel: attention=wasm-gemm, linear=wasm-gemm (fma), widen=wasm-simd, vision=in-process');
  });

  it('an explicit choice wins over the default', () => {
    expect(chooseAccelerations('wasm', { attention: 'batched', linear: 'reference', widen: 'reference' }).kernels).toEqual({ ...REFERENCE_CHOICE, widen: 'reference' });
    expect(chooseAccelerations('cpu', { attention: 'per-head' }).line).toBe('accel: attention=per-head (cpu), linear=wasm-gemm (fma), widen=wasm-simd, vision=in-process');
  });

  it('installs the chosen kernels, and only installing does', () => {
    chooseAccelerations('wasm');
    expect(activeKernels()).toEqual(REFERENCE_KERNELS);
    installAccelerations('wasm');
    expect(installedKernels()).toEqual({ attention: 'wasm-gemm', linear: 'wasm-gemm', widen: 'wasm-simd' });
    expect(activeKernels().attend).toBe(attendGemm);
    expect(activeKernels().linear).toBe(linearGemm);
    installAccelerations('wasm', { attention: 'per-head', linear: 'transpose-policy' });
    expect(activeKernels().attend).toBe(attendPerHead);
    expect(activeKernels().linear).toBe(linearTransposePolicy);
    installAccelerations('cpu', { attention: 'batched', linear: 'reference' });
    expect(activeKernels()).toEqual(REFERENCE_KERNELS);
  });

  it('rejects an unknown kernel or a worker count that is not a positive integer', () => {
    expect(() => chooseAccelerations('wasm', { attention: 'fast' as never })).toThrow(HeroError);
    expect(() => chooseAccelerations('wasm', { linear: 'tiled' as never })).toThrow(/linear: 'tiled'/);
    for (const w of [0, -1, 1.5, NaN]) expect(() => chooseAccelerations('wasm', { visionWorkers: w })).toThrow(/vision workers/);
    for (const w of [0, -1, 1.5, NaN]) expect(() => chooseAccelerations('wasm', { decoderWorkers: w })).toThrow(/decoder workers/);
  });
});

describe('accel/index · kvCacheFor', () => {
  it('a host KV cache with streamed weights on wasm and cpu; the backend cache otherwise and on webgpu (no synchronous reads there)', () => {
    const made = kvCacheFor('streamed', 'wasm')!(3);
    expect(made).toBeInstanceOf(HostKvCache);
    made.dispose();
    expect(kvCacheFor('streamed', 'cpu')!(2)).toBeInstanceOf(HostKvCache);
    expect(kvCacheFor('streamed', 'webgpu')).toBeUndefined();
    expect(kvCacheFor('resident', 'wasm')).toBeUndefined();
  });
});
