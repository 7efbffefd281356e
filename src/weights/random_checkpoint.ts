/**
 * Real-shaped random checkpoints (`hero-lvlm random-weights`): a preset's HF directory (config and
 * processor JSON as the hub has them, tokenizer files, `model.safetensors` or ≤ 5 GB shards with
 * `model.safetensors.index.json`) filled with random weights drawn exactly as the embedded default model's
 * (writing.ts initFor + init.ts drawInit, one stream per tensor), in f32, f16 or bf16.
 *
 * Streams: each shard's header is written first (every offset is known from the shapes), then the tensors
 * one at a time, so memory holds one tensor, never the model (a 7B f16 checkpoint is 14 GB). The output is
 * whole or absent: everything goes to `<out>.partial`, renamed to `<out>` at the end, removed on failure.
 *
 * @choice The tokenizer files are the default model's (tokenizers.ts: Llama-2's vocabulary for LLaVA, a
 * generated BPE for CLIP), not the hub's; the weights are random, so text through them is noise anyway.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { DTYPE_BYTES, encodeFloats, safetensorsHeader } from '../io/safetensors';
import type { KeySpec } from '../io/checkpoint';
import { clipModelConfig } from '../clip/config';
import { clipModelKeys } from '../clip/load';
import { llavaNextConfig } from '../llava/config';
import { llavaNextKeys } from '../llava/load';
import { drawInit } from './init';
import { PINPOINTS } from './geometry';
import { clipPreprocessorJson, llavaPreprocessorJson, llavaProcessorJson } from './hf_files';
import { makeDirs, probeNewDir } from '../io/out';
import { RANDOM_WEIGHTS_KEY } from '../io/random_mark';
import { clipTokenizerConfigJson, clipTokenizerJson, llamaTokenizerConfigJson, llamaTokenizerJson } from './tokenizers';
import { initFor, json } from './writing';
import { llava15Config7b, llava15PreprocessorJson, llava15ProcessorJson } from './llava15_files';

export type WeightDType = 'f32' | 'f16' | 'bf16';
export const WEIGHT_DTYPES: readonly WeightDType[] = ['f32', 'f16', 'bf16'];
const SAFETENSORS_DTYPE = { f32: 'F32', f16: 'F16', bf16: 'BF16' } as const;
const TORCH_DTYPE = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' } as const;

/** HF's default `max_shard_size="5GB"` (10^9 bytes per GB), counted over tensor data as HF does. */
export const MAX_SHARD_BYTES = 5_000_000_000;

interface Preset {
  readonly kind: 'llava-next' | 'llava-1.5' | 'clip';
  /** config.json without torch_dtype (set to the dtype written). */
  readonly config: () => Record<string, unknown>;
}

/** llava-hf's text_config for a Vicuna-v1.5 decoder: the hub's values (Llama defaults fill the rest). */
function vicunaTextConfig(size: '7b' | '13b'): Record<string, unknown> {
  const wide = size === '13b' ? { hidden_size: 5120, intermediate_size: 13824, num_attention_heads: 40, num_hidden_layers: 40, num_key_value_heads: 40 } : {};
  return {
    _name_or_path: `lmsys/vicuna-${size}-v1.5`,
    architectures: ['LlamaForCausalLM'],
    ...wide,
    max_position_embeddings: 4096,
    model_type: 'llama',
    pad_token_id: 0,
    rms_norm_eps: 1e-5,
    torch_dtype: 'float16',
    vocab_size: 32064,
  };
}

/** llava-hf/llava-v1.6-vicuna-{7b,13b}-hf config.json: the hub's values (vocab 32064, `<image>` = 32000). */
function llavaV16Config(size: '7b' | '13b'): Record<string, unknown> {
  return {
    architectures: ['LlavaNextForConditionalGeneration'],
    ignore_index: -100,
    image_grid_pinpoints: PINPOINTS,
    image_token_index: 32000,
    model_type: 'llava_next',
    projector_hidden_act: 'gelu',
    text_config: vicunaTextConfig(size),
    tie_word_embeddings: false,
    transformers_version: '4.39.0.dev0',
    use_image_newline_parameter: true,
    vision_config: {
      hidden_size: 1024, image_size: 336, intermediate_size: 4096, model_type: 'clip_vision_model',
      num_attention_heads: 16, num_hidden_layers: 24, patch_size: 14, projection_dim: 768, vocab_size: 32000,
    },
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    vocab_size: 32064,
  };
}

/** openai/clip-vit-large-patch14-336 config.json: the hub's values (including its text bos/eos 0/2). */
function clipL336Config(): Record<string, unknown> {
  return {
    _name_or_path: 'openai/clip-vit-large-patch14-336',
    architectures: ['CLIPModel'],
    initializer_factor: 1.0,
    logit_scale_init_value: 2.6592,
    model_type: 'clip',
    projection_dim: 768,
    text_config: {
      bos_token_id: 0, dropout: 0.0, eos_token_id: 2, hidden_act: 'quick_gelu', hidden_size: 768, intermediate_size: 3072,
      layer_norm_eps: 1e-5, max_position_embeddings: 77, model_type: 'clip_text_model', num_attention_heads: 12,
      num_hidden_layers: 12, pad_token_id: 1, projection_dim: 768, vocab_size: 49408,
    },
    transformers_version: '4.21.3',
    vision_config: {
      dropout: 0.0, hidden_act: 'quick_gelu', hidden_size: 1024, image_size: 336, intermediate_size: 4096,
      layer_norm_eps: 1e-5, model_type: 'clip_vision_model', num_attention_heads: 16, num_hidden_layers: 24,
      patch_size: 14, projection_dim: 768,
    },
  };
}

/**
 * The geometry of the golden tiny LLaVA-NeXT (spec/fixtures/models/llava-next-tiny), for tests, with room for a
 * real prompt: 1024 positions (the golden's 256 do not hold the vicuna_v1 system line spelled in byte tokens
 * plus a 2×2 grid's 88 visual tokens; RoPE has no weights, so only the limit changes).
 */
function tinyLlavaConfig(): Record<string, unknown> {
  return {
    architectures: ['LlavaNextForConditionalGeneration'],
    ignore_index: -100,
    image_grid_pinpoints: [[56, 112], [112, 56], [112, 112], [168, 56], [56, 168]],
    image_token_index: 1000,
    model_type: 'llava_next',
    projector_hidden_act: 'gelu',
    text_config: {
      head_dim: 16, hidden_size: 64, intermediate_size: 128, max_position_embeddings: 1024, model_type: 'llama',
      num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 4, pad_token_id: 0, rms_norm_eps: 1e-5, vocab_size: 1024,
    },
    tie_word_embeddings: false,
    vision_config: {
      hidden_size: 32, image_size: 56, intermediate_size: 64, model_type: 'clip_vision_model',
      num_attention_heads: 4, num_hidden_layers: 4, patch_size: 14, projection_dim: 16,
    },
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
  };
}

/**
 * The golden tiny LLaVA-1.5's geometry (spec/fixtures/models/llava-1.5-tiny): tiny-llava's towers as a
 * LlavaForConditionalGeneration (one crop: no pinpoints, 16 image tokens), with the golden's 256 positions.
 */
function tinyLlava15Config(): Record<string, unknown> {
  const { image_grid_pinpoints: _pinpoints, ...next } = tinyLlavaConfig();
  return {
    ...next, architectures: ['LlavaForConditionalGeneration'], model_type: 'llava', image_seq_length: 16,
    text_config: { ...(next.text_config as Record<string, unknown>), max_position_embeddings: 256 },
  };
}

/**
 * The geometry of the golden tiny CLIP (spec/fixtures/models/clip-tiny: 56-px crops as tiny-llava's, so HERO's
 * relevance pass can run on the pair), with the hub's legacy text bos/eos 0/2 (HF then pools at the highest id,
 * which is the generated tokenizer's end-of-text).
 */
function tinyClipConfig(): Record<string, unknown> {
  return {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: 16,
    text_config: {
      bos_token_id: 0, eos_token_id: 2, hidden_size: 32, intermediate_size: 64, max_position_embeddings: 77,
      model_type: 'clip_text_model', num_attention_heads: 4, num_hidden_layers: 2, vocab_size: 1000,
    },
    vision_config: {
      hidden_size: 32, image_size: 56, intermediate_size: 64, model_type: 'clip_vision_model',
      num_attention_heads: 4, num_hidden_layers: 4, patch_size: 14,
    },
  };
}

export const PRESETS: Readonly<Record<string, Preset>> = {
  'llava-v1.6-vicuna-7b': { kind: 'llava-next', config: () => llavaV16Config('7b') },
  'llava-v1.6-vicuna-13b': { kind: 'llava-next', config: () => llavaV16Config('13b') },
  'clip-vit-large-patch14-336': { kind: 'clip', config: clipL336Config },
  'llava-1.5-7b': { kind: 'llava-1.5', config: () => llava15Config7b(vicunaTextConfig('7b')) },
  'tiny-llava': { kind: 'llava-next', config: tinyLlavaConfig },
  'tiny-llava-1.5': { kind: 'llava-1.5', config: tinyLlava15Config },
  'tiny-clip': { kind: 'clip', config: tinyClipConfig },
};
export const PRESET_NAMES = Object.keys(PRESETS);

function preset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new HeroError(`--preset: '${name}' is not one of ${PRESET_NAMES.join(', ')}`);
  return p;
}

/** The tensors the loader expects for this config.json (llava/load.ts llavaNextKeys, clip/load.ts clipModelKeys). */
export function presetKeys(kind: Preset['kind'], config: Record<string, unknown>): KeySpec {
  return kind === 'clip' ? clipModelKeys(clipModelConfig(config)) : llavaNextKeys(llavaNextConfig(config)); // llava-next and llava-1.5: llavaNextConfig reads model_type
}

export interface ShardTensor { readonly name: string; readonly shape: readonly number[]; readonly bytes: number }
export interface Shard { readonly file: string; readonly tensors: readonly ShardTensor[]; readonly bytes: number }

/**
 * Splits tensors (in sorted-name order) into shards of at most `maxBytes` of tensor data, greedily, as HF's
 * `shard_checkpoint` does (a tensor larger than `maxBytes` gets a shard of its own). One shard is
 * `model.safetensors`; several are `model-0000i-of-0000N.safetensors`.
 */
export function planShards(keys: KeySpec, bytesPerElement: number, maxBytes: number): Shard[] {
  const groups: ShardTensor[][] = [[]];
  let size = 0;
  for (const name of [...keys.keys()].sort()) {
    const shape = keys.get(name)!;
    const bytes = shape.reduce((a, b) => a * b, 1) * bytesPerElement;
    if (size + bytes > maxBytes && groups[groups.length - 1].length > 0) { groups.push([]); size = 0; }
    groups[groups.length - 1].push({ name, shape, bytes });
    size += bytes;
  }
  const n = groups.length;
  const pad = (i: number): string => String(i).padStart(5, '0');
  return groups.map((tensors, i) => ({
    file: n === 1 ? 'model.safetensors' : `model-${pad(i + 1)}-of-${pad(n)}.safetensors`,
    tensors,
    bytes: tensors.reduce((a, t) => a + t.bytes, 0),
  }));
}

/** model.safetensors.index.json: total_size = the tensor bytes of all shards; weight_map name → shard file. */
export function shardIndexJson(shards: readonly Shard[]): Record<string, unknown> {
  const weightMap: Record<string, string> = {};
  for (const s of shards) for (const t of s.tensors) weightMap[t.name] = s.file;
  const sorted = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
  return { metadata: { total_size: shards.reduce((a, s) => a + s.bytes, 0) }, weight_map: sorted };
}

export const GIB = 2 ** 30;

/** Throws the one-line refusal unless `freeBytes` covers `needed`. */
export function checkRoom(outDir: string, needed: number, freeBytes: number): void {
  if (freeBytes < needed) {
    throw new HeroError(`random-weights: --out ${outDir} needs ${(needed / GIB).toFixed(2)} GiB, ${(freeBytes / GIB).toFixed(2)} GiB free`);
  }
}

/** Free bytes (for an unprivileged user) on the file system that would hold `dir`: its nearest existing ancestor. */
export function freeBytesAt(dir: string): number {
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  const s = fs.statfsSync(d);
  return s.bavail * s.bsize;
}

export interface RandomCheckpointOptions {
  readonly seed: number;
  /** Shard limit on tensor data (default MAX_SHARD_BYTES). */
  readonly maxShardBytes?: number;
  /** Free bytes to assume instead of asking the file system (tests). */
  readonly freeBytes?: number;
  /**
   * Zero weights written as holes (a sparse file: the full size, no disk blocks, seconds): for checks that
   * read only the headers and the configs, e.g. the memory estimate's refusal of a model too large to load.
   */
  readonly sparse?: boolean;
  /**
   * LLaVA presets: keep only the first N decoder layers (text_config.num_hidden_layers = N; the widths, the
   * embedding, lm_head and the vision tower as the preset has them), e.g. the 7B width in two layers.
   */
  readonly layers?: number;
  /**
   * LLaVA-NeXT presets: the vision tower of another LLaVA-NeXT preset (its vision_config and the
   * image_grid_pinpoints that go with its crop size), e.g. tiny-llava's 56-px CLIP under the 7B decoder:
   * a few visual tokens, so the text width can be checked where the full ViT-L would take hours
   * (docs/gpu.md "The 7B shape on WebGPU"). config.json then says so in its random-weights mark.
   */
  readonly visionPreset?: string;
  /** Called after each tensor: tensors and data bytes written so far, of the totals. */
  readonly onProgress?: (tensors: number, totalTensors: number, bytes: number, totalBytes: number) => void;
}

export interface RandomCheckpointResult { readonly files: string[]; readonly tensors: number; readonly bytes: number }

function writeAll(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length;) off += fs.writeSync(fd, b, off, b.length - off);
}

/**
 * The mark every random-weights checkpoint carries: this key in config.json and in each safetensors file's
 * `__metadata__` (io/random_mark.ts reads it), so that `run` says RANDOM WEIGHTS on whatever is made from it.
 */
function randomMark(name: string): string {
  return `RANDOM WEIGHTS written by hero-lvlm random-weights (preset ${name}); outputs are meaningless`;
}

/** The tokenizer and processor files of a preset, derived from its config.json (crop, pinpoints, ids, vocabulary). */
function smallFiles(kind: Preset['kind'], config: Record<string, unknown>): Record<string, string> {
  const v = config.vision_config as Record<string, number>, t = config.text_config as Record<string, number>;
  if (kind === 'llava-next' || kind === 'llava-1.5') {
    const image = config.image_token_index as number;
    return {
      'preprocessor_config.json': json(kind === 'llava-1.5' ? llava15PreprocessorJson(v.image_size) : llavaPreprocessorJson(v.image_size, config.image_grid_pinpoints as number[][])),
      'processor_config.json': json(kind === 'llava-1.5' ? llava15ProcessorJson(v.patch_size) : llavaProcessorJson(v.patch_size)),
      'generation_config.json': json({ _from_model_config: true, bos_token_id: 1, eos_token_id: 2, pad_token_id: t.pad_token_id ?? 0, transformers_version: '4.39.0.dev0' }),
      // Llama-2's tokens below `<image>`, then `<image>` and `<pad>` (32000, 32001 for the hub's models): every id < vocab_size
      'tokenizer.json': json(llamaTokenizerJson({ unk: 0, bos: 1, eos: 2, image, pad: image + 1 })),
      'tokenizer_config.json': json(llamaTokenizerConfigJson(t.max_position_embeddings)),
    };
  }
  // The generated CLIP BPE has 514 + merges tokens; a smaller text vocabulary (tiny-clip: 600) gets fewer merges.
  const maxMerges = Math.min(2000, t.vocab_size - 514);
  return {
    'preprocessor_config.json': json(clipPreprocessorJson(v.image_size)),
    'tokenizer.json': json(clipTokenizerJson(maxMerges).json),
    'tokenizer_config.json': json(clipTokenizerConfigJson(t.max_position_embeddings)),
  };
}

/**
 * Writes preset `name` in `dtype` to `outDir` (which must not exist), whole or not at all: a generator that
 * yields after each tensor (so an async caller can stop it between tensors: writeRandomCheckpointAsync), and
 * removes `<out>.partial` when it ends without renaming it, thrown at or stopped (`return()`).
 */
function* writeSteps(outDir: string, name: string, dtype: WeightDType, opts: RandomCheckpointOptions): Generator<void, RandomCheckpointResult> {
  const p = preset(name);
  if (!WEIGHT_DTYPES.includes(dtype)) throw new HeroError(`--dtype: '${String(dtype)}' is not one of ${WEIGHT_DTYPES.join(', ')}`);
  if (!(Number.isInteger(opts.seed) && opts.seed >= 0 && opts.seed < 2 ** 32)) throw new HeroError(`--seed: ${opts.seed} is not an integer in [0, 2^32)`);
  probeNewDir(outDir); // '' , existing, under a file, read-only, a pseudo file system: one line, before anything is written
  const mark = randomMark(name);
  const config: Record<string, unknown> = { ...p.config(), torch_dtype: TORCH_DTYPE[dtype], [RANDOM_WEIGHTS_KEY]: mark };  // the dtype actually stored (the hub says float16)
  if (opts.layers !== undefined) {
    if (p.kind !== 'llava-next') throw new HeroError(`--layers: applies to the LLaVA presets only, not ${name}`);
    const all = llavaNextConfig(config).text_config.num_hidden_layers;
    if (!(Number.isInteger(opts.layers) && opts.layers >= 1 && opts.layers <= all)) throw new HeroError(`--layers: expected an integer from 1 to ${all} (${name}'s decoder layers), got ${opts.layers}`);
    config.text_config = { ...(config.text_config as Record<string, unknown>), num_hidden_layers: opts.layers };
  }
  if (opts.visionPreset !== undefined) {
    const v = PRESETS[opts.visionPreset];
    if (p.kind !== 'llava-next') throw new HeroError(`--vision-preset: applies to the LLaVA-NeXT presets only, not ${name}`);
    if (!v || v.kind !== 'llava-next') {
      throw new HeroError(`--vision-preset: '${opts.visionPreset}' is not one of ${PRESET_NAMES.filter((n) => PRESETS[n].kind === 'llava-next').join(', ')}`);
    }
    // The tower and the grid it tiles with (pinpoints are multiples of its crop size); the text side stays the preset's.
    const vc = v.config();
    config.vision_config = vc.vision_config;
    config.image_grid_pinpoints = vc.image_grid_pinpoints;
    config[RANDOM_WEIGHTS_KEY] = `${mark}; vision tower and image_grid_pinpoints of preset ${opts.visionPreset}`;
  }
  const keys = presetKeys(p.kind, config);
  const st = SAFETENSORS_DTYPE[dtype];
  const shards = planShards(keys, DTYPE_BYTES[st], opts.maxShardBytes ?? MAX_SHARD_BYTES);
  const metadata = { format: 'pt', [RANDOM_WEIGHTS_KEY]: `${config[RANDOM_WEIGHTS_KEY] as string}, seed ${opts.seed}` };
  const heads = shards.map((s) => safetensorsHeader(s.tensors.map((t) => ({ name: t.name, dtype: st, shape: t.shape, bytes: t.bytes })), metadata));

  // Every small file's text, known before anything is written (so the room check counts them).
  const small: Record<string, string> = { 'config.json': json(config), ...smallFiles(p.kind, config) };
  if (shards.length > 1) small['model.safetensors.index.json'] = json(shardIndexJson(shards));

  const dataBytes = shards.reduce((a, s) => a + s.bytes, 0);
  const needed = dataBytes + heads.reduce((a, h) => a + h.length, 0) + Object.values(small).reduce((a, t) => a + Buffer.byteLength(t), 0);
  if (!opts.sparse) checkRoom(outDir, needed, opts.freeBytes ?? freeBytesAt(outDir));

  const partial = `${outDir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });  // a stale one from an interrupted run
  makeDirs(path.dirname(path.resolve(partial)));
  fs.mkdirSync(partial);
  let renamed = false;
  try {
    for (const [file, text] of Object.entries(small)) fs.writeFileSync(path.join(partial, file), text);
    let done = 0, written = 0;
    for (const [i, s] of shards.entries()) {
      const fd = fs.openSync(path.join(partial, s.file), 'w');
      try {
        writeAll(fd, heads[i]);
        if (opts.sparse) {
          fs.ftruncateSync(fd, heads[i].length + s.bytes); // zeros, as holes
          written += s.bytes;
          done += s.tensors.length;
          opts.onProgress?.(done, keys.size, written, dataBytes);
          yield;
          continue;
        }
        for (const t of s.tensors) {
          const values = drawInit(initFor(t.name, t.shape), t.bytes / DTYPE_BYTES[st], opts.seed, `${p.kind}/${t.name}`);
          writeAll(fd, encodeFloats(values, st));
          written += t.bytes;
          opts.onProgress?.(++done, keys.size, written, dataBytes);
          yield;
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.renameSync(partial, outDir);
    renamed = true;
  } finally {
    if (!renamed) fs.rmSync(partial, { recursive: true, force: true });
  }
  return { files: [...Object.keys(small), ...shards.map((s) => s.file)].sort(), tensors: keys.size, bytes: needed };
}

/** Writes preset `name` in `dtype` to `outDir` (which must not exist), whole or not at all. */
export function writeRandomCheckpoint(outDir: string, name: string, dtype: WeightDType, opts: RandomCheckpointOptions): RandomCheckpointResult {
  const steps = writeSteps(outDir, name, dtype, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * writeRandomCheckpoint, giving the event loop a turn after each tensor, so that a signal handler can run:
 * once `stop()` returns a reason, the writing stops, `<out>.partial` is removed, and a HeroError says so
 * (exit code `reason.exitCode`).
 */
export async function writeRandomCheckpointAsync(outDir: string, name: string, dtype: WeightDType, opts: RandomCheckpointOptions,
  stop: () => { why: string; exitCode: number } | undefined): Promise<RandomCheckpointResult> {
  const steps = writeSteps(outDir, name, dtype, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
    const s = stop();
    if (s) {
      steps.return(undefined as never); // runs the generator's finally: removes <out>.partial
      const partial = `${outDir}.partial`;
      const left = fs.existsSync(partial) ? `; could not remove ${partial}, delete it by hand` : `; removed ${partial}`;
      throw new HeroError(`random-weights: ${s.why}${left}`, s.exitCode);
    }
  }
}
