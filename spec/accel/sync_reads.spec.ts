/**
 * forbidSyncReads (src/accel/sync_reads.ts), the guard webgpu installs and the async-pipeline spec installs on
 * cpu and wasm: synchronous reads throw a HeroError, asynchronous ones return the same numbers, kernels that
 * read their own inputs keep working (outsideKernels), and the undo restores the backend. The spec installs the
 * guard itself, so useBackend's ($HERO_LVLM_FORBID_SYNC_READS) stays off; its synchronous reads are the ones it
 * expects refused, and one of a tensor made from host values that the guard must let through (webgpu's own guard
 * lets such a tensor be read too: it keeps its values on the CPU).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../../src/core/errors';
import { forbidSyncReads, outsideKernels } from '../../src/accel/sync_reads';
import { GOLDEN_BACKENDS, leaveBackend, useBackend } from '../util/fixtures';

describe.each(GOLDEN_BACKENDS)('forbidSyncReads (%s backend)', (backend) => {
  beforeAll(async () => { await useBackend(backend, { syncReads: true }); });
  afterAll(async () => { await leaveBackend(); });

  /** The backend's read entry points as they are now: the functions, and whether they are the instance's own. */
  const reads = (): unknown => {
    const b = tf.backend() as unknown as Record<string, unknown>;
    return { readSync: b.readSync, read: b.read, own: ['readSync', 'read'].map((k) => Object.prototype.hasOwnProperty.call(b, k)) };
  };

  it('refuses dataSync/arraySync/bufferSync with a HeroError; data()/array() read the same numbers; undo restores', async () => {
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const before = Array.from(await x.data());
    const was = reads();
    const undo = forbidSyncReads(tf.backend(), { message: 'no sync read here' });
    try {
      expect(() => x.dataSync()).toThrow(HeroError);
      expect(() => x.dataSync()).toThrow('no sync read here');
      expect(() => x.arraySync()).toThrow(HeroError);
      expect(() => x.bufferSync()).toThrow(HeroError);
      expect(Array.from(await x.data())).toEqual(before);
      expect(await x.array()).toEqual([[1, 2, 3], [4, 5, 6]]);
    } finally {
      undo();
    }
    // nothing of the guard is left on the backend instance: the very methods it had before (on cpu and wasm the
    // class's; on webgpu the guard webgpu.ts installs)
    expect(reads()).toEqual(was);
    expect(Array.from(x.dataSync())).toEqual(before);
    x.dispose();
  });

  it('with refuse = outsideKernels, kernels that read their inputs still run; only our own reads fail', async () => {
    const undo = forbidSyncReads(tf.backend(), { refuse: outsideKernels });
    let y: tf.Tensor | undefined;
    try {
      // slice, concat and gather with int indices: tfjs-wasm's kernels read inputs with readSync
      y = tf.tidy(() => {
        const x = tf.reshape(tf.range(0, 12), [3, 4]);
        return tf.concat([tf.slice(x, [1, 0], [2, -1]), tf.gather(x, tf.tensor1d([0, 2], 'int32'))]);
      });
      expect(() => y!.dataSync()).toThrow(HeroError);
      expect(await y.array()).toEqual([[4, 5, 6, 7], [8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]]);
    } finally {
      undo();
      y?.dispose();
    }
  });

  it('refuses only the reads `refuse` picks', async () => {
    const a = tf.tensor1d([1]), b = tf.tensor1d([2]);
    const undo = forbidSyncReads(tf.backend(), { refuse: (id) => id === a.dataId });
    try {
      expect(() => a.dataSync()).toThrow(HeroError);
      expect(Array.from(b.dataSync())).toEqual([2]);
    } finally {
      undo();
      tf.dispose([a, b]);
    }
  });
});
