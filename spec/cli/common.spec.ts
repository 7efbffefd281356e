/**
 * The flag combinations of `run` and `trace` at unit level (no child process): prompt / raw prompt / ids,
 * the CLIP text, the method and HERO's defaults (the paper variant's λ when both layer sets are given).
 * Model objects carry only the config the functions read; tokenizers are the default model's
 * (src/weights/default_model.ts), written to a temporary directory without generating any weights.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promptIds, methodChoice } from '../../src/cli/common';
import type { ParsedFlags } from '../../src/cli/args';
import { llavaNextConfig, deriveLlava } from '../../src/llava/config';
import type { LlavaNextModel } from '../../src/llava/model';
import { llamaTokenizerJson, clipTokenizerJson } from '../../src/weights/default_model';
import { loadTokenizer, llavaPromptIds, clipTextIds } from '../../src/io/tokenizer';
import { modelDir } from '../util/fixtures';
import { expectRefused } from '../util/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-common-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tinyJson = (): Record<string, any> => JSON.parse(fs.readFileSync(path.join(modelDir('llava-next-tiny'), 'config.json'), 'utf8')); // eslint-disable-line @typescript-eslint/no-explicit-any

/** A model object for the flag functions: config + dir (+ tokenizer.json when asked), no weights. */
function fakeModel(name: string, over: { imageToken?: number; vocab?: number; visionLayers?: number; tokenizer?: boolean } = {}): LlavaNextModel {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  const j = tinyJson();
  const json = {
    ...j, image_token_index: over.imageToken ?? j.image_token_index,
    text_config: { ...j.text_config, vocab_size: over.vocab ?? j.text_config.vocab_size },
    vision_config: { ...j.vision_config, num_hidden_layers: over.visionLayers ?? j.vision_config.num_hidden_layers },
  };
  if (over.tokenizer) fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(llamaTokenizerJson()));
  const config = llavaNextConfig(json);
  return { dir, config, derived: deriveLlava(config) } as unknown as LlavaNextModel;
}

/** A CLIP directory: clip-tiny's weights and config plus the default model's CLIP tokenizer. */
function clipDir(): string {
  const dir = path.join(tmp, 'clip');
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir);
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(modelDir('clip-tiny'), f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(clipTokenizerJson().json));
  }
  return dir;
}

const refused = expectRefused;

const METHOD_DEFAULTS: ParsedFlags = { method: 'hero', variant: 'code', 'fastv-layer': 2 };
const log = (): void => undefined;

describe('cli promptIds: exactly one of --prompt, --raw-prompt, --input-ids', () => {
  let llava: LlavaNextModel;
  let noTok: LlavaNextModel;
  let wrongImageId: LlavaNextModel;
  beforeAll(() => {
    llava = fakeModel('llava', { imageToken: 32000, vocab: 32064, tokenizer: true });
    noTok = fakeModel('notok');
    wrongImageId = fakeModel('wrongid', { tokenizer: true }); // image_token_index 1000, the tokenizer's <image> is 32000
  });

  it('none or two of them is an error naming what was given', () => {
    refused(() => promptIds({}, llava), /give exactly one of --prompt, --raw-prompt, --input-ids \(got none\)/);
    refused(() => promptIds({ prompt: 'q', 'input-ids': [1, 32000] }, llava), /\(got --prompt, --input-ids\)/);
    refused(() => promptIds({ prompt: 'q', 'raw-prompt': 'USER: <image>' }, llava), /\(got --prompt, --raw-prompt\)/);
  });

  it('--input-ids: taken as given with exactly one image id inside the vocabulary; no question text', () => {
    expect(promptIds({ 'input-ids': [1, 5, 32000, 7] }, llava)).toEqual({ ids: [1, 5, 32000, 7], question: null, template: null });
    refused(() => promptIds({ 'input-ids': [1, 5, 7] }, llava), /--input-ids: holds 0 image tokens \(id 32000\)/);
    refused(() => promptIds({ 'input-ids': [1, 32000, 32000] }, llava), /--input-ids: holds 2 image tokens/);
    refused(() => promptIds({ 'input-ids': [1, 32000, 32064] }, llava), /--input-ids: id 32064 is outside the vocabulary \[0, 32064\)/);
    refused(() => promptIds({ 'input-ids': [-1, 32000] }, llava), /--input-ids: id -1 is outside/);
    // ids need no tokenizer
    expect(promptIds({ 'input-ids': [1, 1000, 2] }, noTok).ids).toEqual([1, 1000, 2]);
  });

  it('--raw-prompt: encoded as is (with <s>), exactly one <image>; the question is the text without it', () => {
    const text = 'A chat. USER: <image>\nWhat is this? ASSISTANT:';
    const r = promptIds({ 'raw-prompt': text }, llava);
    const tok = loadTokenizer(llava.dir);
    expect(r.ids).toEqual(tok.encode(text, { addSpecialTokens: true }));
    expect(r.ids[0]).toBe(1);
    expect(r.ids.filter((t) => t === 32000)).toHaveLength(1);
    expect(r.question).toBe('A chat. USER: \nWhat is this? ASSISTANT:');
    // not the template: the raw prompt's ids differ from --prompt's for the same question
    expect(r.ids).not.toEqual(promptIds({ prompt: 'What is this?', template: 'llava-hf' }, llava).ids);
    refused(() => promptIds({ 'raw-prompt': 'no placeholder' }, llava), /--raw-prompt: holds 0 <image> placeholders/);
    refused(() => promptIds({ 'raw-prompt': '<image> and <image>' }, llava), /--raw-prompt: holds 2 <image> placeholders/);
    refused(() => promptIds({ 'raw-prompt': 'USER: <image> hi' }, wrongImageId), /--raw-prompt: the tokenizer does not map <image> to image_token_index 1000/);
  });

  it('--prompt: the question in the template; a placeholder in it or a missing tokenizer is an error', () => {
    const tok = loadTokenizer(llava.dir);
    expect(promptIds({ prompt: 'What is this?', template: 'llava-hf' }, llava)).toEqual({ ids: llavaPromptIds(tok, 'What is this?', 32000), question: 'What is this?', template: 'llava-hf' });
    expect(promptIds({ prompt: 'What is this?', template: 'vicuna_v1' }, llava)).toEqual({ ids: llavaPromptIds(tok, 'What is this?', 32000, { template: 'vicuna_v1' }), question: 'What is this?', template: 'vicuna_v1' });
    refused(() => promptIds({ prompt: 'q', template: 'chatml' }, llava), /--template: 'chatml' is not one of vicuna_v1, llava-hf/);
    refused(() => promptIds({ prompt: 'What is <image>?' }, llava), /--prompt: is the question only; .*--raw-prompt/);
    refused(() => promptIds({ prompt: 'q' }, noTok), /tokenizer\.json: not found; .*--input-ids/);
    refused(() => promptIds({ 'raw-prompt': 'USER: <image>' }, noTok), /tokenizer\.json: not found/);
  });
});

describe('cli methodChoice: methods, HERO defaults and the CLIP text (from the config, before any weight is read)', () => {
  let deep: LlavaNextModel;   // 24 vision layers: HERO's default layer sets fit
  let shallow: LlavaNextModel; // the tiny model's 4 layers: the sets must be given
  beforeAll(() => {
    deep = fakeModel('deep', { visionLayers: 24 });
    shallow = fakeModel('shallow');
  });
  const hero = (m: LlavaNextModel, flags: ParsedFlags, question: string | null = 'q') => {
    const spec = methodChoice({ ...METHOD_DEFAULTS, ...flags }, m.config, question, log);
    if (spec.name !== 'hero') throw new Error(`expected hero, got ${spec.name}`);
    return spec;
  };

  it('unknown method, ratio and --variant are refused naming the flag', () => {
    refused(() => methodChoice({ ...METHOD_DEFAULTS, method: 'magic' }, deep.config, 'q', log), /--method: unknown method 'magic'/);
    refused(() => methodChoice({ ...METHOD_DEFAULTS, ratio: 0 }, deep.config, 'q', log), /--ratio: 0 is outside \(0, 1\]/);
    refused(() => methodChoice({ ...METHOD_DEFAULTS, variant: 'both', alpha: 1 }, deep.config, 'q', log), /--variant: 'both' is not 'code' or 'paper'/);
    refused(() => methodChoice({ ...METHOD_DEFAULTS, variant: 'Paper', alpha: 1 }, deep.config, 'q', log), /--variant: 'Paper'/);
  });

  it('defaults per variant: code λ = 0.2, paper λ = 0; also when both layer sets are given', () => {
    expect(hero(deep, { alpha: 1 }).options).toMatchObject({ variant: 'code', densityWeight: 0.2, lowLayers: [5, 6, 7, 8], highLayers: [21], ratio: 0.2, tauV: 0.05, tauT: 0.05 });
    expect(hero(deep, { alpha: 1, variant: 'paper' }).options).toMatchObject({ variant: 'paper', densityWeight: 0 });
    const both = { alpha: 1, 'low-layers': [0, 1], 'high-layers': [3] };
    expect(hero(shallow, { ...both, variant: 'paper' }).options).toEqual({ variant: 'paper', ratio: 0.2, alpha: 1, tauV: 0.05, tauT: 0.05, lowLayers: [0, 1], highLayers: [3], densityWeight: 0 });
    expect(hero(shallow, { ...both, variant: 'code' }).options).toMatchObject({ densityWeight: 0.2, alpha: 1 });
    expect(hero(shallow, { ...both, variant: 'paper', 'density-weight': 0.4, 'tau-v': 0.1 }).options).toMatchObject({ densityWeight: 0.4, tauV: 0.1 });
    // α defaults to 0.5 when not given (then CLIP is needed)
    refused(() => hero(shallow, { 'low-layers': [0, 1], 'high-layers': [3] }), /--clip: HERO needs a CLIP model/);
    // one set alone on a shallow tower: the defaults for the other do not fit
    refused(() => hero(shallow, { alpha: 1, 'low-layers': [0, 1] }), /--low-layers and --high-layers/);
  });

  it('the CLIP text: the question by default, --clip-text instead, --clip-input-ids as given; errors name the flag', () => {
    const dir = clipDir();
    const base = { 'low-layers': [0, 1], 'high-layers': [3], clip: dir, alpha: 0.5 };
    const clipTok = loadTokenizer(dir);
    expect(hero(shallow, base, 'What is this?').clipTextIds).toEqual(clipTextIds(clipTok, 'What is this?', 77).ids);
    expect(hero(shallow, { ...base, 'clip-text': 'a red car' }, 'What is this?').clipTextIds).toEqual(clipTextIds(clipTok, 'a red car', 77).ids);
    expect(hero(shallow, { ...base, 'clip-input-ids': [5, 6, 7] }, 'What is this?').clipTextIds).toEqual([5, 6, 7]);
    refused(() => hero(shallow, base, null), /--clip-text or --clip-input-ids: required with --input-ids/);
    expect(hero(shallow, { ...base, 'clip-text': 'a dog' }, null).clipTextIds).toEqual(clipTextIds(clipTok, 'a dog', 77).ids);
    refused(() => hero(shallow, { ...base, 'clip-input-ids': Array.from({ length: 78 }, () => 5) }), /--clip-input-ids: 78 tokens, CLIP's text limit is 77/);
    refused(() => hero(shallow, { ...base, clip: tmp }), /--clip: '.*' has no config\.json/);
    // α = 1 needs no CLIP at all
    expect(hero(shallow, { ...base, alpha: 1, clip: undefined })).toEqual({ name: 'hero', options: expect.anything(), clipTextIds: null });
  });

  it('baseline defaults: fastervlm tokens per crop, hired α range, globalcom2 and fastv ratios', () => {
    expect(methodChoice({ ...METHOD_DEFAULTS, method: 'fastervlm' }, shallow.config, null, log)).toEqual({ name: 'fastervlm', options: { tokensPerCrop: 4, grid: 'fixed' } }); // ⌊16 · 0.25⌋
    expect(methodChoice({ ...METHOD_DEFAULTS, method: 'fastervlm', ratio: 0.5 }, shallow.config, null, log)).toEqual({ name: 'fastervlm', options: { tokensPerCrop: 8, grid: 'fixed' } });
    refused(() => methodChoice({ ...METHOD_DEFAULTS, method: 'fastervlm', 'tokens-per-crop': 17 }, shallow.config, null, log), /--tokens-per-crop: 17 is outside \[1, 16\]/);
    refused(() => methodChoice({ ...METHOD_DEFAULTS, method: 'hired', alpha: 1 }, shallow.config, null, log), /--alpha: 1 is outside \[0, 1\) for HiRED/);
    expect(methodChoice({ ...METHOD_DEFAULTS, method: 'globalcom2' }, shallow.config, null, log)).toEqual({ name: 'globalcom2', options: { ratio: 0.25, visionHeads: 4, placement: 'as-coded' } });
    // the tiny decoder has 2 layers: FastV's default K = 2 does not fit, K = 1 does
    refused(() => methodChoice({ ...METHOD_DEFAULTS, method: 'fastv' }, shallow.config, null, log), /--fastv-layer: 2 is outside 1\.\.1/);
    expect(methodChoice({ ...METHOD_DEFAULTS, method: 'fastv', 'fastv-layer': 1 }, shallow.config, null, log)).toEqual({ name: 'fastv', options: { layer: 1, ratio: 0.5 } });
  });
});
