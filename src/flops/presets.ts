/**
 * Decoder dimensions for the FLOPs model: named presets for the two LLaVA-NeXT Vicuna LLMs, or read from a
 * LLaVA-NeXT / Llama config.json.
 */
import { HeroError } from '../core/errors';
import type { DecoderDims } from './flops';

/** KV-cache element size used unless told otherwise. @choice fp16 (2 bytes), the dtype of the paper's runs. */
export const DEFAULT_KV_BYTES = 2;

/**
 * Named presets.
 * vicuna-7b: llava-hf/llava-v1.6-vicuna-7b-hf text_config (= LlamaConfig defaults; vocab 32064: the
 *   32000-row embedding resized to 32000 + 2 padded to a multiple of 64, as for vicuna-13b below).
 * vicuna-13b: lmsys/vicuna-13b-v1.5 config.json (40 layers, d 5120, m 13824, 40 heads, no GQA); vocab
 *   32064 because HF's convert_llava_next_weights_to_hf.py resizes the 32000-row embedding to 32000 + 2
 *   (`<image>`, `<pad>`) padded to a multiple of 64. The vocab only matters when the lm_head is counted.
 */
export const PRESETS: Readonly<Record<string, DecoderDims>> = {
  'vicuna-7b': { layers: 32, hidden: 4096, intermediate: 11008, heads: 32, kvHeads: 32, headDim: 128, vocab: 32064, bytesPerElement: DEFAULT_KV_BYTES },
  'vicuna-13b': { layers: 40, hidden: 5120, intermediate: 13824, heads: 40, kvHeads: 40, headDim: 128, vocab: 32064, bytesPerElement: DEFAULT_KV_BYTES },
};

export const PRESET_NAMES: readonly string[] = Object.keys(PRESETS);

/** A preset by name; an unknown name is a HeroError listing the known ones. */
export function presetDims(name: string, what = '--preset'): DecoderDims {
  const dims = Object.prototype.hasOwnProperty.call(PRESETS, name) ? PRESETS[name] : undefined;
  if (!dims) throw new HeroError(`${what}: unknown preset '${name}' (known: ${PRESET_NAMES.join(', ')})`);
  return dims;
}

/**
 * `LlamaConfig.__init__` defaults that a config.json may leave out (llava-hf configs store only the
 * text_config fields that differ from them).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llama/configuration_llama.py LlamaConfig.__init__
 */
const LLAMA_DEFAULTS = { num_hidden_layers: 32, hidden_size: 4096, intermediate_size: 11008, num_attention_heads: 32, vocab_size: 32000 };

/**
 * Decoder dims from a parsed config.json: a LLaVA-NeXT config (its `text_config` is used) or a Llama
 * config. Missing fields take LlamaConfig's defaults; num_key_value_heads defaults to the head count and
 * head_dim to hidden_size / num_attention_heads, as in HF.
 */
export function dimsFromConfig(json: unknown, file = 'config.json', bytesPerElement = DEFAULT_KV_BYTES): DecoderDims {
  const bad = (why: string): never => { throw new HeroError(`${file}: ${why}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) bad('expected a JSON object');
  const top = json as Record<string, unknown>;
  const text = top.text_config ?? top;
  if (text === null || typeof text !== 'object' || Array.isArray(text)) bad('text_config must be an object');
  const cfg = text as Record<string, unknown>;
  const where = top.text_config !== undefined ? 'text_config.' : '';
  const int = (key: string, fallback: number | undefined): number => {
    const v = cfg[key] ?? fallback;
    if (!(typeof v === 'number' && Number.isSafeInteger(v) && v > 0)) bad(`${where}${key} must be a positive integer (got ${JSON.stringify(v)})`);
    return v as number;
  };
  const layers = int('num_hidden_layers', LLAMA_DEFAULTS.num_hidden_layers);
  const hidden = int('hidden_size', LLAMA_DEFAULTS.hidden_size);
  const intermediate = int('intermediate_size', LLAMA_DEFAULTS.intermediate_size);
  const heads = int('num_attention_heads', LLAMA_DEFAULTS.num_attention_heads);
  const kvHeads = int('num_key_value_heads', heads);
  if (cfg.head_dim === undefined && hidden % heads !== 0) bad(`${where}hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}`);
  const headDim = int('head_dim', hidden / heads);
  if (heads % kvHeads !== 0) bad(`${where}num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const vocab = int('vocab_size', LLAMA_DEFAULTS.vocab_size);
  if (!(Number.isSafeInteger(bytesPerElement) && bytesPerElement > 0)) bad(`KV bytes per element must be a positive integer (got ${bytesPerElement})`);
  return { layers, hidden, intermediate, heads, kvHeads, headDim, vocab, bytesPerElement };
}
