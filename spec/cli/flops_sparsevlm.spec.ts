/**
 * `hero-lvlm flops --method sparsevlm`: SparseVLM's shrinking sequence at the paper's two retention levels
 * for Vicuna-7B (the numbers are worked out by hand in spec/baselines/sparsevlm_budget.spec.ts, SparseVLM-5).
 */
import { runCli } from '../util/cli';

function flopsJson(args: string[]): Record<string, unknown> {
  const r = runCli(['flops', ...args, '--json']);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('SparseVLM-5 · hero-lvlm flops --method sparsevlm (Vicuna-7B, n_v = 2610, n_t = 61)', () => {
  it.each([
    // r, k*, TFLOPs = Σ_l F_layer(n_l), KV MiB = Σ_l n_l / 64, mean visual tokens over the 32 layers
    [0.5, 1211, 19.385206358016, 704.796875, 41757 / 32],
    [0.25, 512, 10.60256833536, 389.515625, 20880 / 32],
  ])('r = %f keeps %i per pruning layer: %f TFLOPs, %f MiB', (r, k, tflops, mib, mean) => {
    const out = flopsJson(['--preset', 'vicuna-7b', '--method', 'sparsevlm', '--visual-tokens', '2610', '--text-tokens', '61', '--ratio', String(r)]);
    expect(out).toMatchObject({ method: 'sparsevlm', sparsevlm_layers: '2,6,15,19', sparsevlm_kept: k, tokens: 2671, kv_cache_mib: mib, visual_tokens_mean: mean });
    expect(out.prefill_tflops as number).toBeCloseTo(tflops, 9);
    expect((out.tokens_per_layer as number[]).length).toBe(32);
  });

  it('defaults to r = 0.5 and prints a table; bad layer sets are one line', () => {
    const r = runCli(['flops', '--method', 'sparsevlm', '--visual-tokens', '2610', '--text-tokens', '61']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/prefill_tflops\s+19\.39/);
    expect(r.stdout).toMatch(/sparsevlm_kept\s+1211/);
    const bad = runCli(['flops', '--method', 'sparsevlm', '--visual-tokens', '2610', '--text-tokens', '61', '--sparsevlm-layers', '2,40']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toEqual(['hero-lvlm: error: --sparsevlm-layers: 2,40 is not an ascending list within 0..31 (the decoder has 32 layers)']);
    const tokens = runCli(['flops', '--method', 'sparsevlm', '--tokens', '2671']);
    expect(tokens.stderr).toMatch(/--method: sparsevlm needs --visual-tokens and --text-tokens/);
  });
});
