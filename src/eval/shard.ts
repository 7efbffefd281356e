/**
 * Past one machine: a task's questions split deterministically into N shards (`--shard i/N`, i from 0,
 * as a Slurm array's SLURM_ARRAY_TASK_ID or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX count), and
 * the shards' predictions merged back into what one unsharded run writes. Pure: the RUN files are read
 * and written by run_file.ts.
 */
import { HeroError, check } from '../core/errors';

export interface Shard { readonly index: number; readonly count: number }

/** `i/N` with 0 ≤ i < N. */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  check(m !== null, `--shard '${s}': expected i/N, e.g. 0/4 (i counts from 0)`);
  const [index, count] = [Number(m[1]), Number(m[2])];
  check(count >= 1 && index < count, `--shard '${s}': need 0 <= i < N`);
  return { index, count };
}

/** The ids of shard i: every N-th question of the data's order, starting at the i-th (round robin, so
 * each shard gets a slice of every category and the same share of long and short questions). */
export function shardIds<T>(ids: readonly T[], shard: Shard): T[] {
  return ids.filter((_, k) => k % shard.count === shard.index);
}

/**
 * Shards' prediction lines (each with its `question_id`) → the lines of the unsharded run, in the
 * data's order. The shards must be disjoint (no id answered in two) and complete (every id answered).
 */
export function mergeShards<L extends { readonly question_id: string | number }>(order: readonly string[],
  shards: ReadonlyArray<{ readonly name: string; readonly lines: readonly L[] }>): L[] {
  const at = new Map<string, { line: L; from: string }>();
  const known = new Set(order);
  for (const s of shards) {
    for (const line of s.lines) {
      const id = String(line.question_id);
      check(known.has(id), `${s.name}: question_id ${id} is not in the task's data`);
      const prev = at.get(id);
      if (prev) throw new HeroError(`shards overlap: question_id ${id} is in ${prev.from} and in ${s.name}`);
      at.set(id, { line, from: s.name });
    }
  }
  const missing = order.filter((id) => !at.has(id));
  if (missing.length) {
    throw new HeroError(`shards incomplete: ${missing.length} of ${order.length} questions unanswered (first: ${missing.slice(0, 3).join(', ')})`);
  }
  return order.map((id) => at.get(id)!.line);
}
