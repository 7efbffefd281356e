/**
 * Per-question scoring rules of each benchmark, one function per rule and protocol, in the order of
 * docs/eval.md: VQA soft accuracy, GQA exact match, POPE, MME, ScienceQA, ChartQA, OCRBench, MMBench,
 * RealWorldQA. `lmms` = lmms-eval v0.2.4 (af395ae1), `llava` = LLaVA c121f043 and the official tools it
 * calls (GQA eval.py, MME eval_tool). Every function takes the model's answer as generated: lmms-eval
 * strips generations before scoring (`api/task.py` process_results, `results[0].strip()`), which the
 * `lmms…` functions do themselves. Aggregation over a split is in score.ts.
 */
import {
  ASCII_PUNCTUATION, PY_SPACE, deleteChars, evalAiNormalize, processDigitArticle, processPunctuation,
  pyFloat, pyRstrip, pySplit, pyStrip,
} from './normalize';

/** lmms-eval strips every generation before any scorer sees it. */
export const lmmsStrip = pyStrip;

// ---- VQA soft accuracy (VQAv2, VizWiz, TextVQA) ---------------------------------------------------------

/** One human answer of a VQAv2 record, as lmms-lab/VQAv2 stores it. */
export interface VqaAnswer {
  readonly answer: string;
  readonly answer_confidence?: string;
  readonly answer_id?: number;
}

/** mean over i of min(1, #{j ≠ i : g_j = r} / 3), where "j ≠ i" is decided by `differs`. */
function softAccuracy<T>(r: string, gts: readonly T[], answerOf: (g: T) => string, differs: (i: number, j: number) => boolean): number {
  if (gts.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < gts.length; i++) {
    let matching = 0;
    for (let j = 0; j < gts.length; j++) if (differs(i, j) && answerOf(gts[j]) === r) matching++;
    sum += Math.min(1, matching / 3);
  }
  return sum / gts.length;
}

/**
 * lmms-eval `vqav2_process_results`: the answer gets the full normaliser; the human answers only lose
 * newlines/tabs and surrounding space, and only when they are not all the same do both sides get
 * punctuation + digit/article processing again (so ten identical "Yes" never match "yes"). "The other
 * answers" are the records (answer, confidence, id) that differ from this one as whole records.
 */
export function vqav2AccuracyLmms(prediction: string, answers: readonly VqaAnswer[]): number {
  let r = evalAiNormalize(lmmsStrip(prediction));
  let gts = answers.map((a) => ({ ...a, answer: pyStrip(a.answer.replaceAll('\n', ' ').replaceAll('\t', ' ')) }));
  if (new Set(gts.map((g) => g.answer)).size > 1) {
    gts = gts.map((g) => ({ ...g, answer: processDigitArticle(processPunctuation(g.answer)) }));
    r = processDigitArticle(processPunctuation(r));
  }
  const same = (a: VqaAnswer, b: VqaAnswer): boolean =>
    a.answer === b.answer && a.answer_confidence === b.answer_confidence && a.answer_id === b.answer_id;
  return softAccuracy(r, gts, (g) => g.answer, (i, j) => !same(gts[i], gts[j]));
}

/**
 * TextVQA and VizWiz: the full normaliser on the answer and on every human answer, then the soft formula
 * (lmms-eval `textvqa_process_results` / `vizwiz_vqa_process_results`; LLaVA `TextVQAAccuracyEvaluator`,
 * which gives the same number per question). `strip` is lmms-eval's generation strip.
 */
export function vqaAccuracyNormalized(prediction: string, answers: readonly string[], strip = true): number {
  const r = evalAiNormalize(strip ? lmmsStrip(prediction) : prediction);
  const gts = answers.map(evalAiNormalize);
  return softAccuracy(r, gts, (g) => g, (i, j) => i !== j);
}

// ---- GQA exact match ----------------------------------------------------------------------------------

/** lmms-eval `exact_match` with ignore_case and ignore_punctuation (`api/metrics.py` exact_match_hf_evaluate). */
export function exactMatchLmms(prediction: string, gold: string): boolean {
  const norm = (s: string): string => deleteChars(s.toLowerCase(), ASCII_PUNCTUATION);
  return norm(lmmsStrip(prediction)) === norm(gold);
}

/** LLaVA: `convert_gqa_for_eval.py` keeps `text.rstrip('.').lower()`, the GQA eval.py compares with `==`. */
export function gqaCorrectLlava(prediction: string, gold: string): boolean {
  return pyRstrip(prediction, '.').toLowerCase() === gold;
}

// ---- POPE --------------------------------------------------------------------------------------------

/** lmms-eval `pope_process_results`: the lowercased, stripped answer as it is ("yes." is neither). */
export function popeAnswerLmms(prediction: string): string {
  return pyStrip(lmmsStrip(prediction).toLowerCase());
}

/** LLaVA `eval_pope.py`: text up to the first '.', commas gone, split on ' '; No/not/no → no, else yes. */
export function popeAnswerLlava(prediction: string): 'yes' | 'no' {
  let text = prediction;
  if (text.includes('.')) text = text.split('.')[0];
  const words = text.replaceAll(',', '').split(' ');
  return words.includes('No') || words.includes('not') || words.includes('no') ? 'no' : 'yes';
}

// ---- MME ---------------------------------------------------------------------------------------------

export type YesNoOther = 'yes' | 'no' | 'other';

/** The official eval_tool (`calculation.py parse_pred_ans`, after its `.lower()`): exact yes/no, else
 * 'yes' or 'no' inside the first 4 characters, else other. */
export function mmeAnswerOfficial(prediction: string): YesNoOther {
  const p = prediction.toLowerCase();
  if (p === 'yes' || p === 'no') return p;
  const prefix = Array.from(p).slice(0, 4).join('');
  return prefix.includes('yes') ? 'yes' : prefix.includes('no') ? 'no' : 'other';
}

/** lmms-eval `mme/utils.py parse_pred_ans`: lower, strip, every '.' deleted; yes/no, then y/n, then the
 * 4-character prefix test. */
export function mmeAnswerLmms(prediction: string): YesNoOther {
  const p = pyStrip(lmmsStrip(prediction).toLowerCase()).replaceAll('.', '');
  if (p === 'yes' || p === 'no') return p;
  const cps = Array.from(p);
  if (cps.length === 1) return p === 'y' ? 'yes' : p === 'n' ? 'no' : 'other';
  const prefix = cps.slice(0, 4).join('');
  return prefix.includes('yes') ? 'yes' : prefix.includes('no') ? 'no' : 'other';
}

// ---- ScienceQA-IMG ---------------------------------------------------------------------------------

/** The option letter of choice i (A, B, …). */
export const optionLetter = (i: number): string => String.fromCharCode(65 + i);

/** Python `c.isupper()` for one character. */
const isUpperChar = (c: string | undefined): boolean => c !== undefined && c !== c.toLowerCase() && c === c.toUpperCase();

/** lmms-eval `sqa_process_results`: the stripped, lowercased answer equals the letter; the `X.` branch
 * tests `isupper()` on the already lowercased text, so it never fires (v0.2.4 bug, kept). */
export function sqaCorrectLmms(prediction: string, answerIndex: number): boolean {
  const target = optionLetter(answerIndex).toLowerCase();
  const pred = pyStrip(lmmsStrip(prediction)).toLowerCase();
  if (pred === target) return true;
  const cps = Array.from(pred);
  if (cps.length >= 2 && isUpperChar(cps[0]) && cps[1] === '.') return cps[0] === target;
  return false;
}

/** LLaVA `eval_science_qa.py`: the letter itself, or `X. …`, or the one `The answer is X.`; else FAILED. */
export function sqaLetterLlava(prediction: string): string {
  const options = ['A', 'B', 'C', 'D', 'E'];
  if (options.includes(prediction)) return prediction;
  if (prediction.length >= 3 && options.includes(prediction[0]) && prediction.slice(1, 3) === '. ') return prediction[0];
  const found = [...prediction.matchAll(/The answer is ([A-Z])./g)];
  return found.length === 1 ? found[0][1] : 'FAILED';
}

/** LLaVA's verdict: the parsed letter's index among the choices equals the answer index. */
export function sqaCorrectLlava(prediction: string, answerIndex: number, nChoices: number): boolean {
  const letter = sqaLetterLlava(prediction);
  const idx = ['A', 'B', 'C', 'D', 'E'].slice(0, nChoices).indexOf(letter);
  return idx === answerIndex;
}

// ---- ChartQA -----------------------------------------------------------------------------------------

/** Python `float(text)` with ChartQA's percent rule: a trailing `%` (all of them) → value / 100. */
function chartFloat(text: string): number | null {
  if (text.endsWith('%')) {
    const v = pyFloat(pyRstrip(text, '%'));
    return v === null ? null : v / 100;
  }
  return pyFloat(text);
}

/** lmms-eval `relaxed_correctness` (from Qwen-VL): both numbers and a non-zero target → relative error
 * ≤ 5 %; else case-insensitive string equality. */
export function chartqaRelaxedCorrect(prediction: string, target: string, maxRelativeChange = 0.05): boolean {
  const pred = lmmsStrip(prediction);
  const p = chartFloat(pred);
  const t = chartFloat(target);
  if (p !== null && t !== null && t !== 0) return Math.abs(p - t) / Math.abs(t) <= maxRelativeChange;
  return pred.toLowerCase() === target.toLowerCase();
}

// ---- OCRBench ----------------------------------------------------------------------------------------

/** lmms-eval v0.2.4 `ocrbench_process_results`: some ground truth is a substring of the answer (HME100k:
 * spaces and newlines removed, the truth's case kept while the answer is lowercased). */
export function ocrbenchCorrect(prediction: string, answers: string | readonly string[], dataset: string): boolean {
  const pred = pyStrip(lmmsStrip(prediction).toLowerCase());
  const gts = typeof answers === 'string' ? [answers] : answers;
  return gts.some((gt) => {
    if (dataset === 'HME100k') {
      const squash = (s: string): string => pyStrip(s).replaceAll('\n', ' ').replaceAll(' ', '');
      return squash(pred).includes(squash(gt));
    }
    return pyStrip(pred.toLowerCase()).replaceAll('\n', ' ').includes(pyStrip(gt.toLowerCase()).replaceAll('\n', ' '));
  });
}

// ---- MMBench (circular) ------------------------------------------------------------------------------

/** `can_infer_option`: exactly one of A–E as a whitespace-separated token (unless "A" may be a quantifier
 * in a longer answer), else exactly one of the decorated forms `X. X, X: X) X). (X) (X). :X :X, :X. :X) :X).`. */
export function mmbenchInferOption(answer: string): string | null {
  if (answer.includes('Failed to obtain answer via API')) return null;
  const choices = ['A', 'B', 'C', 'D', 'E'];
  const splits = pySplit(answer).map(pyStrip);
  const count = (prefix: string, suffix: string): number => choices.filter((c) => splits.includes(prefix + c + suffix)).length;
  if (count('', '') === 1) {
    for (const ch of choices) {
      if (splits.includes('A') && splits.length > 3) break;
      if (splits.includes(ch)) return ch;
    }
  }
  const decorations: Array<[string, string]> = [['', '.'], ['', ','], ['', ':'], ['', ')'], ['', ').'], ['(', ')'],
    ['(', ').'], [':', ''], [':', ','], [':', '.'], [':', ')'], [':', ').']];
  for (const [pre, suf] of decorations) {
    if (count(pre, suf) === 1) for (const ch of choices) if (splits.includes(pre + ch + suf)) return ch;
  }
  return null;
}

/** `can_infer_text`: exactly one option text (A–D, lowercased) is contained in the lowercased answer. */
export function mmbenchInferText(answer: string, options: Readonly<Record<string, string>>): string | null {
  const a = answer.toLowerCase();
  const cands = ['A', 'B', 'C', 'D'].filter((k) => options[k] !== undefined && a.includes(options[k].toLowerCase()));
  return cands.length === 1 ? cands[0] : null;
}

/** `can_infer`: the option rule, else the text rule; null = unparsed (lmms-eval would ask GPT-3.5). */
export function mmbenchInfer(answer: string, options: Readonly<Record<string, string>>): string | null {
  return mmbenchInferOption(answer) ?? mmbenchInferText(answer, options);
}

/** One copy of an MMBench question (rows with index ≥ 1e6 are rotations of index mod 1e6). */
export interface MmbenchCopy {
  readonly index: number;
  readonly answer: string;
  readonly prediction: string;
  /** A–D option texts (missing/NaN options left out). */
  readonly options: Readonly<Record<string, string>>;
}

/**
 * `eval_sub_data` of one question over its copies (in index order): any copy parsed to a wrong letter →
 * 0 at once; else a copy the rules cannot parse goes to the GPT fallback, which this offline scorer does
 * not have: such a question counts 0 and is reported `unparsed`.
 */
export function mmbenchCircular(copies: readonly MmbenchCopy[]): { hit: 0 | 1; unparsed: boolean } {
  const preds = copies.map((c) => mmbenchInfer(c.prediction, c.options));
  for (let i = 0; i < copies.length; i++) if (preds[i] !== null && preds[i] !== copies[i].answer) return { hit: 0, unparsed: false };
  return preds.some((p) => p === null) ? { hit: 0, unparsed: true } : { hit: 1, unparsed: false };
}

// ---- RealWorldQA -------------------------------------------------------------------------------------

const NUMBER_WORDS: ReadonlyMap<string, string> = new Map([
  ['zero', '0'], ['one', '1'], ['two', '2'], ['three', '3'], ['four', '4'], ['five', '5'], ['six', '6'],
  ['seven', '7'], ['eight', '8'], ['nine', '9'], ['ten', '10'],
]);
const W = '\\p{L}\\p{N}_';
const OPTION_IN_QUESTION = new RegExp(`(?<![${W}])([A-Z])\\.[${PY_SPACE}]+([^\\n]*)`, 'gu');
const NOT_WORD_OR_SPACE = new RegExp(`[^${W}${PY_SPACE}]`, 'gu');
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * lmms-eval's `realworldqa` "flexible-extract" filters, then `exact_match` (ignore case and punctuation):
 * a whole-answer number word → its digit; the answer without punctuation → the letter of the first option
 * text (from `X. text` lines of the question, lettered in order of appearance) found in it.
 */
export function rwqaExtract(prediction: string, question: string): string {
  const resp = NUMBER_WORDS.get(prediction.toLowerCase()) ?? prediction;
  const texts: string[] = [];
  const letterOf = new Map<string, string>();
  for (const m of question.matchAll(OPTION_IN_QUESTION)) {
    const text = pyStrip(m[2]);
    texts.push(escapeRe(text));
    letterOf.set(text, optionLetter(texts.length - 1));                 // a repeated text keeps its last letter
  }
  const cleaned = pyStrip(resp.replace(NOT_WORD_OR_SPACE, ''));
  const found = new RegExp(texts.join('|'), 'u').exec(cleaned);
  return found && letterOf.has(found[0]) ? letterOf.get(found[0])! : cleaned;
}

export function rwqaCorrect(prediction: string, question: string, answer: string): boolean {
  return exactMatchLmms(rwqaExtract(prediction, question), answer);
}
