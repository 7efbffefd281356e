/**
 * core/weights.ts: a weight group is its tensors or a source; useWeights hands a resident group over as it
 * is and a streamed one materialised, freeing what it materialised when the use returns or throws; the
 * byte and shape walks see both kinds.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gatherRows, isWeightSource, leafShape, mapWeights, residentWeights, useWeights, weightBytes, weightShapes, type WeightSource } from '../../src/core/weights';

/** A source of { w: [2, 3], b: [3] } that counts its materialisations. */
function source(): WeightSource<{ w: tf.Tensor; b: tf.Tensor }> & { made: number; last?: { w: tf.Tensor; b: tf.Tensor } } {
  const s = {
    kind: 'weight-source' as const, hostBytes: 18, fp32Bytes: 36, made: 0, last: undefined as { w: tf.Tensor; b: tf.Tensor } | undefined,
    materialise() { s.made++; s.last = { w: tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), b: tf.tensor1d([1, 1, 1]) }; return s.last; },
    hostLeaves: () => [{ path: 'w', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }, { path: 'b', shape: [3], data: new Float32Array([1, 1, 1]) }],
    leafShapes: () => [{ path: 'w', shape: [2, 3] }, { path: 'b', shape: [3] }],
  };
  return s;
}

describe('core/weights · useWeights', () => {
  it('a resident group is handed over as it is and nothing is freed', () => {
    const w = { w: tf.ones([2, 2]) };
    const y = useWeights(w, (p) => { expect(p).toBe(w); return tf.sum(p.w); });
    expect(y.dataSync()[0]).toBe(4);
    expect(w.w.isDisposed).toBe(false);
    tf.dispose([y, w.w]);
  });

  it('a streamed group is materialised for the use and freed after it; the result stays', () => {
    const s = source();
    const y = useWeights(s, (p) => tf.tidy(() => tf.add(tf.sum(p.w), tf.sum(p.b))));
    expect(s.made).toBe(1);
    expect(y.dataSync()[0]).toBe(24);
    expect([s.last!.w.isDisposed, s.last!.b.isDisposed]).toEqual([true, true]);
    y.dispose();
  });

  it('the materialised tensors are freed when the use throws', () => {
    const s = source();
    expect(() => useWeights(s, () => { throw new Error('boom'); })).toThrow('boom');
    expect([s.last!.w.isDisposed, s.last!.b.isDisposed]).toEqual([true, true]);
  });
});

describe('core/weights · mapWeights, residentWeights, weightBytes, weightShapes', () => {
  it('mapWeights keeps a source a source (a tied lm_head) and counts its host bytes once', () => {
    const s = source();
    const m = mapWeights(s, (p) => ({ weight: p.w }));
    expect(isWeightSource(m)).toBe(true);
    const y = useWeights(m, (p) => tf.sum(p.weight));
    expect(y.dataSync()[0]).toBe(21);
    y.dispose();
    expect([s.last!.w.isDisposed, s.last!.b.isDisposed]).toEqual([true, true]); // b, left out by f, is freed at once
    expect(weightBytes({ e: s, lm: m })).toEqual({ resident: 0, streamedHost: 18, largestStreamedFp32: 36, onDisk: 0, largestOnDisk: 0 });
  });

  it('weightBytes counts a tensor held twice once; weightShapes walks tensors and sources', () => {
    const t = tf.zeros([4, 5]);
    const tree = { a: { weight: t }, tied: { weight: t }, layers: [source()] };
    expect(weightBytes(tree)).toEqual({ resident: 80, streamedHost: 18, largestStreamedFp32: 36, onDisk: 0, largestOnDisk: 0 });
    expect(weightShapes(tree)).toEqual([['a.weight', [4, 5]], ['tied.weight', [4, 5]], ['layers.0.w', [2, 3]], ['layers.0.b', [3]]]);
    expect(residentWeights(tree.a)).toBe(tree.a);
    expect(() => residentWeights(tree.layers[0], 'layer 0')).toThrow('layer 0 is streamed from the host; use useWeights');
    t.dispose();
  });
});

describe('core/weights · gatherRows, leafShape', () => {
  it('rows of a resident leaf and of a source without row reads (materialised, then freed) are the same gather', () => {
    const w = { w: tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), b: tf.tensor1d([1, 1, 1]) };
    const a = gatherRows(w, 'w', [1, 0, 1]);
    expect(Array.from(a.dataSync())).toEqual([4, 5, 6, 1, 2, 3, 4, 5, 6]);
    const s = source();
    const b = gatherRows(s, 'w', [1, 0, 1]);
    expect(Array.from(b.dataSync())).toEqual([4, 5, 6, 1, 2, 3, 4, 5, 6]);
    expect(s.made).toBe(1);
    expect(s.last!.w.isDisposed).toBe(true);
    expect(leafShape(w, 'w')).toEqual([2, 3]);
    expect(leafShape(s, 'b')).toEqual([3]);
    expect(() => leafShape(s, 'x')).toThrow(/no leaf 'x'/);
    expect(() => gatherRows(w, 'b', [0])).toThrow(/no 2-D leaf 'b'/);
    tf.dispose([a, b, w.w, w.b]);
  });

  it('a source that reads rows itself (WeightSource.rows) is asked for them and never materialised', () => {
    const s = Object.assign(source(), { rows: (_path: string, ids: readonly number[]) => tf.tensor2d(ids.map((i) => i * 10), [ids.length, 1]) });
    const r = gatherRows(s, 'w', [2, 3]);
    expect(Array.from(r.dataSync())).toEqual([20, 30]);
    expect(s.made).toBe(0);
    r.dispose();
  });
});
