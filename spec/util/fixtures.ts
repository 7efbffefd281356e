/**
 * Golden fixtures (HF transformers v4.45.1, fp32; made by spec/fixtures/generate/, see spec/fixtures/README.md):
 * spec/fixtures/cases/<case>.{json,safetensors}, spec/fixtures/models/<model>/, spec/fixtures/images/<image>.png.
 * Tests read nothing outside the repository.
 */
import * as path from 'path';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsFile } from '../../src/io/safetensors';
import { BACKENDS, initBackend, type BackendName } from '../../src/backend';
import { forbidSyncReads, outsideKernels } from '../../src/accel/sync_reads';
import { requestedWebGpuAdapter } from '../../src/accel/webgpu';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');
export const modelDir = (name: string): string => path.join(FIXTURES, 'models', name);
export const imagePath = (name: string): string => path.join(FIXTURES, 'images', `${name}.png`);

export interface GoldenCase {
  readonly name: string;
  readonly json: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly file: SafetensorsFile;
  /** names of the stored tensors */
  names(): string[];
  /** a stored float tensor as a tf tensor (caller disposes, or call inside a leak-checked test body) */
  tensor(name: string): tf.Tensor;
  /** a stored tensor's values as plain numbers */
  numbers(name: string): number[];
  floats(name: string): Float32Array;
  shape(name: string): number[];
}

const cache = new Map<string, GoldenCase>();

export function loadCase(name: string): GoldenCase {
  const hit = cache.get(name);
  if (hit) return hit;
  const base = path.join(FIXTURES, 'cases', name);
  const json = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8'));
  const file = SafetensorsFile.open(`${base}.safetensors`);
  const c: GoldenCase = {
    name, json, file,
    names: () => file.names(),
    tensor: (n) => tf.tensor(file.readFloat32(n), file.info(n).shape as number[], 'float32'),
    numbers: (n) => file.readNumbers(n),
    floats: (n) => file.readFloat32(n),
    shape: (n) => [...file.info(n).shape],
  };
  cache.set(name, c);
  return c;
}

/** The environment variable listing the backends the golden and property specs run on. */
export const TEST_BACKENDS_ENV = 'HERO_LVLM_TEST_BACKENDS';

/**
 * Parses $HERO_LVLM_TEST_BACKENDS (comma list of src/backend.ts names; default `cpu,wasm`). An
 * unknown name throws here, so every spec that loops over the list fails instead of silently skipping.
 */
export function parseTestBackends(value: string | undefined): BackendName[] {
  const names = (value ?? 'cpu,wasm').split(',').map((s) => s.trim()).filter((s) => s);
  if (names.length === 0) throw new Error(`$${TEST_BACKENDS_ENV} is empty; list backends, e.g. cpu,wasm or webgpu`);
  for (const n of names) {
    if (!(BACKENDS as readonly string[]).includes(n)) throw new Error(`$${TEST_BACKENDS_ENV}: unknown backend '${n}' (choose from ${BACKENDS.join(', ')})`);
  }
  return names as BackendName[];
}

/** Backends every golden case runs on: $HERO_LVLM_TEST_BACKENDS, default cpu and wasm. */
export const GOLDEN_BACKENDS: readonly BackendName[] = parseTestBackends(process.env[TEST_BACKENDS_ENV]);

/**
 * Whether webgpu runs on a software adapter ($HERO_LVLM_WEBGPU_ADAPTER=swiftshader, as .ci/run sets it). SwiftShader
 * runs tfjs's shaders at ≈ 0.1 GFLOP per CPU-second (docs/gpu.md "WebGPU in CI"), so the goldens at real model
 * width (ViT-L/14-336's 577 × 1024) are skipped there, saying so in the test name; the tiny goldens all run.
 */
export const SOFTWARE_WEBGPU = requestedWebGpuAdapter(undefined) !== undefined;

/** `it`, or `it.skip` for a full-width golden on webgpu through a software adapter (SOFTWARE_WEBGPU). */
export function itAtFullWidth(backend: string): jest.It {
  return backend === 'webgpu' && SOFTWARE_WEBGPU ? it.skip : it;
}

/** GOLDEN_BACKENDS that VisionPool supports (wasm, cpu: single-threaded backends it parallelises). */
export const POOL_BACKENDS: readonly BackendName[] = GOLDEN_BACKENDS.filter((b) => b === 'wasm' || b === 'cpu');

/** The environment variable that makes useBackend refuse synchronous reads ('1'): see useBackend. */
export const FORBID_SYNC_READS_ENV = 'HERO_LVLM_FORBID_SYNC_READS';

/** GOLDEN_BACKENDS that read tensors synchronously (wasm, cpu): for code that reads with dataSync by design (HostKvCache, VisionPool). */
export const SYNC_READ_BACKENDS: readonly BackendName[] = GOLDEN_BACKENDS.filter((b) => b === 'wasm' || b === 'cpu');

/** Parses $HERO_LVLM_FORBID_SYNC_READS: unset, '' or '0' off, '1' on; anything else throws (never a silent off). */
export function forbidSyncReadsFromEnv(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0') return false;
  if (value === '1') return true;
  throw new Error(`$${FORBID_SYNC_READS_ENV}: expected 1 (or 0), got '${value}'`);
}

/** Undoes the guard the last useBackend installed (none: a no-op). */
let undoGuard: () => void = () => undefined;

/**
 * Switch the global tfjs backend through src/backend.ts (so optional backends are registered), failing
 * loudly — never skipping — when it cannot initialise (e.g. a package that is not installed).
 * With $HERO_LVLM_FORBID_SYNC_READS=1 it installs forbidSyncReads (src/accel/sync_reads.ts, the guard webgpu
 * installs) on the backend it activates, refusing every synchronous read made outside a kernel (cpu's and
 * wasm's kernels read their own inputs with readSync), so a golden spec that would stop on webgpu fails on
 * cpu and wasm too; the next call removes it first, and leaveBackend switches back to cpu without it.
 * `syncReads: true` leaves it off, for code that reads synchronously by design (wasm/cpu only:
 * SYNC_READ_BACKENDS).
 */
export async function useBackend(name: string, opts: { syncReads?: boolean } = {}): Promise<void> {
  undoGuard();
  undoGuard = () => undefined;
  const tfName = await initBackend(name as BackendName, () => undefined);
  if (tf.getBackend() !== tfName) throw new Error(`backend ${name} failed to initialise`);
  if (forbidSyncReadsFromEnv(process.env[FORBID_SYNC_READS_ENV]) && !opts.syncReads) {
    undoGuard = forbidSyncReads(tf.backend(), {
      refuse: outsideKernels,
      message: `a synchronous read (dataSync/arraySync) in a spec on the ${name} backend under $${FORBID_SYNC_READS_ENV}=1: read with await data()/array() (spec/util/close.ts host, expectCloseAsync)`,
    });
  }
}

/** Back to the cpu backend the specs start on (spec/util/setup.ts), without the guard useBackend may have installed. */
export async function leaveBackend(): Promise<void> {
  await useBackend('cpu', { syncReads: true });
}
