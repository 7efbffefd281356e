import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from './core/errors';
import { activeBindingCap, prepareWebGpu, finishWebGpu, describeAdapter, requestedWebGpuAdapter, isSoftwareAdapter, softwareAdapterLine, realProbes, type AdapterReport } from './accel/webgpu';

/**
 * Backend selection. `wasm` (SIMD, single-threaded) is the default; `cpu` is the slow, deterministic
 * pure-JS cross-check; `tensorflow` comes from the optional packages @tensorflow/tfjs-node or
 * @tensorflow/tfjs-node-gpu, which the user installs; `webgpu` is tfjs-backend-webgpu on Dawn
 * (src/accel/webgpu.ts; both optional dependencies). See docs/gpu.md. A requested backend that fails to
 * initialise is an error, never a silent fallback.
 */
export const BACKENDS = ['wasm', 'cpu', 'tfjs-node', 'tfjs-node-gpu', 'webgpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export const BACKEND_ENV = 'HERO_LVLM_BACKEND';

/** The backend asked for: the flag, else $HERO_LVLM_BACKEND, else wasm. */
export function requestedBackend(flag?: string): BackendName {
  const name = flag ?? process.env[BACKEND_ENV] ?? 'wasm';
  if (!(BACKENDS as readonly string[]).includes(name)) {
    const src = flag !== undefined ? '--backend' : `$${BACKEND_ENV}`;
    throw new HeroError(`${src}: unknown backend '${name}' (choose one of ${BACKENDS.join(', ')})`);
  }
  return name as BackendName;
}

function requireOptional(pkg: string): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(pkg);
  } catch (e) {
    throw new HeroError(`backend needs the optional package ${pkg}, which is not installed or failed to load ` +
      `(${(e as Error).message.split('\n')[0]}); see docs/gpu.md`);
  }
}

/**
 * In a web page (src/page/, docs/page.md) the browser provides WebGPU itself (navigator.gpu): no Dawn
 * package to find, no software adapter to choose (the page runs the model in a worker: no `window`). Node
 * always has process.versions.node.
 */
function inBrowser(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; navigator?: { gpu?: unknown } };
  return g.process?.versions?.node === undefined && g.navigator?.gpu !== undefined;
}

/** The browser's adapter as tfjs-backend-webgpu got it (vendor / architecture), for the start-up line. */
function browserAdapterName(): string {
  const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
  return info ? `${info.vendor || '?'} / ${info.architecture || '?'}` : 'navigator.gpu';
}

/** The message tfjs-wasm prints when XNNPACK cannot create an operator (status 6: out of memory). */
export const XNNPACK_WARNING = /^XNN status for (\w+) is not successful\. Got status (\d+)/;

let xnnWatched = false;

/**
 * tfjs-wasm reports a failed XNNPACK operator (e.g. out of memory in its 4 GiB heap) only as a console
 * warning and then returns without computing, so the numbers that follow would be garbage. This turns that
 * warning into a HeroError that stops the run. Installed before the wasm module starts, because the module
 * binds console.warn when it is instantiated.
 */
export function failOnXnnpackWarnings(): void {
  if (xnnWatched) return;
  xnnWatched = true;
  const warn = console.warn;
  console.warn = (...args: unknown[]): void => {
    const e = xnnpackFailure(args.map(String).join(' '));
    if (e) throw e;
    warn.apply(console, args);
  };
}

/** The error for a console warning that reports a failed XNNPACK operator; undefined for any other warning. */
export function xnnpackFailure(message: string): HeroError | undefined {
  const m = XNNPACK_WARNING.exec(message);
  return m ? new HeroError(`wasm backend: XNNPACK could not create ${m[1]} (status ${m[2]}${m[2] === '6' ? ': out of memory in the wasm heap' : ''}); ` +
    'the product would be left uncomputed, so the run stops (try --weights streamed or a smaller --ratio)') : undefined;
}

/**
 * Registers and activates `name`; returns the tfjs backend id now in use. `log` receives what the backend
 * reports at start-up (webgpu: the adapter's name and limits, and a line when the adapter is software).
 * `webgpuAdapter` is the --webgpu-adapter flag (else $HERO_LVLM_WEBGPU_ADAPTER): a software adapter for
 * tests, webgpu only (src/accel/webgpu.ts).
 */
export async function initBackend(name: BackendName, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
  opts: { webgpuAdapter?: string } = {}): Promise<string> {
  let tfName: string = name;
  let adapter: AdapterReport | undefined;
  if (opts.webgpuAdapter !== undefined && name !== 'webgpu') {
    throw new HeroError(`--webgpu-adapter: applies to --backend webgpu only (the backend is ${name})`);
  }
  if (name === 'wasm') {
    failOnXnnpackWarnings();
    require('@tensorflow/tfjs-backend-wasm');
  } else if (name === 'cpu') require('@tensorflow/tfjs-backend-cpu');
  else if (name === 'webgpu' && inBrowser()) require('@tensorflow/tfjs-backend-webgpu'); // the page: the browser's own navigator.gpu
  else if (name === 'webgpu') adapter = prepareWebGpu(realProbes, requestedWebGpuAdapter(opts.webgpuAdapter));
  else { requireOptional(name === 'tfjs-node' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu'); tfName = 'tensorflow'; }
  // PROD silences tfjs's own console hints (e.g. the cpu backend's "install tfjs-node" banner), which would
  // break the one-line error contract on stderr; our README documents the backends instead.
  tf.env().set('PROD', true);
  // tf.setBackend resolves to false (it does not throw) when initialisation fails.
  const ok = await tf.setBackend(tfName);
  if (!ok || tf.getBackend() !== tfName) throw new HeroError(`backend '${name}' failed to initialise`);
  if (name === 'webgpu' && inBrowser()) log(`webgpu: the browser's adapter (${browserAdapterName()})`);
  if (adapter) {
    const limits = finishWebGpu();
    log(describeAdapter(adapter, limits, activeBindingCap()));
    if (isSoftwareAdapter(adapter)) log(softwareAdapterLine(adapter));
  }
  return tfName;
}
