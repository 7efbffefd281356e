import { GOLDENS } from './goldens';
import {
  EVALAI_CONTRACTIONS, EVALAI_PUNCTUATIONS, evalAiNormalize, processDigitArticle, processPunctuation, pyCapitalize,
  pyFloat, pyRstrip, pySplit, pyStrip, wordTokenize,
} from '../../src/eval/normalize';

describe('EvalAI answer normaliser = lmms-eval v0.2.4 / LLaVA m4c_evaluator (official outputs)', () => {
  const rows: Array<{ input: string; full: string; word_tokenize: string; punctuation: string; digit_article: string }> = GOLDENS.normalize;

  it(`has every case of the generator (${rows.length})`, () => expect(rows.length).toBeGreaterThanOrEqual(86));

  it.each(rows.map((r) => [JSON.stringify(r.input), r] as const))('%s', (_, r) => {
    expect(wordTokenize(r.input)).toBe(r.word_tokenize);
    expect(processPunctuation(r.input)).toBe(r.punctuation);
    expect(processDigitArticle(r.input)).toBe(r.digit_article);
    expect(evalAiNormalize(r.input)).toBe(r.full);
  });

  it('uses the official tables (contractions, punctuation order)', () => {
    expect(Object.fromEntries(EVALAI_CONTRACTIONS)).toEqual(GOLDENS.tables.contractions);
    expect(EVALAI_PUNCTUATIONS).toEqual(GOLDENS.tables.punctuations);
  });

  it('removes at most 32 periods (re.UNICODE lands in sub\'s count)', () => {
    expect(processPunctuation('x' + '.'.repeat(40) + 'y')).toBe('x' + '.'.repeat(8) + 'y');
  });
});

describe('Python string semantics the scorers rely on', () => {
  it('strip/split use Python\'s whitespace, not JS trim', () => {
    expect(pyStrip('\u001c a \u0085')).toBe('a');
    expect(pyStrip('\ufeffa')).toBe('\ufeffa');                          // Python keeps the BOM, JS trim drops it
    expect(pySplit(' a \u00a0b\tc ')).toEqual(['a', 'b', 'c']);
    expect(pySplit('   ')).toEqual([]);
    expect(pyRstrip('yes...', '.')).toBe('yes');
    expect(pyCapitalize('wHAT is IT')).toBe('What is it');
  });

  it('float() accepts what Python accepts and nothing else', () => {
    const ok: Array<[string, number]> = [['12', 12], [' 7 ', 7], ['1_000', 1000], ['1e3', 1000], ['.5', 0.5], ['3.', 3], ['+4', 4], ['-5.2', -5.2], ['inf', Infinity], ['-Infinity', -Infinity]];
    for (const [s, v] of ok) expect(pyFloat(s)).toBe(v);
    expect(pyFloat('nan')).toBeNaN();
    for (const s of ['1,000', '1__0', '_1', '1_', '1_.5', '', '5 %', 'abc', '0x10', '1e']) expect(pyFloat(s)).toBeNull();
  });
});
