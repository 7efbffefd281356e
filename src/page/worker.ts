/**
 * The page's worker: holds the in-memory files (the picked checkpoint, the generated default model) and runs
 * the model — the controls as `hero-lvlm trace` flags through cli/trace.ts runTrace (the command's checks,
 * runtime/index.ts openRuntime, pipeline.ts runPipeline) — and renders the results with report/ (the overlay,
 * the attention maps, buildReport's tiles) into plain data for the page (protocol.ts).
 */
import { HeroError } from '../core/errors';
import { runTrace } from '../cli/trace';
import { methodByName } from '../methods';
import { writeSafetensors } from '../io/safetensors';
import { fileBytes, removeTree } from '../io/browser_fs';
import { loadTokenizer } from '../io/tokenizer';
import { renderOverlay } from '../report/overlay';
import { renderAttentionMaps } from '../report/attention_maps';
import { attentionMapLabels, METHOD_REPORTS } from '../report/method_report';
import { buildReport, RANDOM_NOTE } from '../report/summary';
import { isLlava15 } from '../llava/llava15';
import type { PipelineResult } from '../pipeline';
import type { Runtime } from '../runtime';
import type { RgbImage } from '../core/image';
import { defaultModel, pickedModel, type ModelDirs } from './model_files';
import type { Controls, FromWorker, RunResults, StepTensor, ToWorker } from './protocol';

/** The tensors of HERO-1…6 the step-through shows (names of docs/trace.md). */
export const STEP_TENSORS = ['hero.cls_similarity', 'hero.saliency', 'hero.clip_similarity', 'hero.relevance', 'hero.valid_mask', 'hero.density',
  'hero.importance', 'hero.budgets', 'hero.global_scores', 'hero.global_keep', 'hero.tile_scores', 'hero.tile_keep'];

const post = (m: FromWorker, transfer: Transferable[] = []): void => (self as unknown as { postMessage(m: unknown, t: Transferable[]): void }).postMessage(m, transfer);
const log = (line: string): void => post({ type: 'log', line });

let picked: ModelDirs | null = null;

/** The controls as `hero-lvlm trace` flags (no --out: the page keeps the file). */
function traceArgs(c: Controls, dirs: ModelDirs, imageName: string): string[] {
  const args = ['--model', dirs.model, '--image', imageName,
    ...(c.inputIds ? ['--input-ids', c.inputIds] : ['--prompt', c.question]),
    '--max-new-tokens', c.maxNew || '0', '--method', c.method, '--backend', c.backend,
    '--accel', 'wasm']; // no BLAS or worker pools in a page: WebAssembly kernels (tfjs's and ours), in-process
  for (const [flag, value] of c.knobs) args.push(`--${flag}`, value);
  if (dirs.clip && methodByName(c.method).clip) args.push('--clip', dirs.clip);
  return args;
}

async function run(c: Controls, image: RgbImage, imageName: string): Promise<void> {
  post({ type: 'stage', stage: c.useDefault ? 'generating the default model' : 'reading the checkpoint', frac: null });
  if (!c.useDefault && !picked) throw new HeroError('pick a checkpoint (files, a folder, or drop one), or choose the embedded default model');
  const dirs = c.useDefault ? defaultModel(log) : picked!;
  const args = traceArgs(c, dirs, imageName);
  log(`hero-lvlm trace ${args.join(' ')}`);
  const threads = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  if (c.backend === 'wasm') log(`wasm: ${threads ? 'threads (cross-origin isolated)' : 'single-threaded SIMD (not cross-origin isolated: npm run page -- --serve for threads)'}`);
  log('accelerations: no worker pools or BLAS in the browser (Node-only): WebAssembly kernels (tfjs\'s and ours, the accel line below), in-process');
  const bar = {
    stage: (s: string) => { post({ type: 'stage', stage: s, frac: 0 }); log(`${s} …`); },
    bar: (what: string, done: number, total: number) => post({ type: 'stage', stage: `${what} ${done}/${total}`, frac: done / total }),
    end: () => undefined,
  };
  const t0 = performance.now();
  let shown: Omit<RunResults, 'trace' | 'traceName' | 'tensors' | 'backend'> | null = null;
  const outcome = await runTrace(args, {
    log, bar, image: { image, alpha: 'drop' }, trace: c.record, needOut: false, clsAttentionLayers: 'all',
    onResult: (result, rt) => { shown = results(result, rt, dirs, image, imageName); },
  });
  let trace: Uint8Array | null = null;
  if (c.record) {
    // the trace file, as `hero-lvlm trace` writes it (into the in-memory files, then handed to the page)
    writeSafetensors('/out/trace.safetensors', outcome.tensors, outcome.metadata);
    trace = fileBytes('/out/trace.safetensors');
    removeTree('/out');
  }
  const r: RunResults = {
    ...shown!, backend: outcome.backend, trace, tensors: outcome.result.trace.size,
    traceName: `${imageName.replace(/\.[^.]*$/, '')}.${outcome.methodName}.trace.safetensors`,
  };
  post({ type: 'done', results: r, seconds: (performance.now() - t0) / 1000 }, trace ? [trace.buffer] : []);
}

/** What the page shows, rendered while the model is open (report/: the same pictures and table as `run`). */
function results(result: PipelineResult, rt: Runtime, dirs: ModelDirs, img: RgbImage, imageName: string): Omit<RunResults, 'trace' | 'traceName' | 'tensors' | 'backend'> {
  const { model, method } = rt;
  let answer: string;
  try {
    answer = loadTokenizer(model.dir).decode(result.newIds, { skipSpecialTokens: true }).trim();
  } catch {
    answer = `(no tokenizer in the checkpoint; ids ${result.newIds.join(',')})`;
  }
  const report = buildReport(result, {
    randomWeights: dirs.label.includes('RANDOM'), model: dirs.label, clip: method.clip ? dirs.clip ?? null : null, backend: rt.backend, weights: rt.residency,
    method: method.name, options: method.options ?? {}, imageFile: imageName, imageAlpha: 'drop', template: null, answer, outputs: {},
    tileStats: METHOD_REPORTS[method.name]?.tileStats,
  });
  const G = model.derived.patchGrid, S = model.derived.cropPx, grid = result.processed.grid, P = result.processed.shape[0];
  const r = (method.options as { ratio?: number } | undefined)?.ratio;
  const title = `Visual tokens kept by ${method.name}${typeof r === 'number' ? `, r = ${r}` : ''}: ${result.visualTokens} of ${result.visualTokensFull}`;
  const overlay = isLlava15(model.config) ? null : renderOverlay(img, result.keepMasks, grid, G, S, [result.processed.bestResolution], title).image;
  const maps = result.clsAttention.length
    ? renderAttentionMaps(result.clsAttention, P, G, { grid, ...attentionMapLabels(method, model, result.methodTensors, P, G * G) }).image : null;
  const steps: StepTensor[] = [];
  for (const name of STEP_TENSORS) {
    const t = result.methodTensors.get(name);
    if (t) steps.push({ name, dtype: t.dtype, shape: [...t.shape], values: Array.from(t.data as ArrayLike<number>, Number) });
  }
  return {
    answer, report, visualTokens: result.visualTokens, overlay, maps, steps, grid: G,
    tokensLine: `${method.name}: ${result.visualTokens} of ${result.visualTokensFull} visual tokens kept; per crop (thumbnail first): ${result.keptPerCrop.join(', ')}` +
      (report.random_weights ? ` — ${RANDOM_NOTE}` : ''),
    times: [['load', rt.loadMs], ...Object.entries(result.timings)],
  };
}

export function startWorker(): void {
  self.addEventListener('message', (ev: MessageEvent<ToWorker>) => {
    const m = ev.data;
    const work = async (): Promise<void> => {
      if (m.type === 'pick') {
        picked = null;
        picked = pickedModel(m.files.map((f) => ({ path: f.path, bytes: f.bytes })));
        post({ type: 'picked', label: picked.label, files: m.files.length });
      } else await run(m.controls, m.image, m.imageName);
    };
    work().catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
  });
}
