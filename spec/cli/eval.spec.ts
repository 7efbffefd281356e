/** `hero-lvlm eval …` through the command line, on the mini datasets (spec/fixtures/eval/mini/). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../util/cli';
import { readRun, writeRun } from '../../src/eval/run_file';
import { shardIds } from '../../src/eval/shard';
import type { PredictionLine, RunSettings } from '../../src/eval/run';

const MINI = path.join(__dirname, '..', 'fixtures', 'eval', 'mini');
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'hero-cli-eval-'));
const oneErrorLine = (r: { code: number; stderr: string }, re: RegExp): void => {
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^hero-lvlm: error: .+\n$/);
  expect(r.stderr).toMatch(re);
};

describe('hero-lvlm eval score', () => {
  it('scores a LLaVA answer file and a predict file, text and --json', () => {
    const d = path.join(MINI, 'llava', 'gqa');
    const text = runCli(['eval', 'score', '--task', 'gqa', '--data', d, '--predictions', path.join(d, 'answers.jsonl'), '--protocol', 'llava']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^task gqa \(paper: GQA\) · protocol llava · llava layout · 4\/4 questions scored\naccuracy: 100\n/);
    const run = tmp();
    fs.writeFileSync(path.join(run, 'predictions.jsonl'), '{"question_id":"200","answer":"Red."}\n{"question_id":"201","answer":"blue"}\n');
    const json = runCli(['eval', 'score', '--task', 'gqa', '--data', path.join(MINI, 'parquet', 'gqa'), '--predictions', run, '--json']);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout);
    expect(r).toMatchObject({ task: 'gqa', protocol: 'lmms-eval', layout: 'parquet', scored: 2, missing: 2, main: 'exact_match' });
    expect(r.metrics.exact_match).toBe(50);                                  // "Red." → red (lmms-eval drops punctuation); blue ≠ green
    expect(r.notes[0]).toMatch(/2 of 4 questions have no prediction/);
  });

  it('bad input is one line and exit 2: protocol, missing split file, unknown and duplicate ids', () => {
    oneErrorLine(runCli(['eval', 'score', '--task', 'chartqa', '--protocol', 'llava', '--data', 'x', '--predictions', 'y']), /only in lmms-eval/);
    oneErrorLine(runCli(['eval', 'score', '--task', 'nope', '--data', 'x', '--predictions', 'y']), /unknown task 'nope'/);
    const d = tmp();
    oneErrorLine(runCli(['eval', 'score', '--task', 'pope', '--data', d, '--predictions', 'y']), /no POPE question file/);
    const p = path.join(d, 'p.jsonl');
    fs.writeFileSync(p, '{"question_id":1,"text":"yes"}\n{"question_id":77,"text":"no"}\n');
    oneErrorLine(runCli(['eval', 'score', '--task', 'pope', '--data', path.join(MINI, 'llava', 'pope'), '--predictions', p]), /question_id\(s\) not in pope's data \(first: 77\)/);
    fs.writeFileSync(p, '{"question_id":1,"text":"yes"}\n{"question_id":1,"text":"no"}\n');
    oneErrorLine(runCli(['eval', 'score', '--task', 'pope', '--data', path.join(MINI, 'llava', 'pope'), '--predictions', p]), /p\.jsonl:2: question_id 1 occurs twice/);
  });
});

describe('hero-lvlm eval check / submit / merge', () => {
  it('check: an image the questions name but the folder lacks', () => {
    const d = tmp();
    fs.cpSync(path.join(MINI, 'llava', 'gqa'), d, { recursive: true });
    expect(runCli(['eval', 'check', '--task', 'gqa', '--data', d]).stdout).toMatch(/4 questions, llava layout/);
    fs.rmSync(path.join(d, 'data', 'images', 'blue3.png'));
    oneErrorLine(runCli(['eval', 'check', '--task', 'gqa', '--data', d]), /question 202 names image data\/images\/blue3\.png, which is missing/);
  });

  it('submit: the EvalAI files for VQAv2 test-dev (every test2015 id) and VizWiz test', () => {
    const d = tmp();
    const vqa = runCli(['eval', 'submit', '--task', 'vqav2_testdev', '--data', path.join(MINI, 'llava', 'vqav2'),
      '--predictions', path.join(MINI, 'llava', 'vqav2', 'answers.jsonl'), '--out', path.join(d, 'vqa.json')]);
    expect(vqa.stdout).toMatch(/3 of 4 questions answered/);
    expect(JSON.parse(fs.readFileSync(path.join(d, 'vqa.json'), 'utf8'))).toEqual([
      { question_id: 600, answer: '1' }, { question_id: 601, answer: '2' }, { question_id: 602, answer: '3' }, { question_id: 603, answer: '' }]);
    runCli(['eval', 'submit', '--task', 'vizwiz_test', '--data', path.join(MINI, 'llava', 'vizwiz'),
      '--predictions', path.join(MINI, 'llava', 'vizwiz', 'answers_test.jsonl'), '--out', path.join(d, 'viz.json')]);
    expect(JSON.parse(fs.readFileSync(path.join(d, 'viz.json'), 'utf8'))[1]).toEqual({ image: 'VizWiz_test_00000001.jpg', answer: 'green' });
    oneErrorLine(runCli(['eval', 'submit', '--task', 'gqa', '--data', 'x', '--predictions', 'y', '--out', 'z']), /scored locally/);
  });

  it('merge: three shards give the unsharded RUN; overlapping shards are refused', () => {
    const data = path.join(MINI, 'llava', 'pope');
    const ids = fs.readFileSync(path.join(data, 'llava_pope_test.jsonl'), 'utf8').trim().split('\n').map((l) => String(JSON.parse(l).question_id));
    const settings = (shard: { index: number; count: number } | null): RunSettings => ({ task: 'pope', protocol: 'lmms-eval',
      data: { layout: 'llava', sources: ['llava_pope_test.jsonl'] }, model: { path: 'm', configHash: 'h' }, method: { name: 'hero', options: { ratio: 0.4 } },
      template: 'vicuna_v1', maxNewTokens: 128, shard, version: '0.1.0' });
    const line = (id: string): PredictionLine => ({ question_id: id, prompt: 'p', answer: 'yes', visual_tokens: { kept: 1, total: 2 }, times_ms: {} });
    const root = tmp();
    const shards = [0, 1, 2].map((i) => {
      const dir = path.join(root, `s${i}`);
      writeRun(dir, settings({ index: i, count: 3 }), shardIds(ids, { index: i, count: 3 }).map(line));
      return dir;
    });
    const r = runCli(['eval', 'merge', '--task', 'pope', '--data', data, '--shards', shards.join(','), '--out', path.join(root, 'all')]);
    expect(r.stdout).toMatch(/12 predictions from 3 shards/);
    const merged = readRun(path.join(root, 'all'));
    expect(merged.lines.map((l) => String(l.question_id))).toEqual(ids);
    expect(merged.settings.shard).toBeNull();
    oneErrorLine(runCli(['eval', 'merge', '--task', 'pope', '--data', data, '--shards', [shards[0], shards[0], shards[2]].join(','), '--out', path.join(root, 'x')]), /need shards 0\.\.2 once each/);
  });

  it('--help for eval and each subcommand', () => {
    const r = runCli(['eval', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/score .*submit .*check .*merge/s);
    expect(runCli(['eval', 'score', '--help']).stdout).toMatch(/--protocol NAME/);
  });
});
