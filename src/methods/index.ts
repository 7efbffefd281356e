/**
 * The registry of visual-token methods: `--method hero|none|fastervlm|hired|globalcom2|prumerge+|fastv|sparsevlm`.
 * Each is one Method object (./contract.ts) in its own file; adding a method = writing that object, listing
 * it here (the one list of names), and, where it has any, its flags (cli/method_flags.ts) and report columns
 * (report/method_report.ts), keyed by its name. Nothing else (pipeline, runtime) names a method.
 */
import { HeroError } from '../core/errors';
import type { LlavaNextModel } from '../llava/model';
import type { VisualContext } from '../llava/visual_context';
import { stageTimer, type Method, type MethodSpec as AnyMethodSpec, type PruneResult } from './contract';
import { heroMethod } from '../hero/method';
import { noneMethod } from '../baselines/none';
import { fasterVlmMethod } from '../baselines/fastervlm';
import { hiredMethod } from '../baselines/hired';
import { globalCom2Method } from '../baselines/globalcom2';
import { pruMergePlusMethod } from '../baselines/prumerge';
import { fastvMethod } from '../baselines/fastv';
import { sparseVlmMethod } from '../baselines/sparsevlm';
import { keepMaskMethod } from './keep_mask';

export type { Method } from './contract';
export { keepMaskMethod, keepMaskRows, type KeepMaskOptions } from './keep_mask';

/** Every method, in --help order (the first is `run`'s default). */
export const METHODS = [heroMethod, noneMethod, fasterVlmMethod, hiredMethod, globalCom2Method, pruMergePlusMethod, fastvMethod, sparseVlmMethod] as const;

type AnyMethod = (typeof METHODS)[number];
export type MethodName = AnyMethod['name'];
export const METHOD_NAMES: readonly MethodName[] = METHODS.map((m) => m.name);

/**
 * Methods the library and the analyses use that `--method` does not offer (no flags, no report columns):
 * `keep-mask` (./keep_mask.ts: a given keep-mask per crop, `analyze tokens --caption`). The pipeline finds
 * them by name (methodOf); methodByName, the --method lookup, does not.
 */
export const INTERNAL_METHODS = [keepMaskMethod] as const;

/** A configured method by name, with the options its `configure` returns (narrowed by `name`). */
type SpecOf<M> = M extends Method<infer O, infer N> ? AnyMethodSpec<O> & { readonly name: N; readonly options: O } : never;
export type MethodSpec = SpecOf<AnyMethod>;

/** The Method object of a name; an unknown name is refused naming --method. */
export function methodByName(name: string): Method<unknown> {
  const m = (METHODS as readonly unknown[] as readonly Method<unknown>[]).find((x) => x.name === name);
  if (!m) throw new HeroError(`--method: unknown method '${name}' (choose one of ${METHOD_NAMES.join(', ')})`);
  return m;
}

/** The Method object a configured method belongs to (a --method one or an internal one). */
export function methodOf(spec: AnyMethodSpec): Method<unknown> {
  const internal = (INTERNAL_METHODS as readonly unknown[] as readonly Method<unknown>[]).find((x) => x.name === spec.name);
  return internal ?? methodByName(spec.name);
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
