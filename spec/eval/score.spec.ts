/** Split-level aggregation against the official code's totals (spec/fixtures/eval/goldens.json). */
import { GOLDENS, MEAN_TOL } from './goldens';
import { scoreTask } from '../../src/eval/score';
import type { EvalQuestion } from '../../src/eval/tasks';
import { HeroError } from '../../src/core/errors';

/** Official POPE/MME/MMBench numbers are fractions or sums of a few terms; ours sum the same terms. */
const TOL = MEAN_TOL;
const close = (a: number | null | undefined, e: number): void => expect(Math.abs((a ?? NaN) - e)).toBeLessThanOrEqual(TOL * Math.max(1, Math.abs(e)));

describe('POPE per split and pooled', () => {
  const questions: EvalQuestion[] = [];
  const preds = new Map<string, string>();
  for (const [split, items] of Object.entries(GOLDENS.pope.cases) as Array<[string, Array<[string, string]>]>) {
    items.forEach(([p, g], i) => {
      const id = `${split}-${i}`;
      questions.push({ id, image: null, question: 'q', category: split, answer: g });
      preds.set(id, p);
    });
  }
  it('lmms-eval: accuracy, precision, recall, F1, yes-ratio (of the ground truth)', () => {
    const r = scoreTask('pope', 'lmms-eval', questions, preds);
    for (const [group, want] of Object.entries(GOLDENS.pope.lmms) as Array<[string, Record<string, number>]>) {
      const got = group === 'pooled' ? r.metrics : r.groups![group];
      for (const k of Object.keys(want)) close(got[k], 100 * want[k]);
    }
    expect(r.main).toBe('f1');
  });
  it('LLaVA eval_pope: per split TP/FP/TN/FN and the rates; headline = mean F1', () => {
    const r = scoreTask('pope', 'llava', questions, preds);
    const f1s: number[] = [];
    for (const [split, want] of Object.entries(GOLDENS.pope.llava) as Array<[string, Record<string, number>]>) {
      for (const k of ['TP', 'FP', 'TN', 'FN']) expect(r.groups![split][k]).toBe(want[k]);
      for (const k of ['accuracy', 'precision', 'recall', 'f1', 'yes_ratio']) close(r.groups![split][k], 100 * want[k]);
      f1s.push(100 * want.f1);
    }
    close(r.metrics.mean_f1, f1s.reduce((a, b) => a + b) / f1s.length);
  });
});

describe('MME perception and cognition (acc + acc+)', () => {
  const rows: Array<[string, string, string, string, string]> = GOLDENS.mme.rows;
  const questions: EvalQuestion[] = rows.map(([cat, img, q, gt], i) => ({ id: String(i), image: null, question: q, category: cat, pairKey: `${cat}/${img}`, answer: gt }));
  const preds = new Map(rows.map((r, i) => [String(i), r[4]]));
  it('lmms-eval mme_aggregate_results', () => {
    const r = scoreTask('mme', 'lmms-eval', questions, preds);
    close(r.metrics.perception, GOLDENS.mme.lmms.perception);
    close(r.metrics.cognition, GOLDENS.mme.lmms.cognition);
  });
  it('official eval_tool calculation.py (LLaVA\'s protocol), every subtask', () => {
    const r = scoreTask('mme', 'llava', questions, preds);
    close(r.metrics.perception, GOLDENS.mme.official.perception);
    close(r.metrics.cognition, GOLDENS.mme.official.cognition);
    for (const [cat, score] of Object.entries(GOLDENS.mme.official.subtasks) as Array<[string, number]>) close(r.groups![cat].score, score);
  });
  it('leaves an image with one answer out, and says so', () => {
    const r = scoreTask('mme', 'lmms-eval', questions, new Map([...preds].slice(1)));
    expect(r.missing).toBe(1);
    expect(r.notes.join('\n')).toMatch(/without both answers/);
  });
});

describe('MMBench circular (rule-based; GPT fallback → wrong, counted)', () => {
  const rows: Array<{ index: number; answer: string; prediction: string; options: Record<string, string> }> = GOLDENS.mmbench.rows;
  const questions: EvalQuestion[] = rows.map((r) => ({ id: String(r.index), image: null, question: 'q', index: r.index, answer: r.answer, options: r.options }));
  const preds = new Map(rows.map((r) => [String(r.index), r.prediction]));
  it('overall hit rate and the questions that needed the fallback', () => {
    const r = scoreTask('mmbench_en_dev', 'lmms-eval', questions, preds);
    close(r.metrics.circular_accuracy, 100 * GOLDENS.mmbench.overall);
    expect(r.metrics.unparsed).toBe(GOLDENS.mmbench.fallback_questions.length);
    expect(r.metrics.questions).toBe(new Set(rows.map((x) => x.index % 1e6)).size);
  });
});

describe('ScienceQA-IMG (LLaVA: IMG-accuracy over questions with an image)', () => {
  it('equals eval_science_qa.py on the same answers', () => {
    const cases: Array<{ prediction: string; answer: number; choices: number; correct: boolean }> = GOLDENS.sqa_llava;
    const questions: EvalQuestion[] = cases.map((c, i) => ({ id: String(i), image: { path: 'x.png' }, question: 'q', choices: Array(c.choices).fill('c'), answerIndex: c.answer }));
    const r = scoreTask('scienceqa_img', 'llava', questions, new Map(cases.map((c, i) => [String(i), c.prediction])));
    close(r.metrics.img_accuracy, (100 * cases.filter((c) => c.correct).length) / cases.length);
  });
});

describe('GQA under LLaVA: the official eval.py over balanced questions (it prints two decimals)', () => {
  it('accuracy, binary, open', () => {
    const cases: Array<{ prediction: string; answer: string; balanced: boolean; structural: string }> = GOLDENS.gqa_llava;
    const questions: EvalQuestion[] = cases.map((c, i) => ({ id: String(i), image: null, question: 'q', answer: c.answer, isBalanced: c.balanced, structural: c.structural }));
    const r = scoreTask('gqa', 'llava', questions, new Map(cases.map((c, i) => [String(i), c.prediction])));
    const printed = GOLDENS.gqa_llava_eval_py;
    const HALF_LAST_DIGIT = 0.5 * 10 ** -printed.decimals;                  // eval.py rounds to 2 decimals when it prints
    for (const k of ['accuracy', 'binary', 'open']) expect(Math.abs(r.metrics[k]! - printed[k])).toBeLessThanOrEqual(HALF_LAST_DIGIT);
  });
});

describe('protocols that cannot score a task say why', () => {
  it.each([
    ['vqav2_val', 'llava', /EvalAI/], ['chartqa', 'llava', /only in lmms-eval/], ['vqav2_testdev', 'lmms-eval', /eval submit/],
    ['mmbench_en_dev', 'llava', /OpenCompass/],
  ] as const)('%s / %s', (task, protocol, msg) => {
    expect(() => scoreTask(task, protocol, [], new Map())).toThrow(HeroError);
    expect(() => scoreTask(task, protocol, [], new Map())).toThrow(msg);
  });
});
