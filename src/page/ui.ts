/**
 * The page's side (the DOM): the controls, the picked files and the image (decoded here for the preview and
 * handed to the worker), the progress bar, and the results the worker sends (protocol.ts). No model code
 * runs here: worker.ts runs it, so the page stays responsive during a run.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RgbImage } from '../core/image';
import { METHOD_CLI } from '../cli/method_flags';
import { CLIP_FLAGS } from '../cli/common';
import { METHOD_NAMES, methodByName, type MethodName } from '../methods';
import { renderHeatmap } from '../report/analysis';
import type { FlagSpecs } from '../cli/args';
import { decodeImage, drawRgb } from './image';
import type { Controls, FromWorker, RunResults, StepTensor, ToWorker } from './protocol';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const hasWebGpu = 'gpu' in navigator;
const threads = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

function showError(message: string): void {
  const box = $('error');
  box.textContent = `hero-lvlm: error: ${message}`;
  box.hidden = false;
}
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
function clearError(): void { $('error').hidden = true; }
function log(s: string): void {
  const el = $('log');
  el.textContent += `${s}\n`;
  el.scrollTop = el.scrollHeight;
}
function setBar(label: string, frac: number | null): void {
  $('stage').textContent = label;
  $('bar').style.width = frac === null ? '100%' : `${Math.round(frac * 100)}%`;
}

export function startPage(source: string): void {
  window.addEventListener('error', (ev) => showError(errorText(ev.error ?? ev.message)));
  window.addEventListener('unhandledrejection', (ev) => showError(errorText(ev.reason)));
  // the worker runs this same script (main.ts starts worker.ts when there is no document)
  const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
  const send = (m: ToWorker, transfer: Transferable[] = []): void => worker.postMessage(m, transfer);
  let image: { name: string; img: RgbImage } | null = null;
  let last: RunResults | null = null;
  const runButton = $<HTMLButtonElement>('run'), exportButton = $<HTMLButtonElement>('export');
  exportButton.disabled = true;

  worker.addEventListener('error', (ev) => { showError(ev.message || 'the worker failed'); runButton.disabled = false; setBar('failed', 0); });
  worker.addEventListener('message', (ev: MessageEvent<FromWorker>) => {
    const m = ev.data;
    if (m.type === 'log') log(m.line);
    else if (m.type === 'stage') setBar(m.stage, m.frac);
    else if (m.type === 'picked') {
      ($('setup').querySelector('input[name=model][value=picked]') as HTMLInputElement).checked = true;
      $('model-status').textContent = `picked: ${m.label} (${m.files} files)`;
    } else if (m.type === 'error') {
      showError(m.message);
      runButton.disabled = false;
      setBar('failed', 0);
      if ($('model-status').textContent?.startsWith('reading')) $('model-status').textContent = 'no checkpoint picked';
    } else if (m.type === 'done') {
      last = m.results;
      runButton.disabled = false;
      setBar(`done in ${m.seconds.toFixed(1)} s (backend ${m.results.backend}${m.results.backend === 'wasm' ? (threads ? ', threads' : ', single thread') : ''})`, 1);
      showResults(m.results);
      exportButton.disabled = m.results.trace === null;
      $('export-info').textContent = m.results.trace ? `${m.results.tensors} tensors` : 'tick “record every tensor” and run again to export the trace';
      $('env').textContent = envLine(m.results.backend);
    }
  });

  // ---- the model: picked files, a folder, or a drop -----------------------------------------------------
  const pick = async (list: Iterable<File>, relative: (f: File) => string): Promise<void> => {
    clearError();
    const files: { path: string; bytes: Uint8Array }[] = [];
    for (const f of list) files.push({ path: relative(f), bytes: new Uint8Array(await f.arrayBuffer()) });
    $('model-status').textContent = `reading ${files.length} files…`;
    send({ type: 'pick', files }, files.map((f) => f.bytes.buffer as ArrayBuffer));
  };
  const guard = (f: () => Promise<void>) => (): void => { f().catch((e) => showError(errorText(e))); };
  $<HTMLInputElement>('model-files').addEventListener('change', guard(() => pick($<HTMLInputElement>('model-files').files!, (f) => f.name)));
  $<HTMLInputElement>('model-folder').addEventListener('change', guard(() => pick($<HTMLInputElement>('model-folder').files!, (f) => f.webkitRelativePath || f.name)));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const entries = Array.from(e.dataTransfer?.items ?? [], (i) => i.webkitGetAsEntry()).filter((x): x is FileSystemEntry => x !== null);
    const loose = Array.from(e.dataTransfer?.files ?? []); // files without entries (e.g. dropped by a script)
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
      for (const entry of entries) await walk(entry, '');
      await pick(out.length ? out : loose, (f) => paths.get(f) ?? f.name);
    })();
  });

  // ---- the image ------------------------------------------------------------------------------------------
  $<HTMLInputElement>('image').addEventListener('change', guard(async () => {
    clearError();
    const f = $<HTMLInputElement>('image').files?.[0];
    image = null;
    if (!f) return;
    const img = await decodeImage(f.name, new Uint8Array(await f.arrayBuffer()));
    image = { name: f.name, img };
    drawRgb($<HTMLCanvasElement>('image-preview'), img);
  }));

  // ---- the method and its knobs ---------------------------------------------------------------------------
  for (const m of METHOD_NAMES) $<HTMLSelectElement>('method').add(new Option(m, m, m === 'hero', m === 'hero'));
  $<HTMLSelectElement>('method').addEventListener('change', renderKnobs);
  renderKnobs();
  if (!hasWebGpu) { const o = $<HTMLSelectElement>('backend').options[1]; o.disabled = true; o.text = 'webgpu (not in this browser)'; }

  // ---- run and export -------------------------------------------------------------------------------------
  runButton.addEventListener('click', () => {
    clearError();
    if (!image) { showError('pick an image first'); return; }
    $('log').textContent = '';
    runButton.disabled = true;
    const controls: Controls = {
      useDefault: ($('setup').querySelector('input[name=model]:checked') as HTMLInputElement).value === 'default',
      question: $<HTMLInputElement>('question').value, inputIds: $<HTMLInputElement>('input-ids').value.trim(),
      maxNew: $<HTMLInputElement>('max-new').value, method: $<HTMLSelectElement>('method').value, backend: $<HTMLSelectElement>('backend').value,
      knobs: Array.from($('knobs').querySelectorAll('input'), (i) => [i.dataset.flag!, i.value.trim()] as const).filter(([, v]) => v !== ''),
      record: $<HTMLInputElement>('record').checked,
    };
    send({ type: 'run', controls, image: image.img, imageName: image.name });
  });
  exportButton.addEventListener('click', () => {
    if (!last?.trace) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([last.trace as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    a.download = last.traceName;
    document.body.append(a);
    a.click();
    a.remove();
  });
  $('env').textContent = envLine();
}

/** The method's knobs: --ratio (every method but none), its own flags (cli/method_flags.ts), the CLIP text when it reads CLIP; blank = its default. */
function methodKnobs(name: MethodName): FlagSpecs {
  const clip = methodByName(name).clip ? { 'clip-text': CLIP_FLAGS['clip-text'], 'clip-input-ids': CLIP_FLAGS['clip-input-ids'] } : {};
  const ratio = name === 'none' ? {} : { ratio: { type: 'number', arg: 'R', help: `retention ratio r in (0, 1]${METHOD_CLI[name].ratioHelp ? ` (default ${METHOD_CLI[name].ratioHelp})` : ''}` } };
  return { ...ratio, ...METHOD_CLI[name].flags, ...clip } as FlagSpecs;
}
function renderKnobs(): void {
  const box = $('knobs');
  box.textContent = '';
  for (const [flag, spec] of Object.entries(methodKnobs($<HTMLSelectElement>('method').value as MethodName))) {
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

// ---- results --------------------------------------------------------------------------------------------

function table(head: string[], rows: (string | number)[][]): HTMLTableElement {
  const t = document.createElement('table');
  const tr = t.createTHead().insertRow();
  for (const h of head) { const th = document.createElement('th'); th.textContent = h; tr.append(th); }
  const body = t.createTBody();
  for (const r of rows) { const row = body.insertRow(); for (const c of r) row.insertCell().textContent = String(c); }
  return t;
}
const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toFixed(4));

function showResults(r: RunResults): void {
  $('results').hidden = false;
  $('answer').textContent = r.answer || '(empty)';
  $('tokens').textContent = r.tokensLine;
  $('tokens').dataset.kept = String(r.visualTokens);
  if (r.overlay) drawRgb($<HTMLCanvasElement>('overlay'), r.overlay);
  const tiles = $('tiles');
  tiles.textContent = '';
  tiles.append(table(['tile', '(r,c)', 'CLS sim', 'saliency', 'CLIP score', 'relevance', 'density', 'importance', 'budget', 'kept'],
    r.report.tiles.map((t) => [t.tile, `(${t.row},${t.col})`, fmt(t.cls_similarity), fmt(t.saliency), fmt(t.clip_score), fmt(t.relevance), fmt(t.density), fmt(t.importance), fmt(t.budget), t.kept])));
  const times = $('times');
  times.textContent = '';
  times.append(table(['stage', 'ms'], r.times.map(([k, v]) => [k, v.toFixed(1)])));
  if (r.maps) drawRgb($<HTMLCanvasElement>('maps'), r.maps);
  showSteps(r.steps, r.grid);
}

/** HERO-1…6 with the run's own tensors (names of docs/trace.md; equations of docs/equations.md). */
const STEPS: ReadonlyArray<{ id: string; eq: string; names: readonly string[] }> = [
  { id: 'HERO-1', eq: 'saliency_k = softmax_k( cos(CLS_k, CLS_thumb) / τ_v )', names: ['hero.cls_similarity', 'hero.saliency'] },
  { id: 'HERO-2', eq: 'relevance_k = softmax_k( cos(CLIP image_k, CLIP text) / τ_t )', names: ['hero.clip_similarity', 'hero.relevance'] },
  { id: 'HERO-D', eq: 'density_k = valid tokens of tile k / N', names: ['hero.valid_mask', 'hero.density'] },
  { id: 'HERO-3', eq: 'importance_k = λ·density_k + (1−λ)·(α·saliency_k + (1−α)·relevance_k)', names: ['hero.importance'] },
  { id: 'HERO-4', eq: 'b_k = tokens kept in tile k (budget from importance and r)', names: ['hero.budgets'] },
  { id: 'HERO-5', eq: 'thumbnail scores = mean over the high layers of CLS→patch attention; keep the top B₀', names: ['hero.global_scores', 'hero.global_keep'] },
  { id: 'HERO-6', eq: 'tile scores = mean over the low layers of CLS→patch attention; keep the top b_k of tile k', names: ['hero.tile_scores', 'hero.tile_keep'] },
];

function showSteps(tensors: readonly StepTensor[], G: number): void {
  const box = $('steps');
  box.textContent = '';
  if (!tensors.length) { box.textContent = 'Run with --method hero to step through HERO-1…6.'; return; }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const s of STEPS) {
    const div = document.createElement('div');
    div.className = 'step';
    div.id = `step-${s.id}`;
    const h = document.createElement('h3');
    h.textContent = s.id;
    const eq = document.createElement('div');
    eq.className = 'eq';
    eq.textContent = s.eq;
    div.append(h, eq);
    for (const name of s.names) {
      const v = byName.get(name);
      if (!v) continue;
      const p = document.createElement('div');
      p.className = 'vals';
      p.textContent = `${name} ${v.dtype} [${v.shape.join(', ')}]` + (v.values.length <= 64 ? ` = [${v.values.map((x) => fmt(x)).join(', ')}]` : ` (${v.values.length} values, a heatmap per ${G}×${G} grid below)`);
      div.append(p);
      if (v.values.length > 64 && v.values.length % (G * G) === 0) {
        const rows = v.values.length / (G * G);
        for (let k = 0; k < rows; k++) {
          const c = document.createElement('canvas');
          drawRgb(c, renderHeatmap(v.values.slice(k * G * G, (k + 1) * G * G), G, G, {
            title: rows > 1 ? `${name}, tile ${k}` : name, subtitle: `${G}×${G} tokens, raster order`,
            rowLabels: Array.from({ length: G }, (_, i) => String(i)), colLabels: Array.from({ length: G }, (_, j) => String(j)),
            xTitle: 'column', yTitle: 'row', scaleText: name.endsWith('keep') || name.endsWith('mask') ? '1 = kept / valid' : 'score',
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
    `, webgpu ${hasWebGpu ? 'available' : 'not in this browser'}; tfjs ${tf.version_core}; the model runs in a worker${backend ? `; last run on ${backend}` : ''}`;
}
