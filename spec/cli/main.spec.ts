/**
 * The command line in-process (`main(argv)` returns the exit code; stdout/stderr captured): exit codes for
 * no command, an unknown command, bad input (HeroError) and a bug (70, with its stack); flag validation that
 * happens before any model is loaded (--max-new-tokens, trace --out); the memory refusal and --force
 * ($HERO_LVLM_AVAILABLE_MEMORY stands in for a small machine). In-process keeps these cheap: no tfjs start-up
 * per case. `flops` is replaced by a command that throws a plain Error, standing in for a bug.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../src/cli/main';
import { checkOutFile } from '../../src/cli/trace';
import { chooseResidency, MEMORY_ENV } from '../../src/runtime/memory';
import { imagePath, modelDir } from '../util/fixtures';
import { writeRandomCheckpoint } from '../../src/weights/random_checkpoint';

jest.mock('../../src/cli/flops', () => ({
  command: { name: 'flops', summary: 'stand-in', main: async (argv: string[]): Promise<number> => {
    if (argv[0] === 'bad-input') throw new (jest.requireActual('../../src/core/errors').HeroError)('--x: stand-in bad input');
    throw new TypeError('stand-in bug');
  } },
}));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-main-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs main in-process, capturing what it writes. */
async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { stdout += String(s); return true; });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { stderr += String(s); return true; });
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
}

/** Exactly one `hero-lvlm: error:` line matching `re`, no stack. */
function oneError(r: { code: number; stderr: string }, re: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBe(70);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('hero-lvlm:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^hero-lvlm: error: /);
  expect(lines[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const TINY = ['--model', modelDir('llava-next-tiny'), '--backend', 'cpu', '--image', imagePath('wide_h30_w100'), '--input-ids', '1,1000,2'];

describe('cli exit codes', () => {
  it('no command: usage, exit 2; --help: usage, exit 0', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^usage: hero-lvlm <command>/);
    expect((await cli(['--help'])).code).toBe(0);
  });

  it('unknown command: one error line naming it, usage, exit 2', async () => {
    const r = await cli(['frobnicate', '--x']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("hero-lvlm: error: unknown command 'frobnicate'");
    expect(r.stderr).toMatch(/usage: hero-lvlm <command>/);
  });

  it('bad input (HeroError): one line, its exit code (2), no stack', async () => {
    const r = await cli(['flops', 'bad-input']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('hero-lvlm: error: --x: stand-in bad input\n');
  });

  it('a bug (any other error): exit 70 with the stack, said to be a bug', async () => {
    const r = await cli(['flops']);
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/^hero-lvlm: internal error \(a bug; please report it with this trace\):\nTypeError: stand-in bug\n\s+at /);
  });
});

describe('cli flag validation before any model is loaded', () => {
  it('--max-new-tokens: run needs ≥ 1, trace ≥ 0, both integers', async () => {
    oneError(await cli(['run', ...TINY, '--max-new-tokens', '0']), /--max-new-tokens: 0 must be at least 1/);
    oneError(await cli(['run', ...TINY, '--max-new-tokens', '-3']), /--max-new-tokens: -3 must be at least 1/);
    oneError(await cli(['trace', ...TINY, '--out', path.join(tmp, 'a.safetensors'), '--max-new-tokens', '-1']), /--max-new-tokens: -1 is negative/);
    oneError(await cli(['trace', ...TINY, '--out', path.join(tmp, 'a.safetensors'), '--max-new-tokens', '2.5']), /--max-new-tokens: '2\.5' is not an integer/);
    oneError(await cli(['run', ...TINY, '--max-new-tokens']), /--max-new-tokens: missing value/);
  });

  it('run without any prompt flag, trace without --out or --model', async () => {
    oneError(await cli(['run', '--image', imagePath('wide_h30_w100')]), /--prompt: required/);
    oneError(await cli(['trace', ...TINY]), /--out: required/);
    oneError(await cli(['trace', '--image', 'x.png', '--out', 'x.safetensors']), /--model: required/);
  });

  it('trace --out: not .safetensors, a directory, or under a file are refused; a missing directory is fine', async () => {
    const file = path.join(tmp, 'plain.txt');
    fs.writeFileSync(file, 'x');
    oneError(await cli(['trace', ...TINY, '--out', path.join(tmp, 'out.bin')]), /--out: '.*out\.bin' should end in \.safetensors/);
    fs.mkdirSync(path.join(tmp, 'd.safetensors'));
    oneError(await cli(['trace', ...TINY, '--out', path.join(tmp, 'd.safetensors')]), /--out: '.*d\.safetensors' is a directory/);
    oneError(await cli(['trace', ...TINY, '--out', path.join(file, 'sub', 't.safetensors')]), /--out: '.*plain\.txt' is not a directory/);
    expect(() => checkOutFile(path.join(tmp, 'new', 'deeper', 't.safetensors'))).not.toThrow();
    expect(fs.existsSync(path.join(tmp, 'new'))).toBe(false); // checking creates nothing
  });

  it('trace writes into a missing directory; --variant is checked', async () => {
    const out = path.join(tmp, 'made', 'here', 't.safetensors');
    const r = await cli(['trace', ...TINY, '--out', out, '--max-new-tokens', '0']);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ out, visual_tokens: 34, generated_ids: [] });
    oneError(await cli(['trace', ...TINY, '--out', out, '--method', 'hero', '--variant', 'both', '--alpha', '1', '--low-layers', '0', '--high-layers', '1']),
      /--variant: 'both' is not 'code' or 'paper'/);
  });
});

describe('run: the memory refusal and --force', () => {
  const args = (out: string): string[] => [...TINY, '--clip', modelDir('clip-tiny'), '--low-layers', '0,1', '--high-layers', '2', '--alpha', '1',
    '--max-new-tokens', '1', '--out', out, '--json'];

  it('refuses, in one line naming --force, when the estimate exceeds the available memory', async () => {
    const r = await cli(['run', ...args(path.join(tmp, 'refused'))], { [MEMORY_ENV]: '1000' });
    oneError(r, /the run needs about [\d.]+ GiB of memory but only 0\.00 GiB is available; use a machine with more memory, or --force to try anyway/);
    // auto tries resident, then streamed, then disk, and says why each did not fit
    expect(r.stderr).toMatch(/weights: disk \(auto: resident would need [\d.]+ GiB of memory, 0\.0 GiB available; streamed would need [\d.]+ GiB of memory/);
    expect(r.stderr).toMatch(/memory: about [\d.]+ GiB in all \(weights on disk [\d.]+ GiB, read per use \(at most [\d.]+ GiB at a time\), weights on the host 0\.00 GiB, backend [\d.]+ GiB: .*\); 0\.00 GiB available/);
    expect(fs.existsSync(path.join(tmp, 'refused'))).toBe(false);
  });

  it('--force runs anyway (auto: weights on disk) and writes the report', async () => {
    const out = path.join(tmp, 'forced');
    const r = await cli(['run', ...args(out), '--force'], { [MEMORY_ENV]: '1000' });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout).visual_tokens.full).toBe(34);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).weights).toBe('disk');
    expect(fs.existsSync(path.join(out, 'report.json'))).toBe(true);
  });

  it('the llava-v1.6-vicuna-13b shapes (a sparse f16 checkpoint: headers, no data): streamed is refused before loading on a 24 GiB machine; auto picks disk', async () => {
    const dir = path.join(tmp, 'vicuna-13b-sparse');
    writeRandomCheckpoint(dir, 'llava-v1.6-vicuna-13b', 'f16', { seed: 1, sparse: true });
    const out = path.join(tmp, 'refused-13b');
    const r = await cli(['run', '--model', dir, '--backend', 'cpu', '--image', imagePath('wide_h30_w100'), '--input-ids', '1,32000,2', '--method', 'none',
      '--max-new-tokens', '8', '--out', out, '--weights', 'streamed'], { [MEMORY_ENV]: String(24 * 2 ** 30) });
    // 13.35 B parameters in f16 on the host: 24.8 GiB, more than the machine has, before any backend or KV memory.
    oneError(r, /^hero-lvlm: error: the run needs about (\d+\.\d+) GiB of memory but only 24\.00 GiB is available; use --weights disk, a machine with more memory, or --force to try anyway$/);
    expect(r.stderr).toMatch(/weights: F16 on the host \(24\.8\d GiB\)/);
    expect(fs.existsSync(out)).toBe(false);
    // auto (headers only, nothing loaded): resident and streamed do not fit, disk does — one group's bytes on the host
    const logs: string[] = [];
    const before = process.env[MEMORY_ENV];
    process.env[MEMORY_ENV] = String(24 * 2 ** 30);
    try {
      const ask = { weights: 'auto', maxNewTokens: 8, promptTokens: 3, force: false } as const;
      expect(chooseResidency(ask, { model: dir }, 'cpu', { vision: 1, decoder: 1 }, (l) => logs.push(l))).toBe('disk');
    } finally {
      if (before === undefined) delete process.env[MEMORY_ENV]; else process.env[MEMORY_ENV] = before;
    }
    expect(logs[0]).toMatch(/^weights: disk \(auto: resident would need [\d.]+ GiB of memory, 24\.0 GiB available; streamed would need [\d.]+ GiB of memory, 24\.0 GiB available\)$/);
    expect(logs[1]).toMatch(/^weights: F16 read from the safetensors files when used \(24\.8\d GiB, at most 0\.\d\d GiB at a time\)/);
  });

  it('a malformed $HERO_LVLM_AVAILABLE_MEMORY is one line naming it', async () => {
    oneError(await cli(['run', ...args(path.join(tmp, 'bad-env'))], { [MEMORY_ENV]: '12GB' }), /\$HERO_LVLM_AVAILABLE_MEMORY: '12GB' is not a byte count/);
  });
});
