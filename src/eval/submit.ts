/**
 * Upload files for the splits only a server scores, as LLaVA's converters write them:
 *   VQAv2 test-dev → EvalAI: `[{question_id, answer}]` over every id of test2015 (LLaVA
 *     `scripts/convert_vqav2_for_submission.py`: answers through the EvalAI normaliser, unanswered ids "");
 *   VizWiz test → EvalAI: `[{image, answer}]`, every question answered (`convert_vizwiz_for_submission.py`);
 *   MMBench test → OpenCompass: the question table with a `prediction` column
 *     (`convert_mmbench_for_submission.py` writes it as .xlsx; here as TSV, which a spreadsheet saves as .xlsx).
 */
import { HeroError } from '../core/errors';
import { evalAiNormalize } from './normalize';
import type { EvalQuestion, TaskId } from './tasks';

export interface Upload { readonly format: 'json' | 'tsv'; readonly text: string; readonly answered: number; readonly total: number }

/** `allIds`: VQAv2's full test2015 id list when the data has it (the server wants every id). */
export function uploadFile(task: TaskId, questions: readonly EvalQuestion[], answers: ReadonlyMap<string, string>,
  allIds?: readonly string[]): Upload {
  switch (task) {
    case 'vqav2_testdev': {
      const ids = allIds ?? questions.map((q) => q.id);
      const rows = ids.map((id) => ({ question_id: Number.isNaN(Number(id)) ? id : Number(id), answer: answers.has(id) ? evalAiNormalize(answers.get(id)!) : '' }));
      return { format: 'json', text: JSON.stringify(rows), answered: ids.filter((id) => answers.has(id)).length, total: ids.length };
    }
    case 'vizwiz_test': {
      const missing = questions.filter((q) => !answers.has(q.id));
      if (missing.length) throw new HeroError(`VizWiz test needs an answer for every question: ${missing.length} missing (first: ${missing[0].id})`);
      const rows = questions.map((q) => ({ image: q.image && 'path' in q.image ? q.image.path.split(/[\\/]/).pop()! : `${q.id}.jpg`, answer: evalAiNormalize(answers.get(q.id)!) }));
      return { format: 'json', text: JSON.stringify(rows), answered: questions.length, total: questions.length };
    }
    case 'mmbench_en_test': {
      const cols = ['index', 'question', 'A', 'B', 'C', 'D', 'prediction'];
      const cell = (v: string | null | undefined): string => (v ?? '').replace(/[\t\n\r]/g, ' ');
      const rows = questions.map((q) => [String(q.index ?? q.id), q.question, ...['A', 'B', 'C', 'D'].map((k) => q.options?.[k] ?? ''), answers.get(q.id) ?? ''].map(cell).join('\t'));
      return { format: 'tsv', text: [cols.join('\t'), ...rows].join('\n') + '\n', answered: questions.filter((q) => answers.has(q.id)).length, total: questions.length };
    }
    default:
      throw new HeroError(`task ${task} is scored locally: use 'hero-lvlm eval score' (server uploads: vqav2_testdev, vizwiz_test, mmbench_en_test)`);
  }
}
