/**
 * The default model's tokenizers in HF tokenizer.json / tokenizer_config.json layout: Llama-2's (the
 * vocabulary of llama_vocab.ts plus llava-hf's `<image>` and `<pad>`) and CLIP's (the generated BPE of
 * clip_vocab.ts).
 */
import { loadLlamaVocab } from './llama_vocab';
import { trainClipVocab, CLIP_SPLIT_PATTERN, CLIP_BOS, CLIP_EOS, CLIP_EOW } from './clip_vocab';
import { CLIP_TEXT, LLAMA_IDS, TEXT } from './geometry';

function addedToken(id: number, content: string, normalized = false): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized, special: true };
}

/**
 * Llama-2's fast tokenizer.json (normalizer Prepend "▁" + Replace " "→"▁", BPE with byte_fallback, `<s>`
 * prepended by TemplateProcessing, decoder ▁→space + ByteFallback + Fuse + Strip one leading space) with
 * llava-hf's added special tokens `<image>` 32000 and `<pad>` 32001.
 */
export function llamaTokenizerJson(ids: LlamaTokenIds = LLAMA_IDS): Record<string, unknown> {
  const v = loadLlamaVocab();
  // A smaller model (random-weights' tiny presets, `<image>` below 32000) keeps the Llama-2 tokens whose ids
  // are below its `<image>` id and the merges among them; what they cannot spell falls back to the byte tokens.
  const tokens = v.tokens.slice(0, Math.min(v.tokens.length, ids.image));
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => { vocab[t] = i; });
  const merges = tokens.length === v.tokens.length ? v.merges : v.merges.filter(([l, r]) => l in vocab && r in vocab && (l + r) in vocab);
  const bos = v.tokens[ids.bos];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      addedToken(ids.unk, v.tokens[ids.unk]),
      addedToken(ids.bos, bos),
      addedToken(ids.eos, v.tokens[ids.eos]),
      addedToken(ids.image, '<image>'),
      addedToken(ids.pad, '<pad>'),
    ],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [ids.bos], tokens: [bos] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: v.tokens[ids.unk], continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges,
    },
  };
}

export function llamaTokenizerConfigJson(maxLength = TEXT.maxPos): Record<string, unknown> {
  return {
    add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', pad_token: '<pad>',
    clean_up_tokenization_spaces: false, legacy: false, model_max_length: maxLength, padding_side: 'left',
    tokenizer_class: 'LlamaTokenizer',
  };
}

/** The Llama ids a tokenizer.json places: Llama-2's unk/bos/eos, and the `<image>` and `<pad>` a LLaVA model adds. */
export interface LlamaTokenIds { readonly unk: number; readonly bos: number; readonly eos: number; readonly image: number; readonly pad: number }

/**
 * CLIP's tokenizer.json layout with the generated vocabulary (see clip_vocab.ts); `maxMerges` bounds the
 * vocabulary at 514 + maxMerges tokens (random-weights' tiny CLIP: its config's vocab_size).
 */
export function clipTokenizerJson(maxMerges?: number): { json: Record<string, unknown>; vocabSize: number; bos: number; eos: number } {
  const v = trainClipVocab(maxMerges);
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, i) => { vocab[t] = i; });
  const bos = vocab[CLIP_BOS];
  const eos = vocab[CLIP_EOS];
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [addedToken(bos, CLIP_BOS, true), addedToken(eos, CLIP_EOS)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT_PATTERN }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [CLIP_EOS, eos], cls: [CLIP_BOS, bos], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: CLIP_EOS, continuing_subword_prefix: '', end_of_word_suffix: CLIP_EOW,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: v.merges,
    },
  };
  return { json, vocabSize: v.tokens.length, bos, eos };
}

export function clipTokenizerConfigJson(maxLength = CLIP_TEXT.maxPos): Record<string, unknown> {
  return {
    bos_token: CLIP_BOS, eos_token: CLIP_EOS, unk_token: CLIP_EOS, pad_token: CLIP_EOS,
    clean_up_tokenization_spaces: false, do_lower_case: true, model_max_length: maxLength, tokenizer_class: 'CLIPTokenizer',
  };
}
