/**
 * The webgpu backend's start-up diagnosis (each failure injected through the probes), the one-line
 * message, and the buffer-limit checks at the sizes docs/gpu.md lists (ViT-L/14-336 and Vicuna-7B).
 */
import * as path from 'path';
import {
  diagnoseWebGpu, webGpuErrorMessage, dawnNodePath, bufferLimitError, checkTensorsFit, describeAdapter, realProbes,
  TFJS_WEBGPU_PACKAGE, DAWN_PACKAGE, type WebGpuProbes, type AdapterReport, type WebGpuDiagnosis,
  requestedWebGpuAdapter, useSoftwareDriver, isSoftwareAdapter, softwareAdapterLine, SWIFTSHADER, WEBGPU_ADAPTER_ENV,
} from '../../src/accel/webgpu';
import { HeroError } from '../../src/core/errors';

const MiB = 2 ** 20;
/** WebGPU's default limits (the spec's): what an adapter grants at least. */
const DEFAULT_LIMITS = { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB };
const STORAGE = 0x80, MAP_READ = 0x01, COPY_DST = 0x08;

const ADAPTER: AdapterReport = {
  vendor: 'nvidia', architecture: 'hopper', device: 'H200', description: 'NVIDIA H200 (Vulkan)',
  limits: {
    maxStorageBufferBindingSize: 2 ** 32 - 4, maxBufferSize: 2 ** 40, maxComputeWorkgroupStorageSize: 49152,
    maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupsPerDimension: 65535,
    maxStorageBuffersPerShaderStage: 10,
  },
};

/** A machine where everything works; each test breaks one thing. */
function probes(over: Partial<WebGpuProbes> = {}): WebGpuProbes & { calls: string[] } {
  const calls: string[] = [];
  return {
    platform: 'linux', arch: 'x64', calls,
    resolvePackage: (pkg) => { calls.push(`resolve ${pkg}`); return path.join('/nm', pkg, 'package.json'); },
    exists: () => true,
    loadLibrary: (name) => { calls.push(`load ${name}`); return null; },
    requestAdapter: (dawn) => { calls.push(`adapter ${dawn}`); return { adapter: ADAPTER, log: '' }; },
    ...over,
  };
}
const failed = (d: WebGpuDiagnosis) => (d.ok ? { ok: true } : { reason: d.reason, line: webGpuErrorMessage(d) });

describe('diagnoseWebGpu: why the webgpu backend cannot start, in the order a user fixes it', () => {
  it('everything present: the adapter and the platform dawn.node', () => {
    const p = probes();
    const d = diagnoseWebGpu(p);
    expect(d).toEqual({ ok: true, dawnNode: path.join('/nm', 'webgpu', 'dist', 'linux-x64', 'dawn.node'), adapter: ADAPTER });
    expect(p.calls).toEqual([`resolve ${TFJS_WEBGPU_PACKAGE}`, `resolve ${DAWN_PACKAGE}`, 'load libvulkan.so.1', `adapter ${path.join('/nm', 'webgpu', 'dist', 'linux-x64', 'dawn.node')}`]);
  });

  it.each([TFJS_WEBGPU_PACKAGE, DAWN_PACKAGE])('package missing: %s', (missing) => {
    const p = probes({ resolvePackage: (pkg) => { if (pkg === missing) throw new Error(`Cannot find module '${pkg}'`); return `/nm/${pkg}/package.json`; } });
    const f = failed(diagnoseWebGpu(p));
    expect(f).toEqual({ reason: 'package missing', line: expect.stringContaining(`${missing} is not installed`) });
    expect(p.calls).not.toContain('load libvulkan.so.1');
  });

  it('package missing: no dawn.node for this platform', () => {
    const d = diagnoseWebGpu(probes({ platform: 'linux', arch: 'riscv64', exists: (f) => !f.includes('riscv64') }));
    expect(failed(d)).toEqual({ reason: 'package missing', line: expect.stringContaining('no dawn.node for linux-riscv64') });
  });

  it('no Vulkan loader: libvulkan.so.1 does not load (and Dawn is never asked)', () => {
    const p = probes({ loadLibrary: () => 'libvulkan.so.1: cannot open shared object file: No such file or directory' });
    const f = failed(diagnoseWebGpu(p));
    expect(f).toEqual({ reason: 'no Vulkan loader', line: expect.stringMatching(/^backend 'webgpu' unavailable: no Vulkan loader: libvulkan\.so\.1 cannot be loaded \(libvulkan\.so\.1: cannot open.*libvulkan1/) });
    expect(p.calls.some((c) => c.startsWith('adapter'))).toBe(false);
  });

  it('the Vulkan loader is a Linux matter: macOS goes straight to the adapter (Metal), in the universal build', () => {
    const p = probes({ platform: 'darwin', arch: 'arm64', loadLibrary: () => 'not here' });
    const d = diagnoseWebGpu(p);
    expect(d.ok).toBe(true);
    expect(d.ok && d.dawnNode).toBe(path.join('/nm', 'webgpu', 'dist', 'darwin-universal', 'dawn.node'));
  });

  it("no adapter: Dawn's warnings go into the one line, without its source locations", () => {
    const log = 'Warning: vkCreateInstance: Found no drivers!\nWarning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER\n    at CheckVkSuccessImpl (/dawn/src/dawn/native/vulkan/VulkanError.cpp:106)\n';
    const f = failed(diagnoseWebGpu(probes({ requestAdapter: () => ({ adapter: null, log }) })));
    expect(f).toEqual({ reason: 'no adapter', line: expect.stringContaining('Dawn found no GPU adapter (vkCreateInstance: Found no drivers!; vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER)') });
    expect((f as { line: string }).line).not.toMatch(/\n|VulkanError\.cpp/);
  });

  it("no adapter because NVIDIA's ICD cannot start (the H200 machine without glvnd): the line names the missing libraries", () => {
    const log = "Warning: loader_scanned_icd_add: Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr' for ICD libGLX_nvidia.so.0\nWarning: vkCreateInstance: Found no drivers!\n";
    const f = failed(diagnoseWebGpu(probes({ requestAdapter: () => ({ adapter: null, log }) }))) as { line: string };
    expect(f.line).toMatch(/\(libGLX_nvidia\.so\.0\) needs glvnd's libGLdispatch\.so\.0 and libEGL\.so\.1 \(Debian\/Ubuntu: libglvnd0 libegl1\)$/);
    const other = failed(diagnoseWebGpu(probes({ requestAdapter: () => ({ adapter: null, log: 'Warning: vkCreateInstance: Found no drivers!\n' }) }))) as { line: string };
    expect(other.line).not.toMatch(/glvnd/);
  });

  it('dawnNodePath follows the webgpu package layout', () => {
    expect(dawnNodePath('/p', 'win32', 'x64')).toBe(path.join('/p', 'dist', 'win32-x64', 'dawn.node'));
  });
});

describe('realProbes.loadLibrary (dlopen through process.dlopen)', () => {
  if (process.platform === 'linux') {
    it('a library that loads gives null; one that does not gives the loader message', () => {
      expect(realProbes.loadLibrary('libc.so.6')).toBeNull();
      expect(realProbes.loadLibrary('libhero-does-not-exist.so.9')).toMatch(/libhero-does-not-exist\.so\.9: cannot open shared object file/);
    });
  } else {
    it('is only used on Linux', () => { expect(process.platform).not.toBe('linux'); });
  }
});

describe('buffer limits at our model sizes (docs/gpu.md "Buffer limits")', () => {
  it('bufferLimitError: maxBufferSize for every buffer, maxStorageBufferBindingSize for storage buffers only', () => {
    expect(bufferLimitError(128 * MiB, STORAGE, DEFAULT_LIMITS)).toBeNull();
    expect(bufferLimitError(128 * MiB + 4, STORAGE, DEFAULT_LIMITS)).toMatch(/maxStorageBufferBindingSize \(128\.0 MiB\)/);
    expect(bufferLimitError(200 * MiB, MAP_READ | COPY_DST, DEFAULT_LIMITS)).toBeNull();
    expect(bufferLimitError(256 * MiB + 4, MAP_READ | COPY_DST, DEFAULT_LIMITS)).toMatch(/maxBufferSize \(256\.0 MiB\)/);
  });

  it('checkTensorsFit names the first tensor over the limit: Vicuna-7B embed_tokens and the MLP, not ViT-L', () => {
    const vitL: Array<[string, number[]]> = [['vision.fc1.weight', [4096, 1024]], ['vision.attn_probs (5 crops)', [5, 16, 577, 577]]];
    expect(() => checkTensorsFit(vitL, DEFAULT_LIMITS)).not.toThrow();
    const embed = (): void => checkTensorsFit([...vitL, ['language_model.model.embed_tokens.weight', [32000, 4096]]], DEFAULT_LIMITS);
    expect(embed).toThrow(HeroError);
    expect(embed).toThrow(/^webgpu: tensor language_model\.model\.embed_tokens\.weight \[32000, 4096\] \(f32\) of 500\.0 MiB exceeds the device's maxBufferSize \(256\.0 MiB\)/);
    expect(() => checkTensorsFit([['layers.0.mlp.up_proj.weight', [11008, 4096]]], DEFAULT_LIMITS))
      .toThrow(/up_proj\.weight \[11008, 4096\] \(f32\) of 172\.0 MiB exceeds the device's maxStorageBufferBindingSize \(128\.0 MiB\)/);
    // with an adapter's larger limits (requested by tfjs-backend-webgpu at device creation) all fit
    expect(() => checkTensorsFit([['embed', [32000, 4096]], ['up', [11008, 4096]]], ADAPTER.limits)).not.toThrow();
  });

  it('describeAdapter: one line with the name and the limits', () => {
    const s = describeAdapter(ADAPTER);
    expect(s.split('\n')).toHaveLength(1);
    expect(s).toMatch(/^webgpu adapter: nvidia \/ hopper \/ H200 \/ NVIDIA H200 \(Vulkan\); limits: maxStorageBufferBindingSize=4\.00 GiB, maxBufferSize=1024\.00 GiB, maxComputeWorkgroupStorageSize=49152 B, maxComputeInvocationsPerWorkgroup=1024, /);

    // a limit granted below the adapter's says so (tfjs-backend-webgpu does not ask for maxStorageBuffersPerShaderStage);
    // a binding capped for tests says that instead
    const granted = { ...ADAPTER.limits, maxStorageBuffersPerShaderStage: 8, maxStorageBufferBindingSize: 192 * 1024 };
    const g = describeAdapter({ ...ADAPTER, limits: { ...ADAPTER.limits, maxStorageBuffersPerShaderStage: 12 } }, granted, 192 * 1024);
    expect(g).toContain('maxStorageBufferBindingSize=196608 B (capped by $HERO_LVLM_WEBGPU_MAX_BINDING, for tests)');
    expect(g).toContain('maxStorageBuffersPerShaderStage=8 (adapter: 12)');
    expect(g).toContain('maxBufferSize=1024.00 GiB,');
  });
});

describe('software adapters, only when asked (docs/gpu.md "WebGPU in CI")', () => {
  it('requestedWebGpuAdapter: the flag over $HERO_LVLM_WEBGPU_ADAPTER over none; unknown names are errors naming their source', () => {
    expect(requestedWebGpuAdapter(undefined, {})).toBeUndefined();
    expect(requestedWebGpuAdapter(undefined, { [WEBGPU_ADAPTER_ENV]: '' })).toBeUndefined();
    expect(requestedWebGpuAdapter(undefined, { [WEBGPU_ADAPTER_ENV]: 'swiftshader' })).toBe('swiftshader');
    expect(requestedWebGpuAdapter('swiftshader', {})).toBe('swiftshader');
    expect(() => requestedWebGpuAdapter('lavapipe', {})).toThrow(/^--webgpu-adapter: unknown webgpu adapter 'lavapipe'/);
    expect(() => requestedWebGpuAdapter(undefined, { [WEBGPU_ADAPTER_ENV]: 'cpu' })).toThrow(/^\$HERO_LVLM_WEBGPU_ADAPTER: unknown webgpu adapter 'cpu'/);
  });

  it("useSoftwareDriver: a missing driver file is one line naming the package that provides it (Debian's chromium)", () => {
    const loaded: string[] = [];
    const icd = path.join(SWIFTSHADER.dir, SWIFTSHADER.icd);
    const f = (): void => useSoftwareDriver(SWIFTSHADER, (file) => file !== icd, (file) => { loaded.push(file); });
    expect(f).toThrow(HeroError);
    expect(f).toThrow(`webgpu adapter 'swiftshader': ${icd} is missing; it comes with the chromium package (Debian/Ubuntu: apt install chromium)`);
    expect(loaded).toEqual([]); // nothing loaded, no variable set
  });

  it("useSoftwareDriver: points the Vulkan loader's variables at the ICD file and loads the driver's own loader by its full path", () => {
    const saved = { icd: process.env.VK_ICD_FILENAMES, drv: process.env.VK_DRIVER_FILES };
    const loaded: string[] = [];
    const driver = { ...SWIFTSHADER, dir: '/opt/sw' };
    try {
      // Node's process.dlopen loads a plain library and then throws 'did not self-register': that is success
      useSoftwareDriver(driver, () => true, (file) => { loaded.push(file); throw new Error(`Module did not self-register: '${file}'.`); });
      expect(loaded).toEqual(['/opt/sw/libvulkan.so.1']);
      expect(process.env.VK_ICD_FILENAMES).toBe('/opt/sw/vk_swiftshader_icd.json');
      expect(process.env.VK_DRIVER_FILES).toBe('/opt/sw/vk_swiftshader_icd.json');
      expect(() => useSoftwareDriver(driver, () => true, () => { throw new Error('/opt/sw/libvulkan.so.1: wrong ELF class'); }))
        .toThrow("webgpu adapter 'swiftshader': /opt/sw/libvulkan.so.1 cannot be loaded (/opt/sw/libvulkan.so.1: wrong ELF class)");
    } finally {
      for (const [k, v] of [['VK_ICD_FILENAMES', saved.icd], ['VK_DRIVER_FILES', saved.drv]] as const) {
        if (v === undefined) delete process.env[k]; else process.env[k] = v;
      }
    }
  });

  it('isSoftwareAdapter: SwiftShader (as Dawn names it) yes, the H200 no; the line says so', () => {
    const sw: AdapterReport = { ...ADAPTER, vendor: 'google', architecture: 'swiftshader', device: 'swiftshader-device-subzero-', description: 'SwiftShader driver 5.0.0' };
    expect(isSoftwareAdapter(sw)).toBe(true);
    expect(isSoftwareAdapter(ADAPTER)).toBe(false);
    expect(softwareAdapterLine(sw)).toMatch(/^webgpu adapter is software \(swiftshader, on the CPU\): for checking the webgpu code path, not for speed/);
  });
});
