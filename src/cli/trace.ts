/**
 * `hero-lvlm trace`: runs LLaVA-NeXT (plain, or with a token-dropping method) on one image and prompt and
 * writes every intermediate tensor to one safetensors file, under the names of docs/trace.md, with HF's
 * shapes. The porter's tool: compare a port with it tensor by tensor.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { helpText, parseFlags, required, type FlagSpecs } from './args';
import type { Command } from './main';
import { BACKEND_FLAGS, INPUT_FLAGS, METHOD_FLAGS, WEIGHTS_FLAGS, checkImageFlag, checkSequenceFlag, methodChoice, progress, promptIds, readImageFlag, runtimeFlags, type Progress } from './common';
import type { AlphaMode, RgbImage } from '../io/image';
import { openRuntime, type Runtime } from '../runtime';
import { loadLlavaNextConfig } from '../llava/load';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors';
import { methodByName } from '../methods';
import { METHOD_CLI } from './method_flags';
import { runPipeline, type PipelineResult } from '../pipeline';
import { probeOutFile, writeFileAtomic } from '../io/out';
import { randomMarkMetadata } from '../io/random_mark';
import { IMAGE_ASPECT_FLAGS, imageAspectFlag } from './image_aspect';
import { isLlava15 } from '../llava/llava15';

const FLAGS: FlagSpecs = {
  model: { type: 'string', arg: 'DIR', help: 'LLaVA-NeXT or LLaVA-1.5 checkpoint directory (HF layout: config.json, preprocessor_config.json, *.safetensors; the family comes from config.json model_type)' },
  ...IMAGE_ASPECT_FLAGS,
  ...INPUT_FLAGS,
  ...METHOD_FLAGS,
  method: { ...METHOD_FLAGS.method, default: 'none' },
  out: { type: 'string', arg: 'FILE', help: 'output .safetensors file (missing directories are created)' },
  ...WEIGHTS_FLAGS,
  ...BACKEND_FLAGS,
};

const USAGE = 'usage: hero-lvlm trace --model DIR --image FILE (--prompt TEXT | --raw-prompt TEXT | --input-ids IDS) --out FILE.safetensors [flags]';
const DESCRIPTION = 'Runs LLaVA-NeXT on one image and writes every intermediate tensor (pixel_values, vision hidden states and\n' +
  'attentions, projected and packed features, inputs_embeds, logits, generated ids; hero.* with --method hero)\n' +
  'to a safetensors file. Tensor names and shapes: docs/trace.md.';

/**
 * --out must name a .safetensors file whose directory exists or can be created (missing directories are
 * created); checked before any compute (io/out.ts probeOutFile), so a bad path never costs a model run.
 */
export function checkOutFile(out: string): void {
  probeOutFile(out);
  if (!out.endsWith('.safetensors')) throw new HeroError(`--out: '${out}' should end in .safetensors`);
}

/** What a trace run gives: the pipeline's result, the tensors and the metadata of the file, the backend. */
export interface TraceOutcome {
  readonly result: PipelineResult;
  readonly tensors: Record<string, TensorToWrite>;
  readonly metadata: Record<string, string>;
  readonly backend: string;
  readonly loadMs: number;
  readonly methodName: string;
}

/**
 * Everything `trace` does between the flags and the file, shared by the command and the page (src/page/):
 * the checks (before any heavy work), the runtime, the pipeline with every tensor recorded, the file's
 * metadata. `image` is the decoded image when the caller decoded it (the page, in the browser: canvas),
 * else --image is read here (sharp); `trace: false` runs the same pipeline without recording every layer
 * (the page's plain runs). The file itself is the caller's (writeSafetensors of `tensors` and `metadata`).
 */
export async function runTrace(argv: string[], o: {
  readonly log: (s: string) => void; readonly bar: Progress;
  readonly image?: { readonly image: RgbImage; readonly alpha: AlphaMode };
  readonly trace?: boolean; readonly clsAttentionLayers?: 'all' | readonly number[];
  /** false: no --out (the page downloads the file instead) */
  readonly needOut?: boolean;
  /** called with the result while the model is still open (the page draws its pictures from both) */
  readonly onResult?: (result: PipelineResult, rt: Runtime) => Promise<void> | void;
  /** streamed weights read on a background thread while the run starts (Node's CLI; the page reads at load) */
  readonly backgroundReads?: boolean;
}): Promise<TraceOutcome> {
  const { log, bar } = o;
  const flags = parseFlags(argv, FLAGS, 'hero-lvlm trace');
  const modelDir = required<string>(flags, 'model');
  const out = o.needOut === false ? undefined : required<string>(flags, 'out');
  const imageFile = checkImageFlag(flags);
  if (out !== undefined) checkOutFile(out);
  const maxNew = flags['max-new-tokens'] as number;
  if (maxNew < 0) throw new HeroError(`--max-new-tokens: ${maxNew} is negative`);
  methodByName(flags.method as string); // an unknown --method is refused before anything is read
  if (!fs.existsSync(path.join(modelDir, 'config.json'))) throw new HeroError(`--model: '${modelDir}' has no config.json (expected a llava-hf LLaVA-NeXT or LLaVA-1.5 directory)`);
  // Everything the flags say is checked against the configs before any weight is read.
  const config = loadLlavaNextConfig(modelDir);
  const { ids, question, template } = promptIds(flags, { config, dir: modelDir });
  const choice = methodChoice(flags, config, question, log);
  const imageAspect = imageAspectFlag(flags, config, modelDir);
  const { image, alpha: imageAlpha } = o.image ?? await readImageFlag(flags, imageFile);
  checkSequenceFlag(config, ids, image, choice.name, maxNew); // before any weight is read
  const trace = o.trace !== false;
  const rf = runtimeFlags(flags, modelDir, choice, log, bar);
  const rt = await openRuntime({
    ...rf, ...(trace ? { inProcessDecoder: 'by trace, which records every layer', residency: { ...rf.residency, trace: true } } : {}), backgroundReads: o.backgroundReads === true,
  });
  const { model, method, backend } = rt;
  try {
    const result = await runPipeline(model, {
      visionEncoder: rt.visionEncoder, decoder: rt.decoder,
      image, imageAspect, inputIds: ids, method, maxNewTokens: maxNew, trace, clsAttentionLayers: o.clsAttentionLayers,
      onStage: (s) => { bar.stage(s); rt.atStage(s); }, // each pool's workers go once its tower is done
      onProgress: (s, d, t) => bar.bar(s, d, t),
      onToken: (step) => bar.bar('decoding', step + 1, maxNew),
    });
    bar.end();
    await o.onResult?.(result, rt);
    const metadata = {
      format: 'pt', producer: 'hero-lvlm trace', method: method.name, backend,
      model: modelDir, image: imageFile, image_alpha: imageAlpha, ...(isLlava15(model.config) ? { image_aspect: imageAspect ?? 'crop' } : {}),
      template: template ?? 'none (--raw-prompt / --input-ids)', ...(METHOD_CLI[method.name].traceMetadata?.(method) ?? {}),
      ...randomMarkMetadata(modelDir), // a checkpoint of `random-weights` says so in its trace too
    };
    return { result, tensors: Object.fromEntries(result.trace), metadata, backend, loadMs: rt.loadMs, methodName: method.name };
  } finally {
    bar.end();
    await rt.close();
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
    return 0;
  }
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  const { result, tensors, metadata } = await runTrace(argv, { log, bar: progress(log), backgroundReads: true });
  const out = parseFlags(argv, FLAGS, 'hero-lvlm trace').out as string;
  // written whole or not at all: under a temporary name, then renamed (io/out.ts)
  writeFileAtomic(out, (tmp) => writeSafetensors(tmp, tensors, metadata));
  log(`wrote ${result.trace.size} tensors to ${out}`);
  process.stdout.write(`${JSON.stringify({ out, tensors: result.trace.size, visual_tokens: result.visualTokens, generated_ids: result.newIds })}\n`);
  return 0;
}

export const command: Command = { name: 'trace', summary: 'save every intermediate tensor', main };
