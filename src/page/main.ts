/**
 * The explorer page (docs/page.md): the same src/ modules as the command line, on browser inputs. The
 * controls become `hero-lvlm trace` flags and go through the command's own checks and runtime
 * (cli/trace.ts runTrace → runtime/index.ts openRuntime → pipeline.ts runPipeline); the pictures are
 * report/'s (overlay, attention maps), the table report/summary.ts buildReport's, the exported file
 * io/safetensors.ts writeSafetensors' with trace's names and metadata. Reads: model_files.ts (the model),
 * image.ts (the image), then this file top to bottom: start-up, controls, run, results.
 */
import './node_files';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import WASM from '../../node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm';
import WASM_SIMD from '../../node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm';
import WASM_THREADED from '../../node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm';
import { HeroError } from '../core/errors';
import type { RgbImage } from '../core/image';
import { runTrace, type TraceOutcome } from '../cli/trace';
import { METHOD_CLI } from '../cli/method_flags';
import { METHOD_NAMES, methodByName, type MethodName } from '../methods';
import { CLIP_FLAGS } from '../cli/common';
import { writeSafetensors } from '../io/safetensors';
import { fileBytes, removeTree } from '../io/browser_fs';
import { loadTokenizer } from '../io/tokenizer';
import { renderOverlay } from '../report/overlay';
import { renderAttentionMaps } from '../report/attention_maps';
import { attentionMapLabels, METHOD_REPORTS } from '../report/method_report';
import { buildReport, RANDOM_NOTE } from '../report/summary';
import { renderHeatmap } from '../report/analysis';
import { isLlava15 } from '../llava/llava15';
import type { FlagSpecs } from '../cli/args';
import type { PipelineResult } from '../pipeline';
import type { Runtime } from '../runtime';
import { decodeImage, drawRgb } from './image';
import { defaultModel, pickedModel, type ModelDirs, type PickedFile } from './model_files';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

// ---- start-up: the wasm binaries from the bundle, WebGPU where the browser has it -------------------------

const blobUrl = (b: Uint8Array): string => URL.createObjectURL(new Blob([b as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }));
setWasmPaths({ 'tfjs-backend-wasm.wasm': blobUrl(WASM), 'tfjs-backend-wasm-simd.wasm': blobUrl(WASM_SIMD), 'tfjs-backend-wasm-threaded-simd.wasm': blobUrl(WASM_THREADED) }, true);
const hasWebGpu = 'gpu' in navigator;
// tfjs-wasm uses threads only on a cross-origin-isolated page (npm run page -- --serve); from file:// it runs single-threaded SIMD.
const threads = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

function showError(e: unknown): void {
  const box = $('error');
  const msg = e instanceof HeroError ? e.message : `${(e as Error)?.message ?? String(e)}`;
  box.textContent = `hero-lvlm: error: ${msg}`;
  box.hidden = false;
}
function clearError(): void { $('error').hidden = true; }
window.addEventListener('error', (ev) => showError(ev.error ?? ev.message));
window.addEventListener('unhandledrejection', (ev) => showError(ev.reason));

function log(s: string): void {
  const el = $('log');
  el.textContent += `${s}\n`;
  el.scrollTop = el.scrollHeight;
}

// ---- controls ----------------------------------------------------------------------------------------------

let picked: ModelDirs | null = null;
let image: { name: string; img: RgbImage } | null = null;

async function readPicked(list: Iterable<File>, relative: (f: File) => string): Promise<void> {
  const files: PickedFile[] = [];
  for (const f of list) files.push({ path: relative(f), bytes: new Uint8Array(await f.arrayBuffer()) });
  picked = null;
  $('model-status').textContent = `reading ${files.length} files…`;
  picked = pickedModel(files);
  ($('setup').querySelector('input[name=model][value=picked]') as HTMLInputElement).checked = true;
  $('model-status').textContent = `picked: ${picked.label} (${files.length} files)`;
}

function guard(f: () => Promise<void>): () => void {
  return () => { clearError(); f().catch((e) => { showError(e); $('model-status').textContent = picked ? `picked: ${picked.label}` : 'no checkpoint picked'; }); };
}

$<HTMLInputElement>('model-files').addEventListener('change', guard(async () => readPicked($<HTMLInputElement>('model-files').files!, (f) => f.name)));
$<HTMLInputElement>('model-folder').addEventListener('change', guard(async () => readPicked($<HTMLInputElement>('model-folder').files!, (f) => f.webkitRelativePath || f.name)));
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  guard(async () => {
    const out: File[] = [], paths = new Map<File, string>();
    const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
      if (entry.isFile) {
        const f = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
        out.push(f); paths.set(f, prefix + f.name);
      } else if (entry.isDirectory) {
        const reader = (entry as FileSystemDirectoryEntry).createReader();
        for (;;) {
          const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
          if (!batch.length) break;
          for (const c of batch) await walk(c, `${prefix}${entry.name}/`);
        }
      }
    };
    for (const item of Array.from(e.dataTransfer?.items ?? [])) {
      const entry = item.webkitGetAsEntry();
      if (entry) await walk(entry, '');
    }
    await readPicked(out, (f) => paths.get(f) ?? f.name);
  })();
});

$<HTMLInputElement>('image').addEventListener('change', guard(async () => {
  const f = $<HTMLInputElement>('image').files?.[0];
  image = null;
  if (!f) return;
  const img = await decodeImage(f.name, new Uint8Array(await f.arrayBuffer()));
  image = { name: f.name, img };
  drawRgb($<HTMLCanvasElement>('image-preview'), img);
}));

/** The method's knobs: --ratio (every method but none) and its own flags (cli/method_flags.ts), blank = its default. */
function methodKnobs(name: MethodName): FlagSpecs {
  // a method that reads a separate CLIP model (HERO-2) takes its text too (--clip itself is the picked CLIP folder)
  const clip = methodByName(name).clip ? { 'clip-text': CLIP_FLAGS['clip-text'], 'clip-input-ids': CLIP_FLAGS['clip-input-ids'] } : {};
  return { ...(name === 'none' ? {} : { ratio: { type: 'number', arg: 'R', help: `retention ratio r in (0, 1]${METHOD_CLI[name].ratioHelp ? ` (default ${METHOD_CLI[name].ratioHelp})` : ''}` } }), ...METHOD_CLI[name].flags, ...clip } as FlagSpecs;
}
function renderKnobs(): void {
  const name = $<HTMLSelectElement>('method').value as MethodName;
  const box = $('knobs');
  box.textContent = '';
  for (const [flag, spec] of Object.entries(methodKnobs(name))) {
    const label = document.createElement('label');
    label.title = spec.help ?? '';
    label.append(`--${flag} `);
    const input = document.createElement('input');
    input.id = `knob-${flag}`;
    input.dataset.flag = flag;
    input.type = spec.type === 'number' ? 'number' : 'text';
    if (spec.type === 'number') input.step = 'any';
    input.placeholder = spec.default !== undefined ? String(spec.default) : 'default';
    input.size = 10;
    label.append(input);
    box.append(label);
  }
}
for (const m of METHOD_NAMES) $<HTMLSelectElement>('method').add(new Option(m, m, m === 'hero', m === 'hero'));
$<HTMLSelectElement>('method').addEventListener('change', renderKnobs);
renderKnobs();
if (!hasWebGpu) { const o = $<HTMLSelectElement>('backend').options[1]; o.disabled = true; o.text = 'webgpu (not in this browser)'; }

// ---- run ---------------------------------------------------------------------------------------------------

/** The controls as `hero-lvlm trace` flags (no --out: the page keeps the file). */
function traceArgs(dirs: ModelDirs, imageName: string): string[] {
  const method = $<HTMLSelectElement>('method').value as MethodName;
  const ids = $<HTMLInputElement>('input-ids').value.trim();
  const args = ['--model', dirs.model, '--image', imageName,
    ...(ids ? ['--input-ids', ids] : ['--prompt', $<HTMLInputElement>('question').value]),
    '--max-new-tokens', $<HTMLInputElement>('max-new').value || '0', '--method', method, '--backend', $<HTMLSelectElement>('backend').value, '--accel', 'wasm'];
  for (const input of Array.from($('knobs').querySelectorAll('input'))) if (input.value.trim() !== '') args.push(`--${input.dataset.flag}`, input.value.trim());
  if (dirs.clip && methodByName(method).clip) args.push('--clip', dirs.clip);
  return args;
}

let last: { outcome: TraceOutcome; name: string } | null = null;

function setBar(label: string, frac: number | null): void {
  $('stage').textContent = label;
  $('bar').style.width = frac === null ? '100%' : `${Math.round(frac * 100)}%`;
}
/** Lets the page paint (progress) between the long synchronous steps. */
const paint = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

async function run(): Promise<void> {
  clearError();
  const button = $<HTMLButtonElement>('run');
  button.disabled = true;
  $('log').textContent = '';
  try {
    if (!image) throw new HeroError('pick an image first');
    const useDefault = ($('setup').querySelector('input[name=model]:checked') as HTMLInputElement).value === 'default';
    if (!useDefault && !picked) throw new HeroError('pick a checkpoint (files, a folder, or drop one), or choose the embedded default model');
    setBar(useDefault ? 'generating the default model' : 'reading the checkpoint', null);
    await paint();
    const dirs = useDefault ? defaultModel(log) : picked!;
    const args = traceArgs(dirs, image.name);
    log(`hero-lvlm trace ${args.join(' ')}`);
    log(`wasm: ${threads ? 'threads (cross-origin isolated)' : 'single-threaded SIMD (not cross-origin isolated: npm run page -- --serve for threads)'}; no worker pools or BLAS in the browser (Node-only accelerations)`);
    const record = $<HTMLInputElement>('record').checked;
    const bar = {
      stage: (s: string) => { setBar(s, 0); log(`${s} …`); },
      bar: (what: string, done: number, total: number) => setBar(`${what} ${done}/${total}`, done / total),
      end: () => undefined,
    };
    const t0 = performance.now();
    const outcome = await runTrace(args, {
      log, bar, image: { image: image.img, alpha: 'drop' }, trace: record, needOut: false, clsAttentionLayers: 'all',
      onResult: (result, rt) => showResults(result, rt, dirs, image!.img),
    });
    setBar(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s (backend ${outcome.backend}${outcome.backend === 'wasm' ? (threads ? ', threads' : ', single thread') : ''})`, 1);
    last = { outcome, name: image.name };
    $('export-info').textContent = record ? `${outcome.result.trace.size} tensors` : 'tick “record every tensor” and run again to export the trace';
    ($('export') as HTMLButtonElement).disabled = !record;
    $('env').textContent = envLine(outcome.backend);
  } catch (e) {
    setBar('failed', 0);
    showError(e);
  } finally {
    button.disabled = false;
  }
}
$('run').addEventListener('click', () => { void run(); });

/** The trace file, as `hero-lvlm trace` writes it (written into the in-memory files, then downloaded). */
function exportTrace(): void {
  if (!last) return;
  const file = '/out/trace.safetensors';
  writeSafetensors(file, last.outcome.tensors, last.outcome.metadata);
  const bytes = fileBytes(file);
  removeTree('/out');
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  a.download = `${last.name.replace(/\.[^.]*$/, '')}.${last.outcome.methodName}.trace.safetensors`;
  document.body.append(a);
  a.click();
  a.remove();
}
$('export').addEventListener('click', () => { try { exportTrace(); } catch (e) { showError(e); } });

// ---- results -----------------------------------------------------------------------------------------------

function table(head: string[], rows: (string | number)[][]): HTMLTableElement {
  const t = document.createElement('table');
  const tr = t.createTHead().insertRow();
  for (const h of head) { const th = document.createElement('th'); th.textContent = h; tr.append(th); }
  const body = t.createTBody();
  for (const r of rows) { const row = body.insertRow(); for (const c of r) row.insertCell().textContent = String(c); }
  return t;
}
const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toFixed(4));

async function showResults(result: PipelineResult, rt: Runtime, dirs: ModelDirs, img: RgbImage): Promise<void> {
  const { model, method } = rt;
  $('results').hidden = false;
  let answer: string;
  try {
    answer = loadTokenizer(model.dir).decode(result.newIds, { skipSpecialTokens: true }).trim();
  } catch {
    answer = `(no tokenizer in the checkpoint; ids ${result.newIds.join(',')})`;
  }
  $('answer').textContent = answer || '(empty)';
  const report = buildReport(result, {
    randomWeights: dirs.label.includes('RANDOM'), model: dirs.label, clip: method.clip ? dirs.clip ?? null : null, backend: rt.backend, weights: rt.residency,
    method: method.name, options: method.options ?? {}, imageFile: image?.name ?? '', imageAlpha: 'drop', template: null, answer, outputs: {},
    tileStats: METHOD_REPORTS[method.name]?.tileStats,
  });
  $('tokens').textContent = `${method.name}: ${result.visualTokens} of ${result.visualTokensFull} visual tokens kept; per crop (thumbnail first): ${result.keptPerCrop.join(', ')}` +
    (report.random_weights ? ` — ${RANDOM_NOTE}` : '');
  $('tokens').dataset.kept = String(result.visualTokens);
  // the overlay (report/overlay.ts, as `run` draws it)
  const G = model.derived.patchGrid, S = model.derived.cropPx, grid = result.processed.grid, P = result.processed.shape[0];
  const r = (method.options as { ratio?: number } | undefined)?.ratio;
  const title = `Visual tokens kept by ${method.name}${typeof r === 'number' ? `, r = ${r}` : ''}: ${result.visualTokens} of ${result.visualTokensFull}`;
  if (!isLlava15(model.config)) drawRgb($<HTMLCanvasElement>('overlay'), renderOverlay(img, result.keepMasks, grid, G, S, [result.processed.bestResolution], title).image);
  // the per-tile table and budgets (report/summary.ts buildReport: report.json's tiles)
  const tiles = $('tiles');
  tiles.textContent = '';
  tiles.append(table(['tile', '(r,c)', 'CLS sim', 'saliency', 'CLIP score', 'relevance', 'density', 'importance', 'budget', 'kept'],
    report.tiles.map((t) => [t.tile, `(${t.row},${t.col})`, fmt(t.cls_similarity), fmt(t.saliency), fmt(t.clip_score), fmt(t.relevance), fmt(t.density), fmt(t.importance), fmt(t.budget), t.kept])));
  // stage times
  const times = $('times');
  times.textContent = '';
  times.append(table(['stage', 'ms'], [['load', rt.loadMs.toFixed(1)], ...Object.entries(result.timings).map(([k, v]) => [k, v.toFixed(1)])]));
  // the CLS attention maps (report/attention_maps.ts)
  if (result.clsAttention.length) {
    const labels = attentionMapLabels(method, model, result.methodTensors, P, G * G);
    drawRgb($<HTMLCanvasElement>('maps'), renderAttentionMaps(result.clsAttention, P, G, { grid, ...labels }).image);
  }
  showSteps(result, G);
}

/** HERO-1…6 with the run's own tensors (names of docs/trace.md). */
const STEPS: ReadonlyArray<{ id: string; eq: string; names: readonly string[] }> = [
  { id: 'HERO-1', eq: 'saliency_k = softmax_k( cos(CLS_k, CLS_thumb) / τ_v )', names: ['hero.cls_similarity', 'hero.saliency'] },
  { id: 'HERO-2', eq: 'relevance_k = softmax_k( cos(CLIP image_k, CLIP text) / τ_t )', names: ['hero.clip_similarity', 'hero.relevance'] },
  { id: 'HERO-D', eq: 'density_k = valid tokens of tile k / N', names: ['hero.valid_mask', 'hero.density'] },
  { id: 'HERO-3', eq: 'importance_k = λ·density_k + (1−λ)·(α·saliency_k + (1−α)·relevance_k)', names: ['hero.importance'] },
  { id: 'HERO-4', eq: 'b_k = tokens kept in tile k (budget from importance and r)', names: ['hero.budgets'] },
  { id: 'HERO-5', eq: 'thumbnail scores = mean over the high layers of CLS→patch attention; keep the top B₀', names: ['hero.global_scores', 'hero.global_keep'] },
  { id: 'HERO-6', eq: 'tile scores = mean over the low layers of CLS→patch attention; keep the top b_k of tile k', names: ['hero.tile_scores', 'hero.tile_keep'] },
];

function showSteps(result: PipelineResult, G: number): void {
  const box = $('steps');
  box.textContent = '';
  const t = result.methodTensors;
  if (![...t.keys()].some((k) => k.startsWith('hero.'))) { box.textContent = 'Run with --method hero to step through HERO-1…6.'; return; }
  for (const s of STEPS) {
    const div = document.createElement('div');
    div.className = 'step';
    div.id = `step-${s.id}`;
    const h = document.createElement('h3');
    h.textContent = `${s.id}`;
    const eq = document.createElement('div');
    eq.className = 'eq';
    eq.textContent = s.eq;
    div.append(h, eq);
    for (const name of s.names) {
      const v = t.get(name);
      if (!v) continue;
      const vals = Array.from(v.data as ArrayLike<number>, Number);
      const p = document.createElement('div');
      p.className = 'vals';
      p.textContent = `${name} ${v.dtype} [${v.shape.join(', ')}]` + (vals.length <= 64 ? ` = [${vals.map((x) => fmt(x)).join(', ')}]` : ` (${vals.length} values, heatmap per ${G}×${G} grid below)`);
      div.append(p);
      if (vals.length > 64 && vals.length % (G * G) === 0) {
        const rows = vals.length / (G * G);
        for (let k = 0; k < rows; k++) {
          const c = document.createElement('canvas');
          c.style.display = 'inline-block';
          c.style.marginRight = '8px';
          drawRgb(c, renderHeatmap(vals.slice(k * G * G, (k + 1) * G * G), G, G, {
            title: rows > 1 ? `${name}, tile ${k}` : name, subtitle: `${G}×${G} tokens, raster order`,
            rowLabels: Array.from({ length: G }, (_, i) => String(i)), colLabels: Array.from({ length: G }, (_, j) => String(j)),
            xTitle: 'column', yTitle: 'row', scaleText: name.endsWith('keep') ? '1 = kept' : 'score',
          }));
          div.append(c);
        }
      }
    }
    box.append(div);
  }
}

function envLine(backend?: string): string {
  return `backends: wasm (${threads ? 'threads: cross-origin isolated' : 'SIMD, single thread'})` +
    `, webgpu ${hasWebGpu ? 'available' : 'not in this browser'}; tfjs ${tf.version_core}${backend ? `; last run on ${backend}` : ''}`;
}
$('env').textContent = envLine();
($('export') as HTMLButtonElement).disabled = true;
