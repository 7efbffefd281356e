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
import { BACKEND_FLAGS, INPUT_FLAGS, METHOD_FLAGS, WEIGHTS_FLAGS, checkImageFlag, checkSequenceFlag, methodChoice, progress, promptIds, readImageFlag, runtimeFlags } from './common';
import { openRuntime } from '../runtime';
import { loadLlavaNextConfig } from '../llava/load';
import { writeSafetensors } from '../io/safetensors';
import { methodByName } from '../methods';
import { METHOD_CLI } from './method_flags';
import { runPipeline } from '../pipeline';
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

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
    return 0;
  }
  const flags = parseFlags(argv, FLAGS, 'hero-lvlm trace');
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  const modelDir = required<string>(flags, 'model');
  const out = required<string>(flags, 'out');
  const imageFile = checkImageFlag(flags);
  checkOutFile(out);
  const maxNew = flags['max-new-tokens'] as number;
  if (maxNew < 0) throw new HeroError(`--max-new-tokens: ${maxNew} is negative`);
  methodByName(flags.method as string); // an unknown --method is refused before anything is read
  if (!fs.existsSync(path.join(modelDir, 'config.json'))) throw new HeroError(`--model: '${modelDir}' has no config.json (expected a llava-hf LLaVA-NeXT or LLaVA-1.5 directory)`);
  // Everything the flags say is checked against the configs before any weight is read.
  const config = loadLlavaNextConfig(modelDir);
  const { ids, question, template } = promptIds(flags, { config, dir: modelDir });
  const choice = methodChoice(flags, config, question, log);
  const imageAspect = imageAspectFlag(flags, config, modelDir);
  const { image, alpha: imageAlpha } = await readImageFlag(flags, imageFile);
  checkSequenceFlag(config, ids, image, choice.name, maxNew); // before any weight is read
  const bar = progress(log);
  const rt = await openRuntime({ ...runtimeFlags(flags, modelDir, choice, log, bar), inProcessDecoder: 'by trace, which records every layer' });
  const { model, method, backend } = rt;
  try {
    const result = await runPipeline(model, {
      visionEncoder: rt.visionEncoder, decoder: rt.decoder,
      image, imageAspect, inputIds: ids, method, maxNewTokens: maxNew, trace: true,
      onStage: (s) => { bar.stage(s); rt.atStage(s); }, // each pool's workers go once its tower is done
      onProgress: (s, d, t) => bar.bar(s, d, t),
      onToken: (step) => bar.bar('decoding', step + 1, maxNew),
    });
    bar.end();
    // written whole or not at all: under a temporary name, then renamed (io/out.ts)
    const metadata = {
      format: 'pt', producer: 'hero-lvlm trace', method: method.name, backend,
      model: modelDir, image: imageFile, image_alpha: imageAlpha, ...(isLlava15(model.config) ? { image_aspect: imageAspect ?? 'crop' } : {}),
      template: template ?? 'none (--raw-prompt / --input-ids)', ...(METHOD_CLI[method.name].traceMetadata?.(method) ?? {}),
      ...randomMarkMetadata(modelDir), // a checkpoint of `random-weights` says so in its trace too
    };
    writeFileAtomic(out, (tmp) => writeSafetensors(tmp, Object.fromEntries(result.trace), metadata));
    log(`wrote ${result.trace.size} tensors to ${out}`);
    process.stdout.write(`${JSON.stringify({ out, tensors: result.trace.size, visual_tokens: result.visualTokens, generated_ids: result.newIds })}\n`);
    return 0;
  } finally {
    bar.end();
    await rt.close();
  }
}

export const command: Command = { name: 'trace', summary: 'save every intermediate tensor', main };
