/**
 * Throughput of `hero-lvlm eval predict`: questions per minute once the model is loaded, and the stage that
 * dominates (the per-question `times_ms` of predictions.jsonl summed per stage). Runs the CLI as a user does,
 * in a child process, on the mini GQA (spec/fixtures/eval/mini) unless told otherwise; the model is the
 * embedded default one unless --model is given. Writes bench/results/eval_predict_<backend>.json.
 *
 *   node -r ./src/cli/register-ts.js bench/eval_predict.ts [--task gqa --data DIR] [--limit N] [--method M]
 *        [--model DIR --clip DIR] [--backend B] [--max-new-tokens N] [--protocol P]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseFlags, type FlagSpecs } from '../src/cli/args';

const ROOT = path.join(__dirname, '..');
const FLAGS: FlagSpecs = {
  task: { type: 'string', arg: 'T', default: 'gqa', help: 'task id' },
  data: { type: 'string', arg: 'DIR', default: path.join('spec', 'fixtures', 'eval', 'mini', 'llava', 'gqa'), help: "the task's data" },
  limit: { type: 'int', arg: 'N', default: 4, help: 'questions' },
  method: { type: 'string', arg: 'M', default: 'hero', help: 'method' },
  model: { type: 'string', arg: 'DIR', help: 'checkpoint (default: the embedded default model)' },
  clip: { type: 'string', arg: 'DIR', help: 'CLIP model for HERO' },
  backend: { type: 'string', arg: 'B', default: 'wasm', help: 'tfjs backend' },
  protocol: { type: 'string', arg: 'P', default: 'lmms-eval', help: 'protocol' },
  'max-new-tokens': { type: 'int', arg: 'N', help: "override the protocol's max new tokens" },
};

function main(): void {
  const f = parseFlags(process.argv.slice(2), FLAGS, 'bench/eval_predict.ts');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-bench-predict-'));
  const run = path.join(out, 'run');
  const args = ['eval', 'predict', '--task', f.task as string, '--data', f.data as string, '--out', run, '--limit', String(f.limit),
    '--method', f.method as string, '--backend', f.backend as string, '--protocol', f.protocol as string, '--progress-every', '1'];
  for (const k of ['model', 'clip', 'max-new-tokens'] as const) if (f[k] !== undefined) args.push(`--${k}`, String(f[k]));
  try {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['-r', path.join(ROOT, 'src', 'cli', 'register-ts.js'), path.join(ROOT, 'src', 'cli', 'main.ts'), ...args],
      { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
    const wallS = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`eval predict failed (${r.status}):\n${r.stderr}`);
    // The last progress line: questions per minute from the loop's start (the model already loaded).
    const progress = [...r.stderr.matchAll(/(\d+)\/(\d+) · ([\d.]+) q\/min/g)].pop();
    const lines = fs.readFileSync(path.join(run, 'predictions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { times_ms: Record<string, number> });
    const stages: Record<string, number> = {};
    for (const l of lines) for (const [k, v] of Object.entries(l.times_ms)) stages[k] = (stages[k] ?? 0) + v;
    const total = Object.values(stages).reduce((a, b) => a + b, 0);
    const perQuestion = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, +(v / lines.length).toFixed(1)]));
    const [dominant] = Object.entries(stages).sort((a, b) => b[1] - a[1])[0];
    const settings = JSON.parse(fs.readFileSync(path.join(run, 'settings.json'), 'utf8'));
    const result = {
      command: `hero-lvlm ${args.join(' ')}`, machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((x) => x.toFixed(1)).join('/')}`,
      backend: f.backend, model: f.model ?? 'embedded default (random weights)', method: settings.method, maxNewTokens: settings.maxNewTokens,
      questions: lines.length, questions_per_minute: progress ? Number(progress[3]) : null, wall_s_with_startup: +wallS.toFixed(1),
      ms_per_question_by_stage: perQuestion, dominant_stage: dominant, dominant_share: +(stages[dominant] / total).toFixed(3),
      accel: (r.stderr.match(/^accel: .*$/m) ?? [''])[0],
    };
    fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    const file = path.join(ROOT, 'bench', 'results', `eval_predict_${f.backend}.json`);
    fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(`${result.questions_per_minute} questions/min (${lines.length} questions, model loaded once; ${result.wall_s_with_startup} s with start-up)\n` +
      `per question: ${Object.entries(perQuestion).map(([k, v]) => `${k} ${v} ms`).join(', ')}\n` +
      `dominant stage: ${dominant} (${(100 * result.dominant_share).toFixed(0)} % of the stage time)\nwrote ${path.relative(ROOT, file)}\n`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

main();
