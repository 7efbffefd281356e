/**
 * The one place src/eval/ reads files: a task's questions from the two layouts users have, and a
 * predictions file. Layouts (docs/eval.md has the file list per task):
 *   - LLaVA's `playground/data/eval/<task>/` (question JSONL/JSON, an image folder, answer/annotation
 *     files), as LLaVA's `docs/Evaluation.md` and `scripts/v1_5/eval/*.sh` name them;
 *   - the parquet files of the lmms-eval datasets on the HF hub (`lmms-lab/<name>`, rows embed the
 *     image bytes), read with hyparquet (pure JS; snappy built in).
 * `--data DIR` is the task's folder; a DIR holding `.parquet` files (searched 3 levels down, as a hub
 * snapshot nests them) is the parquet layout. Every problem is one line naming the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError, check } from '../core/errors';
import type { VqaAnswer } from './metrics';
import { TASKS, type EvalQuestion, type TaskId } from './tasks';

export type Layout = 'llava' | 'parquet';

export interface LoadedTask {
  readonly task: TaskId;
  readonly layout: Layout;
  /** The files the questions came from (for messages and the RUN record). */
  readonly sources: readonly string[];
  readonly questions: readonly EvalQuestion[];
}

export interface LoadOptions {
  /** Check that every image a question names exists (predict needs them; score does not). */
  readonly checkImages?: boolean;
  /** Keep the parquet image bytes (predict); score leaves that column unread. */
  readonly withImageBytes?: boolean;
}

// ---- small readers -------------------------------------------------------------------------------------

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new HeroError(`${file}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function readJson<T>(file: string, what: string): T {
  const text = readText(file, what);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new HeroError(`${file}: ${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** JSON Lines; a malformed line is an error naming its line number (blank lines are skipped). */
export function readJsonl<T = Record<string, unknown>>(file: string, what: string): T[] {
  return readText(file, what).split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as T];
    } catch {
      throw new HeroError(`${file}:${i + 1}: ${what} line is not valid JSON`);
    }
  });
}

/** The first of `names` (relative to `dir`) that exists; else an error listing what was looked for. */
function findFile(dir: string, names: readonly string[], what: string): string {
  for (const n of names) if (fs.existsSync(path.join(dir, n))) return path.join(dir, n);
  throw new HeroError(`--data ${dir}: no ${what} (looked for ${names.join(', ')})`);
}

/** `.parquet` files under `dir`, at most `depth` levels down, sorted. */
function parquetFiles(dir: string, depth = 3): string[] {
  if (depth < 0 || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return [];
  // (statSync follows links: the HF hub cache's snapshot folders are symlinks into blobs/)
  return fs.readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) return parquetFiles(p, depth - 1);
    return name.endsWith('.parquet') ? [p] : [];
  }).sort();
}

type Row = Record<string, unknown>;

/**
 * All rows of some parquet files, read through file handles (hyparquet fetches only the column chunks it
 * needs). Without `withImage` the `image` column is left unread: scoring never needs the bytes, and they are
 * most of a file; each row then gets `hasImage` (the column exists) instead.
 */
async function readParquetRows(files: readonly string[], withImage: boolean): Promise<Row[]> {
  const hp = require('hyparquet') as typeof import('hyparquet') & { asyncBufferFromFile(f: string): Promise<import('hyparquet').AsyncBuffer> };
  const rows: Row[] = [];
  for (const f of files) {
    const file = await hp.asyncBufferFromFile(f);
    let meta;
    try {
      meta = await hp.parquetMetadataAsync(file);
    } catch (e) {
      throw new HeroError(`${f}: not a parquet file (${(e as Error).message})`);
    }
    const have = meta.schema.slice(1).filter((s) => s.name !== undefined).map((s) => s.name);
    const top = new Set(meta.row_groups[0]?.columns.map((c) => c.meta_data?.path_in_schema[0]) ?? have);
    const columns = withImage ? undefined : [...top].filter((c): c is string => c !== undefined && c !== 'image');
    try {
      const got = (await hp.parquetReadObjects({ file, metadata: meta, columns, utf8: true })) as Row[];
      rows.push(...got.map((r) => (withImage ? r : { ...r, hasImage: top.has('image') })));
    } catch (e) {
      throw new HeroError(`${f}: cannot read parquet (${(e as Error).message}; zstd/brotli files need the hyparquet-compressors package)`);
    }
  }
  return rows;
}

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** A parquet image cell (`{bytes, path}` struct, or raw bytes) → its bytes. */
function imageBytes(v: unknown, file: string, id: string): { bytes: Uint8Array } {
  // (ArrayBuffer.isView, not instanceof: under jest the reader's arrays come from another realm, and
  // there hyparquet hands BYTE_ARRAY struct fields over as plain number arrays)
  const b = ArrayBuffer.isView(v) || Array.isArray(v) ? v : (v as { bytes?: unknown } | null)?.bytes;
  if (Array.isArray(b)) return { bytes: Uint8Array.from(b as number[]) };
  check(ArrayBuffer.isView(b), `${file}: row ${id} has no image bytes`);
  return { bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
}

// ---- the parquet layout (lmms-lab datasets) ----------------------------------------------------------------

/** Columns per task (the lmms-lab datasets' own names), and the row → question mapping. */
function parquetQuestion(task: TaskId, r: Row, rowIndex: number, image: EvalQuestion['image']): EvalQuestion {
  // Datasets without an id column are keyed by row index, as lmms-eval keys its docs.
  const rowId = String(rowIndex);
  switch (task) {
    case 'vqav2_val': case 'vqav2_testdev':
      return { id: str(r.question_id), image, question: str(r.question), vqaAnswers: (r.answers as VqaAnswer[] | null) ?? undefined };
    case 'vizwiz_val': case 'vizwiz_test':
      return { id: str(r.question_id), image, question: str(r.question), answers: (r.answers as string[] | null) ?? undefined, category: optStr(r.category) ?? undefined };
    case 'gqa':
      return { id: str(r.id), image, question: str(r.question), answer: str(r.answer), isBalanced: r.isBalanced as boolean | undefined,
        structural: (r.types as { structural?: string } | undefined)?.structural };
    case 'scienceqa_img':
      return { id: rowId, image, question: str(r.question), choices: r.choices as string[], answerIndex: Number(r.answer), hint: optStr(r.hint) };
    case 'chartqa':
      return { id: rowId, image, question: str(r.question), answer: str(r.answer), category: str(r.type) };
    case 'textvqa_val':
      return { id: str(r.question_id), image, question: str(r.question), answers: r.answers as string[] };
    case 'ocrbench':
      return { id: rowId, image, question: str(r.question), answers: Array.isArray(r.answer) ? r.answer.map(String) : [str(r.answer)],
        dataset: str(r.dataset), questionType: str(r.question_type) };
    case 'mme':
      return { id: `${str(r.question_id)}#${rowIndex}`, image, question: str(r.question), answer: str(r.answer), category: str(r.category), pairKey: `${str(r.category)}/${str(r.question_id)}` };
    case 'mmbench_en_dev': case 'mmbench_en_test':
      return { id: str(r.index), image, question: str(r.question), hint: optStr(r.hint), answer: optStr(r.answer) ?? undefined, index: Number(r.index),
        options: Object.fromEntries(['A', 'B', 'C', 'D', 'E'].map((k) => [k, optStr(r[k])])), category: str(r.category) };
    case 'pope':
      return { id: str(r.question_id), image, question: str(r.question), answer: str(r.answer), category: str(r.category) };
    case 'realworldqa':
      return { id: rowId, image, question: str(r.question), answer: str(r.answer) };
  }
}

async function loadParquet(task: TaskId, dir: string, files: string[], opts: LoadOptions): Promise<LoadedTask> {
  // GQA keeps its images in a second config (testdev_balanced_images: id, image), matched by imageId.
  let gqaImages: Map<string, Uint8Array> | null = null;
  if (task === 'gqa') {
    const imageFiles = files.filter((f) => /images/i.test(path.relative(dir, f)));
    files = files.filter((f) => !imageFiles.includes(f));
    if (opts.withImageBytes || opts.checkImages) {
      check(imageFiles.length > 0, `--data ${dir}: no GQA image parquet (lmms-lab/GQA testdev_balanced_images) next to the questions`);
      gqaImages = new Map((await readParquetRows(imageFiles, true)).map((r) => [str(r.id), imageBytes(r.image, imageFiles[0], str(r.id)).bytes]));
    }
  }
  check(files.length > 0, `--data ${dir}: no question parquet files`);
  const keepImage = opts.withImageBytes === true || opts.checkImages === true;
  const rows = await readParquetRows(files, keepImage);
  const questions = rows.map((r, i) => {
    let image: EvalQuestion['image'] = null;
    if (task === 'gqa') {
      const b = gqaImages?.get(str(r.imageId));
      if (opts.checkImages) check(b !== undefined, `--data ${dir}: question ${str(r.id)} names image ${str(r.imageId)}, which the image parquet lacks`);
      image = b ? { bytes: b } : null;
    } else if (!keepImage) {
      image = r.hasImage ? { path: `${path.basename(files[0])}#row${i}` } : null;   // (bytes not read: scoring)
    } else if (r.image !== null && r.image !== undefined) {
      image = imageBytes(r.image, files[0], String(i));
    } else if (opts.checkImages && task !== 'scienceqa_img') {
      throw new HeroError(`${files[0]}: row ${i} has no image`);
    }
    return parquetQuestion(task, r, i, image);
  });
  return { task, layout: 'parquet', sources: files, questions };
}

// ---- LLaVA's playground/data/eval layout -------------------------------------------------------------------

interface LlavaLine { question_id: string | number; image?: string; text: string; category?: string }

/** An image the questions name must exist (checked only when asked). */
function imageAt(dir: string, folder: string, name: string, id: string, check_: boolean): { path: string } {
  const p = path.join(dir, folder, name);
  if (check_ && !fs.existsSync(p)) throw new HeroError(`--data ${dir}: question ${id} names image ${path.join(folder, name)}, which is missing`);
  return { path: p };
}

/** eval_textvqa.py `prompt_processor`: the question line of a LLaVA TextVQA prompt (2 lines, or 3 with the
 * `Reference OCR token:` line, or the `OCR tokens: … Question: … Short answer:` form). */
export function textvqaQuestionOf(prompt: string, where: string): string {
  const lines = prompt.split('\n');
  if (prompt.startsWith('OCR tokens: ')) {
    const m = /Question: ([\s\S]*?) Short answer:/.exec(prompt);
    check(m !== null, `${where}: TextVQA prompt without "Question: … Short answer:"`);
    return m[1];
  }
  if (prompt.includes('Reference OCR token: ') && lines.length === 3) return prompt.startsWith('Reference OCR token:') ? lines[1] : lines[0];
  check(lines.length === 2, `${where}: a TextVQA prompt has 2 lines, or 3 with the OCR tokens (LLaVA's eval_textvqa.py asserts it)`);
  return lines[0];
}

/** The question as asked, without the suffix LLaVA's question files carry. */
const stripSuffix = (text: string, suffixes: readonly string[]): string => {
  for (const s of suffixes) if (text.endsWith(s)) return text.slice(0, -s.length);
  return text;
};
const SHORT = '\nAnswer the question using a single word or phrase.';

function loadLlava(task: TaskId, dir: string, opts: LoadOptions): LoadedTask {
  const ci = opts.checkImages === true;
  switch (task) {
    case 'gqa': {
      const qf = findFile(dir, ['llava_gqa_testdev_balanced.jsonl'], 'GQA question file');
      const gf = findFile(dir, ['data/testdev_balanced_questions.json', 'testdev_balanced_questions.json'], 'GQA ground truth');
      const gt = readJson<Record<string, { answer: string; isBalanced?: boolean; types?: { structural?: string } }>>(gf, 'GQA questions');
      const questions = readJsonl<LlavaLine>(qf, 'question').map((l) => {
        const id = String(l.question_id);
        const g = gt[id];
        check(g !== undefined, `${gf}: no ground truth for question ${id} of ${qf}`);
        return { id, image: imageAt(dir, 'data/images', str(l.image), id, ci), question: stripSuffix(l.text, [SHORT]), llavaText: l.text,
          answer: g.answer, isBalanced: g.isBalanced, structural: g.types?.structural };
      });
      return { task, layout: 'llava', sources: [qf, gf], questions };
    }
    case 'textvqa_val': {
      const qf = findFile(dir, ['llava_textvqa_val_v051_ocr.jsonl', 'llava_textvqa_val.jsonl'], 'TextVQA question file');
      const af = findFile(dir, ['TextVQA_0.5.1_val.json'], 'TextVQA annotations');
      const ann = readJson<{ data: Array<{ question_id: number; image_id: string; question: string; answers: string[] }> }>(af, 'TextVQA annotations').data;
      // LLaVA's eval_textvqa.py keys the truth by (image_id, question.lower()), with question_id holding the image id;
      // a question file keyed by the real question_id is matched by that instead.
      const byImage = new Map(ann.map((a) => [`${a.image_id}\u0000${a.question.toLowerCase()}`, a]));
      const byId = new Map(ann.map((a) => [String(a.question_id), a]));
      // Our ids are the annotations' question ids (unique); LLaVA's answer files are matched by `llavaKey`.
      const questions = readJsonl<LlavaLine>(qf, 'question').map((l) => {
        const qid = String(l.question_id);
        const asked = textvqaQuestionOf(l.text, qf);
        const a = byImage.get(`${qid}\u0000${asked.toLowerCase()}`) ?? byId.get(qid);
        check(a !== undefined, `${af}: no annotation for question ${qid} ("${asked}") of ${qf}`);
        return { id: String(a.question_id), image: imageAt(dir, 'train_images', str(l.image), qid, ci), question: asked, answers: a.answers,
          llavaKey: `${qid}\u0000${asked.toLowerCase()}` };
      });
      return { task, layout: 'llava', sources: [qf, af], questions };
    }
    case 'pope': {
      const qf = findFile(dir, ['llava_pope_test.jsonl'], 'POPE question file');
      const lines = readJsonl<LlavaLine>(qf, 'question');
      // eval_pope.py zips each coco_pope_<split>.json (label file order) with that split's answers (question-file order).
      const labels = new Map<string, string[]>();
      for (const split of new Set(lines.map((l) => str(l.category)))) {
        const lf = findFile(dir, [`coco/coco_pope_${split}.json`, `coco_pope_${split}.json`], `POPE labels of split '${split}'`);
        labels.set(split, readJsonl<{ label: string }>(lf, 'label').map((x) => x.label));
      }
      const seen = new Map<string, number>();
      const questions = lines.map((l) => {
        const split = str(l.category);
        const k = seen.get(split) ?? 0;
        seen.set(split, k + 1);
        const label = labels.get(split)![k];
        check(label !== undefined, `--data ${dir}: coco_pope_${split}.json has fewer labels than ${qf} has '${split}' questions`);
        const id = String(l.question_id);
        return { id, image: imageAt(dir, 'val2014', str(l.image), id, ci), question: stripSuffix(l.text, [SHORT]), llavaText: l.text, category: split, answer: label };
      });
      return { task, layout: 'llava', sources: [qf], questions };
    }
    case 'mme': {
      const qf = findFile(dir, ['llava_mme.jsonl'], 'MME question file');
      const root = 'MME_Benchmark_release_version';
      const questions = readJsonl<LlavaLine>(qf, 'question').map((l, i) => {
        const key = String(l.question_id);                                   // "<category>/<image file>"
        const [category, file] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
        const stem = file.replace(/\.[^.]+$/, '');
        const gtFile = findFile(path.join(dir, root, category), [`questions_answers_YN/${stem}.txt`, `${stem}.txt`], `MME answers of ${key}`);
        const asked = stripSuffix(l.text, [SHORT]);
        // LLaVA's converter looks the line up by the question + " Please answer yes or no." (also with two spaces).
        const pairs = readText(gtFile, 'MME answers').split('\n').filter((x) => x.includes('\t')).map((x) => x.split('\t'));
        const hit = pairs.find(([q]) => q === `${asked} Please answer yes or no.` || q === `${asked}  Please answer yes or no.`);
        check(hit !== undefined, `${gtFile}: no line for question "${asked}" of ${key}`);
        const imgName = fs.existsSync(path.join(dir, root, category, 'images', file)) ? path.join(category, 'images', file) : str(l.image ?? key);
        return { id: `${key}#${i}`, image: imageAt(dir, root, imgName, key, ci), question: hit[0], llavaText: l.text, category,
          pairKey: key, answer: hit[1].trim() };
      });
      return { task, layout: 'llava', sources: [qf], questions };
    }
    case 'scienceqa_img': {
      const qf = findFile(dir, ['llava_test_CQM-A.json'], 'ScienceQA question file');
      const pf = findFile(dir, ['problems.json'], 'ScienceQA problems');
      const problems = readJson<Record<string, { question: string; choices: string[]; answer: number; hint?: string; image?: string | null }>>(pf, 'ScienceQA problems');
      const items = readJson<Array<{ id: string; image?: string; conversations: Array<{ from: string; value: string }> }>>(qf, 'ScienceQA questions');
      const questions = items.filter((x) => x.image).map((x) => {
        const p = problems[x.id];
        check(p !== undefined, `${pf}: no problem ${x.id} of ${qf}`);
        const value = x.conversations.find((c) => c.from === 'human')?.value ?? '';
        return { id: x.id, image: imageAt(dir, 'images/test', str(x.image), x.id, ci), question: p.question, llavaText: value.replace('<image>', '').trim(),
          choices: p.choices, answerIndex: p.answer, hint: p.hint ?? null };
      });
      return { task, layout: 'llava', sources: [qf, pf], questions };
    }
    case 'vqav2_testdev': {
      const qf = findFile(dir, ['llava_vqav2_mscoco_test-dev2015.jsonl'], 'VQAv2 test-dev question file');
      const questions = readJsonl<LlavaLine>(qf, 'question').map((l) => ({ id: String(l.question_id), image: imageAt(dir, 'test2015', str(l.image), String(l.question_id), ci),
        question: stripSuffix(l.text, [SHORT]), llavaText: l.text }));
      return { task, layout: 'llava', sources: [qf], questions };
    }
    case 'vizwiz_test': {
      const qf = findFile(dir, ['llava_test.jsonl'], 'VizWiz test question file');
      const suffix = "\nWhen the provided information is insufficient, respond with 'Unanswerable'." + SHORT;
      const questions = readJsonl<LlavaLine>(qf, 'question').map((l) => ({ id: String(l.question_id), image: imageAt(dir, 'test', str(l.image), String(l.question_id), ci),
        question: stripSuffix(l.text, [suffix]), llavaText: l.text }));
      return { task, layout: 'llava', sources: [qf], questions };
    }
    case 'vizwiz_val': {
      const af = findFile(dir, ['val.json', 'Annotations/val.json'], 'VizWiz val annotations');
      const ann = readJson<Array<{ image: string; question: string; answers: Array<{ answer: string }> }>>(af, 'VizWiz annotations');
      const questions = ann.map((a) => {
        const id = a.image.replace(/\.[^.]+$/, '');                          // lmms-eval: question_id = image name without .jpg
        return { id, image: imageAt(dir, 'val', a.image, id, ci), question: a.question, answers: a.answers.map((x) => x.answer) };
      });
      return { task, layout: 'llava', sources: [af], questions };
    }
    case 'mmbench_en_dev': case 'mmbench_en_test': {
      const tf = findFile(dir, task === 'mmbench_en_dev' ? ['mmbench_dev_20230712.tsv', 'mmbench_dev_en_20231003.tsv'] : ['mmbench_test_en_20231003.tsv', 'mmbench_test_20230712.tsv'], 'MMBench TSV');
      const [head, ...body] = readText(tf, 'MMBench TSV').split('\n').filter((x) => x.length > 0).map((x) => x.replace(/\r$/, '').split('\t'));
      const col = (name: string): number => head.indexOf(name);
      check(col('index') >= 0 && col('question') >= 0, `${tf}: not an MMBench TSV (no index/question columns)`);
      const cell = (r: string[], name: string): string | null => (col(name) >= 0 && r[col(name)] !== undefined && r[col(name)] !== '' ? r[col(name)] : null);
      const questions = body.map((r) => {
        const b64 = cell(r, 'image');
        return { id: String(Number(cell(r, 'index'))), image: b64 ? { bytes: new Uint8Array(Buffer.from(b64, 'base64')) } : null, question: cell(r, 'question') ?? '',
          hint: cell(r, 'hint'), answer: cell(r, 'answer') ?? undefined, index: Number(cell(r, 'index')), category: cell(r, 'category') ?? undefined,
          options: Object.fromEntries(['A', 'B', 'C', 'D', 'E'].map((k) => [k, cell(r, k)])) };
      });
      return { task, layout: 'llava', sources: [tf], questions };
    }
    default:
      throw new HeroError(`--data ${dir}: task ${task} has no LLaVA layout (${TASKS[task].noScore?.llava ?? 'lmms-eval only'}); point --data at its lmms-lab parquet files`);
  }
}

/** A task's questions from `dir`, in the data's order (parquet row order / question-file order). */
export async function loadTask(task: TaskId, dir: string, opts: LoadOptions = {}): Promise<LoadedTask> {
  check(TASKS[task] !== undefined, `unknown task '${task}'`);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new HeroError(`--data ${dir}: no such directory`);
  const pq = parquetFiles(dir);
  const loaded = pq.length > 0 ? await loadParquet(task, dir, pq, opts) : loadLlava(task, dir, opts);
  const seen = new Set<string>();
  for (const q of loaded.questions) {
    check(!seen.has(q.id), `--data ${dir}: question id ${q.id} occurs twice in ${loaded.sources[0]}`);
    seen.add(q.id);
  }
  check(loaded.questions.length > 0, `--data ${dir}: ${loaded.sources.join(', ')} hold no questions`);
  return loaded;
}

// ---- predictions -------------------------------------------------------------------------------------------

/** One prediction line as read: its id as written, the answer, and the line number (for messages). */
export interface PredictionEntry { readonly id: string; readonly answer: string; readonly line: number; readonly prompt?: string }

/**
 * A predictions file: JSON lines with `question_id` and `answer` (as `eval predict` writes them) or `text`
 * (LLaVA's answer files); a RUN directory means RUN/predictions.jsonl. A last line without its newline
 * (a killed writer) is dropped and reported. Entries come in file order; ids are matched by `matchPredictions`.
 */
export function readPredictions(p: string): { file: string; entries: PredictionEntry[]; droppedPartialLine: boolean } {
  const file = fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, 'predictions.jsonl') : p;
  const lines = readText(file, 'predictions').split('\n');
  const tail = lines.pop()!;                                                 // '' when the file ends with a newline
  const droppedPartialLine = tail.trim() !== '';
  const entries: PredictionEntry[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(text);
    } catch {
      throw new HeroError(`${file}:${i + 1}: not a JSON line`);
    }
    check(o.question_id !== undefined && o.question_id !== null, `${file}:${i + 1}: no question_id`);
    const answer = typeof o.answer === 'string' ? o.answer : typeof o.text === 'string' ? o.text : undefined;
    check(answer !== undefined, `${file}:${i + 1}: no "answer" (or LLaVA "text") string`);
    entries.push({ id: String(o.question_id), answer, line: i + 1, prompt: typeof o.prompt === 'string' ? o.prompt : undefined });
  });
  return { file, entries, droppedPartialLine };
}

/**
 * Prediction entries → answers keyed by the task's question ids. An id the data does not have, or one
 * answered twice, is an error (a wrong --task or --data, or merged runs overlapping). MME is the one
 * exceptions LLaVA needs: its MME answer files give both questions of an image the image key as
 * question_id, in question-file order, so such a key fills that image's questions in order; its TextVQA
 * answer files give the image id, and the question in the prompt tells them apart (eval_textvqa.py).
 */
export function matchPredictions(file: string, entries: readonly PredictionEntry[], questions: readonly EvalQuestion[], task: TaskId): Map<string, string> {
  const known = new Set(questions.map((q) => q.id));
  const byPair = new Map<string, string[]>();
  if (task === 'mme') for (const q of questions) if (q.pairKey) byPair.set(q.pairKey, [...(byPair.get(q.pairKey) ?? []), q.id]);
  const byLlavaKey = new Map(questions.filter((q) => q.llavaKey !== undefined).map((q) => [q.llavaKey!, q.id]));
  const answers = new Map<string, string>();
  const unknown: string[] = [];
  for (const e of entries) {
    let id: string | undefined = e.id;
    if (!known.has(id) && byLlavaKey.size && e.prompt !== undefined) id = byLlavaKey.get(`${e.id}\u0000${textvqaQuestionOf(e.prompt, `${file}:${e.line}`).toLowerCase()}`);
    if (id === undefined || !known.has(id)) id = byPair.get(e.id)?.find((x) => !answers.has(x));
    if (id === undefined) {
      check(!byPair.has(e.id), `${file}:${e.line}: image ${e.id} is answered more often than it has questions`);
      unknown.push(e.id);
      continue;
    }
    check(!answers.has(id), `${file}:${e.line}: question_id ${e.id} occurs twice`);
    answers.set(id, e.answer);
  }
  if (unknown.length) throw new HeroError(`${file}: ${unknown.length} question_id(s) not in ${task}'s data (first: ${unknown.slice(0, 3).join(', ')})`);
  return answers;
}
