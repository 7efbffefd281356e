import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { loadTokenizer, llavaPromptIds, clipTextIds, promptText, VICUNA_V1_SYSTEM, type Tokenizer } from '../../src/io/tokenizer';
import { ensureDefaultWeights } from '../../src/weights/default_model';
import { HeroError } from '../../src/core/errors';
import { expectRefused } from '../util/errors';

// The default model's tokenizers (weights/default/, generated on first use): the real Llama-2 vocabulary
// with llava-hf's <image>/<pad>, and the generated CLIP-style BPE.
let llama: Tokenizer;
let clip: Tokenizer;
beforeAll(() => {
  const { llavaDir, clipDir } = ensureDefaultWeights({ log: () => undefined });
  llama = loadTokenizer(llavaDir);
  clip = loadTokenizer(clipDir);
});

const SPECIAL = ['<unk>', '<s>', '</s>', '<image>', '<pad>'];
/** Random text: ASCII words and spaces, newlines, and any well-formed Unicode (byte fallback). */
const textArb = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }),
  fc.array(fc.constantFrom('the', 'cat', ' ', '  ', '\n', 'What', 'is', '?', 'ASSISTANT:', 'USER:', 'ünï', '日本語', '🙂', '1234', 'tokenization'), { minLength: 1, maxLength: 12 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
).filter((s) => !/\p{Cs}/u.test(s) && !s.includes('▁') && !SPECIAL.some((t) => s.includes(t)));

describe('io.tokenizer · Llama-2 tokenizer.json (default model)', () => {
  it('encodes known ids with <s> (llama-tokenizer-js README values)', () => {
    expect(llama.encode('Hello')).toEqual([1, 15043]);
    expect(llama.encode('Hello world!')).toEqual([1, 15043, 3186, 29991]);
    expect(llama.encode('Hello', { addSpecialTokens: false })).toEqual([15043]);
  });

  it('maps the added special tokens to llava-hf ids', () => {
    expect(llama.tokenToId('<s>')).toBe(1);
    expect(llama.tokenToId('</s>')).toBe(2);
    expect(llama.tokenToId('<image>')).toBe(32000);
    expect(llama.tokenToId('<pad>')).toBe(32001);
    expect(llama.tokenToId('no-such-token')).toBeUndefined();
  });

  it('splits on <image> and gives each text chunk its own ▁ (29871 before and after, then 13 = <0x0A>)', () => {
    const ids = llama.encode('USER: <image>\nWhat is this? ASSISTANT:');
    expect(ids).toEqual([1, 3148, 1001, 29901, 29871, 32000, 29871, 13, 5618, 338, 445, 29973, 319, 1799, 9047, 13566, 29901]);
  });

  it('decode(encode(s)) is s for text without special tokens; skipSpecialTokens drops <s> and <image>', () => {
    fc.assert(fc.property(textArb, (s) => llama.decode(llama.encode(s, { addSpecialTokens: false })) === s), { seed: 1, numRuns: 200 });
    expect(llama.decode(llama.encode('Hi there'), { skipSpecialTokens: true })).toBe('Hi there');
    expect(llama.decode([])).toBe('');
  });

  it('agrees with llama-tokenizer-js encode() on random text', () => {
    // llama-tokenizer-js is an ES module: run it in a child node process on the same strings.
    const texts = fc.sample(textArb, { seed: 42, numRuns: 300 });
    const script = 'import t from "llama-tokenizer-js"; import fs from "fs";'
      + 'const xs = JSON.parse(fs.readFileSync(0, "utf8")); process.stdout.write(JSON.stringify(xs.map((x) => t.encode(x))));';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(texts), encoding: 'utf8', cwd: path.join(__dirname, '..', '..') });
    expect(r.stderr).toBe('');
    const theirs = JSON.parse(r.stdout) as number[][];
    expect(theirs).toHaveLength(texts.length);
    const diffs = texts.filter((s, i) => JSON.stringify(llama.encode(s)) !== JSON.stringify(theirs[i]));
    expect(diffs).toEqual([]);
  });
});

describe('io.tokenizer · llavaPromptIds (llava-hf Vicuna template)', () => {
  it('builds USER: <image>\\n{q} ASSISTANT: with one image id, same ids as tokenising the full text', () => {
    const ids = llavaPromptIds(llama, 'What is this?', 32000);
    expect(ids).toEqual(llama.encode('USER: <image>\nWhat is this? ASSISTANT:'));
    expect(ids.filter((t) => t === 32000)).toHaveLength(1);
  });

  it('takes the image id from the argument (no hard-coded 32000)', () => {
    const ids = llavaPromptIds(llama, 'Describe it.', 777);
    expect(ids.filter((t) => t === 777)).toHaveLength(1);
    expect(ids).not.toContain(32000);
  });

  it('prepends an optional system text and one space', () => {
    const ids = llavaPromptIds(llama, 'What is this?', 32000, { system: VICUNA_V1_SYSTEM });
    expect(ids).toEqual(llama.encode(`${VICUNA_V1_SYSTEM} USER: <image>\nWhat is this? ASSISTANT:`));
    expect(ids[0]).toBe(1);
  });

  it('rejects a question that holds the image placeholder', () => {
    expect(() => llavaPromptIds(llama, 'look <image> here', 32000)).toThrow(HeroError);
  });
});

describe("io.tokenizer · --template vicuna_v1 (original LLaVA's conv_vicuna_v1)", () => {
  // conv_vicuna_v1.get_prompt() after append_message('USER', '<image>\n' + q), append_message('ASSISTANT', None):
  // system + sep(" ") + "USER: " + message + sep(" ") + "ASSISTANT:" (LLaVA llava/conversation.py, sep_style TWO).
  const Q = 'What is in the picture?';
  const WANT_TEXT = "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
    + "detailed, and polite answers to the user's questions. USER: <image>\nWhat is in the picture? ASSISTANT:";
  // Derived with llama-tokenizer-js 1.2.2 (an independent Llama SentencePiece-BPE implementation) chunk by chunk,
  // as LLaVA's tokenizer_image_token does: encode(system + " USER: ", bos), 32000, encode("\n" + q + " ASSISTANT:")
  // without bos. Note "▁US" "ER" (no "▁USER" piece), the lone "▁" (29871) on both sides of the image, and 13 = <0x0A>.
  const WANT_IDS = [1, 319, 13563, 1546, 263, 12758, 1404, 322, 385, 23116, 21082, 20255, 29889, 450, 20255, 4076, 8444,
    29892, 13173, 29892, 322, 1248, 568, 6089, 304, 278, 1404, 29915, 29879, 5155, 29889, 3148, 1001, 29901, 29871, 32000,
    29871, 13, 5618, 338, 297, 278, 7623, 29973, 319, 1799, 9047, 13566, 29901];

  it('promptText gives the exact conv_vicuna_v1 string ("curious user", one space before USER)', () => {
    expect(promptText('vicuna_v1', Q)).toBe(WANT_TEXT);
    expect(VICUNA_V1_SYSTEM.endsWith("user's questions.")).toBe(true);
  });
  it('llavaPromptIds({ template: vicuna_v1 }) gives the exact ids, starting with <s>', () => {
    expect(llavaPromptIds(llama, Q, 32000, { template: 'vicuna_v1' })).toEqual(WANT_IDS);
  });
  it('llava-hf is the same without the system line', () => {
    expect(promptText('llava-hf', Q)).toBe('USER: <image>\nWhat is in the picture? ASSISTANT:');
    expect(llavaPromptIds(llama, Q, 32000, { template: 'llava-hf' })).toEqual([1, ...WANT_IDS.slice(WANT_IDS.indexOf(3148))]);
  });
});

describe('io.tokenizer · clipTextIds (generated CLIP-style BPE)', () => {
  const bos = (): number => clip.tokenToId('<|startoftext|>')!;
  const eos = (): number => clip.tokenToId('<|endoftext|>')!;

  it('wraps the text in bos … eos, lower-cases, and splits digits one per token', () => {
    const { ids, truncated } = clipTextIds(clip, 'A Photo of 2024 CATS!', 77);
    expect(truncated).toBe(false);
    expect(ids[0]).toBe(bos());
    expect(ids[ids.length - 1]).toBe(eos());
    expect(ids).toEqual(clipTextIds(clip, 'a photo of 2024 cats!', 77).ids);
    expect(clip.decode(ids, { skipSpecialTokens: true })).toBe('a photo of 2 0 2 4 cats !');
    for (const d of '2024') expect(ids).toContain(clip.tokenToId(`${d}</w>`));
  });

  it('round-trips lower-case words separated by single spaces', () => {
    const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), minLength: 1, maxLength: 12 });
    fc.assert(fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), (ws) => {
      const s = ws.join(' ');
      return clip.decode(clipTextIds(clip, s, 77).ids, { skipSpecialTokens: true }) === s;
    }), { seed: 7, numRuns: 100 });
  });

  it('reports truncation: maxLen − 1 tokens and the final eos', () => {
    const long = 'word '.repeat(100);
    const full = clip.encode(long);
    const { ids, truncated } = clipTextIds(clip, long, 77);
    expect(truncated).toBe(true);
    expect(ids).toHaveLength(77);
    expect(ids.slice(0, 76)).toEqual(full.slice(0, 76));
    expect(ids[76]).toBe(eos());
    // 'a' is one token (a</w>): 75 of them plus bos and eos fill the 77 positions exactly.
    const exact = clipTextIds(clip, 'a '.repeat(75), 77);
    expect(exact).toEqual({ ids: clip.encode('a '.repeat(75)), truncated: false });
    expect(exact.ids).toHaveLength(77);
  });
});

describe('io.tokenizer · loadTokenizer errors', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-tok-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a directory without tokenizer.json is a HeroError that points at --input-ids', () => {
    expect(() => loadTokenizer(tmp)).toThrow(HeroError);
    expect(() => loadTokenizer(tmp)).toThrow(/tokenizer\.json.*--input-ids/);
  });

  it('a malformed tokenizer.json is a one-line HeroError naming the file', () => {
    fs.writeFileSync(path.join(tmp, 'tokenizer.json'), '{ not json');
    expect(() => loadTokenizer(tmp)).toThrow(/tokenizer\.json: tokenizer is not valid JSON/);
    fs.writeFileSync(path.join(tmp, 'tokenizer.json'), JSON.stringify({ model: { type: 'Nope' } }));
    expect(() => loadTokenizer(tmp)).toThrow(HeroError);
  });

  it('an unknown model.type is named (the runtime would guess a model from the fields); null and a missing model too', () => {
    const file = path.join(tmp, 'tokenizer.json');
    const bpe = { model: { type: 'Frobnicate', vocab: { a: 0 }, merges: [], unk_token: 'a', continuing_subword_prefix: null } };
    fs.writeFileSync(file, JSON.stringify(bpe));
    expectRefused(() => loadTokenizer(tmp), /tokenizer\.json: tokenizer model\.type "Frobnicate" is not supported \(one of BPE, WordPiece, Unigram\)$/);
    fs.writeFileSync(file, 'null');
    expectRefused(() => loadTokenizer(tmp), /tokenizer\.json: tokenizer must be a JSON object, got null$/);
    fs.writeFileSync(file, '{"version": "1.0"}');
    expectRefused(() => loadTokenizer(tmp), /tokenizer\.json: tokenizer has no "model" object$/);
  });
});
