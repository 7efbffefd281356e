/**
 * Where the eos ids come from and that greedy decoding stops at them, against HF v4.45.1 `generate`
 * (case llava_eos; models llava-next-tiny-eos: eos in config.json only, llava-next-tiny-eos-list: the same
 * config.json plus generation_config.json with eos_token_id [2, t2]).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadEosTokenIds, loadLlavaNext, disposeLlavaNext } from '../../src/llava/load';
import { type LlavaNextModel } from '../../src/llava/model';
import { runPipeline } from '../../src/pipeline';
import { readImage } from '../../src/io/image';
import { HeroError } from '../../src/core/errors';
import { FIXTURES, loadCase, modelDir, GOLDEN_BACKENDS, useBackend } from '../util/fixtures';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';

describe.each(GOLDEN_BACKENDS)('Gen-1 · greedy decoding stops at eos as HF v4.45.1 generate (llava_eos, %s backend)', (backend) => {
  const gc = loadCase('llava_eos');
  const models: Record<string, LlavaNextModel> = {};
  beforeAll(async () => {
    await useBackend(backend);
    models.single = loadLlavaNext(modelDir('llava-next-tiny-eos'));
    models.list = loadLlavaNext(modelDir('llava-next-tiny-eos-list'));
  });
  afterAll(() => Object.values(models).forEach(disposeLlavaNext));

  const noStop = (): number[] => gc.numbers('greedy_no_stop');

  it('the eos ids are read from generation_config.json when present, else from config.json', () => {
    const t = noStop();
    expect(models.single.eosTokenIds).toEqual([t[2]]);       // config.json text_config.eos_token_id
    expect(models.list.eosTokenIds).toEqual([2, t[1]]);      // generation_config.json wins over config.json
    expect(models.list.config.text_config.eos_token_id).toBe(t[2]);
  });

  for (const [name, stopsAfter] of [['single', 3], ['list', 2]] as const) {
    it(`${name}: the pipeline stops after ${stopsAfter} of 8 tokens, eos included, as HF`, async () => {
      const m = models[name];
      const image = await readImage(path.join(FIXTURES, gc.json.image as string));
      const r = await runPipeline(m, { image, inputIds: gc.numbers('input_ids'), method: { name: 'none' }, maxNewTokens: 8 });
      await expectCloseAsync(r.processed.pixelValues, gc.floats('pixel_values'), TOL.pixels, 'pixel_values');
      expect(r.inputIds).toEqual(gc.numbers('expanded_input_ids'));
      expect(r.newIds).toEqual(gc.numbers(`${name}.new_ids`));
      expect(r.newIds).toEqual(noStop().slice(0, stopsAfter));
    });
  }

  it('with other eos ids the same prompt runs on: to max_new_tokens without any, to the 5th token with [2, t5]', async () => {
    const image = await readImage(path.join(FIXTURES, gc.json.image as string));
    const run = async (eosTokenIds: number[]): Promise<number[]> =>
      (await runPipeline({ ...models.single, eosTokenIds }, { image, inputIds: gc.numbers('input_ids'), method: { name: 'none' }, maxNewTokens: 8 })).newIds;
    expect(await run([])).toEqual(noStop());
    expect(await run([2, noStop()[4]])).toEqual(noStop().slice(0, 5));
  });
});

describe('loadEosTokenIds: generation_config.json, else config.json (top level, else text_config)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-eos-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  const dir = (files: Record<string, unknown>): string => {
    const d = path.join(tmp, String(n++));
    fs.mkdirSync(d);
    for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(d, f), typeof v === 'string' ? v : JSON.stringify(v));
    return d;
  };
  const cfg = { model_type: 'llava_next', text_config: { eos_token_id: 7 } };

  it.each([
    ['one id', 5, [5]],
    ['a list', [5, 9], [5, 9]],
    ['null: nothing stops', null, []],
  ])('generation_config.json with %s', (_, eos, want) => {
    expect(loadEosTokenIds(dir({ 'config.json': cfg, 'generation_config.json': { eos_token_id: eos } }))).toEqual(want);
  });
  it('generation_config.json without eos_token_id: nothing stops (config.json is not consulted)', () => {
    expect(loadEosTokenIds(dir({ 'config.json': cfg, 'generation_config.json': { bos_token_id: 1 } }))).toEqual([]);
  });
  it('no generation_config.json: the top-level eos_token_id, else text_config, else the Llama default 2', () => {
    expect(loadEosTokenIds(dir({ 'config.json': { ...cfg, eos_token_id: [3, 4] } }))).toEqual([3, 4]);
    expect(loadEosTokenIds(dir({ 'config.json': { ...cfg, eos_token_id: null } }))).toEqual([7]);
    expect(loadEosTokenIds(dir({ 'config.json': cfg }))).toEqual([7]);
    expect(loadEosTokenIds(dir({ 'config.json': { model_type: 'llava_next', text_config: {} } }))).toEqual([2]);
  });
  it('a bad eos_token_id or a malformed file is a HeroError naming the file', () => {
    const d1 = dir({ 'config.json': cfg, 'generation_config.json': { eos_token_id: ['2'] } });
    expect(() => loadEosTokenIds(d1)).toThrow(HeroError);
    expect(() => loadEosTokenIds(d1)).toThrow(`${path.join(d1, 'generation_config.json')}: eos_token_id must be`);
    const d2 = dir({ 'config.json': cfg, 'generation_config.json': '{ not json' });
    expect(() => loadEosTokenIds(d2)).toThrow(path.join(d2, 'generation_config.json'));
    const d3 = dir({ 'config.json': { text_config: { eos_token_id: 2.5 } } });
    expect(() => loadEosTokenIds(d3)).toThrow(/config\.json text_config: eos_token_id must be/);
  });
});
