/**
 * The embedded default model: a LLaVA-NeXT + CLIP pair in HF layout with RANDOM weights and the real
 * geometry of llava-hf/llava-v1.6-vicuna-7b-hf and openai/clip-vit-large-patch14-336 where it matters to
 * HERO (336 px crops, 14 px patches → 24×24 = 576 tokens per crop, 24 vision layers, the five anyres
 * pinpoints, feature layer −2, the Llama-2 vocabulary with `<image>` = 32000), and small widths elsewhere.
 *
 * Generated on first use into weights/default/ (git-ignored), seeded and deterministic, no network; the
 * sha256 of every file is pinned in weights/manifest.json. `npm run weights` regenerates and prints the
 * sizes; `npm run weights -- --write-manifest` also rewrites the manifest (after a deliberate change).
 *
 * @choice Every design decision of this file (widths, seed, init scheme,
 * the generated CLIP BPE) is ours; none of it comes from the paper or HF.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors';
import { drawInit, fanInInit, normalInit, type Init } from './init';
import { loadLlamaVocab } from './llama_vocab';
import { trainClipVocab, CLIP_SPLIT_PATTERN, CLIP_BOS, CLIP_EOS, CLIP_EOW } from './clip_vocab';

/** Repository root (this file is src/weights/*.ts or dist/weights/*.js). */
const ROOT = path.resolve(__dirname, '..', '..');
export const DEFAULT_WEIGHTS_ROOT = path.join(ROOT, 'weights', 'default');
export const DEFAULT_MODEL_DIR = path.join(DEFAULT_WEIGHTS_ROOT, 'llava-next');
export const DEFAULT_CLIP_DIR = path.join(DEFAULT_WEIGHTS_ROOT, 'clip');
export const DEFAULT_MANIFEST = path.join(ROOT, 'weights', 'manifest.json');

/** @choice seed = HERO's arXiv number 2509.13067 without the dot. */
export const DEFAULT_SEED = 250913067;

// ---------------------------------------------------------------------------------------------------------
// Geometry

/** @choice The pinpoints, crop, patch and depths of llava-v1.6 (Vicuna-7B: 32 decoder layers) / CLIP ViT-L/14-336 (24 layers); widths are small. */
const PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]];
const CROP_PX = 336;
const PATCH_PX = 14;
const VISION = { hidden: 64, heads: 4, mlp: 256, layers: 24, projection: 32 };
const TEXT = { hidden: 64, heads: 4, kvHeads: 4, mlp: 192, layers: 32, vocab: 32064, maxPos: 4096 };
const CLIP_TEXT = { hidden: 64, heads: 4, mlp: 256, layers: 3, maxPos: 77 };
/** Llama-2 ids, plus the two tokens llava-hf adds. */
const LLAMA_IDS = { unk: 0, bos: 1, eos: 2, image: 32000, pad: 32001 };
const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

function visionConfig(): Record<string, unknown> {
  return {
    hidden_act: 'quick_gelu',
    hidden_size: VISION.hidden,
    image_size: CROP_PX,
    intermediate_size: VISION.mlp,
    layer_norm_eps: 1e-5,
    model_type: 'clip_vision_model',
    num_attention_heads: VISION.heads,
    num_channels: 3,
    num_hidden_layers: VISION.layers,
    patch_size: PATCH_PX,
    projection_dim: VISION.projection,
  };
}

export function llavaConfigJson(): Record<string, unknown> {
  return {
    architectures: ['LlavaNextForConditionalGeneration'],
    ignore_index: -100,
    image_grid_pinpoints: PINPOINTS,
    image_seq_length: (CROP_PX / PATCH_PX) ** 2,
    image_token_index: LLAMA_IDS.image,
    model_type: 'llava_next',
    projector_hidden_act: 'gelu',
    text_config: {
      architectures: ['LlamaForCausalLM'],
      attention_bias: false,
      bos_token_id: LLAMA_IDS.bos,
      eos_token_id: LLAMA_IDS.eos,
      head_dim: TEXT.hidden / TEXT.heads,
      hidden_act: 'silu',
      hidden_size: TEXT.hidden,
      intermediate_size: TEXT.mlp,
      max_position_embeddings: TEXT.maxPos,
      mlp_bias: false,
      model_type: 'llama',
      num_attention_heads: TEXT.heads,
      num_hidden_layers: TEXT.layers,
      num_key_value_heads: TEXT.kvHeads,
      pad_token_id: 0,
      rms_norm_eps: 1e-5,
      rope_scaling: null,
      rope_theta: 10000.0,
      tie_word_embeddings: false,
      vocab_size: TEXT.vocab,
    },
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    transformers_version: '4.45.1',
    use_image_newline_parameter: true,
    vision_config: visionConfig(),
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
  };
}

export function clipConfigJson(vocabSize: number, bos: number, eos: number): Record<string, unknown> {
  return {
    architectures: ['CLIPModel'],
    initializer_factor: 1.0,
    logit_scale_init_value: 2.6592,
    model_type: 'clip',
    projection_dim: VISION.projection,
    text_config: {
      bos_token_id: bos,
      eos_token_id: eos,
      hidden_act: 'quick_gelu',
      hidden_size: CLIP_TEXT.hidden,
      intermediate_size: CLIP_TEXT.mlp,
      layer_norm_eps: 1e-5,
      max_position_embeddings: CLIP_TEXT.maxPos,
      model_type: 'clip_text_model',
      num_attention_heads: CLIP_TEXT.heads,
      num_hidden_layers: CLIP_TEXT.layers,
      pad_token_id: eos,
      projection_dim: VISION.projection,
      vocab_size: vocabSize,
    },
    torch_dtype: 'float32',
    transformers_version: '4.45.1',
    vision_config: visionConfig(),
  };
}

/** llava-hf's LlavaNextImageProcessor settings (CLIP's values + the anyres pinpoints of llava-hf/llava-v1.6-vicuna-7b-hf). */
function llavaPreprocessorJson(): Record<string, unknown> {
  return {
    crop_size: { height: CROP_PX, width: CROP_PX },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_grid_pinpoints: PINPOINTS,
    image_mean: OPENAI_CLIP_MEAN,
    image_processor_type: 'LlavaNextImageProcessor',
    image_std: OPENAI_CLIP_STD,
    processor_class: 'LlavaNextProcessor',
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { shortest_edge: CROP_PX },
  };
}

/** openai/clip-vit-large-patch14-336's CLIPImageProcessor settings. */
function clipPreprocessorJson(): Record<string, unknown> {
  return {
    crop_size: { height: CROP_PX, width: CROP_PX },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: OPENAI_CLIP_MEAN,
    image_processor_type: 'CLIPImageProcessor',
    image_std: OPENAI_CLIP_STD,
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { shortest_edge: CROP_PX },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Tokenizers (HF tokenizer.json layout)

function addedToken(id: number, content: string, normalized = false): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized, special: true };
}

/**
 * Llama-2's fast tokenizer.json (normalizer Prepend "▁" + Replace " "→"▁", BPE with byte_fallback, `<s>`
 * prepended by TemplateProcessing, decoder ▁→space + ByteFallback + Fuse + Strip one leading space) with
 * llava-hf's added special tokens `<image>` 32000 and `<pad>` 32001.
 */
export function llamaTokenizerJson(): Record<string, unknown> {
  const v = loadLlamaVocab();
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, i) => { vocab[t] = i; });
  const bos = v.tokens[LLAMA_IDS.bos];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      addedToken(LLAMA_IDS.unk, v.tokens[LLAMA_IDS.unk]),
      addedToken(LLAMA_IDS.bos, bos),
      addedToken(LLAMA_IDS.eos, v.tokens[LLAMA_IDS.eos]),
      addedToken(LLAMA_IDS.image, '<image>'),
      addedToken(LLAMA_IDS.pad, '<pad>'),
    ],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [LLAMA_IDS.bos], tokens: [bos] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: v.tokens[LLAMA_IDS.unk], continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: v.merges,
    },
  };
}

function llamaTokenizerConfigJson(): Record<string, unknown> {
  return {
    add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', pad_token: '<pad>',
    clean_up_tokenization_spaces: false, legacy: false, model_max_length: TEXT.maxPos, padding_side: 'left',
    tokenizer_class: 'LlamaTokenizer',
  };
}

/** CLIP's tokenizer.json layout with the generated vocabulary (see clip_vocab.ts). */
export function clipTokenizerJson(): { json: Record<string, unknown>; vocabSize: number; bos: number; eos: number } {
  const v = trainClipVocab();
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

function clipTokenizerConfigJson(): Record<string, unknown> {
  return {
    bos_token: CLIP_BOS, eos_token: CLIP_EOS, unk_token: CLIP_EOS, pad_token: CLIP_EOS,
    clean_up_tokenization_spaces: false, do_lower_case: true, model_max_length: CLIP_TEXT.maxPos, tokenizer_class: 'CLIPTokenizer',
  };
}

// ---------------------------------------------------------------------------------------------------------
// Checkpoint keys and initialisation

/**
 * How one tensor is drawn. @choice The goldens' scheme (golden README): linear/conv N(0,1)/√fan_in,
 * biases N(0, 0.1²), norm weights 1 + N(0, 0.1²), token/class/newline embeddings N(0,1), position
 * embeddings N(0, 0.5²), lm_head 4·N(0,1)/√hidden — activations stay at unit scale and attention is
 * neither uniform nor one-hot.
 */
export type { Init } from './init';

export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
}

const normal = normalInit;
const linearInit = fanInInit;
const BIAS = normal(0.1);
const NORM_W = normal(0.1, 1);

function key(name: string, shape: number[], init: Init): TensorSpec {
  return { name, shape, init };
}

function layerNorm(p: string, d: number): TensorSpec[] {
  return [key(`${p}.weight`, [d], NORM_W), key(`${p}.bias`, [d], BIAS)];
}

function linear(p: string, out: number, inp: number, bias: boolean): TensorSpec[] {
  const w = key(`${p}.weight`, [out, inp], linearInit(inp));
  return bias ? [w, key(`${p}.bias`, [out], BIAS)] : [w];
}

/** CLIP encoder layers `<p>encoder.layers.{i}.*` (HF CLIPEncoderLayer names). */
function clipEncoderKeys(p: string, d: number, mlp: number, layers: number): TensorSpec[] {
  const out: TensorSpec[] = [];
  for (let i = 0; i < layers; i++) {
    const l = `${p}encoder.layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) out.push(...linear(`${l}.self_attn.${proj}`, d, d, true));
    out.push(...layerNorm(`${l}.layer_norm1`, d), ...layerNorm(`${l}.layer_norm2`, d));
    out.push(...linear(`${l}.mlp.fc1`, mlp, d, true), ...linear(`${l}.mlp.fc2`, d, mlp, true));
  }
  return out;
}

/** CLIPVisionTransformer keys under `p` (e.g. `vision_model.`), post_layernorm included. */
function clipVisionKeys(p: string): TensorSpec[] {
  const d = VISION.hidden;
  const positions = (CROP_PX / PATCH_PX) ** 2 + 1;
  return [
    key(`${p}embeddings.class_embedding`, [d], normal(1)),
    key(`${p}embeddings.patch_embedding.weight`, [d, 3, PATCH_PX, PATCH_PX], linearInit(3 * PATCH_PX * PATCH_PX)),
    key(`${p}embeddings.position_embedding.weight`, [positions, d], normal(0.5)),
    ...layerNorm(`${p}pre_layrnorm`, d),
    ...clipEncoderKeys(p, d, VISION.mlp, VISION.layers),
    ...layerNorm(`${p}post_layernorm`, d),
  ];
}

/** LlavaNextForConditionalGeneration keys, pre-4.52 layout (as spec/fixtures/models/llava-next-tiny). */
export function llavaKeys(): TensorSpec[] {
  const D = TEXT.hidden;
  const Dh = TEXT.hidden / TEXT.heads;
  const out: TensorSpec[] = [
    key('image_newline', [D], normal(1)),
    ...linear('multi_modal_projector.linear_1', D, VISION.hidden, true),
    ...linear('multi_modal_projector.linear_2', D, D, true),
    ...clipVisionKeys('vision_tower.vision_model.'),
    key('language_model.model.embed_tokens.weight', [TEXT.vocab, D], normal(1)),
    key('language_model.lm_head.weight', [TEXT.vocab, D], normal(4 / Math.sqrt(D))),
    key('language_model.model.norm.weight', [D], NORM_W),
  ];
  for (let j = 0; j < TEXT.layers; j++) {
    const l = `language_model.model.layers.${j}`;
    out.push(...linear(`${l}.self_attn.q_proj`, TEXT.heads * Dh, D, false));
    out.push(...linear(`${l}.self_attn.k_proj`, TEXT.kvHeads * Dh, D, false));
    out.push(...linear(`${l}.self_attn.v_proj`, TEXT.kvHeads * Dh, D, false));
    out.push(...linear(`${l}.self_attn.o_proj`, D, TEXT.heads * Dh, false));
    out.push(...linear(`${l}.mlp.gate_proj`, TEXT.mlp, D, false), ...linear(`${l}.mlp.up_proj`, TEXT.mlp, D, false));
    out.push(...linear(`${l}.mlp.down_proj`, D, TEXT.mlp, false));
    out.push(key(`${l}.input_layernorm.weight`, [D], NORM_W), key(`${l}.post_attention_layernorm.weight`, [D], NORM_W));
  }
  return out;
}

/** CLIPModel keys (as spec/fixtures/models/clip-tiny). @choice logit_scale = ln 100, OpenAI CLIP's trained value. */
export function clipKeys(vocabSize: number): TensorSpec[] {
  const d = CLIP_TEXT.hidden;
  return [
    key('logit_scale', [], { kind: 'const', value: Math.log(100) }),
    key('text_model.embeddings.token_embedding.weight', [vocabSize, d], normal(1)),
    key('text_model.embeddings.position_embedding.weight', [CLIP_TEXT.maxPos, d], normal(0.5)),
    ...clipEncoderKeys('text_model.', d, CLIP_TEXT.mlp, CLIP_TEXT.layers),
    ...layerNorm('text_model.final_layer_norm', d),
    key('text_projection.weight', [VISION.projection, d], linearInit(d)),
    ...clipVisionKeys('vision_model.'),
    key('visual_projection.weight', [VISION.projection, VISION.hidden], linearInit(VISION.hidden)),
  ];
}

/** Draws every tensor; each gets its own stream (seed, model name, tensor name), so order does not matter. */
function drawTensors(model: string, keys: readonly TensorSpec[], seed: number): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  for (const k of keys) {
    if (k.name in out) throw new Error(`duplicate key ${k.name}`);
    const n = k.shape.reduce((a, b) => a * b, 1);
    out[k.name] = { dtype: 'F32', shape: k.shape, data: drawInit(k.init, n, seed, `${model}/${k.name}`) };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Files

function readme(kind: 'llava-next' | 'clip'): string {
  const what = kind === 'llava-next'
    ? 'LLaVA-NeXT (LlavaNextForConditionalGeneration, llava-hf layout, pre-4.52 key names)'
    : 'CLIP (CLIPModel, openai/clip-vit-large-patch14-336 layout)';
  return `# RANDOM WEIGHTS — outputs are meaningless\n\n`
    + `This is hero-lvlm's embedded default ${what}, generated by src/weights/default_model.ts from seed `
    + `${DEFAULT_SEED}. The weights are random numbers with the real geometry (336 px crops, 14 px patches, `
    + `24 vision layers, 32 decoder layers, the anyres pinpoints), so HERO's defaults apply, but every generated token, score `
    + `and caption is noise. See weights/README.md for how it is made and how to use real checkpoints.\n`;
}

const json = (o: unknown): string => `${JSON.stringify(o, null, 2)}\n`;

/**
 * Writes both model directories under `outDir` (`llava-next/`, `clip/`) and returns the sha256 of every
 * file, keyed by its path relative to `outDir`.
 */
export function generateDefaultWeights(outDir: string, seed = DEFAULT_SEED): Record<string, string> {
  const llava = path.join(outDir, 'llava-next');
  const clip = path.join(outDir, 'clip');
  fs.mkdirSync(llava, { recursive: true });
  fs.mkdirSync(clip, { recursive: true });

  fs.writeFileSync(path.join(llava, 'config.json'), json(llavaConfigJson()));
  fs.writeFileSync(path.join(llava, 'preprocessor_config.json'), json(llavaPreprocessorJson()));
  fs.writeFileSync(path.join(llava, 'processor_config.json'), json({ image_token: '<image>', patch_size: PATCH_PX, processor_class: 'LlavaNextProcessor', vision_feature_select_strategy: 'default' }));
  fs.writeFileSync(path.join(llava, 'generation_config.json'), json({ bos_token_id: LLAMA_IDS.bos, eos_token_id: LLAMA_IDS.eos, pad_token_id: 0, transformers_version: '4.45.1' }));
  fs.writeFileSync(path.join(llava, 'tokenizer.json'), json(llamaTokenizerJson()));
  fs.writeFileSync(path.join(llava, 'tokenizer_config.json'), json(llamaTokenizerConfigJson()));
  fs.writeFileSync(path.join(llava, 'README.md'), readme('llava-next'));
  writeSafetensors(path.join(llava, 'model.safetensors'), drawTensors('llava-next', llavaKeys(), seed), { format: 'pt' });

  const ct = clipTokenizerJson();
  fs.writeFileSync(path.join(clip, 'config.json'), json(clipConfigJson(ct.vocabSize, ct.bos, ct.eos)));
  fs.writeFileSync(path.join(clip, 'preprocessor_config.json'), json(clipPreprocessorJson()));
  fs.writeFileSync(path.join(clip, 'tokenizer.json'), json(ct.json));
  fs.writeFileSync(path.join(clip, 'tokenizer_config.json'), json(clipTokenizerConfigJson()));
  fs.writeFileSync(path.join(clip, 'README.md'), readme('clip'));
  writeSafetensors(path.join(clip, 'model.safetensors'), drawTensors('clip', clipKeys(ct.vocabSize), seed), { format: 'pt' });

  return hashTree(outDir);
}

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** sha256 of every file under `dir` (relative '/'-separated paths, sorted). */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sub of ['llava-next', 'clip']) {
    const d = path.join(dir, sub);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d).sort()) out[`${sub}/${f}`] = sha256File(path.join(d, f));
  }
  return out;
}

export interface Manifest {
  readonly seed: number;
  readonly files: Readonly<Record<string, string>>;
}

export function readManifest(file = DEFAULT_MANIFEST): Manifest | null {
  if (!fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
}

/** True when `dir` holds exactly the manifest's files with the manifest's hashes. */
function matchesManifest(dir: string, m: Manifest): boolean {
  const want = Object.keys(m.files);
  for (const f of want) {
    const p = path.join(dir, f);
    if (!fs.existsSync(p) || sha256File(p) !== m.files[f]) return false;
  }
  return true;
}

/**
 * Makes sure weights/default/{llava-next,clip} exist and match weights/manifest.json; (re)generates them
 * otherwise, saying so in one line. Generation writes into a temporary sibling directory and renames, so
 * a concurrent reader never sees half a checkpoint.
 */
export function ensureDefaultWeights(opts?: { log?: (msg: string) => void; root?: string }): { llavaDir: string; clipDir: string; generated: boolean } {
  const root = opts?.root ?? DEFAULT_WEIGHTS_ROOT;
  const llavaDir = path.join(root, 'llava-next');
  const clipDir = path.join(root, 'clip');
  const manifest = readManifest();
  const present = fs.existsSync(path.join(llavaDir, 'model.safetensors')) && fs.existsSync(path.join(clipDir, 'model.safetensors'));
  if (present && (manifest === null || matchesManifest(root, manifest))) return { llavaDir, clipDir, generated: false };

  const log = opts?.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  log(`generating the default model with RANDOM weights (seed ${manifest?.seed ?? DEFAULT_SEED}, no download) into ${root}`);
  const tmp = path.join(root, `.tmp-${process.pid}-${Date.now()}`);
  try {
    const files = generateDefaultWeights(tmp, manifest?.seed ?? DEFAULT_SEED);
    if (manifest !== null) {
      const bad = Object.keys(manifest.files).filter((f) => files[f] !== manifest.files[f]);
      if (bad.length) log(`warning: generated default weights differ from weights/manifest.json in ${bad.join(', ')} (platform-dependent maths?)`);
    }
    for (const [sub, dst] of [['llava-next', llavaDir], ['clip', clipDir]] as const) {
      fs.rmSync(dst, { recursive: true, force: true });
      fs.renameSync(path.join(tmp, sub), dst);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { llavaDir, clipDir, generated: true };
}

/** `npm run weights [-- --write-manifest]`: regenerate, print sizes and time, optionally pin the hashes. */
function main(argv: string[]): void {
  const t0 = Date.now();
  fs.rmSync(DEFAULT_WEIGHTS_ROOT, { recursive: true, force: true });
  const files = generateDefaultWeights(DEFAULT_WEIGHTS_ROOT);
  const ms = Date.now() - t0;
  let total = 0;
  for (const f of Object.keys(files)) {
    const size = fs.statSync(path.join(DEFAULT_WEIGHTS_ROOT, f)).size;
    total += size;
    process.stdout.write(`${(size / 1e6).toFixed(2).padStart(8)} MB  ${f}\n`);
  }
  process.stdout.write(`${(total / 1e6).toFixed(2).padStart(8)} MB  total, generated in ${(ms / 1000).toFixed(2)} s\n`);
  if (argv.includes('--write-manifest')) {
    fs.writeFileSync(DEFAULT_MANIFEST, json({ seed: DEFAULT_SEED, generator: 'src/weights/default_model.ts', files }));
    process.stdout.write(`wrote ${DEFAULT_MANIFEST}\n`);
  } else {
    const m = readManifest();
    const bad = m ? Object.keys(m.files).filter((f) => files[f] !== m.files[f]) : [];
    process.stdout.write(m === null ? 'no weights/manifest.json\n' : bad.length ? `MISMATCH with weights/manifest.json: ${bad.join(', ')}\n` : 'matches weights/manifest.json\n');
  }
}

if (require.main === module) main(process.argv.slice(2));
