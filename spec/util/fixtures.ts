/**
 * Golden fixtures copied from ../shared/golden (HF transformers v4.45.1, fp32): spec/fixtures/cases/<case>.{json,
 * safetensors}, spec/fixtures/models/<model>/, spec/fixtures/images/<image>.png. Tests never read ../shared.
 */
import * as path from 'path';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsFile } from '../../src/io/safetensors';

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

/** Backends every golden case runs on (issue #2: cpu and wasm). */
export const GOLDEN_BACKENDS = ['cpu', 'wasm'] as const;

/** Switch the global tfjs backend, failing loudly when it cannot initialise. */
export async function useBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
}
