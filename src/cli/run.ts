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
import { BACKEND_FLAGS, INPUT_FLAGS, METHOD_FLAGS, WEIGHTS_FLAGS, checkImageFlag, checkSequenceFlag, methodChoice, progress, promptIds, readImageFlag, runtimeFlags } from './common';
import { openRuntime } from '../runtime';
import { loadLlavaNextConfig } from '../llava/load';
import { encodePng } from '../io/image';
import { loadTokenizer } from '../io/tokenizer';
import { ensureDefaultWeights } from '../weights/default_model';
import { runPipeline } from '../pipeline';
import { methodByName } from '../methods';
import { attentionMapLabels, METHOD_REPORTS } from '../report/method_report';
import { renderOverlay } from '../report/overlay';
import { renderSingleCropOverlay } from '../report/overlay_single';
import { isLlava15 } from '../llava/llava15';
import { probeOutDir, writeFilesAtomic } from '../io/out';
import { randomWeightsMark } from '../io/random_mark';
import { IMAGE_ASPECT_FLAGS, imageAspectFlag } from './image_aspect';
import { renderAttentionMaps } from '../report/attention_maps';
import { buildReport, formatReport, RANDOM_CHECKPOINT_NOTE, RANDOM_NOTE } from '../report/summary';
import { renderReportHtml } from '../report/html';

const FLAGS: FlagSpecs = {
  ...INPUT_FLAGS,
  ...METHOD_FLAGS,
  model: { type: 'string', arg: 'DIR', help: 'LLaVA-NeXT or LLaVA-1.5 checkpoint directory (llava-hf layout; the family comes from config.json model_type; default: the embedded random-weight model)' },
  ...IMAGE_ASPECT_FLAGS,
  out: { type: 'string', arg: 'DIR', default: 'hero-out', help: 'where overlay.png, attention_maps.png, report.json and report.html (the same report as one self-contained page) go' },
  json: { type: 'boolean', help: 'print report.json on stdout instead of the text report' },
  ...WEIGHTS_FLAGS,
  ...BACKEND_FLAGS,
};

const USAGE = 'usage: hero-lvlm run --image FILE --prompt TEXT [--ratio r] [--method M] [--model DIR --clip DIR] [--template vicuna_v1|llava-hf] [--image-alpha drop|white] [--image-aspect crop|pad] [--max-new-tokens N] [--out DIR] [--json]';
const DESCRIPTION = 'Answers a question about an image with HERO dropping visual tokens early, then reports the tile\n' +
  'importance, the budgets, the tokens kept, the prefill FLOPs and KV cache of the real Vicuna-7B at both\n' +
  'token counts, and the wall time per stage. Without --model it runs the embedded default model, whose\n' +
  'weights are random (its answers are meaningless; the selection and the savings are real).\n' +
  'Writes to --out: overlay.png (kept tokens on the image), attention_maps.png (CLS attention per layer and\n' +
  'crop), report.json, and report.html (all of it on one self-contained page; open it in a browser).';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
    return 0;
  }
  const flags = parseFlags(argv, FLAGS, 'hero-lvlm run');
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  const imageFile = checkImageFlag(flags);
  probeOutDir(flags.out as string); // before the image is read or the backend started
  if (flags.prompt === undefined && flags['raw-prompt'] === undefined && flags['input-ids'] === undefined) throw new HeroError('--prompt: required');
  const maxNew = flags['max-new-tokens'] as number;
  if (maxNew < 1) throw new HeroError(`--max-new-tokens: ${maxNew} must be at least 1`);
  // No --ratio default here: each method takes its own (Method.configure; METHOD_FLAGS.ratio's help lists them).
  const m = methodByName(flags.method as string);

  // Model: the user's, or the embedded default (random weights, generated on first use).
  let modelDir = flags.model as string | undefined;
  const randomWeights = modelDir === undefined;
  if (randomWeights) {
    const d = ensureDefaultWeights({ log });
    modelDir = d.llavaDir;
    if (flags.clip === undefined) flags.clip = d.clipDir;
    log(`model: the embedded default model — ${RANDOM_NOTE}`);
  } else if (!fs.existsSync(path.join(modelDir!, 'config.json'))) {
    throw new HeroError(`--model: '${modelDir}' has no config.json (expected a llava-hf LLaVA-NeXT or LLaVA-1.5 directory)`); // before the image is read
  }
  // Everything the flags say is checked against the configs before any weight is read.
  const config = loadLlavaNextConfig(modelDir!);
  const { ids, question, template } = promptIds(flags, { config, dir: modelDir! });
  const choice = methodChoice(flags, config, question, log);
  const imageAspect = imageAspectFlag(flags, config, modelDir!);
  // A checkpoint written by `random-weights` (or a --clip one) says so everywhere, as the default model does.
  const marked = randomWeights ? null : [modelDir!, flags.clip as string | undefined].some((d) => d !== undefined && randomWeightsMark(d) !== null);
  const { image, alpha: imageAlpha } = await readImageFlag(flags, imageFile);
  checkSequenceFlag(config, ids, image, choice.name, maxNew); // before any weight is read
  if (marked) log(`model: ${RANDOM_CHECKPOINT_NOTE}`); // once every input is checked
  const bar = progress(log);
  const hook = m.decoder ? `with --method ${m.name}, whose decoder hook needs the in-process decoder` : undefined;
  const rt = await openRuntime({ ...runtimeFlags(flags, modelDir!, choice, log, bar), inProcessDecoder: hook, backgroundReads: true });
  const { model, method } = rt;
  try {
    const result = await runPipeline(model, {
      visionEncoder: rt.visionEncoder, decoder: rt.decoder,
      image, imageAspect, inputIds: ids, method, maxNewTokens: maxNew, clsAttentionLayers: 'all',
      onStage: (s) => { bar.stage(s === 'vision' ? 'encoding the image (vision tower)' : s); rt.atStage(s); }, // each pool's workers go once its tower is done
      onProgress: (s, d, t) => bar.bar(s, d, t),
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
    const r = (method.options as { ratio?: number } | undefined)?.ratio;
    const ratioText = typeof r === 'number' ? `, r = ${r}` : '';
    const overlayTitle = `Visual tokens kept by ${method.name}${ratioText}: ${result.visualTokens} of ${result.visualTokensFull}`;
    const overlay = isLlava15(model.config) // one crop: its own geometry (report/overlay_single.ts)
      ? { image: renderSingleCropOverlay(image, result.keepMasks[0], G, S, imageAspect ?? 'crop', overlayTitle) }
      : renderOverlay(image, result.keepMasks, grid, G, S, [result.processed.bestResolution], overlayTitle);
    const P = result.processed.shape[0];
    const methodMaps = attentionMapLabels(method, model, result.methodTensors, P, G * G);
    const maps = renderAttentionMaps(result.clsAttention, P, G, { grid, ...methodMaps }).image;
    const overlayPng = await encodePng(overlay.image, outputs.overlay), mapsPng = await encodePng(maps, outputs.attention_maps);
    const prompt = (flags.prompt ?? flags['raw-prompt'] ?? null) as string | null;
    const report = buildReport(result, {
      randomWeights: randomWeights || marked === true, randomNote: marked ? RANDOM_CHECKPOINT_NOTE : undefined, model: model.dir, clip: method.clip ? method.clip.dir : null, backend: rt.backend, weights: rt.residency,
      method: method.name, options: method.options ?? {}, prompt, imageFile, imageAlpha, template, answer, outputs, tileStats: METHOD_REPORTS[method.name]?.tileStats,
    });
    (report.timings_ms as Record<string, number>).load = rt.loadMs;
    const html = renderReportHtml(report, { overlay: overlayPng, attentionMaps: mapsPng });
    writeFilesAtomic([ // all four whole, or none
      [outputs.overlay, overlayPng], [outputs.attention_maps, mapsPng],
      [outputs.report, `${JSON.stringify(report, null, 2)}\n`], [outputs.report_html, html],
    ]);
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return 0;
  } finally {
    bar.end();
    await rt.close();
  }
}

export const command: Command = { name: 'run', summary: 'answer a question with HERO and write a visual report', main };
