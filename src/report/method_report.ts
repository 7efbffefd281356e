/**
 * What each method adds to the run report, beside its maths-only contract (src/methods/contract.ts): per-tile
 * columns of report.json, the vision layers framed on the attention-map figure, a row of maps it ranks
 * tokens by. Keyed by the registry's names (src/methods/index.ts); a method without an entry adds nothing.
 */
import type { LlavaNextModel } from '../llava/model';
import type { HeroOptions } from '../hero/options';
import { methodOf, type MethodName, type MethodSpec } from '../methods';
import type { TraceTensors } from '../methods/contract';

/** One framed set of vision layers on the report's attention-map figure. */
export interface AttentionMark { readonly layers: readonly number[]; readonly crops: readonly number[]; readonly label: string }

/** Per-tile columns of the run report (null where the method has no such quantity). */
export interface TileStats {
  readonly cls_similarity: number | null; readonly saliency: number | null; readonly clip_score: number | null;
  readonly relevance: number | null; readonly density: number | null;
  readonly importance: number | null; readonly budget: number | null;
}

/** What a method adds to the run report (report.json, the attention-map figure). */
export interface MethodReport {
  /** per-tile statistics from the method's trace tensors, for tile k */
  readonly tileStats?: (tensors: TraceTensors, k: number) => Partial<TileStats>;
  /** the layers the method reads, framed on the attention-map figure (default: its vision taps, every crop) */
  readonly attentionMarks?: (spec: MethodSpec, P: number) => AttentionMark[];
  /** a row of maps the method ranks tokens by: one map [N] per crop (null where absent) */
  readonly averagedMaps?: (tensors: TraceTensors, P: number, N: number) => { rowLabel: string; label: string; maps: (Float32Array | null)[] } | undefined;
}

/** One value of a per-tile trace tensor (null when absent or NaN: "not computed"). */
function tileValue(tensors: TraceTensors, name: string, k: number): number | null {
  const t = tensors.get(name);
  if (!t) return null;
  const v = Number(t.data[k]);
  return Number.isNaN(v) ? null : v;
}

/** HERO's: the per-tile columns, the layers it reads (thumbnail: L_high, tiles: L_low), the averaged score maps. */
const heroReport: MethodReport = {
  tileStats: (t, k) => ({
    cls_similarity: tileValue(t, 'hero.cls_similarity', k), saliency: tileValue(t, 'hero.saliency', k), clip_score: tileValue(t, 'hero.clip_similarity', k),
    relevance: tileValue(t, 'hero.relevance', k), density: tileValue(t, 'hero.density', k),
    importance: tileValue(t, 'hero.importance', k), budget: tileValue(t, 'hero.budgets', k),
  }),
  attentionMarks: (s, P) => {
    const o = s.options as HeroOptions;
    return [
      { layers: o.highLayers, crops: [0], label: `read by HERO-5: thumbnail, high layers ${o.highLayers.join(',')}` },
      { layers: o.lowLayers, crops: Array.from({ length: P - 1 }, (_, k) => k + 1), label: `read by HERO-6: tiles, low layers ${o.lowLayers.join(',')}` },
    ];
  },
  averagedMaps: (tensors, P, N) => ({
    rowLabel: 'HERO avg', label: 'HERO avg: the layer average HERO ranks tokens by (hero.global_scores, hero.tile_scores)',
    maps: [tensors.get('hero.global_scores'), tensors.get('hero.tile_scores')].flatMap((t, i) => {
      if (!t) return i === 0 ? [null] : Array.from({ length: P - 1 }, () => null);
      const d = Float32Array.from(t.data as ArrayLike<number>);
      return i === 0 ? [d] : Array.from({ length: P - 1 }, (_, k) => d.subarray(k * N, (k + 1) * N));
    }),
  }),
};

export const METHOD_REPORTS: Readonly<Partial<Record<MethodName, MethodReport>>> = { hero: heroReport };

/**
 * What a method adds to the run report's attention maps (src/report/attention_maps.ts): the vision layers
 * it reads, framed — its own `attentionMarks`, else the layers of its attention and query/key taps,
 * in every one of the P crops — and the row of maps it ranks tokens by, if it has one ([N] per crop).
 */
export function attentionMapLabels(spec: MethodSpec, model: LlavaNextModel, tensors: TraceTensors, P: number, N: number):
  { marks?: AttentionMark[]; averaged?: { rowLabel: string; label: string; maps: (Float32Array | null)[] } } {
  const report = METHOD_REPORTS[spec.name];
  let marks: AttentionMark[];
  if (report?.attentionMarks) marks = report.attentionMarks(spec, P);
  else {
    const taps = methodOf(spec).taps(spec, model);
    const list = (l: typeof taps.attentions): readonly number[] => (Array.isArray(l) ? l : []);
    const layers = [...new Set([...list(taps.attentions), ...list(taps.queryKey)])];
    marks = layers.length ? [{ layers, crops: Array.from({ length: P }, (_, p) => p), label: `read by ${spec.name}: layer ${layers.join(',')}` }] : [];
  }
  const averaged = report?.averagedMaps?.(tensors, P, N);
  return { ...(marks.length ? { marks } : {}), ...(averaged ? { averaged } : {}) };
}
