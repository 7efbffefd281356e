/**
 * How many worker threads the vision tower and the decoder get when the command line does not say
 * (--vision-workers / --decoder-workers): one per core where the model's work per crop / per token is large
 * enough to pay for the pools, in-process otherwise. A worker costs a fixed price — its own tfjs instance
 * (≈ 0.3–1 s to start), the resident weights copied into it, a message round per layer and step — that a
 * tiny model never earns back; a ViT-L/14-336 crop (≈ 380 GFLOP) or a Vicuna-7B token (≈ 13 GFLOP) earn it
 * many times over (docs/memory.md "Worker threads by default" has the measurement behind the thresholds).
 * An explicit count always wins. Pure: the caller passes the configs and the core count.
 */
import { clipSequenceLength, type ClipVisionConfig } from '../clip/config';
import type { LlamaConfig } from '../llama/config';
import type { LlavaNextConfig } from '../llava/config';

/**
 * The vision tower goes to worker threads by default from this much work per crop: the tiny golden tower does
 * ≈ 0.002 GFLOP, ViT-L/14-336 ≈ 380 (docs/memory.md "Worker threads by default"); a 1 GFLOP crop takes
 * ≈ 0.1 s on one core at tfjs-wasm's ≈ 10 GFLOP/s, the order of a pool's start-up.
 */
export const VISION_WORKERS_MIN_GFLOP_PER_CROP = 1;

/**
 * The decoder goes to worker threads by default from this much work per generated token (every layer's
 * products and the lm_head): the tiny golden decoder does ≈ 0.0003 GFLOP, Vicuna-7B ≈ 13, its width in
 * 2 layers ≈ 1.1; below ≈ 0.1 GFLOP a decode step takes milliseconds, the order of the pool's message
 * round per layer.
 */
export const DECODER_WORKERS_MIN_GFLOP_PER_TOKEN = 0.1;

/** The products of one ViT encoder pass over one crop (CLS + patches), FLOPs (2 per multiply-add). */
export function visionFlopsPerCrop(v: ClipVisionConfig): number {
  const N = clipSequenceLength(v), D = v.hidden_size, F = v.intermediate_size;
  const perLayer = 2 * N * (4 * D * D + 2 * D * F) + 2 * 2 * N * N * D; // q, k, v, o and fc1, fc2; QKᵀ and PV
  return v.num_hidden_layers * perLayer + 2 * (N - 1) * D * v.num_channels * v.patch_size ** 2; // + the patch embedding (not of CLS)
}

/** The products of one decode step (one new token; attention over the cache not counted), FLOPs. */
export function decoderFlopsPerToken(t: LlamaConfig): number {
  const D = t.hidden_size, q = t.num_attention_heads * t.head_dim, kv = t.num_key_value_heads * t.head_dim;
  const perLayer = 2 * (D * q + 2 * D * kv + q * D + 3 * D * t.intermediate_size);
  return t.num_hidden_layers * perLayer + 2 * D * t.vocab_size; // + the lm_head
}

/** One default: the count and the reason printed beside it. */
export interface WorkerDefault {
  readonly count: number;
  /** e.g. 'default for this model on 2 cores: 382 GFLOP per crop' */
  readonly why: string;
}

const gflop = (f: number): string => {
  const g = f / 1e9;
  return g >= 10 ? g.toFixed(0) : g >= 0.1 ? g.toFixed(2) : g.toPrecision(2);
};

/** The largest count ≤ cores that splits the decoder exactly (heads, kv heads and MLP width divisible: accel/decoder_pool.ts checkSplit). */
function decoderSplitAtMost(t: LlamaConfig, cores: number): number {
  for (let n = Math.max(1, Math.floor(cores)); n > 1; n--) {
    if (t.num_attention_heads % n === 0 && t.num_key_value_heads % n === 0 && t.intermediate_size % n === 0) return n;
  }
  return 1;
}

/**
 * The default counts for `config` on `cores` cores (os.availableParallelism()): one per core when the work
 * is above the thresholds (for the decoder: the most ≤ cores that split it exactly), 1 = in-process
 * otherwise, each with its reason.
 */
export function defaultWorkers(config: LlavaNextConfig, cores: number): { vision: WorkerDefault; decoder: WorkerDefault } {
  const cpus = `${cores} core${cores === 1 ? '' : 's'}`;
  const perCrop = visionFlopsPerCrop(config.vision_config), perToken = decoderFlopsPerToken(config.text_config);
  const cropText = `${gflop(perCrop)} GFLOP per crop`, tokenText = `${gflop(perToken)} GFLOP per token`;
  const vision: WorkerDefault = perCrop / 1e9 < VISION_WORKERS_MIN_GFLOP_PER_CROP
    ? { count: 1, why: `default for this model: ${cropText}, below the ${VISION_WORKERS_MIN_GFLOP_PER_CROP} GFLOP that pays for worker threads` }
    : cores <= 1 ? { count: 1, why: `default on 1 core (${cropText})` }
      : { count: Math.floor(cores), why: `default for this model on ${cpus}: ${cropText}` };
  const split = decoderSplitAtMost(config.text_config, cores);
  const decoder: WorkerDefault = perToken / 1e9 < DECODER_WORKERS_MIN_GFLOP_PER_TOKEN
    ? { count: 1, why: `default for this model: ${tokenText}, below the ${DECODER_WORKERS_MIN_GFLOP_PER_TOKEN} GFLOP that pays for worker threads` }
    : cores <= 1 ? { count: 1, why: `default on 1 core (${tokenText})` }
      : split === 1 ? { count: 1, why: `default: no count from 2 to ${Math.floor(cores)} splits this decoder's heads and MLP evenly (${tokenText})` }
        : { count: split, why: `default for this model on ${cpus}: ${tokenText}` };
  return { vision, decoder };
}
