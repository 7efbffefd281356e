import fc from 'fast-check';
import { mergeShards, parseShard, shardIds } from '../../src/eval/shard';
import { HeroError } from '../../src/core/errors';

describe('--shard i/N and merge', () => {
  it('parses i/N (i from 0) and refuses the rest', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['4/4', '1/0', '-1/3', 'a/b', '1', '1/2/3']) expect(() => parseShard(bad)).toThrow(HeroError);
  });

  it('shards are disjoint and complete, and merging them gives the unsharded order', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 60 }), fc.integer({ min: 1, max: 9 }), (ids, n) => {
      const parts = Array.from({ length: n }, (_, i) => shardIds(ids, { index: i, count: n }));
      expect(parts.flat().sort()).toEqual([...ids].sort());
      expect(new Set(parts.flat()).size).toBe(ids.length);
      const shards = parts.map((p, i) => ({ name: `shard${i}`, lines: p.map((id) => ({ question_id: id, answer: `a-${id}` })) }));
      // merge does not depend on the order shards are given in
      expect(mergeShards(ids, [...shards].reverse()).map((l) => l.question_id)).toEqual(ids);
    }));
  });

  it('is deterministic (same split every time, on every machine)', () => {
    expect(shardIds(['a', 'b', 'c', 'd', 'e'], { index: 1, count: 2 })).toEqual(['b', 'd']);
  });

  it('refuses overlapping, incomplete or foreign shards, naming them', () => {
    const order = ['1', '2', '3'];
    const s = (name: string, ids: string[]): { name: string; lines: Array<{ question_id: string }> } => ({ name, lines: ids.map((question_id) => ({ question_id })) });
    expect(() => mergeShards(order, [s('A', ['1', '2']), s('B', ['2', '3'])])).toThrow('question_id 2 is in A and in B');
    expect(() => mergeShards(order, [s('A', ['1']), s('B', ['3'])])).toThrow('1 of 3 questions unanswered (first: 2)');
    expect(() => mergeShards(order, [s('A', ['1', '2', '3', '9'])])).toThrow('A: question_id 9 is not in the task');
  });
});
