/**
 * Writes the mini datasets of spec/fixtures/eval/mini/: per layout and task, a few questions about
 * images this script draws (coloured squares on a grey ground), with known answers, in the files and
 * columns the real datasets use (LLaVA's playground/data/eval/<task>/ layout; the lmms-lab parquet
 * rows with embedded PNG bytes). Each task folder also gets `answers.jsonl`: the right answer per
 * question in `eval predict`'s line format, which the specs score at 100 %.
 *
 *   node -r ./src/cli/register-ts.js scripts/eval-minidata.ts [OUT=spec/fixtures/eval/mini]
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';

const OUT = process.argv[2] ?? path.join(__dirname, '..', 'spec', 'fixtures', 'eval', 'mini');
const SIDE = 24;
const COLOURS: Record<string, [number, number, number]> = { red: [220, 30, 30], green: [30, 180, 60], blue: [40, 60, 220], yellow: [230, 210, 40] };

/** A SIDE×SIDE PNG: grey ground, `count` squares of `colour` along the diagonal. */
async function drawPng(colour: string, count: number): Promise<Uint8Array> {
  const px = Buffer.alloc(SIDE * SIDE * 3, 128);
  const s = Math.floor(SIDE / (2 * count + 1));
  for (let k = 0; k < count; k++) {
    const o = (2 * k + 1) * s;
    for (let y = o; y < o + s; y++) for (let x = o; x < o + s; x++) px.set(COLOURS[colour], (y * SIDE + x) * 3);
  }
  return new Uint8Array(await sharp(px, { raw: { width: SIDE, height: SIDE, channels: 3 } }).png().toBuffer());
}

/** One drawn image with what can be asked about it. */
interface Pic { name: string; colour: string; count: number; png: Uint8Array }

function write(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}
const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const SHORT = '\nAnswer the question using a single word or phrase.';

function writeParquet(file: string, columns: Array<{ name: string; data: unknown[]; type?: string }>): void {
  const { parquetWriteBuffer } = require('hyparquet-writer') as { parquetWriteBuffer: (o: unknown) => ArrayBuffer };
  write(file, new Uint8Array(parquetWriteBuffer({ columnData: columns })));
}
const img = (p: Pic): { bytes: Uint8Array; path: string } => ({ bytes: p.png, path: p.name });
const answers = (dir: string, rows: Array<[string | number, string]>): void =>
  write(path.join(dir, 'answers.jsonl'), jsonl(rows.map(([id, a]) => ({ question_id: id, answer: a }))));

async function main(): Promise<void> {
  fs.rmSync(OUT, { recursive: true, force: true });
  const pics: Pic[] = [];
  for (const [colour, count] of [['red', 1], ['green', 2], ['blue', 3], ['yellow', 1]] as const) {
    pics.push({ name: `${colour}${count}.png`, colour, count, png: await drawPng(colour, count) });
  }
  const words = ['zero', 'one', 'two', 'three'];
  const L = path.join(OUT, 'llava');
  const P = path.join(OUT, 'parquet');

  // ---- GQA ----
  {
    const d = path.join(L, 'gqa');
    const qs = pics.map((p, i) => ({ question_id: `20${i}`, image: p.name, text: `What color is the square?${SHORT}` }));
    write(path.join(d, 'llava_gqa_testdev_balanced.jsonl'), jsonl(qs));
    write(path.join(d, 'data', 'testdev_balanced_questions.json'), JSON.stringify(Object.fromEntries(pics.map((p, i) => [`20${i}`,
      { imageId: p.name.replace('.png', ''), question: 'What color is the square?', answer: p.colour, isBalanced: true, types: { structural: 'query' } }]))));
    for (const p of pics) write(path.join(d, 'data', 'images', p.name), p.png);
    answers(d, pics.map((p, i) => [`20${i}`, p.colour]));
    const q = path.join(P, 'gqa');
    writeParquet(path.join(q, 'testdev_balanced_instructions', 'testdev-00000-of-00001.parquet'), [
      { name: 'id', data: pics.map((_, i) => `20${i}`), type: 'STRING' }, { name: 'imageId', data: pics.map((p) => p.name.replace('.png', '')), type: 'STRING' },
      { name: 'question', data: pics.map(() => 'What color is the square?'), type: 'STRING' }, { name: 'answer', data: pics.map((p) => p.colour), type: 'STRING' },
      { name: 'isBalanced', data: pics.map(() => true), type: 'BOOLEAN' }]);
    writeParquet(path.join(q, 'testdev_balanced_images', 'testdev-00000-of-00001.parquet'), [
      { name: 'id', data: pics.map((p) => p.name.replace('.png', '')), type: 'STRING' }, { name: 'image', data: pics.map(img) }]);
    answers(q, pics.map((p, i) => [`20${i}`, p.colour]));
  }
  // ---- TextVQA ----
  {
    const d = path.join(L, 'textvqa_val');
    write(path.join(d, 'llava_textvqa_val_v051_ocr.jsonl'), jsonl(pics.map((p, i) => ({ question_id: 300 + i, image: p.name,
      text: `what color is the square?\nReference OCR token: none${SHORT}` }))));
    write(path.join(d, 'TextVQA_0.5.1_val.json'), JSON.stringify({ data: pics.map((p, i) => ({ question_id: 900 + i, image_id: String(300 + i),
      question: 'what color is the square?', answers: Array(10).fill(p.colour) })) }));
    for (const p of pics) write(path.join(d, 'train_images', p.name), p.png);
    // as LLaVA's model_vqa_loader.py writes them: question_id = the image id, the prompt, the text
    write(path.join(d, 'answers.jsonl'), jsonl(pics.map((p, i) => ({ question_id: 300 + i,
      prompt: `what color is the square?\nReference OCR token: none${SHORT}`, text: p.colour, answer_id: `a${i}`, model_id: 'm', metadata: {} }))));
    const q = path.join(P, 'textvqa_val');
    writeParquet(path.join(q, 'data', 'validation-00000-of-00001.parquet'), [
      { name: 'question_id', data: pics.map((_, i) => 300 + i), type: 'INT32' }, { name: 'question', data: pics.map(() => 'what color is the square?'), type: 'STRING' },
      { name: 'image', data: pics.map(img) }, { name: 'answers', data: pics.map((p) => Array(10).fill(p.colour)) }]);
    answers(q, pics.map((p, i) => [300 + i, p.colour]));
  }
  // ---- POPE ----
  {
    const d = path.join(L, 'pope');
    const splits = ['adversarial', 'popular', 'random'];
    const rows = splits.flatMap((s, k) => pics.slice(0, 2).flatMap((p, i) => [
      { s, p, q: `Is there a ${p.colour} square in the image?`, label: 'yes', id: k * 10 + 2 * i + 1 },
      { s, p, q: `Is there a ${p.colour === 'red' ? 'blue' : 'red'} square in the image?`, label: 'no', id: k * 10 + 2 * i + 2 }]));
    write(path.join(d, 'llava_pope_test.jsonl'), jsonl(rows.map((r) => ({ question_id: r.id, image: r.p.name, text: r.q + SHORT, category: r.s }))));
    for (const s of splits) write(path.join(d, 'coco', `coco_pope_${s}.json`), jsonl(rows.filter((r) => r.s === s).map((r, i) => ({ question_id: i + 1, image: r.p.name, text: r.q, label: r.label }))));
    for (const p of pics) write(path.join(d, 'val2014', p.name), p.png);
    answers(d, rows.map((r) => [r.id, r.label === 'yes' ? 'Yes' : 'No']));
    const q = path.join(P, 'pope');
    writeParquet(path.join(q, 'data', 'test-00000-of-00001.parquet'), [
      { name: 'question_id', data: rows.map((r) => String(r.id)), type: 'STRING' }, { name: 'question', data: rows.map((r) => r.q), type: 'STRING' },
      { name: 'answer', data: rows.map((r) => r.label), type: 'STRING' }, { name: 'image_source', data: rows.map((r) => r.p.name), type: 'STRING' },
      { name: 'image', data: rows.map((r) => img(r.p)) }, { name: 'category', data: rows.map((r) => r.s), type: 'STRING' }]);
    answers(q, rows.map((r) => [String(r.id), r.label]));
  }
  // ---- MME (two questions per image; one image per subtask for two subtasks) ----
  {
    const d = path.join(L, 'MME');
    const cats = [['color', pics[0]], ['count', pics[1]]] as const;
    const rows = cats.flatMap(([c, p]) => [
      { c, p, q: c === 'color' ? `Is the square ${p.colour}?` : `Are there ${p.count} squares?`, gt: 'Yes' },
      { c, p, q: c === 'color' ? 'Is the square purple?' : `Are there ${p.count + 2} squares?`, gt: 'No' }]);
    write(path.join(d, 'llava_mme.jsonl'), jsonl(rows.map((r) => ({ question_id: `${r.c}/${r.p.name}`, image: `${r.c}/${r.p.name}`, text: r.q + SHORT, category: r.c }))));
    for (const [c, p] of cats) {
      write(path.join(d, 'MME_Benchmark_release_version', c, p.name), p.png);
      write(path.join(d, 'MME_Benchmark_release_version', c, p.name.replace('.png', '.txt')),
        rows.filter((r) => r.c === c).map((r) => `${r.q} Please answer yes or no.\t${r.gt}`).join('\n') + '\n');
    }
    answers(d, rows.map((r, i) => [`${r.c}/${r.p.name}#${i}`, r.gt]));
    const q = path.join(P, 'mme');
    writeParquet(path.join(q, 'data', 'test-00000-of-00001.parquet'), [
      { name: 'question_id', data: rows.map((r) => `${r.c}/${r.p.name}`), type: 'STRING' }, { name: 'image', data: rows.map((r) => img(r.p)) },
      { name: 'question', data: rows.map((r) => `${r.q} Please answer yes or no.`), type: 'STRING' }, { name: 'answer', data: rows.map((r) => r.gt), type: 'STRING' },
      { name: 'category', data: rows.map((r) => r.c), type: 'STRING' }]);
    answers(q, rows.map((r, i) => [`${r.c}/${r.p.name}#${i}`, r.gt]));
  }
  // ---- ScienceQA-IMG ----
  {
    const d = path.join(L, 'scienceqa');
    const probs = pics.map((p, i) => ({ id: String(400 + i), p, choices: ['purple', p.colour, 'white'], answer: 1 }));
    write(path.join(d, 'problems.json'), JSON.stringify(Object.fromEntries(probs.map((x) => [x.id, { question: 'Which color is the square?', choices: x.choices,
      answer: x.answer, hint: '', image: 'image.png', split: 'test' }]))));
    write(path.join(d, 'pid_splits.json'), JSON.stringify({ test: probs.map((x) => x.id) }));
    write(path.join(d, 'llava_test_CQM-A.json'), JSON.stringify(probs.map((x) => ({ id: x.id, image: `${x.id}/image.png`,
      conversations: [{ from: 'human', value: `<image>\nContext: \nQuestion: Which color is the square?\nOptions: (A) purple (B) ${x.p.colour} (C) white` }, { from: 'gpt', value: 'B' }] }))));
    for (const x of probs) write(path.join(d, 'images', 'test', x.id, 'image.png'), x.p.png);
    answers(d, probs.map((x) => [x.id, 'B']));
    const q = path.join(P, 'scienceqa_img');
    writeParquet(path.join(q, 'ScienceQA-IMG', 'test-00000-of-00001.parquet'), [
      { name: 'image', data: probs.map((x) => img(x.p)) }, { name: 'question', data: probs.map(() => 'Which color is the square?'), type: 'STRING' },
      { name: 'choices', data: probs.map((x) => x.choices) }, { name: 'answer', data: probs.map((x) => x.answer), type: 'INT32' },
      { name: 'hint', data: probs.map(() => ''), type: 'STRING' }]);
    answers(q, probs.map((_, i) => [String(i), 'B']));
  }
  // ---- VizWiz (val with answers; test for the upload file) ----
  {
    const d = path.join(L, 'vizwiz');
    write(path.join(d, 'val.json'), JSON.stringify(pics.map((p, i) => ({ image: `VizWiz_val_0000000${i}.jpg`, question: 'what color is this?',
      answers: Array(10).fill(0).map((_, k) => ({ answer: k < 8 ? p.colour : 'unanswerable', answer_confidence: 'yes' })), answerable: 1, answer_type: 'other' }))));
    pics.forEach((p, i) => write(path.join(d, 'val', `VizWiz_val_0000000${i}.jpg`), p.png));   // PNG bytes under the dataset's file name
    write(path.join(d, 'llava_test.jsonl'), jsonl(pics.map((p, i) => ({ question_id: i, image: `VizWiz_test_0000000${i}.jpg`,
      text: "what color is this?\nWhen the provided information is insufficient, respond with 'Unanswerable'." + SHORT }))));
    pics.forEach((p, i) => write(path.join(d, 'test', `VizWiz_test_0000000${i}.jpg`), p.png));
    answers(d, pics.map((p, i) => [`VizWiz_val_0000000${i}`, p.colour]));
    write(path.join(d, 'answers_test.jsonl'), jsonl(pics.map((p, i) => ({ question_id: i, answer: p.colour }))));
    const q = path.join(P, 'vizwiz_val');
    writeParquet(path.join(q, 'data', 'val-00000-of-00001.parquet'), [
      { name: 'question_id', data: pics.map((_, i) => `VizWiz_val_0000000${i}`), type: 'STRING' }, { name: 'image', data: pics.map(img) },
      { name: 'question', data: pics.map(() => 'what color is this?'), type: 'STRING' },
      { name: 'answers', data: pics.map((p) => Array(10).fill(0).map((_, k) => (k < 8 ? p.colour : 'unanswerable'))) }, { name: 'category', data: pics.map(() => 'other'), type: 'STRING' }]);
    answers(q, pics.map((p, i) => [`VizWiz_val_0000000${i}`, p.colour]));
  }
  // ---- VQAv2 (val in parquet with answer records; test-dev in LLaVA's layout for the upload file) ----
  {
    const q = path.join(P, 'vqav2_val');
    writeParquet(path.join(q, 'data', 'validation-00000-of-00001.parquet'), [
      { name: 'question_id', data: pics.map((_, i) => 500 + i), type: 'INT32' }, { name: 'question', data: pics.map(() => 'How many squares are there?'), type: 'STRING' },
      { name: 'image', data: pics.map(img) },
      { name: 'answers', data: pics.map((p) => Array(10).fill(0).map((_, k) => ({ answer: k < 9 ? String(p.count) : words[p.count], answer_confidence: 'yes', answer_id: k + 1 }))) }]);
    answers(q, pics.map((p, i) => [500 + i, words[p.count]]));
    const d = path.join(L, 'vqav2');
    write(path.join(d, 'llava_vqav2_mscoco_test-dev2015.jsonl'), jsonl(pics.slice(0, 3).map((p, i) => ({ question_id: 600 + i, image: p.name, text: `How many squares are there?${SHORT}` }))));
    write(path.join(d, 'llava_vqav2_mscoco_test2015.jsonl'), jsonl(pics.map((p, i) => ({ question_id: 600 + i, image: p.name, text: `How many squares are there?${SHORT}` }))));
    for (const p of pics) write(path.join(d, 'test2015', p.name), p.png);
    answers(d, pics.slice(0, 3).map((p, i) => [600 + i, `${words[p.count]}.`]));
  }
  // ---- MMBench dev (TSV with base64 images; parquet with a circular copy) ----
  {
    const rows = pics.slice(0, 2).flatMap((p, i) => {
      const opts = ['purple', p.colour, 'white'];
      const rot = [opts[1], opts[2], opts[0]];
      return [{ index: 10 + i, opts, answer: 'B', p }, { index: 1_000_010 + i, opts: rot, answer: 'A', p }];
    });
    const d = path.join(L, 'mmbench');
    const head = ['index', 'question', 'hint', 'A', 'B', 'C', 'D', 'answer', 'category', 'image', 'source', 'l2-category', 'comment', 'split'];
    const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
    write(path.join(d, 'mmbench_dev_20230712.tsv'), [head.join('\t'), ...rows.filter((r) => r.index < 1e6).map((r) =>
      [r.index, 'Which color is the square?', '', ...r.opts, '', r.answer, 'color', b64(r.p.png), 'mini', 'perception', '', 'dev'].join('\t'))].join('\n') + '\n');
    answers(d, rows.filter((r) => r.index < 1e6).map((r) => [String(r.index), r.answer]));
    const q = path.join(P, 'mmbench_en_dev');
    writeParquet(path.join(q, 'en', 'dev-00000-of-00001.parquet'), [
      { name: 'index', data: rows.map((r) => BigInt(r.index)), type: 'INT64' }, { name: 'question', data: rows.map(() => 'Which color is the square?'), type: 'STRING' },
      { name: 'hint', data: rows.map(() => null), type: 'STRING' }, { name: 'answer', data: rows.map((r) => r.answer), type: 'STRING' },
      ...['A', 'B', 'C', 'D'].map((k, j) => ({ name: k, data: rows.map((r) => r.opts[j] ?? null), type: 'STRING' })),
      { name: 'category', data: rows.map(() => 'color'), type: 'STRING' }, { name: 'image', data: rows.map((r) => img(r.p)) },
      { name: 'source', data: rows.map(() => 'mini'), type: 'STRING' }, { name: 'L2-category', data: rows.map(() => 'perception'), type: 'STRING' },
      { name: 'split', data: rows.map(() => 'dev'), type: 'STRING' }]);
    answers(q, rows.map((r) => [String(r.index), r.answer]));
  }
  // ---- lmms-eval only: ChartQA, OCRBench, RealWorldQA ----
  {
    const q = path.join(P, 'chartqa');
    writeParquet(path.join(q, 'data', 'test-00000-of-00001.parquet'), [
      { name: 'type', data: pics.map((_, i) => (i % 2 ? 'augmented_test' : 'human_test')), type: 'STRING' },
      { name: 'question', data: pics.map(() => 'How many squares are in the chart?'), type: 'STRING' },
      { name: 'answer', data: pics.map((p) => String(p.count)), type: 'STRING' }, { name: 'image', data: pics.map(img) }]);
    answers(q, pics.map((p, i) => [String(i), String(p.count)]));
    const o = path.join(P, 'ocrbench');
    writeParquet(path.join(o, 'data', 'test-00000-of-00001.parquet'), [
      { name: 'dataset', data: pics.map(() => 'IIIT5K'), type: 'STRING' }, { name: 'question', data: pics.map(() => 'what is the color name of the square?'), type: 'STRING' },
      { name: 'question_type', data: pics.map(() => 'Regular Text Recognition'), type: 'STRING' }, { name: 'answer', data: pics.map((p) => [p.colour.toUpperCase()]) },
      { name: 'image', data: pics.map(img) }]);
    answers(o, pics.map((p, i) => [String(i), `The word is ${p.colour}`]));
    const r = path.join(P, 'realworldqa');
    writeParquet(path.join(r, 'data', 'test-00000-of-00001.parquet'), [
      { name: 'image', data: pics.map(img) },
      { name: 'question', data: pics.map((p) => `What color is the square?\nA. purple\nB. ${p.colour}\nC. white\nPlease answer directly with only the letter of the correct option and nothing else.`), type: 'STRING' },
      { name: 'answer', data: pics.map(() => 'B'), type: 'STRING' }]);
    answers(r, pics.map((_, i) => [String(i), 'B']));
  }
  process.stdout.write(`wrote ${OUT}\n`);
}

main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
