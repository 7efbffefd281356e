/**
 * The loop of `eval predict`, without the model: which questions to ask (the shard, `--limit`, minus those
 * the RUN already has), the prompt each gets, one appended line per answer, and the progress line. The
 * command (to come, with the start-up runtime) supplies `ask`, which runs the pipeline on one question.
 */
import type { OpenRun } from './run_file';
import type { PredictionLine } from './run';
import { shardIds, type Shard } from './shard';
import { TASKS, type EvalQuestion, type Protocol, type TaskId } from './tasks';

export interface Answered {
  readonly answer: string;
  readonly visualTokens: { readonly kept: number; readonly total: number };
  readonly timesMs: Readonly<Record<string, number>>;
}

export interface PredictPlan {
  /** The questions this run owns (shard, then limit), in the data's order. */
  readonly owned: readonly EvalQuestion[];
  /** Of those, the ones still to ask. */
  readonly todo: readonly EvalQuestion[];
}

/** `--shard` first (so shards of a limited run stay disjoint), then `--limit` on the shard's questions. */
export function planPredict(questions: readonly EvalQuestion[], done: readonly string[], shard: Shard | null, limit: number | null): PredictPlan {
  let owned = shard ? shardIds(questions, shard) : [...questions];
  if (limit !== null) owned = owned.slice(0, limit);
  const have = new Set(done);
  return { owned, todo: owned.filter((q) => !have.has(q.id)) };
}

/** `done/total · q/min · ETA`, from the questions answered in this session and the time they took. */
export function progressLine(done: number, total: number, sessionDone: number, elapsedMs: number): string {
  const perMin = elapsedMs > 0 ? (sessionDone * 60_000) / elapsedMs : 0;
  const left = total - done;
  let eta = '–';
  if (perMin > 0) {
    const min = Math.round(left / perMin);
    eta = min >= 60 ? `${Math.floor(min / 60)}h ${String(min % 60).padStart(2, '0')}m` : `${min}m`;
  }
  return `${done}/${total} · ${perMin.toFixed(1)} q/min · ETA ${eta}`;
}

/**
 * Asks every question of `plan.todo` in order and appends its line to `run` before the next one (a kill
 * loses at most the question in flight). `onProgress` gets the progress line after each answer.
 */
export async function predictLoop(task: TaskId, protocol: Protocol, plan: PredictPlan, run: OpenRun,
  ask: (q: EvalQuestion, text: string, maxNewTokens: number) => Promise<Answered>, onProgress: (line: string) => void = () => {},
  now: () => number = Date.now): Promise<number> {
  const spec = TASKS[task];
  const t0 = now();
  let n = 0;
  for (const q of plan.todo) {
    const text = spec.text(q, protocol);
    const a = await ask(q, text, spec.maxNewTokens[protocol]);
    const line: PredictionLine = { question_id: q.id, prompt: text, answer: a.answer, visual_tokens: a.visualTokens, times_ms: a.timesMs };
    run.append(line);
    n++;
    onProgress(progressLine(plan.owned.length - plan.todo.length + n, plan.owned.length, n, now() - t0));
  }
  return n;
}
