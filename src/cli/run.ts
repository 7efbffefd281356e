/**
 * `hero-lvlm run`: the main job. Asks a question about an image with HERO (or another method) dropping
 * visual tokens, prints the answer and a report of what was kept and what it saves, and writes
 * overlay.png, attention_maps.png, report.json and report.html (one self-contained page) to --out.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { helpText, parseFlags, type FlagSpecs } from './args';
import type { Command } from './main';
import { checkWeightsFit } from '../accel/webgpu';
import { BACKEND_FLAGS, INPUT_FLAGS, METHOD_FLAGS, checkImageFlag, methodSpec, promptIds, readImageFlag, setupBackend, startVisionPool } from './common';
import { encodePng } from '../io/image';
import { loadTokenizer } from '../io/tokenizer';
import { disposeLlavaNext, llavaNextFp32Bytes, loadLlavaNext } from '../llava/model';
import { loadLlavaNextConfig } from '../llava/config';
import { disposeClipModel } from '../clip/model';
import { ensureDefaultWeights } from '../weights/default_model';
import { runPipeline } from '../pipeline';
import { METHOD_TAPS } from '../methods';
import type { VisionTaps } from '../clip/vision';
import { renderOverlay } from '../report/overlay';
import { renderAttentionMaps } from '../report/attention_maps';
import { buildReport, formatReport, RANDOM_NOTE } from '../report/summary';
import { renderReportHtml } from '../report/html';
import { checkMemory } from '../report/memory';
import { readJsonFile } from '../io/json';

const FLAGS: FlagSpecs = {
  ...INPUT_FLAGS,
  ...METHOD_FLAGS,
  model: { type: 'string', arg: 'DIR', help: 'LLaVA-NeXT checkpoint directory (default: the embedded random-weight model)' },
  out: { type: 'string', arg: 'DIR', default: 'hero-out', help: 'where overlay.png, attention_maps.png, report.json and report.html (the same report as one self-contained page) go' },
  json: { type: 'boolean', help: 'print report.json on stdout instead of the text report' },
  force: { type: 'boolean', help: 'load the model even if the memory estimate exceeds the available memory ($HERO_LVLM_AVAILABLE_MEMORY bytes, else MemAvailable)' },
  ...BACKEND_FLAGS,
};

const USAGE = 'usage: hero-lvlm run --image FILE --prompt TEXT [--ratio r] [--method M] [--model DIR --clip DIR] [--template vicuna_v1|llava-hf] [--image-alpha drop|white] [--max-new-tokens N] [--out DIR] [--json]';
const DESCRIPTION = 'Answers a question about an image with HERO dropping visual tokens early, then reports the tile\n' +
  'importance, the budgets, the tokens kept, the prefill FLOPs and KV cache of the real Vicuna-7B at both\n' +
  'token counts, and the wall time per stage. Without --model it runs the embedded default model, whose\n' +
  'weights are random (its answers are meaningless; the selection and the savings are real).\n' +
  'Writes to --out: overlay.png (kept tokens on the image), attention_maps.png (CLS attention per layer and\n' +
  'crop), report.json, and report.html (all of it on one self-contained page; open it in a browser).';

/** fp32 bytes of the CLIP model's parameters, from its config (sum over its tensors). */
function clipBytes(dir: string): number {
  const json = readJsonFile<Record<string, Record<string, number>>>(path.join(dir, 'config.json'), 'CLIP config');
  const v = json.vision_config ?? {}, t = json.text_config ?? {};
  const layer = (d: number, f: number): number => 4 * d * d + 2 * d * f + 9 * d + f;
  const vis = (v.num_hidden_layers ?? 12) * layer(v.hidden_size ?? 768, v.intermediate_size ?? 3072) + ((v.image_size ?? 224) / (v.patch_size ?? 32)) ** 2 * (v.hidden_size ?? 768) * 2;
  const txt = (t.num_hidden_layers ?? 12) * layer(t.hidden_size ?? 512, t.intermediate_size ?? 2048) + (t.vocab_size ?? 49408) * (t.hidden_size ?? 512);
  return 4 * (vis + txt);
}

/** Progress bars on a TTY (rewritten in place: loading tensors, vision layers, decoded tokens); plain stage lines otherwise. */
function progress(log: (s: string) => void): { stage: (s: string) => void; bar: (what: string, done: number, total: number) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let open = false;
  const end = (): void => { if (open) { process.stderr.write('\n'); open = false; } };
  return {
    stage: (s) => { end(); log(`${s} …`); },
    bar: (what, done, total) => {
      if (!tty) return;
      const w = 30, n = Math.round((done / total) * w);
      process.stderr.write(`\r${what.padEnd(10)} [${'#'.repeat(n)}${'.'.repeat(w - n)}] ${done}/${total}`);
      open = true;
    },
    end,
  };
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
    return 0;
  }
  const flags = parseFlags(argv, FLAGS, 'hero-lvlm run');
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  const imageFile = checkImageFlag(flags);
  if (flags.prompt === undefined && flags['raw-prompt'] === undefined && flags['input-ids'] === undefined) throw new HeroError('--prompt: required');
  const maxNew = flags['max-new-tokens'] as number;
  if (maxNew < 1) throw new HeroError(`--max-new-tokens: ${maxNew} must be at least 1`);
  // No --ratio default here: each method takes its own (methodSpec; METHOD_FLAGS.ratio's help lists them).
  const ratio = flags.ratio as number | undefined;
  if (ratio !== undefined && !(ratio > 0 && ratio <= 1)) throw new HeroError(`--ratio: ${ratio} is outside (0, 1]`);

  // Model: the user's, or the embedded default (random weights, generated on first use).
  let modelDir = flags.model as string | undefined;
  const randomWeights = modelDir === undefined;
  if (randomWeights) {
    const d = ensureDefaultWeights({ log });
    modelDir = d.llavaDir;
    if (flags.clip === undefined) flags.clip = d.clipDir;
    log(`model: the embedded default model — ${RANDOM_NOTE}`);
  } else if (!fs.existsSync(path.join(modelDir!, 'config.json'))) {
    throw new HeroError(`--model: '${modelDir}' has no config.json (expected a llava-hf LLaVA-NeXT directory)`);
  }
  const { image, alpha: imageAlpha } = await readImageFlag(flags, imageFile);
  const backend = await setupBackend(flags, log);
  const P = 5; // at most 1 + 4 crops with LLaVA-NeXT's pinpoints; an upper bound for the estimate
  const cfg = loadLlavaNextConfig(modelDir!);
  const v = cfg.vision_config;
  const N1 = (v.image_size / v.patch_size) ** 2 + 1;
  const activations = 4 * P * (v.num_hidden_layers + 1) * N1 * (v.hidden_size + v.num_attention_heads * N1 / 4);
  const clipDir = flags.clip as string | undefined;
  checkMemory(llavaNextFp32Bytes(cfg) + (clipDir && fs.existsSync(path.join(clipDir, 'config.json')) ? clipBytes(clipDir) : 0) + activations, flags.force === true, log);

  const bar = progress(log);
  bar.stage('loading the model');
  const t0 = Date.now();
  const model = loadLlavaNext(modelDir!, (d, t) => bar.bar('loading', d, t));
  const loadMs = Date.now() - t0;
  let method;
  let pool;
  try {
    checkWeightsFit(model.params); // webgpu: every weight within the device's buffer limits (src/accel/webgpu.ts)
    const { ids, question, template } = promptIds(flags, model);
    method = methodSpec(flags, model, question, log);
    if (method.name === 'hero' && method.clip) checkWeightsFit(method.clip.params);
    pool = startVisionPool(flags, model, log);
    const result = runPipeline(model, {
      visionEncoder: pool,
      image, inputIds: ids, method, maxNewTokens: maxNew, clsAttentionLayers: 'all',
      onStage: (s) => bar.stage(s === 'vision' ? 'encoding the image (vision tower)' : s),
      onProgress: (_s, d, t) => bar.bar('vision', d, t),
      onToken: (step) => bar.bar('decoding', step + 1, maxNew),
    });
    bar.end();
    let answer: string;
    try {
      answer = loadTokenizer(model.dir).decode(result.newIds, { skipSpecialTokens: true }).trim();
    } catch {
      answer = `(no tokenizer in ${model.dir}; ids ${result.newIds.join(',')})`;
    }

    // Pictures, report.json and report.html: everything is rendered first, then written.
    const out = flags.out as string;
    const G = model.derived.patchGrid, S = model.derived.cropPx;
    const outputs: Record<string, string> = {
      overlay: path.join(out, 'overlay.png'), attention_maps: path.join(out, 'attention_maps.png'), report: path.join(out, 'report.json'),
      report_html: path.join(out, 'report.html'),
    };
    const grid = result.processed.grid;
    const r = method.name === 'none' ? undefined : (method.options as { ratio?: number }).ratio;
    const ratioText = typeof r === 'number' ? `, r = ${r}` : '';
    const overlay = renderOverlay(image, result.keepMasks, grid, G, S, [result.processed.bestResolution],
      `Visual tokens kept by ${method.name}${ratioText}: ${result.visualTokens} of ${result.visualTokensFull}`);
    const P = result.processed.shape[0];
    const heroMaps = method.name === 'hero' ? {
      marks: [
        { layers: method.options.highLayers, crops: [0], label: `read by HERO-5: thumbnail, high layers ${method.options.highLayers.join(',')}` },
        { layers: method.options.lowLayers, crops: Array.from({ length: P - 1 }, (_, k) => k + 1), label: `read by HERO-6: tiles, low layers ${method.options.lowLayers.join(',')}` },
      ],
      averaged: {
        rowLabel: 'HERO avg', label: 'HERO avg: the layer average HERO ranks tokens by (hero.global_scores, hero.tile_scores)',
        maps: [result.methodTensors.get('hero.global_scores'), result.methodTensors.get('hero.tile_scores')].flatMap((t, i) => {
          if (!t) return i === 0 ? [null] : Array.from({ length: P - 1 }, () => null);
          const d = Float32Array.from(t.data as ArrayLike<number>);
          return i === 0 ? [d] : Array.from({ length: P - 1 }, (_, k) => d.subarray(k * G * G, (k + 1) * G * G));
        }),
      },
    } : (() => {
      // Other methods: frame the vision layers whose attention (or queries and keys) they read, in every crop.
      const taps = METHOD_TAPS(method, model);
      const list = (l: VisionTaps['attentions']): readonly number[] => (Array.isArray(l) ? l : []);
      const layers = [...new Set([...list(taps.attentions), ...list(taps.queryKey)])];
      return layers.length ? { marks: [{ layers, crops: Array.from({ length: P }, (_, p) => p), label: `read by ${method.name}: layer ${layers.join(',')}` }] } : {};
    })();
    const maps = renderAttentionMaps(result.clsAttention, P, G, { grid, ...heroMaps }).image;
    const overlayPng = await encodePng(overlay.image, outputs.overlay), mapsPng = await encodePng(maps, outputs.attention_maps);
    const prompt = (flags.prompt ?? flags['raw-prompt'] ?? null) as string | null;
    const report = buildReport(result, {
      randomWeights, model: model.dir, clip: method.name === 'hero' && method.clip ? method.clip.dir : null, backend,
      method: method.name, options: method.name === 'none' ? {} : method.options, prompt, imageFile, imageAlpha, template, answer, outputs,
    });
    (report.timings_ms as Record<string, number>).load = loadMs;
    const html = renderReportHtml(report, { overlay: overlayPng, attentionMaps: mapsPng });
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(outputs.overlay, overlayPng);
    fs.writeFileSync(outputs.attention_maps, mapsPng);
    fs.writeFileSync(outputs.report, `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(outputs.report_html, html);
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return 0;
  } finally {
    bar.end();
    await pool?.close();
    if (method?.name === 'hero' && method.clip) disposeClipModel(method.clip);
    disposeLlavaNext(model);
  }
}

export const command: Command = { name: 'run', summary: 'answer a question with HERO and write a visual report', main };
