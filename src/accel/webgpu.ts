/**
 * The `webgpu` backend in Node: @tensorflow/tfjs-backend-webgpu on Dawn's Node binding (the `webgpu`
 * package, which ships a prebuilt dawn.node per platform). Both are optional dependencies (docs/gpu.md).
 *
 * Start-up is diagnosed before tfjs is involved, so a machine without a usable GPU gets one line naming
 * why — the package is missing, the Vulkan loader (libvulkan.so.1) cannot be loaded, or Dawn finds no
 * adapter — and never a silent fallback to another backend. The adapter is asked for in a child process,
 * so Dawn's own warnings (printed by native code on stderr) end up inside that one line instead of
 * around it. When an adapter is there, its name and the device's buffer limits are printed, and every
 * buffer tfjs creates is checked against those limits (a clear error instead of a WebGPU validation
 * error and garbage).
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { weightShapes } from '../core/weights';
import { forbidSyncReads } from './sync_reads';
import { bindingCapFromEnv, installBindingSplit, type BindingSplit, isSplittable, rowBlocks, WEBGPU_MAX_BINDING_ENV } from './binding_split';

export const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';
export const DAWN_PACKAGE = 'webgpu';
export const VULKAN_LOADER = 'libvulkan.so.1';

/** The device limits that matter to our tensors, printed at start-up. */
export const LIMIT_NAMES = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;
export type WebGpuLimits = Record<(typeof LIMIT_NAMES)[number], number>;

export interface AdapterReport {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly limits: WebGpuLimits;
}

export type WebGpuFailure = 'package missing' | 'no Vulkan loader' | 'no adapter';
export type WebGpuDiagnosis =
  | { readonly ok: true; readonly dawnNode: string; readonly adapter: AdapterReport }
  | { readonly ok: false; readonly reason: WebGpuFailure; readonly detail: string };

/** What the diagnosis reads from the machine; tests replace it to inject each failure. */
export interface WebGpuProbes {
  readonly platform: string;
  readonly arch: string;
  /** path of `<pkg>/package.json`; throws when the package is not installed */
  resolvePackage(pkg: string): string;
  exists(file: string): boolean;
  /** null when the shared library loads, else the loader's message */
  loadLibrary(name: string): string | null;
  /** asks Dawn for a high-performance adapter; `log` is what Dawn printed on the way */
  requestAdapter(dawnNode: string): { adapter: AdapterReport | null; log: string };
}

// dlopen flags: RTLD_NOW | RTLD_NODELETE (glibc's values). NODELETE keeps a library loaded after Node's
// process.dlopen closes it again for not being an addon, so a later dlopen by its soname finds this copy.
const RTLD_NOW_NODELETE = 0x2 | 0x1000;

/** dawn.node's place inside the webgpu package (the layout of webgpu@0.6: dist/<platform>-<arch>/). */
export function dawnNodePath(packageDir: string, platform: string, arch: string): string {
  return path.join(packageDir, 'dist', `${platform}-${platform === 'darwin' ? 'universal' : arch}`, 'dawn.node');
}

// The child that asks for the adapter: prints one JSON line (or `null`) on stdout, Dawn's warnings on stderr.
// argv[2], when given, is a Vulkan loader to load first by its full path (the software adapter, below).
const ADAPTER_SCRIPT = `
if (process.argv[2]) { try { process.dlopen({ exports: {} }, process.argv[2], ${RTLD_NOW_NODELETE}); } catch {} }
const { create, globals } = require(process.argv[1]);
Object.assign(globalThis, globals);
const names = ${JSON.stringify(LIMIT_NAMES)};
create([]).requestAdapter({ powerPreference: 'high-performance' }).then((a) => {
  if (!a) { process.stdout.write('null\\n'); process.exit(0); }
  const i = a.info || {};
  const limits = {};
  for (const n of names) limits[n] = Number(a.limits[n]);
  process.stdout.write(JSON.stringify({ vendor: i.vendor || '', architecture: i.architecture || '', device: i.device || '', description: i.description || '', limits }) + '\\n');
  process.exit(0);
}, (e) => { process.stderr.write(String(e && e.message || e) + '\\n'); process.stdout.write('null\\n'); process.exit(0); });
`;

export const realProbes: WebGpuProbes = {
  platform: process.platform,
  arch: process.arch,
  resolvePackage: (pkg) => require.resolve(`${pkg}/package.json`),
  exists: (file) => fs.existsSync(file),
  loadLibrary(name) {
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, name);
      return null;
    } catch (e) {
      const msg = (e as Error).message;
      // dlopen succeeded; the library is simply not a Node addon
      return /did not self-register|Module did not/.test(msg) ? null : msg.split('\n')[0];
    }
  },
  requestAdapter(dawnNode) {
    const r = spawnSync(process.execPath, ['-e', ADAPTER_SCRIPT, dawnNode, ...(preloadedLoader ? [preloadedLoader] : [])],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env } }); // this module's process.env (a test sandbox has its own copy)
    const log = `${r.stderr ?? ''}${r.error ? r.error.message : ''}`;
    const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
    let adapter: AdapterReport | null = null;
    try { adapter = JSON.parse(last) as AdapterReport | null; } catch { adapter = null; }
    return { adapter, log: r.status === 0 ? log : `${log} (adapter probe exited with ${r.status ?? r.signal})` };
  },
};

/**
 * Software adapters, for tests only and only when asked (`--webgpu-adapter swiftshader` or
 * $HERO_LVLM_WEBGPU_ADAPTER=swiftshader): SwiftShader, Google's CPU implementation of Vulkan, as Debian's
 * `chromium` package ships it next to its own Vulkan loader. Nothing is set by hand: the loader's ICD
 * variables name SwiftShader's driver file, and the loader itself is loaded by its full path before Dawn
 * asks for `libvulkan.so.1` (glibc then returns the copy already loaded), in this process and in the child
 * that asks for the adapter.
 */
export const WEBGPU_ADAPTER_ENV = 'HERO_LVLM_WEBGPU_ADAPTER';
export const WEBGPU_ADAPTERS = ['swiftshader'] as const;
export type WebGpuAdapterName = (typeof WEBGPU_ADAPTERS)[number];

/** Where a software driver lives and which package provides it. */
export interface SoftwareDriver {
  readonly name: WebGpuAdapterName;
  readonly dir: string;
  readonly icd: string;
  readonly loader: string;
  readonly aptPackage: string;
}
export const SWIFTSHADER: SoftwareDriver = {
  name: 'swiftshader', dir: '/usr/lib/chromium', icd: 'vk_swiftshader_icd.json', loader: VULKAN_LOADER, aptPackage: 'chromium',
};

/** The software adapter asked for: the flag, else $HERO_LVLM_WEBGPU_ADAPTER, else none (the GPU). */
export function requestedWebGpuAdapter(flag?: string, env: NodeJS.ProcessEnv = process.env): WebGpuAdapterName | undefined {
  const name = flag ?? (env[WEBGPU_ADAPTER_ENV] || undefined);
  if (name === undefined) return undefined;
  if (!(WEBGPU_ADAPTERS as readonly string[]).includes(name)) {
    const src = flag !== undefined ? '--webgpu-adapter' : `$${WEBGPU_ADAPTER_ENV}`;
    throw new HeroError(`${src}: unknown webgpu adapter '${name}' (choose ${WEBGPU_ADAPTERS.join(', ')}; leave it unset for the GPU)`);
  }
  return name as WebGpuAdapterName;
}

/**
 * The Vulkan loader's variables that select a software driver's ICD file (VK_ICD_FILENAMES for older
 * loaders, VK_DRIVER_FILES for newer ones). The loader reads them with getenv when Dawn creates its instance.
 */
export function softwareDriverEnv(d: SoftwareDriver = SWIFTSHADER): Record<'VK_ICD_FILENAMES' | 'VK_DRIVER_FILES', string> {
  const icd = path.join(d.dir, d.icd);
  return { VK_ICD_FILENAMES: icd, VK_DRIVER_FILES: icd };
}

/** The Vulkan loader the adapter probe child loads first (set by useSoftwareDriver). */
let preloadedLoader: string | undefined;

/**
 * Points this process's Vulkan loader at a software driver: checks its files, sets VK_ICD_FILENAMES and
 * VK_DRIVER_FILES (older and newer loaders' names) and loads the driver's own loader by its full path.
 * Must run before dawn.node creates its Vulkan instance. A missing driver is one line naming the package.
 */
export function useSoftwareDriver(d: SoftwareDriver = SWIFTSHADER, exists: (f: string) => boolean = fs.existsSync,
  load: (file: string) => void = (file) => process.dlopen({ exports: {} } as NodeJS.Module, file, RTLD_NOW_NODELETE)): void {
  const icd = path.join(d.dir, d.icd);
  const loader = path.join(d.dir, d.loader);
  for (const f of [icd, loader]) {
    if (!exists(f)) {
      throw new HeroError(`webgpu adapter '${d.name}': ${f} is missing; it comes with the ${d.aptPackage} package (Debian/Ubuntu: apt install ${d.aptPackage})`);
    }
  }
  Object.assign(process.env, softwareDriverEnv(d));
  try {
    load(loader);
  } catch (e) {
    // process.dlopen loads the library, then throws because it is no Node addon; NODELETE keeps it loaded
    const msg = (e as Error).message;
    if (!/did not self-register|Module did not/.test(msg)) throw new HeroError(`webgpu adapter '${d.name}': ${loader} cannot be loaded (${msg.split('\n')[0]})`);
  }
  preloadedLoader = loader;
}

/** Whether an adapter is a CPU implementation (SwiftShader; Dawn's own names for it). */
export function isSoftwareAdapter(a: Pick<AdapterReport, 'vendor' | 'architecture' | 'device' | 'description'>): boolean {
  return /swiftshader|llvmpipe|lavapipe/i.test(`${a.vendor} ${a.architecture} ${a.device} ${a.description}`);
}

/** The line printed after the adapter's when it is a software one. */
export function softwareAdapterLine(a: AdapterReport): string {
  return `webgpu adapter is software (${a.architecture || a.device || a.vendor}, on the CPU): for checking the webgpu code path, not for speed (docs/gpu.md "WebGPU in CI")`;
}

/** Dawn's warnings as one short clause: lines starting with "Warning:" or "Error:", without source paths. */
function dawnLog(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at '));
  const text = lines.map((l) => l.replace(/^(Warning|Error):\s*/, '')).join('; ');
  return text.length > 300 ? `${text.slice(0, 297)}…` : text;
}

/** Whether the webgpu backend can start here, and if not, why (in the order a user would fix it). */
export function diagnoseWebGpu(p: WebGpuProbes = realProbes): WebGpuDiagnosis {
  let dawnDir = '';
  for (const pkg of [TFJS_WEBGPU_PACKAGE, DAWN_PACKAGE]) {
    try {
      const dir = path.dirname(p.resolvePackage(pkg));
      if (pkg === DAWN_PACKAGE) dawnDir = dir;
    } catch {
      return { ok: false, reason: 'package missing', detail: `${pkg} is not installed (it is an optional dependency: npm install ${TFJS_WEBGPU_PACKAGE}@4.22.0 ${DAWN_PACKAGE}@0.6.2)` };
    }
  }
  const dawnNode = dawnNodePath(dawnDir, p.platform, p.arch);
  if (!p.exists(dawnNode)) {
    return { ok: false, reason: 'package missing', detail: `the ${DAWN_PACKAGE} package has no dawn.node for ${p.platform}-${p.arch} (${dawnNode})` };
  }
  if (p.platform === 'linux') {
    const err = p.loadLibrary(VULKAN_LOADER);
    if (err !== null) {
      return { ok: false, reason: 'no Vulkan loader', detail: `${VULKAN_LOADER} cannot be loaded (${err}); install the Vulkan loader (Debian/Ubuntu: libvulkan1) and the GPU's Vulkan driver` };
    }
  }
  const { adapter, log } = p.requestAdapter(dawnNode);
  if (!adapter) {
    const why = dawnLog(log);
    // Seen on an NVIDIA H200 machine without glvnd: the loader finds the ICD but cannot start it.
    const glvnd = /Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr' for ICD libGLX_nvidia/.test(why)
      ? "; NVIDIA's Vulkan driver (libGLX_nvidia.so.0) needs glvnd's libGLdispatch.so.0 and libEGL.so.1 (Debian/Ubuntu: libglvnd0 libegl1)" : '';
    return { ok: false, reason: 'no adapter', detail: `Dawn found no GPU adapter${why ? ` (${why})` : ''}; a Vulkan driver for the GPU is needed (NVIDIA: the driver's nvidia_icd.json; set VK_DRIVER_FILES to it if it is not found)${glvnd}` };
  }
  return { ok: true, dawnNode, adapter };
}

/** The one line a failed diagnosis ends with. */
export function webGpuErrorMessage(d: Extract<WebGpuDiagnosis, { ok: false }>): string {
  return `backend 'webgpu' unavailable: ${d.reason}: ${d.detail}`;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} B`;
}

/**
 * One line: the adapter's name and the device's limits. tfjs-backend-webgpu asks for the adapter's maxima of
 * six of them; a limit granted below the adapter's says so (`(adapter: …)`), and a binding capped for tests
 * ($HERO_LVLM_WEBGPU_MAX_BINDING, `cap`) says that.
 */
export function describeAdapter(a: AdapterReport, limits: WebGpuLimits = a.limits, cap?: number): string {
  const name = [a.vendor, a.architecture, a.device, a.description].filter((s) => s).join(' / ') || '(adapter gives no name)';
  const fmt = (n: (typeof LIMIT_NAMES)[number], v: number): string => (/Size$/.test(n) ? formatBytes(v) : String(v));
  const lim = LIMIT_NAMES.map((n) => {
    if (n === 'maxStorageBufferBindingSize' && cap !== undefined) return `${n}=${fmt(n, limits[n])} (capped by $${WEBGPU_MAX_BINDING_ENV}, for tests)`;
    return `${n}=${fmt(n, limits[n])}${limits[n] < a.limits[n] ? ` (adapter: ${fmt(n, a.limits[n])})` : ''}`;
  }).join(', ');
  return `webgpu adapter: ${name}; limits: ${lim}`;
}

// GPUBufferUsage.STORAGE (WebGPU spec constant; the global is only there once dawn.node is loaded).
const USAGE_STORAGE = 0x80;

/**
 * Why a buffer of `bytes` with `usage` flags cannot be made or bound on a device with `limits`, or null.
 * `what` names the buffer (a tensor name when known).
 */
export function bufferLimitError(bytes: number, usage: number, limits: Pick<WebGpuLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>, what = 'a buffer'): string | null {
  if (bytes > limits.maxBufferSize) {
    return `webgpu: ${what} of ${formatBytes(bytes)} exceeds the device's maxBufferSize (${formatBytes(limits.maxBufferSize)}); see docs/gpu.md "Buffer limits"`;
  }
  if ((usage & USAGE_STORAGE) !== 0 && bytes > limits.maxStorageBufferBindingSize) {
    return `webgpu: ${what} of ${formatBytes(bytes)} exceeds the device's maxStorageBufferBindingSize (${formatBytes(limits.maxStorageBufferBindingSize)}); see docs/gpu.md "Buffer limits"`;
  }
  return null;
}

/** Throws a HeroError naming the first tensor (name, shape) whose fp32 buffer exceeds `limits`. */
export function checkTensorsFit(tensors: Iterable<readonly [string, readonly number[]]>, limits: Pick<WebGpuLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>): void {
  for (const [name, shape] of tensors) {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    const err = bufferLimitError(bytes, USAGE_STORAGE, limits, `tensor ${name} [${shape.join(', ')}] (f32)`);
    if (err) throw new HeroError(err);
  }
}

interface ActiveWebGpu { adapter: AdapterReport; limits: WebGpuLimits; cap?: number }
let active: ActiveWebGpu | null = null;
const guarded = new WeakSet<object>();
/** The split installed on this backend's kernels (removed with the backend: the kernel registry outlives it). */
let splitInstalled: BindingSplit | null = null;

/** The running webgpu device's limits, or null when the webgpu backend is not started. */
export function activeWebGpuLimits(): WebGpuLimits | null {
  return active && tf.getBackend() === 'webgpu' ? active.limits : null;
}
export function activeWebGpuAdapter(): AdapterReport | null {
  return active?.adapter ?? null;
}
/** The binding cap in force ($HERO_LVLM_WEBGPU_MAX_BINDING, for tests), or undefined. */
export function activeBindingCap(): number | undefined {
  return active?.cap;
}

/**
 * Loads dawn.node, exposes navigator.gpu, registers tfjs-backend-webgpu and sets its precision flags.
 * Returns the adapter found by the diagnosis. Call tf.setBackend('webgpu') afterwards.
 */
export function prepareWebGpu(probes: WebGpuProbes = realProbes, adapter?: WebGpuAdapterName): AdapterReport {
  if (active) return active.adapter; // already started in this process
  if (adapter === 'swiftshader') useSoftwareDriver(SWIFTSHADER);
  const d = diagnoseWebGpu(probes);
  if (!d.ok) throw new HeroError(webGpuErrorMessage(d));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { create, globals } = require(d.dawnNode) as { create(flags: string[]): unknown; globals: Record<string, unknown> };
  Object.assign(globalThis, globals);
  // tfjs-backend-webgpu registers itself only when navigator.gpu exists at require time.
  const nav = ((globalThis as { navigator?: object }).navigator ?? {}) as Record<string, unknown>;
  Object.defineProperty(globalThis, 'navigator', { value: { ...nav, gpu: create([]) }, configurable: true, writable: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(TFJS_WEBGPU_PACKAGE);
  // Precision: tfjs-backend-webgpu 4.22 writes every float kernel in f32 WGSL and has no f16 path or flag
  // (checked: no 'f16' in its dist). Set the flags that choose the device explicitly, and turn off any
  // f16/half flag a later version might register, so the math stays fp32.
  tf.env().set('WEBGPU_USE_LOW_POWER_GPU', false); // the high-performance adapter, as the diagnosis asked for
  const registry = (tf.env() as unknown as { flagRegistry: Record<string, unknown> }).flagRegistry ?? {};
  for (const flag of Object.keys(registry)) if (/^WEBGPU_.*(F16|FLOAT16|HALF)/.test(flag)) tf.env().set(flag, false);
  active = { adapter: d.adapter, limits: d.adapter.limits };
  return d.adapter;
}

/**
 * After tf.setBackend('webgpu'): reads the granted device limits, guards buffer creation with them, and
 * makes synchronous reads of GPU tensors fail with a clear error (see docs/gpu.md "Synchronous reads").
 */
export function finishWebGpu(): WebGpuLimits {
  if (!active) throw new Error('finishWebGpu before prepareWebGpu');
  const backend = tf.backend() as unknown as {
    device: { limits: Record<string, number>; createBuffer(d: { size: number; usage: number }): unknown };
    tensorMap: { get(dataId: object): { values?: unknown; dtype: string } | undefined };
  };
  const limits = Object.fromEntries(LIMIT_NAMES.map((n) => [n, Number(backend.device.limits[n])])) as WebGpuLimits;
  // For tests: a smaller binding than the device grants, so the tiny models go through the split below.
  const cap = bindingCapFromEnv();
  if (cap !== undefined && cap < limits.maxStorageBufferBindingSize) {
    limits.maxStorageBufferBindingSize = cap;
    active.cap = cap;
  }
  active.limits = limits;
  if (guarded.has(backend)) return limits;
  guarded.add(backend);
  // A weight over the binding goes to the device in row blocks (./binding_split.ts: the embedding's
  // row-block gather, lm_head's column-block product).
  splitInstalled = installBindingSplit('webgpu', limits.maxStorageBufferBindingSize);
  const device = backend.device;
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (desc) => {
    const err = bufferLimitError(desc.size, desc.usage, limits);
    if (err) throw new HeroError(err);
    return createBuffer(desc);
  };
  // A GPU-resident tensor (no CPU copy) read synchronously where OffscreenCanvas is missing: a clear error.
  forbidSyncReads(tf.backend(), {
    refuse: (dataId) => {
      const t = backend.tensorMap.get(dataId);
      return !!t && t.values == null && t.dtype !== 'string' && typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined';
    },
    message: 'webgpu: a synchronous read (dataSync/arraySync) of a GPU tensor is not possible in Node: tfjs-backend-webgpu reads ' +
      'synchronously through OffscreenCanvas, which only browsers have; use data()/array() (docs/gpu.md "Synchronous reads")',
  });
  return limits;
}

/** Drops the reference to Dawn's GPU object, without which Node cannot exit (webgpu README, "Lifetime"). */
export function releaseWebGpu(): void {
  if (!active) return;
  active = null;
  splitInstalled?.uninstall();
  splitInstalled = null;
  if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav) delete nav.gpu;
}

/**
 * On the webgpu backend: throws a HeroError naming the first weight whose f32 buffer exceeds the device's
 * limits, before anything runs (tfjs-webgpu uploads a tensor on its first use). A no-op elsewhere.
 */
export function checkWeightsFit(params: unknown): void {
  const limits = activeWebGpuLimits();
  if (!limits) return;
  // streamed groups too: each is uploaded when used; a matrix the split takes in row blocks is never bound whole
  checkTensorsFit(weightShapes(params).filter(([, shape]) => !isSplittable(shape, limits.maxStorageBufferBindingSize)), limits);
}

/**
 * On the webgpu backend, the start-up line of what the device's binding means for these weights: which
 * are split into row blocks (./binding_split.ts) and into how many, and, with streamed groups, that each is
 * uploaded per use and its largest tensor. Undefined elsewhere.
 */
export function describeBindingFit(params: unknown, streamed: boolean): string | undefined {
  const limits = activeWebGpuLimits();
  if (!limits) return undefined;
  const bind = limits.maxStorageBufferBindingSize;
  const shapes = weightShapes(params);
  const bytes = (shape: readonly number[]): number => 4 * shape.reduce((a, b) => a * b, 1);
  const split = shapes.filter(([, shape]) => isSplittable(shape, bind))
    .map(([name, shape]) => `${name} [${shape.join(', ')}] ${formatBytes(bytes(shape))} → ${rowBlocks(shape[0], shape[1], bind).length} row blocks`);
  const largest = shapes.filter(([, shape]) => !isSplittable(shape, bind)).reduce((m, [, shape]) => Math.max(m, bytes(shape)), 0);
  return `webgpu: maxStorageBufferBindingSize ${formatBytes(bind)}: ` +
    (split.length ? `split (accel/binding_split.ts): ${split.join(', ')}` : 'nothing split') +
    `; every other weight bound whole (largest ${formatBytes(largest)})` +
    (streamed ? '; streamed groups uploaded one at a time, per use' : '');
}
