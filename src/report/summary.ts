/**
 * The run report: one plain object (report.json) and its text rendering. Numbers come from the pipeline
 * result and, for the efficiency figures, from the analytic model of the real Vicuna-7B (HERO-7/8).
 */
import type { PipelineResult } from '../pipeline';
import { kvCacheBytes, MIB, prefillFlops } from '../flops/flops';
import { presetDims } from '../flops/presets';
import type { TraceTensors } from '../methods/contract';
import type { TileStats } from './method_report';

export interface TileRow {
  readonly tile: number; readonly row: number; readonly col: number;
  readonly cls_similarity: number | null; readonly saliency: number | null; readonly clip_score: number | null;
  readonly relevance: number | null; readonly density: number | null;
  readonly importance: number | null; readonly budget: number | null; readonly kept: number;
}

export interface RunReport {
  readonly random_weights: boolean;
  readonly note: string | null;
  readonly model: string; readonly clip: string | null; readonly backend: string;
  /** how the weights were held: 'resident' (fp32 on the backend), 'streamed' (stored dtype on the host) or 'disk' (read from the files when used), docs/memory.md */
  readonly weights: string;
  readonly method: string; readonly options: unknown;
  /** The question as given (--prompt or --raw-prompt); null with --input-ids. */
  readonly prompt: string | null;
  /** alpha: 'drop' (Pillow convert("RGB")) or 'composite-white' (--image-alpha) */
  readonly image: { readonly file: string; readonly height: number; readonly width: number; readonly alpha: string };
  /** the --prompt template (vicuna_v1 | llava-hf), null for --raw-prompt / --input-ids */
  readonly template: string | null;
  readonly grid: readonly [number, number];
  readonly tiles: TileRow[];
  readonly kept_per_crop: number[];
  /** kept: given to the LLM; in_decoder (FastV): kept from decoder layer from_layer on */
  readonly visual_tokens: { readonly full: number; readonly kept: number; readonly in_decoder?: { readonly from_layer: number; readonly kept: number } };
  readonly text_tokens: number;
  readonly vicuna_7b: { readonly tokens: { full: number; pruned: number }; readonly prefill_tflops: { full: number; pruned: number; ratio: number }; readonly kv_cache_mib: { full: number; pruned: number } };
  readonly timings_ms: Record<string, number>;
  readonly answer: string;
  readonly answer_ids: number[];
  readonly outputs: Record<string, string>;
}

export const RANDOM_NOTE = 'RANDOM WEIGHTS: the embedded default model is untrained; the answer is meaningless, the token selection and the savings are real computations.';
/** The note for a checkpoint marked by `hero-lvlm random-weights` (io/random_mark.ts). */
export const RANDOM_CHECKPOINT_NOTE = 'RANDOM WEIGHTS: this checkpoint was written by hero-lvlm random-weights; the answer is meaningless, the token selection and the savings are real computations.';

export function buildReport(r: PipelineResult, a: {
  randomWeights: boolean;
  /** the note shown when randomWeights (default: RANDOM_NOTE, the embedded default model's) */
  randomNote?: string;
  model: string; clip: string | null; backend: string; weights?: string; method: string; options: unknown;
  prompt?: string | null; imageFile: string; imageAlpha: string; template: string | null; answer: string; outputs: Record<string, string>;
  /** the method's per-tile columns from its trace tensors (report/method_report.ts METHOD_REPORTS); null columns without */
  tileStats?: (tensors: TraceTensors, k: number) => Partial<TileStats>;
}): RunReport {
  const [rows, cols] = r.processed.grid;
  const K = rows * cols;
  const none: TileStats = { cls_similarity: null, saliency: null, clip_score: null, relevance: null, density: null, importance: null, budget: null };
  const tiles: TileRow[] = Array.from({ length: K }, (_, k) => ({
    tile: k, row: Math.floor(k / cols), col: k % cols,
    ...none, ...a.tileStats?.(r.methodTensors, k), kept: r.keptPerCrop[1 + k],
  }));
  const textTokens = r.inputIds.length - r.visualTokens;
  const dims = presetDims('vicuna-7b');
  const full = r.visualTokensFull + textTokens, pruned = r.visualTokens + textTokens;
  const fFull = prefillFlops(full, dims) / 1e12, fPruned = prefillFlops(pruned, dims) / 1e12;
  return {
    random_weights: a.randomWeights, note: a.randomWeights ? (a.randomNote ?? RANDOM_NOTE) : null,
    model: a.model, clip: a.clip, backend: a.backend, weights: a.weights ?? 'resident', method: a.method, options: a.options, prompt: a.prompt ?? null,
    image: { file: a.imageFile, height: r.processed.imageSize[0], width: r.processed.imageSize[1], alpha: a.imageAlpha },
    template: a.template,
    grid: [rows, cols], tiles, kept_per_crop: r.keptPerCrop,
    visual_tokens: {
      full: r.visualTokensFull, kept: r.visualTokens,
      ...(r.visualTokensInDecoder ? { in_decoder: { from_layer: r.visualTokensInDecoder.fromLayer, kept: r.visualTokensInDecoder.kept } } : {}),
    },
    text_tokens: textTokens,
    vicuna_7b: {
      tokens: { full, pruned },
      prefill_tflops: { full: fFull, pruned: fPruned, ratio: fFull / fPruned },
      kv_cache_mib: { full: kvCacheBytes(full, dims) / MIB, pruned: kvCacheBytes(pruned, dims) / MIB },
    },
    timings_ms: r.timings, answer: a.answer, answer_ids: r.newIds, outputs: a.outputs,
  };
}

const f = (v: number | null, d = 3): string => (v === null ? '—' : v.toFixed(d));

/** The text report printed after the answer. */
export function formatReport(rep: RunReport): string {
  const L: string[] = [];
  if (rep.note) L.push(`!! ${rep.note}`, '');
  L.push(`answer: ${rep.answer}`, '');
  const crops = rep.grid[1] === 0 ? 'one crop (LLaVA-1.5, no tiles)' : `tile grid ${rep.grid[0]}×${rep.grid[1]}`;
  L.push(`image ${rep.image.width}×${rep.image.height} (W×H) → ${crops}; method ${rep.method}; backend ${rep.backend}; template ${rep.template ?? '(raw prompt)'}`);
  L.push('', ' tile (r,c)  CLS sim  CLIP score  density  importance  budget  kept');
  for (const t of rep.tiles) {
    L.push(` ${String(t.tile).padStart(4)} (${t.row},${t.col})  ${f(t.cls_similarity).padStart(7)}  ${f(t.clip_score).padStart(10)}  ${f(t.density).padStart(7)}  ${f(t.importance).padStart(10)}  ${(t.budget === null ? '—' : String(t.budget)).padStart(6)}  ${String(t.kept).padStart(4)}`);
  }
  L.push('', `tokens kept per crop${rep.grid[1] === 0 ? '' : ' (thumbnail first)'}: ${rep.kept_per_crop.join(', ')}`);
  L.push(`visual tokens: ${rep.visual_tokens.full} → ${rep.visual_tokens.kept} (${((100 * rep.visual_tokens.kept) / rep.visual_tokens.full).toFixed(1)} %); text tokens: ${rep.text_tokens}`);
  const dec = rep.visual_tokens.in_decoder;
  if (dec) L.push(`visual tokens from decoder layer ${dec.from_layer} on: ${dec.kept} (${((100 * dec.kept) / rep.visual_tokens.kept).toFixed(1)} %)`);
  const v = rep.vicuna_7b;
  L.push(`real Vicuna-7B prefill (HERO-7/8): ${f(v.prefill_tflops.full, 2)} → ${f(v.prefill_tflops.pruned, 2)} TFLOPs (${f(v.prefill_tflops.ratio, 2)}× less); KV cache ${f(v.kv_cache_mib.full, 1)} → ${f(v.kv_cache_mib.pruned, 1)} MiB`);
  L.push(`wall time: ${Object.entries(rep.timings_ms).map(([k, ms]) => `${k} ${ms.toFixed(1)} ms`).join(', ')}`);
  if (Object.keys(rep.outputs).length) L.push(`wrote: ${Object.values(rep.outputs).join(', ')}`);
  return `${L.join('\n')}\n`;
}
