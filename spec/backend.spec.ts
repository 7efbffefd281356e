import { requestedBackend, BACKEND_ENV, initBackend, xnnpackFailure } from '../src/backend';
import { HeroError } from '../src/core/errors';
import * as fs from 'fs';
import * as path from 'path';
import { diagnoseWebGpu, SWIFTSHADER, WEBGPU_ADAPTER_ENV } from '../src/accel/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { FORBID_SYNC_READS_ENV, forbidSyncReadsFromEnv, imagePath, leaveBackend, modelDir, parseTestBackends, useBackend } from './util/fixtures';
import { MEMORY_ENV } from '../src/runtime/memory';

// A trace whose inputs all pass the checks made before start-up, so the backend is the first thing that can fail;
// with $HERO_LVLM_AVAILABLE_MEMORY at 1 byte the memory plan then refuses it right after the backend started (nothing loaded).
const OUT = path.join(require('os').tmpdir(), `hero-backend-spec-${process.pid}.safetensors`);
const TRACE = ['trace', '--model', modelDir('llava-next-tiny'), '--image', imagePath('wide_h30_w100'), '--input-ids', '1,IMG,2', '--method', 'none', '--out', OUT];
const NO_MEMORY = { [MEMORY_ENV]: '1' };
import { runCli } from './util/cli';

describe('backend selection', () => {
  it('flag over environment over the wasm default; unknown names are errors naming their source', () => {
    const saved = process.env[BACKEND_ENV];
    try {
      delete process.env[BACKEND_ENV];
      expect(requestedBackend()).toBe('wasm');
      process.env[BACKEND_ENV] = 'cpu';
      expect(requestedBackend()).toBe('cpu');
      expect(requestedBackend('wasm')).toBe('wasm');
      process.env[BACKEND_ENV] = 'webgl';
      expect(() => requestedBackend()).toThrow(/\$HERO_LVLM_BACKEND: unknown backend 'webgl'/);
      expect(() => requestedBackend('metal')).toThrow(/--backend: unknown backend 'metal'/);
    } finally {
      if (saved === undefined) delete process.env[BACKEND_ENV];
      else process.env[BACKEND_ENV] = saved;
    }
  });

  it('a backend that cannot initialise is an error, not a silent fallback (CLI)', () => {
    const r = runCli(['flops', '--tokens', '10'], { env: {} });
    expect(r.code).toBe(0); // flops needs no backend
    let tfjsNode = true;
    try { require.resolve('@tensorflow/tfjs-node'); } catch { tfjsNode = false; }
    if (!tfjsNode) {
      const t = runCli([...TRACE, '--backend', 'tfjs-node']);
      expect(t.code).not.toBe(0);
      expect(t.stderr.trim()).toMatch(/^hero-lvlm: error: backend needs the optional package @tensorflow\/tfjs-node, which is not installed/);
    }
    const e = runCli(TRACE, { env: { [BACKEND_ENV]: 'cpu', ...NO_MEMORY } });
    expect(e.stderr).toMatch(/^backend: cpu$/m); // the backend in use is reported
  });
});

describe('--backend webgpu through the CLI', () => {
  const args = TRACE;
  // What this machine has decides which of the two outcomes is right; both are asserted.
  const here = diagnoseWebGpu();
  it.each([['--backend', ['--backend', 'webgpu'], {}], [`$${BACKEND_ENV}`, [], { [BACKEND_ENV]: 'webgpu' }]] as const)('via %s: no adapter → one line naming why and a non-zero exit; an adapter → its name and limits', (_via, flag, env) => {
    const r = runCli([...args, ...flag], { env: { ...env, ...NO_MEMORY } });
    expect(r.code).not.toBe(0);
    if (!here.ok) {
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^hero-lvlm: error: backend 'webgpu' unavailable: (package missing|no Vulkan loader|no adapter): /)]);
      expect(r.stderr).toContain(`unavailable: ${here.reason}:`);
    } else {
      expect(r.stderr).toMatch(/^webgpu adapter: .*; limits: maxStorageBufferBindingSize=.*maxBufferSize=/m);
      expect(r.stderr).toMatch(/^backend: webgpu$/m);
    }
  });
});

describe('--webgpu-adapter swiftshader / $HERO_LVLM_WEBGPU_ADAPTER through the CLI (docs/gpu.md "WebGPU in CI")', () => {
  const args = TRACE;
  // Debian's chromium package decides which outcome is right here; both are asserted.
  const driver = fs.existsSync(path.join(SWIFTSHADER.dir, SWIFTSHADER.icd)) && fs.existsSync(path.join(SWIFTSHADER.dir, SWIFTSHADER.loader));
  const packages = ['@tensorflow/tfjs-backend-webgpu', 'webgpu'].every((p) => { try { require.resolve(`${p}/package.json`); return true; } catch { return false; } });
  // the loader's variables are cleared, so the software driver is found by the flag alone, not by hand-set paths
  const bare = { VK_ICD_FILENAMES: '', VK_DRIVER_FILES: '', LD_LIBRARY_PATH: '' };
  it.each([['--webgpu-adapter', ['--webgpu-adapter', 'swiftshader'], {}], [`$${WEBGPU_ADAPTER_ENV}`, [], { [WEBGPU_ADAPTER_ENV]: 'swiftshader' }]] as const)(
    'via %s: SwiftShader found by itself and said to be software; without chromium one line names the package', (_via, flag, env) => {
      const r = runCli([...args, '--backend', 'webgpu', ...flag], { env: { ...bare, ...env, ...NO_MEMORY } });
      expect(r.code).not.toBe(0);
      if (!driver) {
        expect(r.stderr.trim().split('\n')).toEqual([`hero-lvlm: error: webgpu adapter 'swiftshader': ${path.join(SWIFTSHADER.dir, SWIFTSHADER.icd)} is missing; it comes with the chromium package (Debian/Ubuntu: apt install chromium)`]);
      } else if (!packages) {
        expect(r.stderr).toMatch(/unavailable: package missing/);
      } else {
        expect(r.stderr).toMatch(/^webgpu adapter: google \/ swiftshader .*; limits: maxStorageBufferBindingSize=/m);
        expect(r.stderr).toMatch(/^webgpu adapter is software \(swiftshader, on the CPU\): for checking the webgpu code path, not for speed/m);
        expect(r.stderr).toMatch(/^backend: webgpu$/m);
      }
    });

  it('an unknown adapter, or the flag with another backend, is one line and exit 2', () => {
    const u = runCli([...args, '--backend', 'webgpu', '--webgpu-adapter', 'llvmpipe'], { env: NO_MEMORY });
    expect(u.code).toBe(2);
    expect(u.stderr.trim()).toBe("hero-lvlm: error: --webgpu-adapter: unknown webgpu adapter 'llvmpipe' (choose swiftshader; leave it unset for the GPU)");
    const e = runCli([...args, '--backend', 'webgpu'], { env: { [WEBGPU_ADAPTER_ENV]: 'gpu', ...NO_MEMORY } });
    expect(e.stderr.trim()).toMatch(/^hero-lvlm: error: \$HERO_LVLM_WEBGPU_ADAPTER: unknown webgpu adapter 'gpu'/);
    const c = runCli([...args, '--backend', 'cpu', '--webgpu-adapter', 'swiftshader'], { env: NO_MEMORY });
    expect(c.code).toBe(2);
    expect(c.stderr.trim()).toBe('hero-lvlm: error: --webgpu-adapter: applies to --backend webgpu only (the backend is cpu)');
  });
});

describe('$HERO_LVLM_TEST_BACKENDS (spec/util/fixtures.ts)', () => {
  it('defaults to cpu,wasm; takes any backend name; an unknown or empty list fails instead of skipping', () => {
    expect(parseTestBackends(undefined)).toEqual(['cpu', 'wasm']);
    expect(parseTestBackends('webgpu')).toEqual(['webgpu']);
    expect(parseTestBackends(' tfjs-node , cpu ')).toEqual(['tfjs-node', 'cpu']);
    expect(() => parseTestBackends('cpu,webgl')).toThrow(/HERO_LVLM_TEST_BACKENDS: unknown backend 'webgl'/);
    expect(() => parseTestBackends(',')).toThrow(/is empty/);
  });
});

describe('$HERO_LVLM_FORBID_SYNC_READS (spec/util/fixtures.ts useBackend)', () => {
  it('is off unset, empty or 0, on at 1; anything else fails instead of being ignored', () => {
    expect([undefined, '', '0', '1'].map(forbidSyncReadsFromEnv)).toEqual([false, false, false, true]);
    expect(() => forbidSyncReadsFromEnv('yes')).toThrow(/HERO_LVLM_FORBID_SYNC_READS: expected 1 \(or 0\), got 'yes'/);
  });

  /** Whether the active backend refuses a synchronous read of a small tensor (with the guard's HeroError). */
  const refuses = (): boolean => {
    const t = tf.tensor1d([1, 2]);
    try {
      expect(Array.from(t.dataSync())).toEqual([1, 2]);
      return false;
    } catch (e) {
      if (!(e instanceof HeroError)) throw e;
      expect(e.message).toContain('$HERO_LVLM_FORBID_SYNC_READS=1');
      return true;
    } finally {
      t.dispose();
    }
  };

  it('at 1, useBackend refuses our synchronous reads on the backend it activates (not a kernel\'s, not data()), and takes the guard off at the next switch', async () => {
    const saved = process.env[FORBID_SYNC_READS_ENV];
    const cpu = tf.findBackend('cpu')!;
    try {
      process.env[FORBID_SYNC_READS_ENV] = '1';
      await useBackend('wasm');
      expect(refuses()).toBe(true);
      // wasm's slice/concat/gather read their inputs with readSync inside the kernel: allowed (outsideKernels)
      const y = tf.tidy(() => { const x = tf.reshape(tf.range(0, 6), [2, 3]); return tf.concat([tf.slice(x, [1, 0], [1, -1]), tf.gather(x, tf.tensor1d([0], 'int32'))]); });
      expect(await y.array()).toEqual([[3, 4, 5], [0, 1, 2]]);
      y.dispose();
      await useBackend('cpu');
      expect(refuses()).toBe(true);
      await useBackend('cpu', { syncReads: true });
      expect(refuses()).toBe(false);
      await useBackend('wasm');
      expect(refuses()).toBe(true);
      await leaveBackend();
      expect(tf.getBackend()).toBe('cpu');
      expect(refuses()).toBe(false);
      // nothing of a guard is left on the cpu backend instance
      expect(Object.prototype.hasOwnProperty.call(cpu, 'readSync')).toBe(false);
      delete process.env[FORBID_SYNC_READS_ENV];
      await useBackend('wasm');
      expect(refuses()).toBe(false);
    } finally {
      if (saved === undefined) delete process.env[FORBID_SYNC_READS_ENV];
      else process.env[FORBID_SYNC_READS_ENV] = saved;
      await leaveBackend();
    }
  });
});

describe('wasm: an XNNPACK operator that cannot be created stops the run', () => {
  const MSG = 'XNN status for xnn_create_fully_connected_nc_f32 is not successful. Got status 6. Use -c dbg to see XNN logs.';
  it("tfjs-wasm's warning becomes a HeroError naming the operator and the wasm heap; other warnings do not", () => {
    expect(xnnpackFailure(MSG)).toEqual(new HeroError('wasm backend: XNNPACK could not create xnn_create_fully_connected_nc_f32 (status 6: out of memory in the wasm heap); ' +
      'the product would be left uncomputed, so the run stops (try --weights streamed or a smaller --ratio)'));
    expect(xnnpackFailure('XNN status for xnn_create_fully_connected_nc_f32 is not successful. Got status 2.')!.message).toMatch(/\(status 2\)/);
    expect(xnnpackFailure('some other warning')).toBeUndefined();
  });

  it('once the wasm backend is set up, that warning on console.warn throws', async () => {
    await initBackend('wasm', () => undefined);
    try {
      expect(() => console.warn(MSG)).toThrow(HeroError);
    } finally {
      await initBackend('cpu', () => undefined);
    }
  });
});
