/**
 * `hero-lvlm flops`: prefill FLOPs (HERO-7/8) and KV-cache size (HERO-KV) of a decoder for a token count.
 * Pure arithmetic: no tfjs, no weights.
 */
import { HeroError } from '../core/errors';
import { readJsonObject } from '../io/json';
import { helpText, parseFlags, type FlagSpecs } from './args';
import type { Command } from './main';
import { keptVisualTokens, kvCacheBytes, layerwiseKvCacheBytes, layerwisePrefillFlops, prefillFlops, MIB, type DecoderDims, type FlopsOptions } from '../flops/flops';
import { checkSparseVlmLayers, sparseVlmSchedule, sparseVlmTargetCount } from '../baselines/sparsevlm_budget';
import { dimsFromConfig, presetDims, DEFAULT_KV_BYTES, PRESET_NAMES } from '../flops/presets';

const FLAGS: FlagSpecs = {
  preset: { type: 'string', arg: 'NAME', help: `decoder dims: ${PRESET_NAMES.join(' | ')} (default vicuna-7b unless --config)` },
  config: { type: 'string', arg: 'FILE', help: 'decoder dims from a LLaVA-NeXT or Llama config.json instead of --preset' },
  tokens: { type: 'int', arg: 'N', help: 'total prompt tokens n (visual + text)' },
  'visual-tokens': { type: 'int', arg: 'V', help: 'visual tokens n_v before dropping (with --text-tokens)' },
  'text-tokens': { type: 'int', arg: 'T', help: 'text tokens n_t (with --visual-tokens)' },
  ratio: { type: 'number', arg: 'R', help: 'retention ratio r in (0, 1]: HERO keeps ⌊r·n_v⌋ visual tokens (default 1); SparseVLM averages r·n_v over the layers (default 0.5)' },
  method: { type: 'string', arg: 'hero|sparsevlm', default: 'hero', help: 'hero: the visual tokens are dropped before the LLM; sparsevlm: the sequence shrinks inside the decoder' },
  'sparsevlm-layers': { type: 'intList', arg: 'L,…', help: 'SparseVLM pruning layers (default 2,6,15,19; 0-based)' },
  attention: { type: 'string', arg: 'full|causal', default: 'full', help: 'count QKᵀ and P·V over all n² pairs (as the paper) or the n(n+1)/2 causal ones' },
  'lm-head': { type: 'string', arg: 'none|last|all', default: 'none', help: 'also count the lm_head for no, the last, or every position' },
  'kv-bytes': { type: 'int', arg: 'B', default: DEFAULT_KV_BYTES, help: 'bytes per KV-cache element (2 = fp16)' },
  json: { type: 'boolean', help: 'print one JSON object (keys tokens, prefill_tflops, kv_cache_mib, …)' },
};

const USAGE = 'usage: hero-lvlm flops [--preset NAME | --config FILE] (--tokens N | --visual-tokens V --text-tokens T [--ratio R] [--method hero|sparsevlm]) [--json]';
const DESCRIPTION =
  'Prefill FLOPs of the LLM decoder (HERO-7; with --ratio, HERO-8: n_v → ⌊r·n_v⌋) and the KV cache it\n' +
  'leaves (HERO-KV). One multiply-add = 2 FLOPs; projections, attention products and the 3-matrix SwiGLU\n' +
  'MLP are counted; norms, RoPE and softmax are not (see docs/flops.md). MiB = 2^20 bytes.\n' +
  'With --method sparsevlm, layer l processes n_l tokens of SparseVLM\'s schedule (its visual tokens average\n' +
  'r·n_v over the layers) and caches them (SparseVLM-5).';

function tokenCount(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = v as number;
  if (n < 0) throw new HeroError(`--${flag}: must be a non-negative integer (got ${n})`);
  return n;
}

function pickDims(flags: Record<string, unknown>): { name: string; dims: DecoderDims } {
  const kvBytes = flags['kv-bytes'] as number;
  if (kvBytes <= 0) throw new HeroError(`--kv-bytes: must be a positive integer (got ${kvBytes})`);
  if (flags.config !== undefined) {
    if (flags.preset !== undefined) throw new HeroError('--config: give either --preset or --config, not both');
    const file = flags.config as string;
    return { name: file, dims: dimsFromConfig(readJsonObject(file, 'config.json'), file, kvBytes) };
  }
  const name = (flags.preset as string | undefined) ?? 'vicuna-7b';
  return { name, dims: { ...presetDims(name, '--preset'), bytesPerElement: kvBytes } };
}

function oneOf<T extends string>(v: unknown, flag: string, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new HeroError(`--${flag}: '${String(v)}' is not one of ${allowed.join(', ')}`);
  return v as T;
}

/** SparseVLM: the per-layer token counts of its schedule, summed layer by layer. */
function sparseVlmFlops(flags: Record<string, unknown>, name: string, dims: DecoderDims, opts: FlopsOptions,
  visual: number | undefined, text: number | undefined): number {
  if (visual === undefined || text === undefined) throw new HeroError('--method: sparsevlm needs --visual-tokens and --text-tokens');
  if (visual < 1) throw new HeroError('--visual-tokens: sparsevlm needs at least one visual token');
  const ratio = (flags.ratio as number | undefined) ?? 0.5;
  const layers = (flags['sparsevlm-layers'] as number[] | undefined) ?? [2, 6, 15, 19];
  checkSparseVlmLayers(layers, dims.layers);
  const k = sparseVlmTargetCount(visual, ratio, layers, dims.layers);
  const sched = sparseVlmSchedule(visual, k, layers, dims.layers);
  const perLayer = sched.entering.map((v) => v + text);
  const flops = layerwisePrefillFlops(perLayer, dims, opts), kv = layerwiseKvCacheBytes(perLayer, dims);
  const mean = sched.after.reduce((a, b) => a + b, 0) / dims.layers;
  const out = {
    preset: name, method: 'sparsevlm', visual_tokens: visual, ratio, text_tokens: text, sparsevlm_layers: layers.join(','), sparsevlm_kept: k,
    visual_tokens_mean: mean, tokens: visual + text, tokens_per_layer: perLayer,
    prefill_flops: flops, prefill_tflops: flops / 1e12, kv_cache_bytes: kv, kv_cache_mib: kv / MIB, attention: opts.attention as string, lm_head: opts.lmHead as string,
  };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return 0;
  }
  const shown: Array<[string, string]> = [['preset', name], ['method', 'sparsevlm'], ['visual_tokens', String(visual)], ['ratio', String(ratio)],
    ['text_tokens', String(text)], ['sparsevlm_layers', out.sparsevlm_layers], ['sparsevlm_kept', String(k)], ['visual_tokens_mean', mean.toFixed(2)],
    ['tokens_per_layer', perLayer.join(',')], ['prefill_tflops', (flops / 1e12).toFixed(2)], ['kv_cache_mib', (kv / MIB).toFixed(1)],
    ['attention', opts.attention as string], ['lm_head', opts.lmHead as string]];
  const w = Math.max(...shown.map(([kk]) => kk.length));
  process.stdout.write(shown.map(([kk, v]) => `${kk.padEnd(w)}  ${v}`).join('\n') + '\n');
  return 0;
}

export const command: Command = {
  name: 'flops',
  summary: 'prefill FLOPs and KV-cache size of a decoder for a token count (HERO-7/8)',
  async main(argv: string[]): Promise<number> {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
      return 0;
    }
    const flags = parseFlags(argv, FLAGS, 'hero-lvlm flops');
    const { name, dims } = pickDims(flags);
    const opts: FlopsOptions = {
      attention: oneOf(flags.attention, 'attention', ['full', 'causal'] as const),
      lmHead: oneOf(flags['lm-head'], 'lm-head', ['none', 'last', 'all'] as const),
    };

    const total = tokenCount(flags.tokens, 'tokens');
    const visual = tokenCount(flags['visual-tokens'], 'visual-tokens');
    const text = tokenCount(flags['text-tokens'], 'text-tokens');
    const ratio = flags.ratio as number | undefined;
    if (total !== undefined && visual !== undefined) throw new HeroError('--tokens: give either --tokens or --visual-tokens/--text-tokens, not both');
    if (total === undefined && visual === undefined) {
      throw new HeroError(text !== undefined ? '--text-tokens: needs --visual-tokens' : '--tokens: required (or --visual-tokens with --text-tokens)');
    }
    if (ratio !== undefined) {
      if (visual === undefined) throw new HeroError('--ratio: needs --visual-tokens and --text-tokens (it applies to visual tokens only)');
      if (!(Number.isFinite(ratio) && ratio > 0 && ratio <= 1)) throw new HeroError(`--ratio: must be in (0, 1] (got ${ratio})`);
    }
    if (visual !== undefined && text === undefined) throw new HeroError('--text-tokens: required with --visual-tokens');

    const method = oneOf(flags.method, 'method', ['hero', 'sparsevlm'] as const);
    if (method === 'sparsevlm') return sparseVlmFlops(flags, name, dims, opts, visual, text);
    if (flags['sparsevlm-layers'] !== undefined) throw new HeroError('--sparsevlm-layers: needs --method sparsevlm');

    const out: Record<string, string | number> = { preset: name };
    let n: number;
    if (visual !== undefined) {
      const kept = keptVisualTokens(visual, ratio ?? 1);
      n = kept + (text as number);
      Object.assign(out, { visual_tokens: visual, ratio: ratio ?? 1, visual_tokens_kept: kept, text_tokens: text as number });
    } else {
      n = total as number;
    }
    const flops = prefillFlops(n, dims, opts);
    const kv = kvCacheBytes(n, dims);
    Object.assign(out, {
      tokens: n, prefill_flops: flops, prefill_tflops: flops / 1e12, kv_cache_bytes: kv, kv_cache_mib: kv / MIB,
      attention: opts.attention as string, lm_head: opts.lmHead as string,
    });

    if (flags.json) {
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return 0;
    }
    const shown: Array<[string, string]> = [['preset', name]];
    if (visual !== undefined) {
      shown.push(['visual_tokens', String(visual)], ['ratio', String(ratio ?? 1)], ['visual_tokens_kept', String(out.visual_tokens_kept)],
        ['text_tokens', String(text)]);
    }
    shown.push(['tokens', String(n)], ['prefill_tflops', (flops / 1e12).toFixed(2)], ['kv_cache_mib', (kv / MIB).toFixed(1)],
      ['attention', opts.attention as string], ['lm_head', opts.lmHead as string]);
    const w = Math.max(...shown.map(([k]) => k.length));
    process.stdout.write(shown.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');
    return 0;
  },
};
