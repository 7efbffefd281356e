/**
 * The decoder with a hook between its layers: what FastV (./fastv.ts) and SparseVLM (./sparsevlm.ts) need
 * and plain Llama (llama/decoder.ts llamaForward) does not. After some layers a method rewrites the rows
 * (drops or merges them, reassigns their position ids); the layers in between run as llamaForward runs
 * them, each with RoPE tables and a causal mask built from the rows' own position ids. The KV cache of a
 * layer holds the rows that layer processed, so layers after an edit cache fewer (or merged) rows, and a
 * later chunk (a decode step) continues each layer's own numbering: HookKvCache keeps that per layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { assertShape } from '../core/shape';
import { runLayersWithTaps, tidyAsync } from '../core/scope';
import { useWeights } from '../core/weights';
import { rmsNorm } from '../nn/norm';
import { positionMask } from '../nn/attention';
import { linear } from '../nn/kernels';
import { ropeTablesAt } from '../nn/rope';
import type { LlamaConfig } from '../llama/config';
import { checkSequenceLength, decoderLayer, type DecoderOutput, type DecoderTaps, type LlamaParams } from '../llama/decoder';
import type { Decoder } from '../llama/generate';
import { KvCache } from '../llama/kv_cache';

/** The rows a DecoderHook hands on to the next layer. */
export interface RowEdit {
  /** [T', D] */
  readonly h: tf.Tensor2D;
  /** position id of each row (RoPE and the causal mask follow them) */
  readonly positions: readonly number[];
  /**
   * The position id a later chunk (a decode step) starts at in the layers after this edit. Default: the
   * chunk's own numbering goes on (past + T), as when kept rows keep their ids (a row-dropping method); a method that renumbers
   * the rows 0..T'−1 (a merging method) continues at T'.
   */
  readonly nextPosition?: number;
}

/**
 * A method that rewrites the sequence inside the decoder during one forward call: after each layer of
 * `layers` (ascending) `after` gets that layer's output rows [T, D], its attention probabilities [H, T, Tk]
 * and the rows' position ids, and returns the rows the next layer processes. `after` is async: a method
 * reads its decision to the host with `await t.data()` (never dataSync, docs/gpu.md "Synchronous reads").
 */
export interface DecoderHook {
  readonly layers: readonly number[];
  readonly after: (layer: number, h: tf.Tensor2D, probs: tf.Tensor3D, positions: readonly number[]) => Promise<RowEdit>;
}

/**
 * A KV cache (any: llama/kv_cache.ts KvCache, or an acceleration's such as accel/kv_host.ts HostKvCache)
 * with what a hook's renumbering needs per layer: the position ids of the cached keys, and the position id
 * the next chunk starts at. Owns `kv` (dispose frees it).
 */
export class HookKvCache {
  private readonly pos: number[][];
  private readonly next: number[];

  constructor(readonly kv: KvCache) {
    this.pos = Array.from({ length: kv.numLayers }, () => []);
    this.next = new Array(kv.numLayers).fill(0);
  }

  /** Positions fed so far (Tc), whatever the layers kept. */
  get length(): number { return this.kv.length; }

  /** Position ids of the keys cached at a layer. */
  positions(layer: number): readonly number[] { return this.pos[layer]; }

  /**
   * The position id a new chunk starts at in a layer: the number of positions fed so far, or, after a
   * decoder hook renumbered the rows, the layer's own count of cached keys.
   */
  nextPosition(layer: number): number { return this.next[layer]; }

  /** Records that a layer cached keys at `positions` (after the layer appended them to `kv`). */
  record(layer: number, positions: readonly number[]): void { this.pos[layer].push(...positions); }

  /** Marks the end of a forward call of `T` new positions; `next` gives each layer's next position id. */
  advance(T: number, next: readonly number[]): void {
    this.kv.advance(T);
    for (let l = 0; l < this.kv.numLayers; l++) this.next[l] = next[l];
  }

  dispose(): void {
    this.kv.dispose();
    this.pos.forEach((p) => { p.length = 0; });
    this.next.fill(0);
  }
}

/**
 * llamaForward with a hook: the layers run in spans between the hook's layers; after each of those the
 * hook rewrites the rows. Each layer numbers the chunk after its own cached positions (cache.nextPosition)
 * until an edit sets the positions. Without a hook it is llamaForward on a HookKvCache (a decode step after
 * a hooked prefill).                                                               @eq Llama-3
 * @param inputsEmbeds [T, D]
 * @param opts.hook rewrites rows after some of the layers (a pruning method's decoder side)
 * @returns logits [T', V] for the rows that survive ([1, V] with lastOnly) and their position ids
 * Async because a hook reads the host between layers (tidyAsync owns the memory, as tf.tidy would).
 */
export async function hookedForward(p: LlamaParams, inputsEmbeds: tf.Tensor2D, cfg: LlamaConfig,
  opts: { cache?: HookKvCache; taps?: DecoderTaps; lastOnly?: boolean; hook?: DecoderHook; onLayer?: (done: number, total: number) => void } = {}): Promise<DecoderOutput & { positions: number[] }> {
  const T = inputsEmbeds.shape[0];
  const L = cfg.num_hidden_layers;
  assertShape(inputsEmbeds, ['T', 'D'], [-1, cfg.hidden_size], 'llamaForward: inputs_embeds');
  const past = opts.cache?.length ?? 0;
  checkSequenceLength(past + T, cfg);
  const taps = opts.taps ?? {};
  const hook = opts.hook;
  const hookLayers = hook?.layers ?? [];
  if (hookLayers.some((l, i) => !Number.isInteger(l) || l < 0 || l >= L || (i > 0 && l <= hookLayers[i - 1]))) {
    throw new HeroError(`decoder hook layers ${hookLayers.join(',')} are not ascending within 0..${L - 1}`);
  }
  const wantAttn = (l: number): boolean => taps.attentions === true || (Array.isArray(taps.attentions) && taps.attentions.includes(l));
  return tidyAsync(async () => {
    // Position ids per layer: the chunk continues each layer's numbering until a hook edit sets them.
    const start = (l: number): number => opts.cache?.nextPosition(l) ?? past;
    let edit: { positions: readonly number[]; nextPosition?: number; gen: number } | undefined;
    const positionsAt = (l: number): readonly number[] => edit?.positions ?? Array.from({ length: T }, (_, t) => start(l) + t);
    // RoPE tables and the causal mask (by position ids) per distinct frame; layers with the same rows and
    // the same cached keys share one.
    const frames = new Map<string, { rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }; mask: tf.Tensor2D }>();
    const frameFor = (l: number, positions: readonly number[]): { rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }; mask: tf.Tensor2D } => {
      const cached = opts.cache?.positions(l) ?? [];
      const key = `${edit?.gen ?? 0}:${positions[0]}:${cached.length}:${cached[cached.length - 1] ?? -1}`;
      let f = frames.get(key);
      if (!f) {
        f = { rope: ropeTablesAt(positions, cfg.head_dim, cfg.rope_theta), mask: positionMask(positions, [...cached, ...positions]) }; // [T, Dh], [T, Tc+T]
        frames.set(key, f);
      }
      return f;
    };
    const hidden: tf.Tensor2D[] = [];
    const attentions: (tf.Tensor3D | undefined)[] = [];
    const span = (from: number, to: number, x: tf.Tensor2D): tf.Tensor2D => {
      // Frames are built here, in the outer scope: a per-layer tidy would free a shared one.
      const spanFrames = Array.from({ length: to - from }, (_, j) => { const pos = positionsAt(from + j); return { pos, ...frameFor(from + j, pos) }; });
      const run = runLayersWithTaps(x, to - from, (j, h) => {
        const i = from + j, f = spanFrames[j];
        const cache = opts.cache ? { cache: opts.cache.kv, layer: i } : undefined;
        const keep = wantAttn(i) || hookLayers.includes(i);
        const { y, probs } = useWeights(p.model.layers[i], (w) => decoderLayer(w, h, cfg, f.rope, f.mask, cache, keep));
        opts.cache?.record(i, f.pos);
        opts.onLayer?.(i + 1, L);
        return { h: y, tap: keep ? probs : undefined };
      }, taps.hiddenStates === true);
      hidden.push(...run.hidden);
      attentions.push(...run.taps);
      return run.h;
    };
    const nextAt: number[] = []; // per layer, where a later chunk continues its numbering
    let h = inputsEmbeds;
    let from = 0;
    const runTo = (to: number): void => {
      if (to <= from) return;
      h = span(from, to, h);
      for (let i = from; i < to; i++) nextAt[i] = edit?.nextPosition ?? start(i) + T;
      from = to;
    };
    for (const [n, l] of hookLayers.entries()) {
      runTo(l + 1);
      const out = await hook!.after(l, h, attentions[l]!, positionsAt(l));
      if (out.h !== h && !hidden.includes(h)) h.dispose();
      h = out.h;
      edit = { positions: out.positions, nextPosition: out.nextPosition, gen: n + 1 };
      if (!wantAttn(l)) { attentions[l]?.dispose(); attentions[l] = undefined; }
    }
    runTo(L);
    const positions = [...positionsAt(L - 1)]; // before the cache advances: this chunk's ids, not the next one's
    opts.cache?.advance(T, nextAt);
    const Tout = h.shape[0];
    const last = opts.lastOnly ? tf.slice(h, [Tout - 1, 0], [1, -1]) as tf.Tensor2D : h; // [T'|1, D]
    const normed = rmsNorm(p.model.norm, last, cfg.rms_norm_eps);
    const logits = useWeights(p.lm_head, (w) => linear(w, normed));                   // [T', V]
    return {
      logits,
      hiddenStates: taps.hiddenStates ? [inputsEmbeds, ...hidden.slice(0, -1), normed].map((t) => tf.clone(t)) : undefined,
      attentions: taps.attentions ? attentions.map((a, l) => (wantAttn(l) ? a : undefined)) : undefined,
      positions,
    };
  });
}

/**
 * The decoder of a prefill with a hook (prefill, greedyDecode in llama/generate.ts): the hook rewrites the
 * rows of the first forward call into a fresh cache (the prefill); later calls (decode steps) continue each
 * layer's own numbering.
 * @param newKvCache the KV cache underneath (the runtime's, e.g. HostKvCache for streamed weights); default KvCache
 */
export function hookedDecoder(hook: DecoderHook, newKvCache: (numLayers: number) => KvCache = (n) => new KvCache(n)): Decoder<HookKvCache> {
  return {
    newCache: (numLayers) => new HookKvCache(newKvCache(numLayers)),
    forward: (p, x, cfg, opts) => hookedForward(p, x, cfg, { ...opts, hook: opts.cache.length === 0 ? hook : undefined }),
  };
}
