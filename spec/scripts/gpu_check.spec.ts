/**
 * scripts/gpu-check.sh: its shell parses, and `--dry-run` prints step 3 (the full 7B shape: random-weights
 * checkpoints in f16, then `hero-lvlm run` with HERO at r = 0.2 and 8 new tokens on the backend and on wasm)
 * without running anything. The script needs a GPU machine and a bundle to run for real (docs/gpu.md
 * "The gpu-check bundle"); its step 3 was tried on this machine with GPU_CHECK_BACKEND=cpu and tiny presets.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'gpu-check.sh');
const sh = (args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } => {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, GPU_CHECK_7B: '', GPU_CHECK_7B_PRESETS: '', GPU_CHECK_7B_EXTRA: '', GPU_CHECK_BACKEND: '', ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

describe('scripts/gpu-check.sh', () => {
  it('parses (bash -n)', () => {
    expect(spawnSync('bash', ['-n', SCRIPT]).status).toBe(0);
  });

  it('--dry-run prints step 3: the 7B-shaped f16 checkpoints, then HERO at r = 0.2, 8 new tokens, on webgpu and on wasm; nothing is written', () => {
    const r = sh(['--dry-run', 'no-bundle-needed', '/nonexistent/out']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('hero-lvlm random-weights --preset llava-v1.6-vicuna-7b --dtype f16 --out /nonexistent/out/ck/llava-v1.6-vicuna-7b');
    expect(lines[1]).toBe('hero-lvlm random-weights --preset clip-vit-large-patch14-336 --dtype f16 --out /nonexistent/out/ck/clip-vit-large-patch14-336');
    expect(lines[2]).toMatch(/^write \/nonexistent\/out\/ck\/image_672\.png \(672 x 672/);
    for (const [i, b] of [[3, 'webgpu'], [4, 'wasm']] as const) {
      expect(lines[i]).toMatch(new RegExp(`^hero-lvlm run --model /nonexistent/out/ck/llava-v1\\.6-vicuna-7b --clip /nonexistent/out/ck/clip-vit-large-patch14-336 .*--method hero --ratio 0\\.2 --max-new-tokens 8 --json --backend ${b} --out /nonexistent/out/shape7b\\.${b} +# peak memory: VmHWM`));
    }
    expect(lines).toHaveLength(5);
  });

  it('GPU_CHECK_7B=0, or the cpu backend by default, leaves step 3 out; GPU_CHECK_7B_PRESETS names other presets', () => {
    expect(sh(['--dry-run'], { GPU_CHECK_7B: '0' }).stderr).toMatch(/GPU_CHECK_7B=0, step 3 left out/);
    expect(sh(['--dry-run'], { GPU_CHECK_BACKEND: 'cpu' }).stdout).toBe('');
    const t = sh(['--dry-run', 'x', 'o'], { GPU_CHECK_7B_PRESETS: 'tiny-llava tiny-clip', GPU_CHECK_7B_EXTRA: '--low-layers 1 --high-layers 2' });
    expect(t.stdout).toContain('hero-lvlm random-weights --preset tiny-llava --dtype f16 --out o/ck/tiny-llava');
    expect(t.stdout).toContain('--low-layers 1 --high-layers 2 --backend wasm');
  });
});
