import type * as tf from '@tensorflow/tfjs-core';
import { HeroError } from './errors';

/**
 * Asserts a tensor's shape at a module boundary. `dims` names each axis with a glossary letter
 * (docs/dims.md); an expected entry of -1 accepts any size.
 *   assertShape(x, ['P', 'N', 'Dv'], [5, 577, 1024], 'pixel features')
 */
export function assertShape(x: tf.Tensor | { shape: readonly number[] }, dims: readonly string[],
  expected: readonly number[], what: string): void {
  const got = x.shape;
  const ok = got.length === expected.length && expected.every((e, i) => e < 0 || e === got[i]);
  if (!ok) {
    const exp = expected.map((e) => (e < 0 ? '*' : String(e)));
    throw new HeroError(`${what}: expected [${dims.join(', ')}] = [${exp.join(', ')}], got [${got.join(', ')}]`);
  }
}
