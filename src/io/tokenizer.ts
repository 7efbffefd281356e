/**
 * Tokenizers: an HF `tokenizer.json` (+ optional `tokenizer_config.json`) run by @huggingface/tokenizers,
 * and the two prompt builders the pipeline needs: llava-hf's Vicuna prompt for the LLM and CLIP's
 * `bos … eos` text ids. A directory without tokenizer.json is an error that points at `--input-ids`
 * (we never fall back to some other tokenizer).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { HeroError } from '../core/errors';
import { readJsonObject } from './json';

export interface Tokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  tokenToId(token: string): number | undefined;
  /** the tokenizer.json file it was read from */
  readonly source: string;
}

/** The tokenizer.json `model.type`s the runtime (@huggingface/tokenizers) implements. */
export const TOKENIZER_MODELS = ['BPE', 'WordPiece', 'Unigram'] as const;

/**
 * Reads `<dir>/tokenizer.json` and, when present, `<dir>/tokenizer_config.json`.
 * @choice `clean_up_tokenization_spaces` defaults to false when tokenizer_config.json does not set it
 * (HF's Llama and CLIP configs set it to false; the JS runtime's own default is true).
 */
export function loadTokenizer(dir: string): Tokenizer {
  const file = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(file)) {
    throw new HeroError(`${file}: not found; this model directory has no tokenizer, pass the prompt as --input-ids instead`);
  }
  const json = readJsonObject(file, 'tokenizer');
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const cfg = fs.existsSync(cfgFile) ? readJsonObject(cfgFile, 'tokenizer config') : {};
  if (!Array.isArray(json.added_tokens)) json.added_tokens = [];
  // The runtime guesses a model it does not know from its fields; refuse it instead (HF's own types it implements).
  const model = json.model as Record<string, unknown> | null | undefined;
  if (model === null || typeof model !== 'object' || Array.isArray(model)) throw new HeroError(`${file}: tokenizer has no "model" object`);
  if (model.type !== undefined && !(TOKENIZER_MODELS as readonly unknown[]).includes(model.type)) {
    throw new HeroError(`${file}: tokenizer model.type ${JSON.stringify(model.type)} is not supported (one of ${TOKENIZER_MODELS.join(', ')})`);
  }
  let tok: HfTokenizer;
  try {
    tok = new HfTokenizer(json, { clean_up_tokenization_spaces: false, ...cfg });
  } catch (e) {
    throw new HeroError(`${file}: cannot build the tokenizer (${(e as Error).message})`);
  }
  return {
    source: file,
    encode: (text, opts) => tok.encode(text, { add_special_tokens: opts?.addSpecialTokens ?? true }).ids,
    decode: (ids, opts) => (ids.length === 0 ? '' : tok.decode([...ids], { skip_special_tokens: opts?.skipSpecialTokens ?? false })),
    tokenToId: (token) => tok.token_to_id(token),
  };
}

/**
 * The system line of original LLaVA's `conv_vicuna_v1` (HERO's and the baselines' evaluation template), verbatim
 * from haotian-liu/LLaVA llava/conversation.py (as vendored by Theia-4869/FasterVLM@f5d5f12, conv_vicuna_v1):
 * "user", not "human" (that is conv_vicuna_v0).
 */
export const VICUNA_V1_SYSTEM = 'A chat between a curious user and an artificial intelligence assistant. '
  + "The assistant gives helpful, detailed, and polite answers to the user's questions.";

/**
 * `--template`: 'vicuna_v1' = original LLaVA's conv_vicuna_v1 (system line, then `USER: <image>\n{q} ASSISTANT:`),
 * what the HERO and baseline authors evaluate with (`--conv-mode vicuna_v1`); 'llava-hf' = llava-hf's chat
 * template for llava-v1.6-vicuna (no system line).
 */
export type PromptTemplate = 'vicuna_v1' | 'llava-hf';
export const PROMPT_TEMPLATES: readonly PromptTemplate[] = ['vicuna_v1', 'llava-hf'];

/**
 * The full prompt text of one single-turn question, image placeholder included.
 * vicuna_v1 is `conv.get_prompt()` of conv_vicuna_v1 (sep_style TWO, sep " ", sep2 "</s>") after
 * `append_message(USER, "<image>\n" + q)` and `append_message(ASSISTANT, None)`:
 *   system + " " + "USER: " + "<image>\n" + q + " " + "ASSISTANT:".
 * @mirrors Theia-4869/FasterVLM@f5d5f12 llava/conversation.py Conversation.get_prompt, conv_vicuna_v1
 * @mirrors Theia-4869/FasterVLM@f5d5f12 llava/eval/model_vqa_loader.py CustomDataset.__getitem__ (qs = DEFAULT_IMAGE_TOKEN + '\n' + qs)
 */
export function promptText(template: PromptTemplate, question: string): string {
  const system = template === 'vicuna_v1' ? `${VICUNA_V1_SYSTEM} ` : '';
  return `${system}USER: <image>\n${question} ASSISTANT:`;
}

/**
 * llava-hf's single-turn Vicuna prompt `{system }USER: <image>\n{question} ASSISTANT:` as ids: `<s>`, the
 * text before the image, exactly one `imageTokenId`, the text after it.
 *
 * The two text chunks are encoded separately (the first with the tokenizer's special tokens, i.e. `<s>`,
 * the second without), which is what HF's fast tokenizer does around the added special token `<image>`
 * and what original LLaVA's `tokenizer_image_token` does: each chunk gets its own SentencePiece "▁"
 * prefix, so the ids around the image are `… 29871, <image>, 29871, 13, …` with the Llama-2 vocabulary.
 *
 * @choice No system text by default (the library's llava-hf behaviour; the CLI defaults to
 * `template: 'vicuna_v1'`). `opts.template: 'vicuna_v1'` or `opts.system` (any text) prepend a system line
 * followed by one space.
 */
export function llavaPromptIds(tok: Tokenizer, question: string, imageTokenId: number,
  opts?: { system?: string; template?: PromptTemplate }): number[] {
  const system = opts?.system ?? (opts?.template === 'vicuna_v1' ? VICUNA_V1_SYSTEM : undefined);
  const before = `${system ? `${system} ` : ''}USER: `;
  const after = `\n${question} ASSISTANT:`;
  const ids = [...tok.encode(before, { addSpecialTokens: true }), imageTokenId, ...tok.encode(after, { addSpecialTokens: false })];
  const n = ids.filter((t) => t === imageTokenId).length;
  if (n !== 1) throw new HeroError(`--prompt: the prompt holds ${n} image tokens (id ${imageTokenId}); the question must not contain the image placeholder`);
  return ids;
}

/**
 * CLIP text ids `bos … eos` (the tokenizer's post-processor adds both). Longer than `maxLen`
 * (text_config.max_position_embeddings) → cut to `maxLen − 1` tokens plus the final eos, and
 * `truncated: true` so the caller can say so (HF truncates the same way when asked; never silent here).
 */
export function clipTextIds(tok: Tokenizer, text: string, maxLen: number): { ids: number[]; truncated: boolean } {
  if (!Number.isInteger(maxLen) || maxLen < 2) throw new HeroError(`clip text: max length ${maxLen} must be an integer ≥ 2`);
  const ids = tok.encode(text, { addSpecialTokens: true });
  if (ids.length <= maxLen) return { ids, truncated: false };
  return { ids: [...ids.slice(0, maxLen - 1), ids[ids.length - 1]], truncated: true };
}
