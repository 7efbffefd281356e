/**
 * The Llama-2 SentencePiece-BPE vocabulary and merges, taken from the npm package `llama-tokenizer-js`
 * (MIT, belladore.ai), which carries them as data: a base64 string of the 32000 token strings joined by
 * '\n' (row = token id) and a base64 string of uint16-LE token-id pairs, one pair per merge in rank order
 * (its data-conversion.py builds both from Meta's tokenizer.json). We read that data only — not the
 * package's code — and rebuild the `model` block of an HF tokenizer.json from it.
 */
import * as fs from 'fs';
import { HeroError } from '../core/errors';

export interface LlamaVocab {
  /** token strings, index = id (32000 for Llama-2) */
  readonly tokens: readonly string[];
  /** merges in rank order, as [left, right] token strings */
  readonly merges: ReadonlyArray<readonly [string, string]>;
  /** where the data came from (package file) */
  readonly source: string;
}

/** Path of the package file that holds the data. */
export function llamaTokenizerJsFile(): string {
  try {
    return require.resolve('llama-tokenizer-js/llama-tokenizer.js');
  } catch {
    throw new HeroError('llama-tokenizer-js: package not installed (run `npm ci`); it carries the Llama-2 vocabulary of the default model');
  }
}

/** Reads `const <name> = "<base64>"` from the package source. */
function base64Constant(src: string, name: string, file: string): Buffer {
  const m = new RegExp(`const ${name} = "([A-Za-z0-9+/=]+)"`).exec(src);
  if (!m) throw new HeroError(`${file}: no ${name} data (unexpected llama-tokenizer-js version?)`);
  return Buffer.from(m[1], 'base64');
}

/** Decodes the Llama-2 vocabulary and merges shipped in llama-tokenizer-js. */
export function loadLlamaVocab(): LlamaVocab {
  const file = llamaTokenizerJsFile();
  const src = fs.readFileSync(file, 'utf8');
  const tokens = base64Constant(src, 'llama_vocab_base64', file).toString('utf8').split('\n');
  const mb = base64Constant(src, 'llama_merges_binary', file);
  if (mb.length % 4 !== 0) throw new HeroError(`${file}: merge data is ${mb.length} bytes, not a multiple of 4`);
  const merges: Array<readonly [string, string]> = [];
  for (let off = 0; off < mb.length; off += 4) {
    const l = mb.readUInt16LE(off);
    const r = mb.readUInt16LE(off + 2);
    if (l >= tokens.length || r >= tokens.length) throw new HeroError(`${file}: merge ${off / 4} names token ${Math.max(l, r)} beyond the ${tokens.length}-token vocabulary`);
    merges.push([tokens[l], tokens[r]]);
  }
  if (new Set(tokens).size !== tokens.length) throw new HeroError(`${file}: vocabulary has duplicate token strings`);
  return { tokens, merges, source: file };
}
