/**
 * What `eval predict` writes (the format, not the files: run_file.ts writes them). A RUN directory holds
 *   settings.json     every setting that changes an answer (RunSettings), written once;
 *   predictions.jsonl one PredictionLine per question, appended whole and flushed.
 * A rerun under the same settings skips the ids already answered; under other settings it is refused,
 * naming the first settings that differ.
 */
export interface PredictionLine {
  readonly question_id: string | number;
  /** The `{text}` asked (question + the protocol's suffix), before the chat template. */
  readonly prompt: string;
  readonly answer: string;
  /** Visual tokens the LLM saw, and how many the image had before the method dropped any. */
  readonly visual_tokens: { readonly kept: number; readonly total: number };
  /** Wall time per stage in ms (vision, method, prefill, decode, …: the pipeline's own stage names). */
  readonly times_ms: Readonly<Record<string, number>>;
}

export interface RunSettings {
  readonly task: string;
  readonly protocol: string;
  /** Layout and the split files the questions came from (paths as given). */
  readonly data: { readonly layout: string; readonly sources: readonly string[] };
  /** The model folder and a hash of its config files (a changed checkpoint must not append). */
  readonly model: { readonly path: string; readonly configHash: string };
  /** The method and every option it ran with (ratio, α, τ, layer sets, ablations, …). */
  readonly method: { readonly name: string; readonly options: Readonly<Record<string, unknown>> };
  /** The method's separate CLIP model (HERO's relevance) and the text it scores per question; null: none read. */
  readonly clip?: { readonly path: string; readonly configHash: string; readonly text: string } | null;
  /** How an image becomes pixels: --image-alpha and (LLaVA-1.5) --image-aspect. */
  readonly image?: { readonly alpha: string; readonly aspect: string | null };
  readonly template: string;
  readonly maxNewTokens: number;
  readonly shard: { readonly index: number; readonly count: number } | null;
  /** hero-lvlm's version. */
  readonly version: string;
}

/** One line of predictions.jsonl, newline included. */
export function formatLine(line: PredictionLine): string {
  const text = JSON.stringify(line);
  if (text.includes('\n')) throw new Error('a JSON line cannot contain a raw newline');   // JSON.stringify escapes them; kept as a guard
  return text + '\n';
}

/** Settings compared as data: the dotted paths where two records differ (empty = same settings). */
export function settingsDiff(a: unknown, b: unknown, at = ''): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [at || '(root)'];
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((k) => settingsDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
}
