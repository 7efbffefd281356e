/**
 * A split's score from its questions and a prediction per question id, as each protocol aggregates it:
 * the per-question rules are metrics.ts, the prompts and token limits tasks.ts. Numbers are in the
 * paper's units (accuracies in %, MME as the sum of subtask scores, OCRBench as a count out of 1000).
 * Questions without a prediction are left out and counted (`missing`); a partial run says so.
 */
import { HeroError, check } from '../core/errors';
import {
  chartqaRelaxedCorrect, exactMatchLmms, gqaCorrectLlava, mmbenchCircular, mmeAnswerLmms, mmeAnswerOfficial,
  ocrbenchCorrect, popeAnswerLlava, popeAnswerLmms, rwqaCorrect, sqaCorrectLlava, sqaCorrectLmms,
  vqaAccuracyNormalized, vqav2AccuracyLmms, type MmbenchCopy, type YesNoOther,
} from './metrics';
import { pyStrip } from './normalize';
import { TASKS, type EvalQuestion, type Protocol, type TaskId } from './tasks';

export interface ScoreReport {
  readonly task: TaskId;
  readonly protocol: Protocol;
  /** Questions in the split, questions with a prediction, questions without. */
  readonly questions: number;
  readonly scored: number;
  readonly missing: number;
  /** The headline number's key in `metrics` (the one the paper's table shows). */
  readonly main: string;
  readonly metrics: Readonly<Record<string, number | null>>;
  /** Per sub-split / subtask / category, where the protocol reports one. */
  readonly groups?: Readonly<Record<string, Readonly<Record<string, number | null>>>>;
  readonly notes: readonly string[];
}

const pct = (xs: readonly number[]): number => (xs.length === 0 ? 0 : (100 * xs.reduce((a, b) => a + b, 0)) / xs.length);
const b2n = (b: boolean): number => (b ? 1 : 0);

function need<T>(v: T | undefined | null, q: EvalQuestion, field: string): T {
  if (v === undefined || v === null) throw new HeroError(`question ${q.id} has no ${field} (the data layout did not provide it)`);
  return v;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k);
    if (g) g.push(x); else m.set(k, [x]);
  }
  return m;
}

// ---- POPE ----------------------------------------------------------------------------------------------

/** lmms-eval's five aggregations (`pope/utils.py`): precision/recall count only exact "yes"/"no",
 * the yes-ratio is of the ground truth; a zero denominator gives 0. */
function popeLmms(items: ReadonlyArray<{ pred: string; gt: string }>): Record<string, number> {
  let tp = 0, fp = 0, fn = 0, yes = 0, no = 0, correct = 0;
  for (const { pred, gt } of items) {
    if (pred === gt) correct++;
    if (gt === 'yes' && pred === 'yes') tp++;
    else if (gt === 'no' && pred === 'yes') fp++;
    if (gt === 'yes' && pred === 'no') fn++;
    if (gt === 'yes') yes++; else if (gt === 'no') no++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return {
    accuracy: (100 * correct) / items.length, precision: 100 * precision, recall: 100 * recall, f1: 100 * f1,
    yes_ratio: 100 * (yes + no > 0 ? yes / (yes + no) : 0),
  };
}

/** LLaVA `eval_pope.py` on one split: yes-ratio of the predictions; a zero denominator (Python would
 * raise ZeroDivisionError) gives null. */
function popeLlava(items: ReadonlyArray<{ pred: 'yes' | 'no'; gt: string }>): Record<string, number | null> {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (const { pred, gt } of items) {
    const label = gt === 'no' ? 'no' : 'yes';
    if (pred === 'yes' && label === 'yes') tp++;
    else if (pred === 'yes') fp++;
    else if (label === 'no') tn++;
    else fn++;
  }
  const div = (a: number, b: number): number | null => (b === 0 ? null : a / b);
  const precision = div(tp, tp + fp);
  const recall = div(tp, tp + fn);
  const f1 = precision === null || recall === null ? null : div(2 * precision * recall, precision + recall);
  const p = (x: number | null): number | null => (x === null ? null : 100 * x);
  return {
    accuracy: p(div(tp + tn, items.length)), precision: p(precision), recall: p(recall), f1: p(f1),
    yes_ratio: p(div(tp + fp, items.length)), TP: tp, FP: fp, TN: tn, FN: fn,
  };
}

// ---- MME -----------------------------------------------------------------------------------------------

export const MME_PERCEPTION = ['existence', 'count', 'position', 'color', 'posters', 'celebrity', 'scene', 'landmark', 'artwork', 'OCR'];
export const MME_COGNITION = ['commonsense_reasoning', 'numerical_calculation', 'text_translation', 'code_reasoning'];

/** Subtask score = 100·acc + 100·acc+ (acc over questions, acc+ over images with both answers right);
 * perception and cognition = sums over their subtasks present. */
function mme(items: ReadonlyArray<{ q: EvalQuestion; pred: YesNoOther }>, notes: string[]): ScoreReportParts {
  const groups: Record<string, Record<string, number>> = {};
  for (const [cat, xs] of groupBy(items, (x) => need(x.q.category, x.q, 'category'))) {
    const pairs = [...groupBy(xs, (x) => need(x.q.pairKey, x.q, 'image key')).values()];
    const whole = pairs.filter((p) => p.length === 2);
    if (whole.length < pairs.length) notes.push(`mme/${cat}: ${pairs.length - whole.length} image(s) without both answers left out (MME scores pairs)`);
    const right = (x: { q: EvalQuestion; pred: YesNoOther }): boolean => x.pred === need(x.q.answer, x.q, 'answer').toLowerCase();
    const acc = pct(whole.flat().map((x) => b2n(right(x))));
    const accPlus = pct(whole.map((p) => b2n(p.every(right))));
    groups[cat] = { score: acc + accPlus, acc, acc_plus: accPlus, other: whole.flat().filter((x) => x.pred === 'other').length };
  }
  const sum = (cats: string[]): number => cats.reduce((s, c) => s + (groups[c]?.score ?? 0), 0);
  return { main: 'perception', metrics: { perception: sum(MME_PERCEPTION), cognition: sum(MME_COGNITION) }, groups };
}

// ---- the dispatcher -------------------------------------------------------------------------------------

interface ScoreReportParts {
  main: string;
  metrics: Record<string, number | null>;
  groups?: Record<string, Record<string, number | null>>;
}

/** Scores `questions` (one split, in the data's order) against `predictions` (question id → answer). */
export function scoreTask(task: TaskId, protocol: Protocol, questions: readonly EvalQuestion[],
  predictions: ReadonlyMap<string, string>): ScoreReport {
  const spec = TASKS[task];
  if (!spec.scores.includes(protocol)) {
    throw new HeroError(spec.serverOnly
      ? `task ${task} is scored only on its server: write the upload file with 'hero-lvlm eval submit'`
      : `task ${task} has no ${protocol} scorer: ${spec.noScore?.[protocol] ?? 'not available'}`);
  }
  const answered = questions.filter((q) => predictions.has(q.id));
  const notes: string[] = [];
  if (answered.length < questions.length) notes.push(`${questions.length - answered.length} of ${questions.length} questions have no prediction and are left out`);
  const pred = (q: EvalQuestion): string => predictions.get(q.id)!;
  let parts: ScoreReportParts;
  const byCategory = (f: (xs: EvalQuestion[]) => Record<string, number | null>): Record<string, Record<string, number | null>> =>
    Object.fromEntries([...groupBy(answered, (q) => q.category ?? '')].map(([c, xs]) => [c, f(xs)]));
  switch (task) {
    case 'vqav2_val':
      parts = { main: 'accuracy', metrics: { accuracy: pct(answered.map((q) => vqav2AccuracyLmms(pred(q), need(q.vqaAnswers, q, 'answers')))) } };
      break;
    case 'vizwiz_val':
    case 'textvqa_val':
      // lmms-eval strips the generation first; LLaVA's TextVQAAccuracyEvaluator normalises the text as it is.
      parts = { main: 'accuracy', metrics: { accuracy: pct(answered.map((q) => vqaAccuracyNormalized(pred(q), need(q.answers, q, 'answers'), protocol === 'lmms-eval'))) } };
      break;
    case 'gqa':
      if (protocol === 'lmms-eval') {
        parts = { main: 'exact_match', metrics: { exact_match: pct(answered.map((q) => b2n(exactMatchLmms(pred(q), need(q.answer, q, 'answer'))))) } };
      } else {
        const balanced = answered.filter((q) => q.isBalanced !== false);
        const score = (xs: EvalQuestion[]): number => pct(xs.map((q) => b2n(gqaCorrectLlava(pred(q), need(q.answer, q, 'answer')))));
        const typed = balanced.filter((q) => q.structural !== undefined);
        parts = { main: 'accuracy', metrics: {
          accuracy: score(balanced),
          binary: typed.length ? score(typed.filter((q) => q.structural !== 'query')) : null,
          open: typed.length ? score(typed.filter((q) => q.structural === 'query')) : null,
        } };
      }
      break;
    case 'scienceqa_img': {
      const correct = (q: EvalQuestion): boolean => (protocol === 'lmms-eval'
        ? sqaCorrectLmms(pred(q), need(q.answerIndex, q, 'answer index'))
        : sqaCorrectLlava(pred(q), need(q.answerIndex, q, 'answer index'), need(q.choices, q, 'choices').length));
      const withImage = answered.filter((q) => q.image !== null);
      parts = protocol === 'lmms-eval'
        ? { main: 'exact_match', metrics: { exact_match: pct(answered.map((q) => b2n(correct(q)))) } }
        : { main: 'img_accuracy', metrics: { img_accuracy: pct(withImage.map((q) => b2n(correct(q)))), accuracy: pct(answered.map((q) => b2n(correct(q)))) } };
      break;
    }
    case 'chartqa': {
      const ok = (xs: EvalQuestion[]): number => pct(xs.map((q) => b2n(chartqaRelaxedCorrect(pred(q), need(q.answer, q, 'answer')))));
      parts = { main: 'relaxed_overall', metrics: {
        relaxed_overall: ok(answered),
        relaxed_human_split: ok(answered.filter((q) => q.category === 'human_test')),
        relaxed_augmented_split: ok(answered.filter((q) => q.category !== 'human_test')),
      } };
      break;
    }
    case 'ocrbench': {
      const hit = (q: EvalQuestion): number => b2n(ocrbenchCorrect(pred(q), need(q.answers, q, 'answers'), q.dataset ?? ''));
      const groups = Object.fromEntries([...groupBy(answered, (q) => q.questionType ?? '')].map(([t, xs]) => [t, { score: xs.reduce((s, q) => s + hit(q), 0) }]));
      parts = { main: 'score', metrics: { score: answered.reduce((s, q) => s + hit(q), 0) }, groups };
      break;
    }
    case 'mme':
      parts = mme(answered.map((q) => ({ q, pred: (protocol === 'lmms-eval' ? mmeAnswerLmms : mmeAnswerOfficial)(pred(q)) })), notes);
      break;
    case 'mmbench_en_dev': {
      const rows = new Map<number, MmbenchCopy[]>();
      const byIndex = [...answered].sort((a, b) => need(a.index, a, 'index') - need(b.index, b, 'index'));
      for (const q of byIndex) {
        const options = Object.fromEntries(['A', 'B', 'C', 'D'].flatMap((k) => (q.options?.[k] != null ? [[k, String(q.options[k])]] : [])));
        const main = q.index! % 1_000_000;
        const copy: MmbenchCopy = { index: q.index!, answer: need(q.answer, q, 'answer'), prediction: pred(q), options };
        const list = rows.get(main);
        if (list) list.push(copy); else rows.set(main, [copy]);
      }
      const mains = [...rows.keys()].filter((i) => byIndex.some((q) => q.index === i));
      const orphans = rows.size - mains.length;
      if (orphans) notes.push(`${orphans} rotated cop(ies) without their index < 1e6 row are not scored (lmms-eval scores from the main rows)`);
      const results = mains.map((i) => mmbenchCircular(rows.get(i)!));
      const unparsed = results.filter((r) => r.unparsed).length;
      if (unparsed) notes.push(`${unparsed} question(s) had an answer no rule could parse (lmms-eval would ask GPT-3.5); counted wrong`);
      parts = { main: 'circular_accuracy', metrics: { circular_accuracy: pct(results.map((r) => r.hit)), questions: mains.length, unparsed } };
      break;
    }
    case 'pope':
      if (protocol === 'lmms-eval') {
        const f = (xs: EvalQuestion[]): Record<string, number> => popeLmms(xs.map((q) => ({ pred: popeAnswerLmms(pred(q)), gt: pyStrip(need(q.answer, q, 'answer').toLowerCase()) })));
        parts = { main: 'f1', metrics: f(answered), groups: byCategory(f) };
      } else {
        const f = (xs: EvalQuestion[]): Record<string, number | null> => popeLlava(xs.map((q) => ({ pred: popeAnswerLlava(pred(q)), gt: need(q.answer, q, 'answer') })));
        const groups = byCategory(f);
        const f1s = Object.values(groups).map((g) => g.f1);
        const meanF1 = f1s.some((x) => x === null) || f1s.length === 0 ? null : f1s.reduce((a, b) => a! + b!, 0)! / f1s.length;
        notes.push("LLaVA's eval_pope.py reports each split; its headline is their mean F1, the other metrics here pool all splits with its formulas");
        parts = { main: 'mean_f1', metrics: { mean_f1: meanF1, ...f(answered) }, groups };
      }
      break;
    case 'realworldqa':
      parts = { main: 'exact_match', metrics: { exact_match: pct(answered.map((q) => b2n(rwqaCorrect(pred(q), q.question, need(q.answer, q, 'answer'))))) } };
      break;
    default:
      check(false, `task ${task} has no scorer`);
  }
  return { task, protocol, questions: questions.length, scored: answered.length, missing: questions.length - answered.length, ...parts, notes };
}
