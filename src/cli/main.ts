/**
 * `hero-lvlm <command> [flags]`. Each command module exports `{ name, summary, main(argv) }`; main returns
 * the exit code. A HeroError (bad input) is printed as one line `hero-lvlm: error: …`; anything else is a
 * bug and gets its stack (set HERO_LVLM_DEBUG=1 to see stacks for HeroErrors too).
 */
import { HeroError } from '../core/errors';

export interface Command {
  readonly name: string;
  readonly summary: string;
  main(argv: string[]): Promise<number>;
}

/** Commands, loaded lazily so `flops` does not pay for tfjs start-up. */
const COMMANDS: Record<string, () => Command> = {
  run: () => require('./run').command as Command,
  trace: () => require('./trace').command as Command,
  flops: () => require('./flops').command as Command,
  compare: () => require('./compare').command as Command,
  'random-weights': () => require('./random_weights').command as Command,
  eval: () => require('./eval').command as Command,
  analyze: () => require('./analyze').command as Command,
};
const SUMMARIES: Record<string, string> = {
  run: 'answer a question about an image with HERO token dropping, and write a visual report',
  trace: 'run LLaVA-NeXT (optionally with a pruning method) and save every intermediate tensor to safetensors',
  flops: 'prefill FLOPs and KV-cache size of a decoder for a token count (HERO-7/8)',
  compare: 'compare two traces (a port and a reference) tensor by tensor; name the first divergence',
  'random-weights': 'write a real-shaped random checkpoint (llava-v1.6 7B/13B, CLIP-L/336) in the hub\'s HF layout',
  eval: 'score benchmark predictions exactly as lmms-eval / LLaVA do; server upload files; merge shards',
  analyze: "the paper's pilot analyses (Fig. 1, Fig. 2, Table 2, App. D, a Fig. 5 proxy) on your images",
};

function usage(): string {
  const rows = Object.keys(COMMANDS).map((c) => `  ${c.padEnd(14)} ${SUMMARIES[c]}`).join('\n');
  return `usage: hero-lvlm <command> [flags]\n\nCommands:\n${rows}\n\nRun 'hero-lvlm <command> --help' for its flags.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    process.stderr.write(`hero-lvlm: error: unknown command '${cmd}'\n${usage()}`);
    return 2;
  }
  try {
    return await load().main(rest);
  } catch (e) {
    if (e instanceof HeroError) {
      process.stderr.write(`hero-lvlm: error: ${e.message}\n`);
      if (process.env.HERO_LVLM_DEBUG) process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    process.stderr.write(`hero-lvlm: internal error (a bug; please report it with this trace):\n${(e as Error).stack ?? e}\n`);
    return 70;
  } finally {
    // A started webgpu backend keeps Node's event loop alive until Dawn's GPU object is released.
    if (require.cache[require.resolve('../accel/webgpu')]) (require('../accel/webgpu') as typeof import('../accel/webgpu')).releaseWebGpu();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
