/**
 * The benchmarks of the paper's Tables 1 and 3: per task, how each protocol asks the question (the
 * suffix and the `{text}` it builds for the vicuna_v1 template), how many new tokens it allows, and
 * which protocols can score it offline. Sources: lmms-eval v0.2.4 `lmms_eval/tasks/<task>/*.yaml` and
 * `utils.py`; LLaVA c121f043 `docs/Evaluation.md`, `llava/eval/model_vqa_{loader,science,mmbench}.py`
 * (question files carry the suffix in "text"; `--max_new_tokens` default 128). docs/eval.md has the table.
 */
import { pyCapitalize, pyStrip } from './normalize';
import { optionLetter, type VqaAnswer } from './metrics';

export type Protocol = 'lmms-eval' | 'llava';
export const PROTOCOLS: readonly Protocol[] = ['lmms-eval', 'llava'];

export type TaskId =
  | 'vqav2_val' | 'vqav2_testdev' | 'vizwiz_val' | 'vizwiz_test' | 'gqa' | 'scienceqa_img' | 'chartqa'
  | 'textvqa_val' | 'ocrbench' | 'mme' | 'mmbench_en_dev' | 'mmbench_en_test' | 'pope' | 'realworldqa';

/** One question as every layout reads it (load.ts), with the fields its scorer needs. */
export interface EvalQuestion {
  /** `question_id` (or MMBench `index`) as a string: the key predictions are matched by. */
  readonly id: string;
  /** The image: a file path, or the bytes a parquet row embeds; null for text-only questions. */
  readonly image: { readonly path: string } | { readonly bytes: Uint8Array } | null;
  /** The question as the dataset writes it, without any suffix. */
  readonly question: string;
  /** LLaVA's question-file text (question + suffix), when the data came with one. */
  readonly llavaText?: string;
  /** Sub-split or category: POPE adversarial/popular/random, MME subtask, MMBench category, ChartQA type. */
  readonly category?: string;
  // ---- ground truth (what the task has) ----
  readonly answer?: string;
  /** VQAv2 records (answer, confidence, id). */
  readonly vqaAnswers?: readonly VqaAnswer[];
  /** TextVQA / VizWiz / OCRBench answer lists. */
  readonly answers?: readonly string[];
  /** ScienceQA: choices and the answer's index; hint (context). */
  readonly choices?: readonly string[];
  readonly answerIndex?: number;
  readonly hint?: string | null;
  /** MMBench: options A–E (null where the row has none), its index and L2 category. */
  readonly options?: Readonly<Record<string, string | null>>;
  readonly index?: number;
  /** How LLaVA's answer files name this question where their question_id is not unique: TextVQA's is
   * the image id, told apart by the question (`<image id>\0<question lowercased>`, eval_textvqa.py's key). */
  readonly llavaKey?: string;
  /** MME: the image key pairs are grouped by (`<category>/<file>` in both layouts). */
  readonly pairKey?: string;
  /** GQA: balanced and structural type (official eval.py counts only balanced questions). */
  readonly isBalanced?: boolean;
  readonly structural?: string;
  /** OCRBench: source dataset (HME100k has its own rule) and question type. */
  readonly dataset?: string;
  readonly questionType?: string;
}

export interface TaskSpec {
  readonly id: TaskId;
  /** The paper's column name. */
  readonly paper: string;
  /** What the task is called in lmms-eval v0.2.4. */
  readonly lmmsTask: string;
  readonly split: string;
  /** Scored offline by these protocols; the others say why not (`noScore`). */
  readonly scores: readonly Protocol[];
  readonly noScore?: Partial<Record<Protocol, string>>;
  /** Only a server scores it: `eval submit` writes its upload file. */
  readonly serverOnly?: boolean;
  readonly maxNewTokens: Readonly<Record<Protocol, number>>;
  /** The `{text}` of `USER: <image>\n{text} ASSISTANT:` for a question. */
  readonly text: (q: EvalQuestion, protocol: Protocol) => string;
}

export const SHORT_ANSWER = '\nAnswer the question using a single word or phrase.';
export const OPTION_LETTER = "\nAnswer with the option's letter from the given choices directly.";
export const VIZWIZ_SUFFIX = "\nWhen the provided information is insufficient, respond with 'Unanswerable'." + SHORT_ANSWER;
export const CHARTQA_SUFFIX = '\nAnswer the question with a single word.';
/** lmms-eval's default `max_new_tokens` for tasks that only set `until` (llava model, v0.2.4). */
export const LMMS_DEFAULT_MAX_NEW_TOKENS = 1024;
/** LLaVA's model_vqa_loader.py `--max_new_tokens` default. */
export const LLAVA_DEFAULT_MAX_NEW_TOKENS = 128;
const MME_LLAVA_SUFFIX = ' Please answer yes or no.';
const LMMS_ONLY = 'it exists only in lmms-eval (LLaVA has no script for it)';
const SERVER = (server: string): string => `LLaVA scores it only on the ${server} server: use 'hero-lvlm eval submit'`;

/** LLaVA's question file text when present, else the question + suffix as LLaVA's files write it. */
const llavaOr = (q: EvalQuestion, suffix: string): string => q.llavaText ?? q.question + suffix;

/** ScienceQA in lmms-eval's format: `Context: hint\n` + question + `\nA. c0\nB. c1…` + suffix. */
function sqaText(q: EvalQuestion): string {
  const choices = (q.choices ?? []).map((c, i) => `${optionLetter(i)}. ${c}`).join('\n');
  const context = q.hint ? `Context: ${q.hint}\n` : '';
  return `${context}${q.question}\n${choices}${OPTION_LETTER}`;
}

/** MMBench options that are really there (lmms-eval drops NaN and the string "nan"). */
function mmbenchOptions(q: EvalQuestion): Array<[string, string]> {
  return ['A', 'B', 'C', 'D', 'E'].flatMap((k): Array<[string, string]> => {
    const v = q.options?.[k];
    return v !== undefined && v !== null && v !== '' && v !== 'nan' ? [[k, v]] : [];
  });
}

const hasHint = (h: string | null | undefined): h is string => h !== undefined && h !== null && h !== 'nan' && h.toLowerCase() !== 'none';

/** lmms-eval `mmbench_doc_to_text` / LLaVA `model_vqa_mmbench.py` (round 0). */
function mmbenchText(q: EvalQuestion, protocol: Protocol): string {
  const opts = mmbenchOptions(q);
  if (protocol === 'lmms-eval') {
    const options = `There are several options:\n${opts.map(([k, v]) => `${k}. ${v}`).join('\n')}`;
    const body = hasHint(q.hint) ? `${q.hint} ${q.question} ${options}` : `${q.question} ${options}`;
    return `${body}\n${OPTION_LETTER}`;                                   // lmms-eval joins with '\n' + a suffix that starts with '\n'
  }
  let text = hasHint(q.hint) ? `${q.hint}\n${q.question}` : q.question;
  for (const [k, v] of opts) text += `\n${k}. ${v}`;
  return text + OPTION_LETTER;
}

const vqav2: Omit<TaskSpec, 'id' | 'split' | 'scores' | 'serverOnly' | 'noScore'> = {
  paper: 'VQA-v2', lmmsTask: 'vqav2_val', maxNewTokens: { 'lmms-eval': 16, llava: LLAVA_DEFAULT_MAX_NEW_TOKENS },
  text: (q, p) => (p === 'lmms-eval' ? q.question + SHORT_ANSWER : llavaOr(q, SHORT_ANSWER)),
};
const vizwiz: Omit<TaskSpec, 'id' | 'split' | 'scores' | 'serverOnly' | 'noScore'> = {
  paper: 'VizWiz', lmmsTask: 'vizwiz_vqa_val',
  maxNewTokens: { 'lmms-eval': LMMS_DEFAULT_MAX_NEW_TOKENS, llava: LLAVA_DEFAULT_MAX_NEW_TOKENS },
  text: (q, p) => (p === 'lmms-eval' ? pyCapitalize(q.question) + VIZWIZ_SUFFIX : llavaOr(q, VIZWIZ_SUFFIX)),
};
const mmbench: Omit<TaskSpec, 'id' | 'split' | 'scores' | 'serverOnly' | 'noScore'> = {
  paper: 'MMB', lmmsTask: 'mmbench_en_dev', maxNewTokens: { 'lmms-eval': 1024, llava: 1024 }, text: mmbenchText,
};

export const TASKS: Readonly<Record<TaskId, TaskSpec>> = {
  vqav2_val: { ...vqav2, id: 'vqav2_val', split: 'validation', scores: ['lmms-eval'], noScore: { llava: SERVER('EvalAI (test-dev)') } },
  vqav2_testdev: { ...vqav2, id: 'vqav2_testdev', lmmsTask: 'vqav2_test', split: 'testdev', scores: [], serverOnly: true },
  vizwiz_val: { ...vizwiz, id: 'vizwiz_val', split: 'val', scores: ['lmms-eval'], noScore: { llava: SERVER('EvalAI (test)') } },
  vizwiz_test: { ...vizwiz, id: 'vizwiz_test', lmmsTask: 'vizwiz_vqa_test', split: 'test', scores: [], serverOnly: true },
  gqa: {
    id: 'gqa', paper: 'GQA', lmmsTask: 'gqa', split: 'testdev_balanced', scores: ['lmms-eval', 'llava'],
    maxNewTokens: { 'lmms-eval': 16, llava: LLAVA_DEFAULT_MAX_NEW_TOKENS },
    text: (q, p) => (p === 'lmms-eval' ? q.question + SHORT_ANSWER : llavaOr(q, SHORT_ANSWER)),
  },
  scienceqa_img: {
    id: 'scienceqa_img', paper: 'SQA', lmmsTask: 'scienceqa_img', split: 'test', scores: ['lmms-eval', 'llava'],
    maxNewTokens: { 'lmms-eval': 16, llava: 1024 },
    text: (q, p) => (p === 'llava' && q.llavaText !== undefined ? q.llavaText + OPTION_LETTER : sqaText(q)),
  },
  chartqa: {
    id: 'chartqa', paper: 'ChartQA', lmmsTask: 'chartqa', split: 'test', scores: ['lmms-eval'], noScore: { llava: LMMS_ONLY },
    maxNewTokens: { 'lmms-eval': 16, llava: 16 }, text: (q) => q.question + CHARTQA_SUFFIX,
  },
  textvqa_val: {
    id: 'textvqa_val', paper: 'TextVQA', lmmsTask: 'textvqa_val', split: 'validation', scores: ['lmms-eval', 'llava'],
    maxNewTokens: { 'lmms-eval': LMMS_DEFAULT_MAX_NEW_TOKENS, llava: LLAVA_DEFAULT_MAX_NEW_TOKENS },
    // LLaVA-1.5's question file adds a "Reference OCR token:" line; LLaVA-NeXT is evaluated without it.
    text: (q, p) => (p === 'lmms-eval' ? pyCapitalize(q.question) + SHORT_ANSWER : q.question + SHORT_ANSWER),
  },
  ocrbench: {
    id: 'ocrbench', paper: 'OCRBench', lmmsTask: 'ocrbench', split: 'test', scores: ['lmms-eval'], noScore: { llava: LMMS_ONLY },
    maxNewTokens: { 'lmms-eval': 128, llava: 128 }, text: (q) => pyStrip(q.question),
  },
  mme: {
    id: 'mme', paper: 'MME', lmmsTask: 'mme', split: 'test', scores: ['lmms-eval', 'llava'],
    maxNewTokens: { 'lmms-eval': 16, llava: LLAVA_DEFAULT_MAX_NEW_TOKENS },
    text: (q, p) => (p === 'llava' && q.llavaText !== undefined ? q.llavaText
      : pyStrip(q.question).replaceAll(MME_LLAVA_SUFFIX, '') + SHORT_ANSWER),
  },
  mmbench_en_dev: { ...mmbench, id: 'mmbench_en_dev', split: 'dev', scores: ['lmms-eval'], noScore: { llava: SERVER('OpenCompass') } },
  mmbench_en_test: { ...mmbench, id: 'mmbench_en_test', lmmsTask: 'mmbench_en_test', split: 'test', scores: [], serverOnly: true },
  pope: {
    id: 'pope', paper: 'POPE', lmmsTask: 'pope', split: 'test', scores: ['lmms-eval', 'llava'],
    maxNewTokens: { 'lmms-eval': 128, llava: LLAVA_DEFAULT_MAX_NEW_TOKENS },
    text: (q, p) => (p === 'lmms-eval' ? pyStrip(q.question) + SHORT_ANSWER : llavaOr(q, SHORT_ANSWER)),
  },
  realworldqa: {
    id: 'realworldqa', paper: 'RWQA', lmmsTask: 'realworldqa', split: 'test', scores: ['lmms-eval'], noScore: { llava: LMMS_ONLY },
    maxNewTokens: { 'lmms-eval': 16, llava: 16 }, text: (q) => pyStrip(q.question),
  },
};

export const TASK_IDS = Object.keys(TASKS) as TaskId[];
