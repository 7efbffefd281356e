/** Append-and-resume on a real file: whole lines, skip what is done, refuse other settings, survive SIGKILL. */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openRun, readRun, writeRun, PREDICTIONS_FILE } from '../../src/eval/run_file';
import type { PredictionLine, RunSettings } from '../../src/eval/run';
import { HeroError } from '../../src/core/errors';

const ROOT = path.join(__dirname, '..', '..');
const SETTINGS: RunSettings = {
  task: 'pope', protocol: 'lmms-eval', data: { layout: 'llava', sources: ['llava_pope_test.jsonl'] },
  model: { path: 'weights/tiny', configHash: 'abc' }, method: { name: 'hero', options: { ratio: 0.4 } },
  template: 'vicuna_v1', maxNewTokens: 128, shard: null, version: '0.1.0',
};
const IDS = Array.from({ length: 400 }, (_, i) => `q${i}`);
const lineFor = (id: string): PredictionLine => ({ question_id: id, prompt: `prompt of ${id}`, answer: `answer ${id} `.repeat(20),
  visual_tokens: { kept: 10, total: 20 }, times_ms: { decode: 1 } });

/** A predict loop as `eval predict` runs it: open, skip what is done, append the rest. */
function runAll(dir: string): void {
  const run = openRun(dir, SETTINGS);
  const done = new Set(run.done);
  for (const id of IDS) if (!done.has(id)) run.append(lineFor(id));
  run.close();
}
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'hero-run-'));

describe('RUN directory: append and resume', () => {
  it('a rerun skips the ids already answered and never duplicates one', () => {
    const d = tmp();
    const run = openRun(d, SETTINGS);
    for (const id of IDS.slice(0, 50)) run.append(lineFor(id));
    run.close();
    runAll(d);
    runAll(d);
    expect(readRun(d).lines.map((l) => l.question_id)).toEqual(IDS);
  });

  it('cuts a half-written last line off before appending', () => {
    const d = tmp();
    const run = openRun(d, SETTINGS);
    for (const id of IDS.slice(0, 3)) run.append(lineFor(id));
    run.close();
    fs.appendFileSync(path.join(d, PREDICTIONS_FILE), '{"question_id":"q3","prom');
    const again = openRun(d, SETTINGS);
    expect(again.done).toEqual(['q0', 'q1', 'q2']);
    expect(again.droppedBytes).toBe(25);
    again.close();
    runAll(d);
    const clean = tmp();
    runAll(clean);
    expect(fs.readFileSync(path.join(d, PREDICTIONS_FILE), 'utf8')).toBe(fs.readFileSync(path.join(clean, PREDICTIONS_FILE), 'utf8'));
  });

  it('refuses a RUN made with other settings, naming them, and changes nothing', () => {
    const d = tmp();
    runAll(d);
    const before = fs.readFileSync(path.join(d, PREDICTIONS_FILE));
    const other = { ...SETTINGS, method: { name: 'hero', options: { ratio: 0.2 } } };
    expect(() => openRun(d, other)).toThrow(HeroError);
    expect(() => openRun(d, other)).toThrow(/other settings \(method\.options\.ratio\)/);
    expect(fs.readFileSync(path.join(d, PREDICTIONS_FILE))).toEqual(before);
    fs.rmSync(path.join(d, 'settings.json'));
    expect(() => openRun(d, SETTINGS)).toThrow(/no settings\.json/);
  });

  it('a run killed with SIGKILL mid-way and rerun gives the file an uninterrupted run gives', async () => {
    const d = tmp();
    // the child appends slowly (one line every ~2 ms) until killed
    const child = spawn(process.execPath, ['-r', path.join(ROOT, 'src', 'cli', 'register-ts.js'), '-e', `
      const { openRun } = require(${JSON.stringify(path.join(ROOT, 'src', 'eval', 'run_file.ts'))});
      const run = openRun(${JSON.stringify(d)}, ${JSON.stringify(SETTINGS)});
      const ids = ${JSON.stringify(IDS)};
      for (const id of ids) {
        run.append({ question_id: id, prompt: 'prompt of ' + id, answer: ('answer ' + id + ' ').repeat(20), visual_tokens: { kept: 10, total: 20 }, times_ms: { decode: 1 } });
        const t = Date.now(); while (Date.now() - t < 2) {}
      }`], { stdio: 'ignore' });
    const file = path.join(d, PREDICTIONS_FILE);
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        const n = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').length - 1 : 0;
        if (n >= 20 || Date.now() - t0 > 60_000) {
          clearInterval(poll);
          child.kill('SIGKILL');
          n >= 20 ? resolve() : reject(new Error('child wrote nothing'));
        }
      }, 5);
    });
    await new Promise((r) => child.once('exit', r));
    const partial = readRun(d).lines.length;
    expect(partial).toBeGreaterThanOrEqual(20);
    expect(partial).toBeLessThan(IDS.length);
    runAll(d);
    const clean = tmp();
    runAll(clean);
    expect(fs.readFileSync(file, 'utf8')).toBe(fs.readFileSync(path.join(clean, PREDICTIONS_FILE), 'utf8'));
  });

  it('writeRun writes a merged RUN whole, and never over an existing one', () => {
    const d = tmp();
    writeRun(d, SETTINGS, IDS.slice(0, 5).map(lineFor));
    expect(readRun(d).lines.map((l) => l.question_id)).toEqual(IDS.slice(0, 5));
    expect(() => writeRun(d, SETTINGS, [])).toThrow(/already holds/);
  });
});
