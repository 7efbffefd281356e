/**
 * A small CLIP-style byte-level BPE for the default CLIP model, trained here on a short built-in corpus
 * because OpenAI's CLIP vocabulary (49408 tokens, merges.txt) is not available from npm.
 *
 * It follows CLIP's tokenizer conventions (HF v4.45.1 CLIPTokenizerFast, tokenizer.json of openai/clip-vit-large-patch14-336): NFC + whitespace collapse + lower-case, the
 * CLIP pre-tokenisation regex (letters runs, single digits, punctuation runs, English contractions), GPT-2
 * `bytes_to_unicode` byte symbols, `</w>` on the last symbol of every word, vocabulary order
 * [256 byte symbols, the same with `</w>`, one token per merge, `<|startoftext|>`, `<|endoftext|>`], and
 * `bos … eos` added by a RobertaProcessing post-processor. Only the merges differ from OpenAI's.
 */

/** CLIP's pre-tokenisation pattern (tokenizer.json `Split` with invert), as in HF's CLIP tokenizer.json. */
export const CLIP_SPLIT_PATTERN = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";
export const CLIP_BOS = '<|startoftext|>';
export const CLIP_EOS = '<|endoftext|>';
export const CLIP_EOW = '</w>';

/**
 * GPT-2's reversible byte → printable character map: printable Latin-1 bytes map to themselves, the
 * others to U+0100 upwards in byte order. Returned in GPT-2's order (printable ranges first), which is
 * also the order of the first 256 CLIP vocabulary entries.
 */
export function bytesToUnicode(): Array<[number, string]> {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const out: Array<[number, string]> = bs.map((b) => [b, String.fromCodePoint(b)]);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) out.push([b, String.fromCodePoint(256 + n++)]);
  }
  return out;
}

/**
 * Built-in training text (written for this project): short image descriptions and questions of the
 * kind HERO's CLIP relevance score sees.
 */
const CORPUS = `
a photo of a cat sitting on a wooden table next to a cup of coffee
a dog running on the beach with a red ball in its mouth
two people riding bicycles down a city street at night
what is the color of the car parked in front of the house
how many birds are sitting on the power line
is there a person holding an umbrella in the rain
a bowl of fruit with apples bananas and oranges on a kitchen counter
the man in the blue shirt is playing a guitar on the stage
a small boat floating on a calm lake surrounded by mountains
what does the sign on the building say
a group of children playing soccer in a green field
a plate of food with rice vegetables and chicken
a woman reading a book on a bench in the park
what time is shown on the clock tower
a train arriving at the station on a cloudy day
an airplane flying over the ocean under a clear blue sky
three horses standing in a field near a white fence
a close up of a pizza with cheese tomatoes and basil
which animal is larger the elephant or the giraffe
a bathroom with a white sink a mirror and a towel
a laptop computer and a phone on a desk by the window
the text on the screen reads hello world
describe the image in detail
what is written on the white board in the classroom
a snowy street with cars covered in snow and people walking
a black and white photo of an old bridge over a river
where is the bus going according to the sign in the front
there are 2 cats and 3 dogs in the picture
a yellow taxi waiting at a traffic light in the city
is the person on the left wearing glasses
what sport are they playing in this picture
a chart showing the number of visitors per year
a tall building with many windows reflecting the sunset
a baby sleeping in a crib with a teddy bear
what kind of flowers are in the vase on the table
a kite flying high above the trees on a windy afternoon
the girl's dress is red and her shoes are black
it's a sunny day and they're having a picnic
what's the name of the restaurant shown in the photo
a street market selling fresh fish, bread, cheese and vegetables
`;

/** Lower-cased, whitespace-collapsed, NFC text split into CLIP pre-tokens, each as byte symbols. */
export function clipPreTokens(text: string): string[][] {
  const byteChar = new Map(bytesToUnicode());
  const norm = text.normalize('NFC').replace(/\s+/gu, ' ').toLowerCase();
  const words = norm.match(new RegExp(CLIP_SPLIT_PATTERN, 'gu')) ?? [];
  return words.map((w) => Array.from(Buffer.from(w, 'utf8'), (b) => byteChar.get(b)!));
}

export interface ClipVocab {
  /** token strings, index = id */
  readonly tokens: readonly string[];
  /** merges in rank order */
  readonly merges: ReadonlyArray<readonly [string, string]>;
}

/**
 * Trains the BPE: repeatedly merge the most frequent adjacent pair (ties → the smaller pair in code-unit
 * order, so the result is deterministic) until no pair occurs twice or `maxMerges` is reached.
 * @choice corpus above, at most 2000 merges; a merge whose result already exists adds no new token.
 */
export function trainClipVocab(maxMerges = 2000): ClipVocab {
  const counts = new Map<string, number>();
  for (const w of clipPreTokens(CORPUS)) {
    const key = [...w.slice(0, -1), w[w.length - 1] + CLIP_EOW].join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let words = [...counts.entries()].map(([k, c]) => ({ sym: k.split(' '), c }));
  const base = bytesToUnicode().map(([, ch]) => ch);
  const tokens = [...base, ...base.map((ch) => ch + CLIP_EOW)];
  const known = new Set(tokens);
  const merges: Array<readonly [string, string]> = [];
  while (merges.length < maxMerges) {
    const pairs = new Map<string, number>();
    for (const { sym, c } of words) {
      for (let i = 0; i + 1 < sym.length; i++) {
        const k = `${sym[i]} ${sym[i + 1]}`;
        pairs.set(k, (pairs.get(k) ?? 0) + c);
      }
    }
    let best: string | null = null;
    let bestC = 1;
    for (const [k, c] of pairs) {
      if (c > bestC || (c === bestC && best !== null && k < best)) { best = k; bestC = c; }
    }
    if (best === null) break;
    const [l, r] = best.split(' ');
    merges.push([l, r]);
    if (!known.has(l + r)) { known.add(l + r); tokens.push(l + r); }
    words = words.map(({ sym, c }) => {
      const out: string[] = [];
      for (let i = 0; i < sym.length; i++) {
        if (i + 1 < sym.length && sym[i] === l && sym[i + 1] === r) { out.push(l + r); i++; } else out.push(sym[i]);
      }
      return { sym: out, c };
    });
  }
  tokens.push(CLIP_BOS, CLIP_EOS);
  return { tokens, merges };
}
