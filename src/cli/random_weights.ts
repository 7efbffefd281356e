/**
 * `hero-lvlm random-weights`: a real-shaped random checkpoint in the hub's HF layout
 * (src/weights/random_checkpoint.ts). Pure file writing: no tfjs.
 */
import { HeroError } from '../core/errors';
import { helpText, parseFlags, required, type FlagSpecs } from './args';
import type { Command } from './main';
import { DEFAULT_SEED } from '../weights/geometry';
import { GIB, PRESET_NAMES, WEIGHT_DTYPES, writeRandomCheckpointAsync, type WeightDType } from '../weights/random_checkpoint';

const FLAGS: FlagSpecs = {
  preset: { type: 'string', arg: 'NAME', help: `${PRESET_NAMES.join(' | ')} (tiny-* mirror the test models)` },
  dtype: { type: 'string', arg: 'f16|bf16|f32', help: 'stored dtype of every tensor' },
  out: { type: 'string', arg: 'DIR', help: 'output directory (must not exist; written as DIR.partial, then renamed; an interrupt removes DIR.partial)' },
  seed: { type: 'int', arg: 'N', default: DEFAULT_SEED, help: 'random seed in [0, 2^32): the same seed writes the same bytes' },
  layers: { type: 'int', arg: 'N', help: 'LLaVA presets: only the first N decoder layers (the widths, embedding, lm_head and vision tower unchanged), e.g. the 7B width in 2 layers' },
  'vision-preset': { type: 'string', arg: 'NAME', help: "LLaVA-NeXT presets: another LLaVA-NeXT preset's vision tower and image_grid_pinpoints (e.g. tiny-llava: few visual tokens under the 7B decoder; config.json says so)" },
  sparse: { type: 'boolean', help: 'zero weights as sparse files (full size, no disk used, seconds): for memory-estimate and loader checks, not for running' },
};
/** Not in --help: a smaller shard limit, so tests can see sharding on a tiny preset. */
const HIDDEN_FLAGS: FlagSpecs = { 'max-shard-bytes': { type: 'int', help: 'shard limit in bytes of tensor data (testing)' } };

const USAGE = 'usage: hero-lvlm random-weights --preset NAME --dtype f16|bf16|f32 --out DIR [--seed N] [--layers N] [--vision-preset NAME] [--sparse]';
const DESCRIPTION =
  'Writes a checkpoint with the real shapes and random weights (drawn as the embedded default model\'s) in\n' +
  'the hub\'s HF layout: config.json (and for LLaVA preprocessor/processor/generation_config.json) with the\n' +
  'hub\'s values, tokenizer.json + tokenizer_config.json, and model.safetensors or, past 5 GB, shards\n' +
  'model-0000i-of-0000N.safetensors with model.safetensors.index.json. The tokenizer files are the default\n' +
  'model\'s random-vocabulary ones, not the hub\'s. Outputs are meaningless; shapes, sizes and timings are\n' +
  'real. Refused in one line if the disk lacks room. Never commit the result (llava 7B f16 is 14 GB).';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
    return 0;
  }
  const flags = parseFlags(argv, { ...FLAGS, ...HIDDEN_FLAGS }, 'hero-lvlm random-weights');
  const presetName = required<string>(flags, 'preset');
  const dtype = required<string>(flags, 'dtype');
  if (!WEIGHT_DTYPES.includes(dtype as WeightDType)) throw new HeroError(`--dtype: '${dtype}' is not one of ${WEIGHT_DTYPES.join(', ')}`);
  const out = required<string>(flags, 'out');
  const maxShard = flags['max-shard-bytes'] as number | undefined;
  if (maxShard !== undefined && maxShard < 1) throw new HeroError(`--max-shard-bytes: ${maxShard} must be positive`);
  // HERO_LVLM_FREE_BYTES stands in for the file system's free space (tests of the refusal).
  const freeEnv = process.env.HERO_LVLM_FREE_BYTES;
  const freeBytes = freeEnv === undefined ? undefined : Number(freeEnv);

  const seed = flags.seed as number;
  if (seed < 0 || seed >= 2 ** 32) throw new HeroError(`--seed: ${seed} is not an integer in [0, 2^32)`);

  // SIGINT / SIGTERM: the writer stops after the tensor it is on, removes DIR.partial and says so (exit 130 / 143).
  let stopped: { why: string; exitCode: number } | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopped) return;
    stopped = { why: `interrupted (${sig})`, exitCode: sig === 'SIGINT' ? 130 : 143 };
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const tty = process.stderr.isTTY === true;
  const start = Date.now();
  let res;
  try {
    res = await writeRandomCheckpointAsync(out, presetName, dtype as WeightDType, {
      seed,
      maxShardBytes: maxShard,
      freeBytes,
      sparse: flags.sparse === true,
      layers: flags.layers as number | undefined,
      visionPreset: flags['vision-preset'] as string | undefined,
      onProgress: (n, total, bytes, totalBytes) => {
        if (!tty) return;
        const w = 30, k = Math.round((bytes / totalBytes) * w);
        process.stderr.write(`\rwriting [${'#'.repeat(k)}${'.'.repeat(w - k)}] ${n}/${total} tensors, ${(bytes / GIB).toFixed(2)}/${(totalBytes / GIB).toFixed(2)} GiB`);
        if (n === total) process.stderr.write('\n');
      },
    }, () => stopped);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.stdout.write(`wrote ${out}: ${res.tensors} tensors, ${(res.bytes / GIB).toFixed(2)} GiB, ${res.files.length} files in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  return 0;
}

export const command: Command = { name: 'random-weights', summary: 'write a real-shaped random checkpoint (llava 7B/13B, CLIP-L/336) in the hub\'s HF layout', main };
