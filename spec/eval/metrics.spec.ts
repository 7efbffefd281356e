/** Each per-question rule against the official code's verdicts (spec/fixtures/eval/goldens.json). */
import { GOLDENS, MEAN_TOL } from './goldens';
import {
  chartqaRelaxedCorrect, exactMatchLmms, gqaCorrectLlava, mmbenchInfer, mmeAnswerLmms, mmeAnswerOfficial, ocrbenchCorrect,
  rwqaCorrect, rwqaExtract, sqaCorrectLlava, sqaCorrectLmms, sqaLetterLlava, vqaAccuracyNormalized, vqav2AccuracyLmms,
} from '../../src/eval/metrics';

const label = (x: unknown): string => JSON.stringify(x).slice(0, 80);
/** `it.each` rows: a short label and the golden case. */
const table = (xs: any[], name: (c: any) => string = label): Array<[string, any]> => xs.map((c) => [name(c), c]);

describe('VQA soft accuracy', () => {
  it.each(table(GOLDENS.vqav2_lmms, (c) => label([c.prediction, c.answers.map((a: any) => a.answer)])))('lmms-eval vqav2 %s', (_, c: any) => {
    expect(Math.abs(vqav2AccuracyLmms(c.prediction, c.answers) - c.score)).toBeLessThanOrEqual(MEAN_TOL);
  });
  for (const key of ['textvqa_lmms', 'vizwiz_lmms', 'textvqa_llava']) {
    it.each(table(GOLDENS[key], (c) => label([c.prediction, c.answers])))(`${key} %s`, (_, c: any) => {
      expect(Math.abs(vqaAccuracyNormalized(c.prediction, c.answers, key !== 'textvqa_llava') - c.score)).toBeLessThanOrEqual(MEAN_TOL);
    });
  }
});

describe('GQA exact match', () => {
  it.each(table(GOLDENS.gqa_lmms))('lmms-eval %s', (_, c: any) => expect(exactMatchLmms(c.prediction, c.answer)).toBe(c.correct));
  it.each(table(GOLDENS.gqa_llava))('LLaVA convert + eval.py %s', (_, c: any) => expect(gqaCorrectLlava(c.prediction, c.answer)).toBe(c.correct));
});

describe('MME yes/no parsing', () => {
  const preds: string[] = GOLDENS.mme.rows.map((r: any) => r[4]).slice(0, GOLDENS.mme.lmms.parsed.length);
  it('lmms-eval parse_pred_ans', () => expect(preds.map(mmeAnswerLmms)).toEqual(GOLDENS.mme.lmms.parsed));
  it('official eval_tool parse_pred_ans', () => expect(preds.map(mmeAnswerOfficial)).toEqual(GOLDENS.mme.official.parsed));
});

describe('ScienceQA option parsing', () => {
  it.each(table(GOLDENS.sqa_lmms))('lmms-eval %s', (_, c: any) => expect(sqaCorrectLmms(c.prediction, c.answer)).toBe(c.correct));
  it.each(table(GOLDENS.sqa_llava))('LLaVA eval_science_qa %s', (_, c: any) => {
    expect(sqaCorrectLlava(c.prediction, c.answer, c.choices)).toBe(c.correct);
    const letter = sqaLetterLlava(c.prediction);
    expect(['A', 'B', 'C', 'D', 'E'].slice(0, c.choices).indexOf(letter)).toBe(c.parsed_index);
  });
});

describe('ChartQA relaxed accuracy', () => {
  it.each(table(GOLDENS.chartqa))('%s', (_, c: any) => expect(chartqaRelaxedCorrect(c.prediction, c.answer)).toBe(c.correct));
});

describe('OCRBench substring match', () => {
  it.each(table(GOLDENS.ocrbench))('%s', (_, c: any) => expect(ocrbenchCorrect(c.prediction, c.answers, c.dataset)).toBe(c.correct));
});

describe('MMBench option extraction (can_infer)', () => {
  it.each(table(GOLDENS.mmbench.infer))('%s', (_, c: any) => {
    const options = Object.fromEntries(Object.entries(c.options).filter(([k, v]) => v !== null && k !== 'E')) as Record<string, string>;
    expect(mmbenchInfer(c.prediction, options)).toBe(c.letter);
  });
});

describe('RealWorldQA flexible-extract + exact match', () => {
  it.each(table(GOLDENS.rwqa, (c) => label([c.prediction, c.answer])))('%s', (_, c: any) => {
    expect(rwqaExtract(c.prediction, c.question)).toBe(c.extracted);
    expect(rwqaCorrect(c.prediction, c.question, c.answer)).toBe(c.correct);
  });
});
