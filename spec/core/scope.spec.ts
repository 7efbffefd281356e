/**
 * tidyAsync: the async scope of the pipeline's host reads (src/core/scope.ts). It must free what `fn` made and
 * did not return, keep what it returned (also nested in records next to numbers and host arrays), leave the
 * caller's tensors alone, and free everything it made when `fn` throws.
 */
import * as tf from '@tensorflow/tfjs-core';
import { tidyAsync } from '../../src/core/scope';

const live = (): number => tf.memory().numTensors;

describe('tidyAsync', () => {
  it('frees the intermediates across awaits, keeps the returned record\'s tensors, never the caller\'s input', async () => {
    const x = tf.tensor1d([1, 2, 3]);
    const before = live();
    const out = await tidyAsync(async () => {
      const y = tf.mul(x, 2);                    // intermediate
      const host = await y.data();               // a host read between two tensor ops
      const z = tf.add(y, 1);                    // returned
      const w = tf.sub(z, 1);                    // intermediate after the read
      await w.data();
      return { z, rows: [z.shape[0], undefined], host, nested: { list: [tf.scalar(host[2])] } };
    });
    // kept: z and the nested scalar; freed: y, w and the scalars `mul`/`add`/`sub` made from the numbers
    expect(live() - before).toBe(2);
    expect(x.isDisposed).toBe(false);
    expect(Array.from(await out.z.data())).toEqual([3, 5, 7]);
    expect(Array.from(out.host)).toEqual([2, 4, 6]);
    expect(await out.nested.list[0].data()).toEqual(new Float32Array([6]));
    tf.dispose([x, out.z, out.nested.list[0]]);
  });

  it('frees every tensor it made and rethrows when fn throws after an await', async () => {
    const before = live();
    let made: tf.Tensor | undefined;
    await expect(tidyAsync(async () => {
      made = tf.ones([4]);
      await made.data();
      tf.zeros([2]);
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(live()).toBe(before);
    expect(made!.isDisposed).toBe(true);
  });

  it('nests: an inner scope returns into the outer one, which frees it unless returned', async () => {
    const before = live();
    const kept = await tidyAsync(async () => {
      const inner = await tidyAsync(async () => { const a = tf.ones([2]); await a.data(); return tf.add(a, a); });
      expect(inner.isDisposed).toBe(false);     // the inner result survives its own scope
      const dropped = await tidyAsync(async () => tf.zeros([3]));
      expect(dropped.isDisposed).toBe(false);
      return tf.mul(inner, 3);
    });
    expect(live() - before).toBe(1);
    expect(Array.from(await kept.data())).toEqual([6, 6]);
    kept.dispose();
  });
});
