/**
 * The two data layouts, read from the mini datasets of spec/fixtures/eval/mini/ (scripts/eval-minidata.ts):
 * every question loads with its truth, the known answers score 100 %, and each kind of bad input is one
 * clear error.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadTask, matchPredictions, readPredictions } from '../../src/eval/load';
import { scoreTask } from '../../src/eval/score';
import { TASKS, type Protocol, type TaskId } from '../../src/eval/tasks';
import { HeroError } from '../../src/core/errors';
import { GOLDENS } from './goldens';

const MINI = path.join(__dirname, '..', 'fixtures', 'eval', 'mini');

/** (layout folder, task, protocol, the headline number the right answers must get) */
const CASES: Array<[string, TaskId, Protocol, number]> = [
  ['llava/gqa', 'gqa', 'llava', 100], ['llava/gqa', 'gqa', 'lmms-eval', 100],
  ['llava/textvqa_val', 'textvqa_val', 'llava', 100], ['llava/pope', 'pope', 'llava', 100], ['llava/pope', 'pope', 'lmms-eval', 100],
  ['llava/MME', 'mme', 'llava', 400], ['llava/MME', 'mme', 'lmms-eval', 400], ['llava/scienceqa', 'scienceqa_img', 'llava', 100],
  ['llava/vizwiz', 'vizwiz_val', 'lmms-eval', 100], ['llava/mmbench', 'mmbench_en_dev', 'lmms-eval', 100],
  ['parquet/gqa', 'gqa', 'lmms-eval', 100], ['parquet/textvqa_val', 'textvqa_val', 'lmms-eval', 100], ['parquet/pope', 'pope', 'lmms-eval', 100],
  ['parquet/pope', 'pope', 'llava', 100], ['parquet/mme', 'mme', 'lmms-eval', 400], ['parquet/scienceqa_img', 'scienceqa_img', 'lmms-eval', 100],
  ['parquet/vizwiz_val', 'vizwiz_val', 'lmms-eval', 100], ['parquet/vqav2_val', 'vqav2_val', 'lmms-eval', 100],
  ['parquet/mmbench_en_dev', 'mmbench_en_dev', 'lmms-eval', 100], ['parquet/chartqa', 'chartqa', 'lmms-eval', 100],
  ['parquet/ocrbench', 'ocrbench', 'lmms-eval', 4], ['parquet/realworldqa', 'realworldqa', 'lmms-eval', 100],
];

describe('mini datasets through the readers and the scorers', () => {
  it.each(CASES)('%s · %s · %s', async (dir, task, protocol, want) => {
    const data = path.join(MINI, dir);
    const loaded = await loadTask(task, data, { checkImages: true });
    const { file, entries } = readPredictions(path.join(data, 'answers.jsonl'));
    const answers = matchPredictions(file, entries, loaded.questions, task);
    const r = scoreTask(task, protocol, loaded.questions, answers);
    expect(r.missing).toBe(0);
    expect(r.metrics[r.main]).toBeCloseTo(want, 10);
    // every question builds its protocol's prompt
    for (const q of loaded.questions) expect(TASKS[task].text(q, protocol)).toMatch(/\?/);
  });

  it('parquet rows keep their image bytes when predict asks for them', async () => {
    const loaded = await loadTask('pope', path.join(MINI, 'parquet/pope'), { withImageBytes: true });
    const img = loaded.questions[0].image as { bytes: Uint8Array };
    expect(Buffer.from(img.bytes.slice(1, 4)).toString()).toBe('PNG');
    const gqa = await loadTask('gqa', path.join(MINI, 'parquet/gqa'), { withImageBytes: true });
    expect(gqa.questions.every((q) => q.image !== null && 'bytes' in q.image)).toBe(true);
  });

  it('a wrong answer lowers the score (the readers really attach the truth)', async () => {
    const data = path.join(MINI, 'parquet/vqav2_val');
    const loaded = await loadTask('vqav2_val', data);
    const p = readPredictions(path.join(data, 'answers.jsonl'));
    const answers = matchPredictions(p.file, p.entries, loaded.questions, 'vqav2_val');
    answers.set(loaded.questions[0].id, 'seven');
    expect(scoreTask('vqav2_val', 'lmms-eval', loaded.questions, answers).metrics.accuracy).toBeCloseTo(75, 10);
  });
});

describe("LLaVA's TextVQA end to end (eval_textvqa.py keys the truth by image id and question)", () => {
  it('the loader pairs questions and annotations as LLaVA does, and the score equals eval_single', async () => {
    const g = GOLDENS.textvqa_llava_e2e;
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-textvqa-'));
    fs.writeFileSync(path.join(d, 'TextVQA_0.5.1_val.json'), JSON.stringify(g.annotations));
    fs.writeFileSync(path.join(d, 'llava_textvqa_val_v051_ocr.jsonl'), g.questions.map((q: unknown) => JSON.stringify(q)).join('\n') + '\n');
    fs.writeFileSync(path.join(d, 'answers.jsonl'), g.questions.map((q: { question_id: string; text: string }, i: number) =>
      JSON.stringify({ question_id: q.question_id, prompt: q.text, text: g.answers[i] })).join('\n') + '\n');
    const loaded = await loadTask('textvqa_val', d);
    // two questions share image img_a (LLaVA's question_id): told apart by the question, as eval_textvqa.py does
    expect(loaded.questions.map((q) => q.answers?.[0])).toEqual(g.annotations.data.map((a: { answers: string[] }) => a.answers[0]));
    const p = readPredictions(path.join(d, 'answers.jsonl'));
    const r = scoreTask('textvqa_val', 'llava', loaded.questions, matchPredictions(p.file, p.entries, loaded.questions, 'textvqa_val'));
    const HALF_LAST_DIGIT = 0.5 * 10 ** -g.decimals;                        // eval_textvqa.py prints 2 decimals
    expect(Math.abs(r.metrics.accuracy! - g.accuracy)).toBeLessThanOrEqual(HALF_LAST_DIGIT);
    expect(r.scored).toBe(4);
  });
});

describe('bad input: one line naming the file', () => {
  const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'hero-eval-'));
  const copy = (from: string): string => {
    const d = tmp();
    fs.cpSync(path.join(MINI, from), d, { recursive: true });
    return d;
  };
  const oneLine = async (f: () => unknown, re: RegExp): Promise<void> => {
    let err: unknown;
    try { await f(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(HeroError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toMatch(/\n/);
  };

  it('a missing split file', async () => {
    const d = tmp();
    await oneLine(() => loadTask('gqa', d), /no GQA question file \(looked for llava_gqa_testdev_balanced\.jsonl\)/);
    await oneLine(() => loadTask('gqa', path.join(d, 'nope')), /no such directory/);
    await oneLine(() => loadTask('chartqa', d), /no LLaVA layout/);
  });

  it('an image the questions name but the folder lacks', async () => {
    const d = copy('llava/pope');
    fs.rmSync(path.join(d, 'val2014', 'green2.png'));
    await oneLine(() => loadTask('pope', d, { checkImages: true }), /names image val2014\/green2\.png, which is missing/);
    await expect(loadTask('pope', d)).resolves.toBeDefined();                     // scoring needs no images
  });

  it('a predictions file with unknown or duplicate ids, or without answers', async () => {
    const d = tmp();
    const loaded = await loadTask('gqa', path.join(MINI, 'llava/gqa'));
    fs.writeFileSync(path.join(d, 'p.jsonl'), '{"question_id":"200","answer":"red"}\n{"question_id":"999","answer":"x"}\n');
    const p = readPredictions(path.join(d, 'p.jsonl'));
    await oneLine(() => matchPredictions(p.file, p.entries, loaded.questions, 'gqa'), /1 question_id\(s\) not in gqa's data \(first: 999\)/);
    fs.writeFileSync(path.join(d, 'q.jsonl'), '{"question_id":"200","answer":"red"}\n{"question_id":200,"text":"x"}\n');
    const q = readPredictions(path.join(d, 'q.jsonl'));
    await oneLine(() => matchPredictions(q.file, q.entries, loaded.questions, 'gqa'), /q\.jsonl:2: question_id 200 occurs twice/);
    fs.writeFileSync(path.join(d, 'r.jsonl'), '{"question_id":"200"}\n');
    await oneLine(() => readPredictions(path.join(d, 'r.jsonl')), /r\.jsonl:1: no "answer"/);
  });

  it('reads LLaVA answer files (text) and RUN directories; drops a half-written last line', () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'predictions.jsonl'), '{"question_id":"200","prompt":"p","text":"red","answer_id":"x"}\n{"question_id":"201","ans');
    const p = readPredictions(d);
    expect(p.entries.map((e) => [e.id, e.answer])).toEqual([['200', 'red']]);
    expect(p.droppedPartialLine).toBe(true);
  });

  it("LLaVA's MME answer files (the image key twice) fill that image's two questions in order", async () => {
    const data = path.join(MINI, 'llava/MME');
    const loaded = await loadTask('mme', data);
    const d = tmp();
    const lines = loaded.questions.map((q) => JSON.stringify({ question_id: q.pairKey, prompt: q.llavaText, text: q.answer }));
    fs.writeFileSync(path.join(d, 'a.jsonl'), lines.join('\n') + '\n');
    const p = readPredictions(path.join(d, 'a.jsonl'));
    expect(scoreTask('mme', 'llava', loaded.questions, matchPredictions(p.file, p.entries, loaded.questions, 'mme')).metrics.perception).toBe(400);
    fs.appendFileSync(path.join(d, 'a.jsonl'), lines[0] + '\n');
    const p2 = readPredictions(path.join(d, 'a.jsonl'));
    await oneLine(() => matchPredictions(p2.file, p2.entries, loaded.questions, 'mme'), /answered more often than it has questions/);
  });
});
