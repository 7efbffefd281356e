/** Each per-question rule against the official code's verdicts (spec/fixtures/eval/goldens.json). */
import { GOLDENS, MEAN_TOL } from './goldens';
import {
  chartqaRelaxedCorrect, exactMatchLmms, gqaCorrectLlava, mmbenchInfer, mmeAnswerLmms, mmeAnswerOfficial, ocrbenchCorrect,
  rwqaCorrect, rwqaExtract, sqaCorrectLlava, sqaCorrectLmms, sqaLetterLlava, vqaAccuracyNormalized, vqav2AccuracyLmms,
} from '../../src/eval/metrics';

const label = (x: unknown): string => JSON.stringify(x).slice(0, 80);

describe('VQA soft accuracy', () => {
  it.each(GOLDENS.vqav2_lmms.map((c: any) => [label([c.prediction, c.answers.map((a: any) => a.answer)]), c]))('lmms-eval vqav2 %s', (_, c: any) => {
    expect(Math.abs(vqav2AccuracyLmms(c.prediction, c.answers) - c.score)).toBeLessThanOrEqual(MEAN_TOL);
  });
  for (const key of ['textvqa_lmms', 'vizwiz_lmms', 'textvqa_llava']) {
    it.each(GOLDENS[key].map((c: any) => [label([c.prediction, c.answers]), c]))(`${key} %s`, (_, c: any) => {
      expect(Math.abs(vqaAccuracyNormalized(c.prediction, c.answers, key !== 'textvqa_llava') - c.score)).toBeLessThanOrEqual(MEAN_TOL);
    });
  }
});

describe('GQA exact match', () => {
  it.each(GOLDENS.gqa_lmms.map((c: any) => [label(c), c]))('lmms-eval %s', (_, c: any) => expect(exactMatchLmms(c.prediction, c.answer)).toBe(c.correct));
  it.each(GOLDENS.gqa_llava.map((c: any) => [label(c), c]))('LLaVA convert + eval.py %s', (_, c: any) => expect(gqaCorrectLlava(c.prediction, c.answer)).toBe(c.correct));
});

describe('MME yes/no parsing', () => {
  const preds: string[] = GOLDENS.mme.rows.map((r: any) => r[4]).slice(0, GOLDENS.mme.lmms.parsed.length);
  it('lmms-eval parse_pred_ans', () => expect(preds.map(mmeAnswerLmms)).toEqual(GOLDENS.mme.lmms.parsed));
  it('official eval_tool parse_pred_ans', () => expect(preds.map(mmeAnswerOfficial)).toEqual(GOLDENS.mme.official.parsed));
});

describe('ScienceQA option parsing', () => {
  it.each(GOLDENS.sqa_lmms.map((c: any) => [label(c), c]))('lmms-eval %s', (_, c: any) => expect(sqaCorrectLmms(c.prediction, c.answer)).toBe(c.correct));
  it.each(GOLDENS.sqa_llava.map((c: any) => [label(c), c]))('LLaVA eval_science_qa %s', (_, c: any) => {
    expect(sqaCorrectLlava(c.prediction, c.answer, c.choices)).toBe(c.correct);
    const letter = sqaLetterLlava(c.prediction);
    expect(['A', 'B', 'C', 'D', 'E'].slice(0, c.choices).indexOf(letter)).toBe(c.parsed_index);
  });
});

describe('ChartQA relaxed accuracy', () => {
  it.each(GOLDENS.chartqa.map((c: any) => [label(c), c]))('%s', (_, c: any) => expect(chartqaRelaxedCorrect(c.prediction, c.answer)).toBe(c.correct));
});

describe('OCRBench substring match', () => {
  it.each(GOLDENS.ocrbench.map((c: any) => [label(c), c]))('%s', (_, c: any) => expect(ocrbenchCorrect(c.prediction, c.answers, c.dataset)).toBe(c.correct));
});

describe('MMBench option extraction (can_infer)', () => {
  it.each(GOLDENS.mmbench.infer.map((c: any) => [label(c), c]))('%s', (_, c: any) => {
    const options = Object.fromEntries(Object.entries(c.options).filter(([k, v]) => v !== null && k !== 'E')) as Record<string, string>;
    expect(mmbenchInfer(c.prediction, options)).toBe(c.letter);
  });
});

describe('RealWorldQA flexible-extract + exact match', () => {
  it.each(GOLDENS.rwqa.map((c: any) => [label([c.prediction, c.answer]), c]))('%s', (_, c: any) => {
    expect(rwqaExtract(c.prediction, c.question)).toBe(c.extracted);
    expect(rwqaCorrect(c.prediction, c.question, c.answer)).toBe(c.correct);
  });
});
