/**
 * Random-weight initialisation: the one rule set and the one draw behind the embedded default model
 * (default_model.ts, written to disk), the timing weights (random_params.ts: bench, gpu-check) and the
 * specs' small random models. Every draw goes through the seeded, platform-independent Rng (rng.ts), one
 * stream per tensor name, so the same (seed, name) gives the same bytes everywhere and key order does not
 * matter.
 */
import { Rng } from './rng';

/** How one tensor is drawn: mean + std·N(0, 1), or a constant. */
export type Init = { kind: 'normal'; mean: number; std: number } | { kind: 'const'; value: number };

/** N(mean, std²). */
export const normalInit = (std: number, mean = 0): Init => ({ kind: 'normal', mean, std });

/** Fan-in of a weight [out, in, …]: the product of every axis but the first (1 for a vector). */
export function fanIn(shape: readonly number[]): number {
  return shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
}

/** Linear/conv weights N(0, 1/fan_in): unit-scale activations through a layer. */
export const fanInInit = (fanInSize: number): Init => normalInit(1 / Math.sqrt(fanInSize));

/**
 * The rule for a tensor known only by its checkpoint name and shape (timing weights, the specs' models):
 * norm weights (`…norm….weight`, CLIP's `…layrnorm.weight`) 1 + N(0, normStd²), biases N(0, biasStd²),
 * everything else N(0, 1/fan_in).
 */
export function initByName(name: string, shape: readonly number[], biasStd: number, normStd: number): Init {
  if (/norm|layrnorm/.test(name) && name.endsWith('weight')) return normalInit(normStd, 1);
  if (name.endsWith('bias')) return normalInit(biasStd);
  return fanInInit(fanIn(shape));
}

/** n values drawn by `init` from the stream (seed, stream), each rounded once to fp32. */
export function drawInit(init: Init, n: number, seed: number, stream: string): Float32Array {
  return init.kind === 'const' ? new Float32Array(n).fill(init.value) : new Rng(seed, stream).normalArray(n, init.mean, init.std);
}
