/**
 * Python's string semantics that the scorers depend on, and the EvalAI answer normaliser.
 *
 * Both harnesses normalise VQA-style answers with the same class, `EvalAIAnswerProcessor`
 * (lmms-eval v0.2.4 `lmms_eval/tasks/_task_utils/vqa_eval_metric.py`, LLaVA c121f043
 * `llava/eval/m4c_evaluator.py`; both from facebookresearch/mmf). It is reproduced here rule for rule,
 * quirks included, because the scores the paper reports were computed with them:
 *   - punctuation is deleted (not spaced) when the ORIGINAL text has it next to a space, or when the
 *     text has a digit-comma-digit anywhere;
 *   - the period pattern `(?!<=\d)(\.)(?!\d)` is a lookahead, not a lookbehind: every `.` not followed
 *     by a digit goes, but `re.UNICODE` (= 32) lands in `sub`'s `count`, so at most 32 of them;
 *   - number words `none zero … ten` become digits, `a an the` are dropped (so "a/b" → "b"), and the
 *     contraction table maps a word only if it is a key (its capitalised keys never match lowercase text).
 * spec/eval/normalize.spec.ts checks every function against the official code's outputs
 * (spec/fixtures/eval/goldens.json, scripts/eval-goldens/gen.py).
 */

/** Characters Python's `str.isspace()` accepts (what `strip()` and `split()` remove). JS's `trim` differs
 * (it strips U+FEFF, keeps U+001C–U+001F and U+0085). */
export const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
const PY_SPLIT = new RegExp(`[${PY_SPACE}]+`);

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

/** Python `s.split()` (no argument: runs of whitespace, no empty parts). */
export function pySplit(s: string): string[] {
  const t = pyStrip(s);
  return t === '' ? [] : t.split(PY_SPLIT);
}

/** Python `s.rstrip(chars)`. */
export function pyRstrip(s: string, chars: string): string {
  let end = s.length;
  while (end > 0 && chars.includes(s[end - 1])) end--;
  return s.slice(0, end);
}

/** Python `s.capitalize()`: first character upper, the rest lower. */
export function pyCapitalize(s: string): string {
  const cps = Array.from(s);
  return cps.length === 0 ? s : cps[0].toUpperCase() + cps.slice(1).join('').toLowerCase();
}

/** Python's `string.punctuation`. */
export const ASCII_PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** `s` without the characters of `chars` (Python `s.translate(str.maketrans('', '', chars))`). */
export function deleteChars(s: string, chars: string): string {
  return Array.from(s).filter((c) => !chars.includes(c)).join('');
}

/**
 * Python `float(text)`, or null where Python raises ValueError: surrounding whitespace, a sign, `_`
 * between digits, exponents, `inf`/`infinity`/`nan` in any case. (Python also accepts non-ASCII decimal
 * digits; those are rejected here: @deviation, listed in docs/eval.md.)
 */
export function pyFloat(text: string): number | null {
  const t = pyStrip(text);
  const D = '[0-9]+(?:_[0-9]+)*';
  const num = new RegExp(`^[+-]?(?:${D}\\.(?:${D})?|\\.${D}|${D})(?:[eE][+-]?${D})?$`);
  if (num.test(t)) return Number(t.replace(/_/g, ''));
  const m = /^([+-]?)(inf|infinity|nan)$/i.exec(t);
  if (!m) return null;
  if (m[2].toLowerCase() === 'nan') return NaN;
  return m[1] === '-' ? -Infinity : Infinity;
}

// ---- EvalAIAnswerProcessor ----------------------------------------------------------------------------

/** Number words and articles (`NUMBER_MAP`, `ARTICLES`). */
const NUMBER_MAP: ReadonlyMap<string, string> = new Map([
  ['none', '0'], ['zero', '0'], ['one', '1'], ['two', '2'], ['three', '3'], ['four', '4'], ['five', '5'],
  ['six', '6'], ['seven', '7'], ['eight', '8'], ['nine', '9'], ['ten', '10'],
]);
const ARTICLES = new Set(['a', 'an', 'the']);

/** The punctuation list, in the order the processor walks it. */
export const EVALAI_PUNCTUATIONS: readonly string[] = [
  ';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!',
];

/** The contraction table (`CONTRACTIONS`, 120 entries), written `key>value`, space-separated. */
const CONTRACTION_TABLE =
  "aint>ain't arent>aren't cant>can't couldve>could've couldnt>couldn't couldn'tve>couldn't've " +
  "couldnt've>couldn't've didnt>didn't doesnt>doesn't dont>don't hadnt>hadn't hadnt've>hadn't've " +
  "hadn'tve>hadn't've hasnt>hasn't havent>haven't hed>he'd hed've>he'd've he'dve>he'd've hes>he's " +
  "howd>how'd howll>how'll hows>how's Id've>I'd've I'dve>I'd've Im>I'm Ive>I've isnt>isn't itd>it'd " +
  "itd've>it'd've it'dve>it'd've itll>it'll let's>let's maam>ma'am mightnt>mightn't " +
  "mightnt've>mightn't've mightn'tve>mightn't've mightve>might've mustnt>mustn't mustve>must've " +
  "neednt>needn't notve>not've oclock>o'clock oughtnt>oughtn't ow's'at>'ow's'at 'ows'at>'ow's'at " +
  "'ow'sat>'ow's'at shant>shan't shed've>she'd've she'dve>she'd've she's>she's shouldve>should've " +
  "shouldnt>shouldn't shouldnt've>shouldn't've shouldn'tve>shouldn't've somebody'd>somebodyd " +
  "somebodyd've>somebody'd've somebody'dve>somebody'd've somebodyll>somebody'll somebodys>somebody's " +
  "someoned>someone'd someoned've>someone'd've someone'dve>someone'd've someonell>someone'll " +
  "someones>someone's somethingd>something'd somethingd've>something'd've something'dve>something'd've " +
  "somethingll>something'll thats>that's thered>there'd thered've>there'd've there'dve>there'd've " +
  "therere>there're theres>there's theyd>they'd theyd've>they'd've they'dve>they'd've theyll>they'll " +
  "theyre>they're theyve>they've twas>'twas wasnt>wasn't wed've>we'd've we'dve>we'd've weve>we've " +
  "werent>weren't whatll>what'll whatre>what're whats>what's whatve>what've whens>when's whered>where'd " +
  "wheres>where's whereve>where've whod>who'd whod've>who'd've who'dve>who'd've wholl>who'll whos>who's " +
  "whove>who've whyll>why'll whyre>why're whys>why's wont>won't wouldve>would've wouldnt>wouldn't " +
  "wouldnt've>wouldn't've wouldn'tve>wouldn't've yall>y'all yall'll>y'all'll y'allll>y'all'll " +
  "yall'd've>y'all'd've y'alld've>y'all'd've y'all'dve>y'all'd've youd>you'd youd've>you'd've " +
  "you'dve>you'd've youll>you'll youre>you're youve>you've";
export const EVALAI_CONTRACTIONS: ReadonlyMap<string, string> = new Map(
  CONTRACTION_TABLE.split(' ').map((kv) => kv.split('>') as [string, string]));

/** A digit, a run of commas, a digit (`COMMA_STRIP`; Python's `\d` is any Unicode decimal digit). */
const COMMA_BETWEEN_DIGITS = /(?<=\p{Nd}),+(?=\p{Nd})/u;
/** A period not followed by a digit (`PERIOD_STRIP`, its `(?!<=\d)` lookahead never fails before a `.`). */
const PERIOD_NOT_BEFORE_DIGIT = /\.(?!\p{Nd})/gu;
/** `re.UNICODE` passed as `sub`'s count: at most this many periods are removed. */
const PERIOD_STRIP_COUNT = 32;

/** `word_tokenize`: lowercase, delete `,` and `?`, split off `'s`, strip. */
export function wordTokenize(word: string): string {
  return pyStrip(word.toLowerCase().replaceAll(',', '').replaceAll('?', '').replaceAll("'s", " 's"));
}

/** `process_punctuation` (the tests look at the input text, the edits go to the output). */
export function processPunctuation(inText: string): string {
  let out = inText;
  const digitComma = COMMA_BETWEEN_DIGITS.test(inText);
  for (const p of EVALAI_PUNCTUATIONS) {
    const touchesSpace = inText.includes(p + ' ') || inText.includes(' ' + p);
    out = out.replaceAll(p, touchesSpace || digitComma ? '' : ' ');
  }
  let removed = 0;
  return out.replace(PERIOD_NOT_BEFORE_DIGIT, (m) => (removed++ < PERIOD_STRIP_COUNT ? '' : m));
}

/** `process_digit_article`: lowercase, split, number words → digits, drop articles, contractions, join. */
export function processDigitArticle(inText: string): string {
  const words = pySplit(inText.toLowerCase())
    .map((w) => NUMBER_MAP.get(w) ?? w)
    .filter((w) => !ARTICLES.has(w))
    .map((w) => EVALAI_CONTRACTIONS.get(w) ?? w);
  return words.join(' ');
}

/** `EvalAIAnswerProcessor.__call__`: the full normaliser. */
export function evalAiNormalize(item: string): string {
  let s = wordTokenize(item);
  s = pyStrip(s.replaceAll('\n', ' ').replaceAll('\t', ' '));
  return processDigitArticle(processPunctuation(s));
}
