import * as path from 'path';
import { runCli } from '../util/cli';
import { modelDir } from '../util/fixtures';

/** Runs `hero-lvlm flops …` and parses its --json output. */
function flopsJson(args: string[]): Record<string, unknown> {
  const r = runCli(['flops', ...args, '--json']);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('HERO-7 HERO-8 · hero-lvlm flops', () => {
  it('--json prints one object with tokens, prefill_tflops, kv_cache_mib (Table 4, 100 % row)', () => {
    const out = flopsJson(['--preset', 'vicuna-7b', '--tokens', '2673']);
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['tokens', 'prefill_tflops', 'kv_cache_mib']));
    expect(out.tokens).toBe(2673);
    expect(Math.abs((out.prefill_tflops as number) - 38.4)).toBeLessThanOrEqual(0.05); // paper prints one decimal
    expect(out.kv_cache_mib).toBe(1336.5);
    expect(out.preset).toBe('vicuna-7b');
  });

  it('--visual-tokens --text-tokens --ratio applies HERO-8 (Table 4, HERO 20 % row)', () => {
    const out = flopsJson(['--visual-tokens', '2610', '--text-tokens', '61', '--ratio', '0.2']);
    expect(out).toMatchObject({ tokens: 583, visual_tokens: 2610, visual_tokens_kept: 522, text_tokens: 61, ratio: 0.2, kv_cache_mib: 291.5 });
    expect(Math.abs((out.prefill_tflops as number) - 7.7)).toBeLessThanOrEqual(0.05);
  });

  it('--config reads text_config of a LLaVA-NeXT config.json', () => {
    const file = path.join(modelDir('llava-next-tiny'), 'config.json');
    const out = flopsJson(['--config', file, '--tokens', '10']);
    // L=2, d=64, m=128, H·Dh=64: 2·2·(4·10·64² + 2·10²·64 + 3·10·64·128) FLOPs; KV 2·2·10·64·2 bytes
    expect(out.prefill_flops).toBe(1_689_600);
    expect(out.kv_cache_bytes).toBe(5120);
  });

  it('prints a short aligned table without --json', () => {
    const r = runCli(['flops', '--preset', 'vicuna-13b', '--tokens', '583']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toContain('tokens          583');
    expect(lines.some((l) => /^prefill_tflops  \d+\.\d\d$/.test(l))).toBe(true);
    expect(lines.some((l) => /^kv_cache_mib    455\.5$/.test(l))).toBe(true);
  });

  it('--help prints usage and exits 0', () => {
    const r = runCli(['flops', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: hero-lvlm flops/);
    expect(r.stdout).toContain('--visual-tokens');
  });

  it.each([
    ['unknown preset', ['--preset', 'vicuna-70b', '--tokens', '10'], '--preset'],
    ['neither --tokens nor --visual-tokens', ['--preset', 'vicuna-7b'], '--tokens'],
    ['both --tokens and --visual-tokens', ['--tokens', '10', '--visual-tokens', '5', '--text-tokens', '1'], '--tokens'],
    ['negative --tokens', ['--tokens', '-3'], '--tokens'],
    ['non-integer --tokens', ['--tokens', '2.5'], '--tokens'],
    ['negative --visual-tokens', ['--visual-tokens', '-1', '--text-tokens', '1'], '--visual-tokens'],
    ['non-integer --text-tokens', ['--visual-tokens', '10', '--text-tokens', '1.5'], '--text-tokens'],
    ['--visual-tokens without --text-tokens', ['--visual-tokens', '10'], '--text-tokens'],
    ['--ratio 0', ['--visual-tokens', '10', '--text-tokens', '1', '--ratio', '0'], '--ratio'],
    ['--ratio above 1', ['--visual-tokens', '10', '--text-tokens', '1', '--ratio', '1.5'], '--ratio'],
    ['--ratio NaN', ['--visual-tokens', '10', '--text-tokens', '1', '--ratio', 'NaN'], '--ratio'],
    ['--ratio without --visual-tokens', ['--tokens', '10', '--ratio', '0.5'], '--ratio'],
    ['both --preset and --config', ['--preset', 'vicuna-7b', '--config', 'x.json', '--tokens', '1'], '--config'],
    ['unknown --attention', ['--tokens', '1', '--attention', 'sparse'], '--attention'],
  ])('%s: exits non-zero with one stderr line naming the flag', (_what, args, flag) => {
    const r = runCli(['flops', ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hero-lvlm: error: /);
    expect(lines[0]).toContain(flag);
  });

  it('a missing --config file is one line naming the file', () => {
    const r = runCli(['flops', '--config', 'no/such/config.json', '--tokens', '1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('no/such/config.json');
  });
});
