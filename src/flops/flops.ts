/**
 * HERO's efficiency model (paper §4.3, Eq. 7–8): prefill FLOPs of a Llama decoder for a prompt of n tokens,
 * the same after HERO keeps r·n_v of the n_v visual tokens, and the size of the KV cache the prefill leaves.
 *
 * Counted from first principles for one HF `LlamaDecoderLayer` (hf-4.45.1 modeling_llama.py) processing n
 * tokens at once, one multiply-add = 2 FLOPs, matrix products only:
 *
 *   q_proj            2·n·d·(H·Dh)
 *   k_proj, v_proj    2·2·n·d·(Hkv·Dh)          (GQA: Hkv key/value heads)
 *   scores  Q·Kᵀ      2·H·Dh·c(n)               c(n) = n² ('full') or n(n+1)/2 ('causal')
 *   context P·V       2·H·Dh·c(n)
 *   o_proj            2·n·(H·Dh)·d
 *   SwiGLU MLP        3·2·n·d·m                 (gate_proj, up_proj, down_proj)
 *
 * With H·Dh = d and Hkv = H (Vicuna) and full attention this is 2·(4nd² + 2n²d + 3ndm) per layer, the
 * count that reproduces the paper's Table 4 (see docs/flops.md). Not counted: RMSNorm, RoPE, softmax, SiLU,
 * the gate product and residual adds — each is O(n·d) or O(H·n²) elementwise work, below 1 % of the
 * total for the dimensions here (softmax ≈ 5·H·n² vs 4·n²·d for the two attention products: 5·32/16384 ≈
 * 1 %), and FLOP conventions (FastV, PDrop, the paper) leave them out. The embedding lookup is free; the
 * lm_head is outside the decoder layers of Eq. 7 and is off unless asked for (`lmHead`).
 */
import { check } from '../core/errors';

/** The decoder dimensions the count needs (all from config.json or a preset). */
export interface DecoderDims {
  readonly layers: number;
  /** hidden width d */
  readonly hidden: number;
  /** MLP width m */
  readonly intermediate: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** V, only needed when the lm_head is counted */
  readonly vocab?: number;
  /** bytes per element of the KV cache (2 for fp16/bf16) */
  readonly bytesPerElement: number;
}

export interface FlopsOptions {
  /**
   * 'full' (default): QKᵀ and P·V over the whole n×n matrix, as HF's eager and SDPA paths compute it
   * (the causal mask is added to a full score matrix) and as the paper counts. 'causal': only the
   * n(n+1)/2 unmasked pairs, what a kernel that skips masked blocks (FlashAttention) would do.
   */
  readonly attention?: 'full' | 'causal';
  /**
   * lm_head (D → V): 'none' (default, Eq. 7 is per decoder layer), 'last' (one position: what generation
   * needs from the prefill), 'all' (every position, as a plain forward returns logits for all).
   */
  readonly lmHead?: 'none' | 'last' | 'all';
}

/** Bytes per MiB; the paper's "MB" is 2^20 bytes (Table 4: 2673 tokens → 1336.5 MB, see docs/flops.md). */
export const MIB = 2 ** 20;

function checkDims(dims: DecoderDims): void {
  for (const k of ['layers', 'hidden', 'intermediate', 'heads', 'kvHeads', 'headDim', 'bytesPerElement'] as const) {
    check(Number.isSafeInteger(dims[k]) && dims[k] > 0, () => `decoder dims: ${k} must be a positive integer (got ${dims[k]})`);
  }
  check(dims.heads % dims.kvHeads === 0, () => `decoder dims: heads ${dims.heads} is not a multiple of kvHeads ${dims.kvHeads}`);
}

function checkTokens(n: number, what: string): void {
  check(Number.isSafeInteger(n) && n >= 0, () => `${what} must be a non-negative integer (got ${n})`);
}

/**
 * Prefill FLOPs of one decoder layer for n tokens.
 * @eq HERO-7 F_layer(n) = 2·[n·d·(H + 2·Hkv)·Dh + n·H·Dh·d + 2·H·Dh·c(n) + 3·n·d·m],
 *   c(n) = n² (full) or n(n+1)/2 (causal); with H·Dh = d, Hkv = H, full: 2·(4nd² + 2n²d + 3ndm)
 */
export function layerPrefillFlops(n: number, dims: DecoderDims, opts: FlopsOptions = {}): number {
  checkTokens(n, 'token count n');
  checkDims(dims);
  const d = dims.hidden, m = dims.intermediate;
  const qWidth = dims.heads * dims.headDim;    // H·Dh (= d for Llama/Vicuna)
  const kvWidth = dims.kvHeads * dims.headDim; // Hkv·Dh (GQA)
  const pairs = (opts.attention ?? 'full') === 'full' ? n * n : (n * (n + 1)) / 2;
  const projections = 2 * n * d * qWidth + 2 * 2 * n * d * kvWidth + 2 * n * qWidth * d; // q; k, v; o
  const attention = 2 * 2 * qWidth * pairs;                                              // Q·Kᵀ and P·V
  const mlp = 3 * 2 * n * d * m;                                                         // gate, up, down
  return projections + attention + mlp;
}

/**
 * Prefill FLOPs of the whole decoder: L layers plus, if asked, the lm_head.
 * @eq HERO-7 F(n) = L·F_layer(n) [+ 2·k·d·V, k = 1 ('last') or n ('all')]
 */
export function prefillFlops(n: number, dims: DecoderDims, opts: FlopsOptions = {}): number {
  const layers = dims.layers * layerPrefillFlops(n, dims, opts);
  const lmHead = opts.lmHead ?? 'none';
  if (lmHead === 'none') return layers;
  check(dims.vocab !== undefined && Number.isSafeInteger(dims.vocab) && dims.vocab > 0, 'decoder dims: vocab is needed to count the lm_head');
  const rows = lmHead === 'all' ? n : Math.min(n, 1);
  return layers + 2 * rows * dims.hidden * dims.vocab;
}

/**
 * Visual tokens HERO keeps out of nVisual at retention ratio r.
 * @choice ⌊r·n_v⌋: the paper writes r·n_v; HERO's own budgets (HERO-B) are floors (⌊r·N⌋, ⌊r·K·N⌋), so
 *   the kept count never exceeds r·n_v. Computed in float64 with a 1e-9 guard so that e.g. 0.7·90 = 63
 *   and not 62 from 62.99999999999999.
 */
export function keptVisualTokens(nVisual: number, ratio: number): number {
  checkTokens(nVisual, 'visual token count');
  check(Number.isFinite(ratio) && ratio > 0 && ratio <= 1, () => `ratio must be in (0, 1] (got ${ratio})`);
  return Math.floor(ratio * nVisual + 1e-9);
}

/**
 * Prefill FLOPs after HERO drops visual tokens before the LLM.
 * @eq HERO-8 F_HERO = F(⌊r·n_v⌋ + n_t), i.e. Eq. 7 with n_v → r·n_v
 */
export function heroPrefillFlops(nVisual: number, nText: number, ratio: number, dims: DecoderDims, opts: FlopsOptions = {}): number {
  checkTokens(nText, 'text token count');
  return prefillFlops(keptVisualTokens(nVisual, ratio) + nText, dims, opts);
}

/**
 * Bytes of the KV cache after prefilling n tokens: keys and values of every layer.
 * @eq HERO-KV KV(n) = 2·L·n·Hkv·Dh·bytes  (Vicuna-7B fp16: 2·32·4096·2 B = 0.5 MiB per token; Table 4's KV column)
 */
export function kvCacheBytes(n: number, dims: DecoderDims): number {
  checkTokens(n, 'token count n');
  checkDims(dims);
  return 2 * dims.layers * n * dims.kvHeads * dims.headDim * dims.bytesPerElement; // k and v
}

/**
 * Prefill FLOPs when the sequence shrinks inside the decoder (SparseVLM): layer l processes n_l tokens.
 * @eq SparseVLM-5 F = Σ_l F_layer(n_l) [+ lm_head on the last layer's rows]
 */
export function layerwisePrefillFlops(tokensPerLayer: readonly number[], dims: DecoderDims, opts: FlopsOptions = {}): number {
  check(tokensPerLayer.length === dims.layers, () => `tokens per layer: ${tokensPerLayer.length} entries for ${dims.layers} layers`);
  const layers = tokensPerLayer.reduce((a, n) => a + layerPrefillFlops(n, dims, opts), 0);
  const lmHead = opts.lmHead ?? 'none';
  if (lmHead === 'none') return layers;
  check(dims.vocab !== undefined && Number.isSafeInteger(dims.vocab) && dims.vocab > 0, 'decoder dims: vocab is needed to count the lm_head');
  const last = tokensPerLayer[tokensPerLayer.length - 1];
  return layers + 2 * (lmHead === 'all' ? last : Math.min(last, 1)) * dims.hidden * dims.vocab;
}

/**
 * KV cache after a prefill whose layer l cached n_l tokens.
 * @eq SparseVLM-5 KV = Σ_l 2·n_l·Hkv·Dh·bytes
 */
export function layerwiseKvCacheBytes(tokensPerLayer: readonly number[], dims: DecoderDims): number {
  check(tokensPerLayer.length === dims.layers, () => `tokens per layer: ${tokensPerLayer.length} entries for ${dims.layers} layers`);
  checkDims(dims);
  return tokensPerLayer.reduce((a, n) => { checkTokens(n, 'token count n'); return a + 2 * n * dims.kvHeads * dims.headDim * dims.bytesPerElement; }, 0); // k and v
}
