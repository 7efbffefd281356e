/**
 * HF checkpoint → params tree. Params trees mirror checkpoint keys (`a.b.3.c` → `p.a.b[3].c`), so loading
 * is one loop; every exception to that rule is in KEY_RENAMES / IGNORED_KEYS below. The loader fails on
 * missing keys, unused keys and wrong shapes, naming them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { SafetensorsDir } from './safetensors';
import { leafTensors, weightLeaves } from '../core/weights';

/**
 * The one list of key renames. Canonical names are the pre-v4.52 llava-hf layout (what the goldens and the
 * hub files use). transformers ≥ 4.52 saves LlavaNext checkpoints with these prefixes instead
 * (`LlavaNextForConditionalGeneration._checkpoint_conversion_mapping`); we map them back.
 */
export const KEY_RENAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^model\.language_model\./, 'language_model.model.'], // ≥4.52: bare LlamaModel under model.
  [/^model\.vision_tower\./, 'vision_tower.'],
  [/^model\.multi_modal_projector\./, 'multi_modal_projector.'],
  [/^model\.image_newline$/, 'image_newline'],
  [/^lm_head\.weight$/, 'language_model.lm_head.weight'],   // only for LLaVA layouts (see canonicalKey)
];

/** Non-persistent buffers that older files may still carry; never part of the math. */
export const IGNORED_KEYS: readonly RegExp[] = [/\.position_ids$/, /\.rotary_emb\.inv_freq$/];

/** Expected tensors: canonical name → shape. */
export type KeySpec = ReadonlyMap<string, readonly number[]>;

/** A nested params object built from dotted names. */
export type ParamTree = { [k: string]: ParamTree | tf.Tensor } | ParamTree[];

/**
 * Canonical name of a stored key. `llavaLayout` is true when the file is a LLaVA-NeXT checkpoint: only
 * then is a top-level `lm_head.weight` renamed (a plain Llama checkpoint has it at the top level too).
 */
export function canonicalKey(key: string, llavaLayout: boolean): string {
  for (const [re, to] of KEY_RENAMES) {
    if (to === 'language_model.lm_head.weight' && !llavaLayout) continue;
    if (re.test(key)) return key.replace(re, to);
  }
  return key;
}

function listNames(names: string[], max = 6): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} (and ${names.length - max} more)` : shown;
}

/**
 * Matches the stored names of `store` to `spec`, checking that nothing is missing, nothing is left over
 * (besides IGNORED_KEYS and names outside `prefixes`, when given) and every shape matches. Returns the
 * stored name of each canonical one, in the spec's order. Reads no tensor data.
 */
export function resolveKeys(store: SafetensorsDir, spec: KeySpec,
  opts: { llavaLayout?: boolean; prefixes?: readonly string[] } = {}): Map<string, string> {
  const byCanonical = new Map<string, string>();
  for (const stored of store.names()) {
    if (IGNORED_KEYS.some((re) => re.test(stored))) continue;
    const c = canonicalKey(stored, opts.llavaLayout ?? false);
    if (opts.prefixes && !opts.prefixes.some((p) => c.startsWith(p))) continue;
    byCanonical.set(c, stored);
  }
  const missing = [...spec.keys()].filter((k) => !byCanonical.has(k));
  if (missing.length) throw new HeroError(`${store.dir}: checkpoint is missing ${missing.length} tensor(s): ${listNames(missing)}`);
  const unused = [...byCanonical.keys()].filter((k) => !spec.has(k));
  if (unused.length) throw new HeroError(`${store.dir}: checkpoint has ${unused.length} unexpected tensor(s): ${listNames(unused)}`);
  for (const [name, shape] of spec) {
    const got = store.info(byCanonical.get(name)!).shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new HeroError(`${store.dir}: tensor '${byCanonical.get(name)}' has shape [${got.join(', ')}], config expects [${shape.join(', ')}]`);
    }
  }
  return new Map([...spec.keys()].map((k) => [k, byCanonical.get(k)!]));
}

/** Builds the nested tree under `prefix` (which is stripped): `a.b.0.c` → `t.a.b[0].c`. Leaves are tensors or weight sources. */
export function buildTree<T>(leaves: ReadonlyMap<string, unknown>, prefix = ''): T {
  const under = new Map<string, unknown>();
  for (const [name, leaf] of leaves) if (name.startsWith(prefix)) under.set(name.slice(prefix.length), leaf);
  return nestByPath(under) as T;
}

/**
 * The nested object of dotted paths: `a.b.0.c` → `o.a.b[0].c` (numeric parts make arrays). The leaves are
 * whatever the map holds (tensors, weight sources).
 */
export function nestByPath(leaves: ReadonlyMap<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [name, leaf] of leaves) {
    const parts = name.split('.');
    let node: Record<string, unknown> = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = leaf;
      else {
        node[part] ??= /^\d+$/.test(parts[i + 1]) ? [] : {};
        node = node[part] as Record<string, unknown>;
      }
    });
  }
  return root;
}

/** Leaf tensors of a params tree by dotted path (the inverse of buildTree); streamed groups are not entered. */
export function flattenTree(tree: unknown): Map<string, tf.Tensor> {
  return new Map(weightLeaves(tree).flatMap(([path, x]): Array<[string, tf.Tensor]> => (x instanceof tf.Tensor ? [[path, x]] : [])));
}

/** Disposes every tensor in a params tree (a streamed group holds none: its host bytes go with it). */
export function disposeTree(tree: unknown): void {
  for (const t of leafTensors(tree)) t.dispose();
}

/** Adds `<prefix>linear` keys to a spec: weight [out, in] and, when `bias`, bias [out]. */
export function linearKeys(spec: Map<string, readonly number[]>, prefix: string, out: number, inF: number, bias: boolean): void {
  spec.set(`${prefix}.weight`, [out, inF]);
  if (bias) spec.set(`${prefix}.bias`, [out]);
}

/** Adds LayerNorm keys (weight, bias [d]). */
export function layerNormKeys(spec: Map<string, readonly number[]>, prefix: string, d: number): void {
  spec.set(`${prefix}.weight`, [d]);
  spec.set(`${prefix}.bias`, [d]);
}
