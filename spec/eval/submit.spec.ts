/** Upload files against LLaVA's own converters (goldens.json "upload", made by running them). */
import { GOLDENS } from './goldens';
import { uploadFile } from '../../src/eval/submit';
import type { EvalQuestion } from '../../src/eval/tasks';
import { HeroError } from '../../src/core/errors';

describe('server upload files = LLaVA convert_*_for_submission.py', () => {
  it('VQAv2 test-dev: every test2015 id, EvalAI-normalised answers, "" where unanswered', () => {
    const g = GOLDENS.upload.vqav2;
    const questions: EvalQuestion[] = Object.keys(g.predictions).map((id) => ({ id, image: null, question: 'q' }));
    const up = uploadFile('vqav2_testdev', questions, new Map(Object.entries(g.predictions)), g.ids.map(String));
    expect(JSON.parse(up.text)).toEqual(g.file);
    expect([up.answered, up.total]).toEqual([4, 6]);
  });

  it('VizWiz test: [{image, answer}] in question order; a missing answer is refused', () => {
    const g = GOLDENS.upload.vizwiz;
    const questions: EvalQuestion[] = g.file.map((row: { image: string }, i: number) => ({ id: String(i), image: { path: `/data/vizwiz/test/${row.image}` }, question: 'q' }));
    const answers = new Map<string, string>(g.predictions.map((t: string, i: number) => [String(i), t]));
    expect(JSON.parse(uploadFile('vizwiz_test', questions, answers).text)).toEqual(g.file);
    answers.delete('2');
    expect(() => uploadFile('vizwiz_test', questions, answers)).toThrow(/1 missing \(first: 2\)/);
  });

  it('MMBench test: the question table with a prediction column (TSV); local tasks are refused', () => {
    const q: EvalQuestion = { id: '7', index: 7, image: null, question: 'Which\tone?', options: { A: 'x', B: 'y', C: null, D: null, E: null } };
    expect(uploadFile('mmbench_en_test', [q], new Map([['7', 'B']])).text).toBe('index\tquestion\tA\tB\tC\tD\tprediction\n7\tWhich one?\tx\ty\t\t\tB\n');
    expect(() => uploadFile('gqa', [q], new Map())).toThrow(HeroError);
  });
});
