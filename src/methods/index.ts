/**
 * The registry of visual-token methods: `--method hero|none|fastervlm|hired|globalcom2|prumerge+|fastv|sparsevlm`.
 * Each is one Method object (src/methods/contract.ts) in its own file; adding a method = writing that object and
 * listing it here. Nothing else (pipeline, CLI, report) names a method.
 */
import { HeroError } from '../core/errors';
import type { FlagSpecs } from '../cli/args';
import type { ClipModel } from '../clip/model';
import type { LlavaNextModel } from '../llava/model';
import type { PruneResult, VisualContext } from '../llava/visual_context';
import type { VisionEncoder } from '../clip/vision';
import { stageTimer, type AttentionMark, type Method, type MethodSpec as AnyMethodSpec, type TraceTensors } from './contract';
import { heroMethod } from '../hero/method';
import type { HeroOptions } from '../hero/options';
import { noneMethod } from '../baselines/none';
import { fasterVlmMethod, type FasterVlmOptions } from '../baselines/fastervlm';
import { hiredMethod, type HiredOptions } from '../baselines/hired';
import { globalCom2Method, type GlobalCom2Options } from '../baselines/globalcom2';
import { pruMergePlusMethod, type PruMergeOptions } from '../baselines/prumerge';
import { fastvMethod, type FastvOptions } from '../baselines/fastv';
import { sparseVlmMethod, type SparseVlmOptions } from '../baselines/sparsevlm';

export type { Method } from './contract';

/** Every method, in --help order (the first is `run`'s default). */
export const METHODS = [heroMethod, noneMethod, fasterVlmMethod, hiredMethod, globalCom2Method, pruMergePlusMethod, fastvMethod, sparseVlmMethod] as const;

export const METHOD_NAMES = ['hero', 'none', 'fastervlm', 'hired', 'globalcom2', 'prumerge+', 'fastv', 'sparsevlm'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** A configured method by name (the options each method's `configure` returns). */
export type MethodSpec =
  | { readonly name: 'none'; readonly options?: Record<string, never> }
  | { readonly name: 'hero'; readonly options: HeroOptions; readonly clip: ClipModel | null; readonly clipTextIds: readonly number[] | null; readonly clipEncoder?: VisionEncoder }
  | { readonly name: 'fastervlm'; readonly options: FasterVlmOptions }
  | { readonly name: 'hired'; readonly options: HiredOptions }
  | { readonly name: 'globalcom2'; readonly options: GlobalCom2Options }
  | { readonly name: 'prumerge+'; readonly options: Omit<PruMergeOptions, 'project'> }
  | { readonly name: 'fastv'; readonly options: FastvOptions }
  | { readonly name: 'sparsevlm'; readonly options: SparseVlmOptions };

/** The Method object of a name; an unknown name is refused naming --method. */
export function methodByName(name: string): Method<unknown> {
  const m = (METHODS as readonly unknown[] as readonly Method<unknown>[]).find((x) => x.name === name);
  if (!m) throw new HeroError(`--method: unknown method '${name}' (choose one of ${METHODS.map((x) => x.name).join(', ')})`);
  return m;
}

/** The Method object a configured method belongs to. */
export function methodOf(spec: AnyMethodSpec): Method<unknown> {
  return methodByName(spec.name);
}

/**
 * The CLI flags of all methods, in registry order; a flag several methods read (e.g. --alpha) is listed
 * once with their help texts joined.
 */
export function methodFlags(): FlagSpecs {
  const out: Record<string, FlagSpecs[string]> = {};
  for (const m of METHODS) {
    for (const [k, s] of Object.entries(m.flags)) out[k] = out[k] ? { ...out[k], help: `${out[k].help}; ${s.help}` } : s;
  }
  return out;
}

/** The per-method --ratio defaults for its help: 'hero 0.2; hired 0.2; …'. */
export function ratioDefaultsHelp(): string {
  return METHODS.flatMap((m) => (m.ratioHelp ? [m.ratioHelp] : [])).join('; ');
}

/**
 * What a method adds to the run report's attention maps (src/report/attention_maps.ts): the vision layers
 * it reads, framed — its own `report.attentionMarks`, else the layers of its attention and query/key taps,
 * in every one of the P crops — and the row of maps it ranks tokens by, if it has one ([N] per crop).
 */
export function attentionMapLabels(spec: AnyMethodSpec, model: LlavaNextModel, tensors: TraceTensors, P: number, N: number):
  { marks?: AttentionMark[]; averaged?: { rowLabel: string; label: string; maps: (Float32Array | null)[] } } {
  const m = methodOf(spec);
  let marks: AttentionMark[];
  if (m.report?.attentionMarks) marks = m.report.attentionMarks(spec, P);
  else {
    const taps = m.taps(spec, model);
    const list = (l: typeof taps.attentions): readonly number[] => (Array.isArray(l) ? l : []);
    const layers = [...new Set([...list(taps.attentions), ...list(taps.queryKey)])];
    marks = layers.length ? [{ layers, crops: Array.from({ length: P }, (_, p) => p), label: `read by ${spec.name}: layer ${layers.join(',')}` }] : [];
  }
  const averaged = m.report?.averagedMaps?.(tensors, P, N);
  return { ...(marks.length ? { marks } : {}), ...(averaged ? { averaged } : {}) };
}

/**
 * Runs a method's vision-side selection on a VisualContext (what the pipeline does between the vision tower
 * and the decoder); sub-stage times go to `timings` when given.
 */
export async function runMethod(spec: AnyMethodSpec, ctx: VisualContext, model: LlavaNextModel, timings: Record<string, number> = {}): Promise<PruneResult> {
  const m = methodOf(spec);
  if (!m.select) throw new HeroError(`method '${spec.name}' has no vision-side selection`);
  return m.select(spec, ctx, model, stageTimer(timings));
}
