/** Prompts and token limits against lmms-eval's own doc_to_text and task yamls (goldens.json "prompts"). */
import { GOLDENS } from './goldens';
import { LMMS_DEFAULT_MAX_NEW_TOKENS, TASKS, type EvalQuestion, type TaskId } from '../../src/eval/tasks';

describe('lmms-eval prompts and max new tokens, per task', () => {
  const rows: Array<{ task: TaskId; doc: Record<string, any>; text: string; max_new_tokens: number | null }> = GOLDENS.prompts;
  it.each(rows.map((r, i) => [`${r.task} #${i}`, r] as [string, typeof r]))('%s', (_, r) => {
    const d = r.doc;
    const q: EvalQuestion = {
      id: '0', image: null, question: d.question, hint: d.hint ?? null, choices: d.choices,
      options: d.A !== undefined ? { A: d.A, B: d.B, C: d.C, D: d.D, E: d.E } : undefined,
    };
    expect(TASKS[r.task].text(q, 'lmms-eval')).toBe(r.text);
    expect(TASKS[r.task].maxNewTokens['lmms-eval']).toBe(r.max_new_tokens ?? LMMS_DEFAULT_MAX_NEW_TOKENS);
  });

  it('covers every task lmms-eval scores', () => {
    const covered = new Set(rows.map((r) => r.task));
    for (const t of Object.values(TASKS)) if (t.scores.includes('lmms-eval')) expect(covered).toContain(t.id);
  });
});

describe('LLaVA prompts: the question file\'s text when the data has one', () => {
  it('uses llavaText, else the question + the suffix LLaVA\'s files carry', () => {
    const q: EvalQuestion = { id: '1', image: null, question: 'Is it red?' };
    expect(TASKS.pope.text(q, 'llava')).toBe('Is it red?\nAnswer the question using a single word or phrase.');
    expect(TASKS.pope.text({ ...q, llavaText: 'from file' }, 'llava')).toBe('from file');
    const m: EvalQuestion = { ...q, hint: 'A pet.', options: { A: 'cat', B: 'dog', C: null, D: null, E: null } };
    expect(TASKS.mmbench_en_dev.text(m, 'llava')).toBe("A pet.\nIs it red?\nA. cat\nB. dog\nAnswer with the option's letter from the given choices directly.");
  });
});
