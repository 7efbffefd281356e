import { requestedBackend, BACKEND_ENV } from '../src/backend';
import { runCli } from './util/cli';

describe('backend selection', () => {
  it('flag over environment over the wasm default; unknown names are errors naming their source', () => {
    const saved = process.env[BACKEND_ENV];
    try {
      delete process.env[BACKEND_ENV];
      expect(requestedBackend()).toBe('wasm');
      process.env[BACKEND_ENV] = 'cpu';
      expect(requestedBackend()).toBe('cpu');
      expect(requestedBackend('wasm')).toBe('wasm');
      process.env[BACKEND_ENV] = 'webgl';
      expect(() => requestedBackend()).toThrow(/\$HERO_LVLM_BACKEND: unknown backend 'webgl'/);
      expect(() => requestedBackend('metal')).toThrow(/--backend: unknown backend 'metal'/);
    } finally {
      if (saved === undefined) delete process.env[BACKEND_ENV];
      else process.env[BACKEND_ENV] = saved;
    }
  });

  it('a backend that cannot initialise is an error, not a silent fallback (CLI)', () => {
    const r = runCli(['flops', '--tokens', '10'], { env: {} });
    expect(r.code).toBe(0); // flops needs no backend
    let tfjsNode = true;
    try { require.resolve('@tensorflow/tfjs-node'); } catch { tfjsNode = false; }
    if (!tfjsNode) {
      const t = runCli(['trace', '--backend', 'tfjs-node', '--model', 'x', '--image', 'y', '--input-ids', '1', '--out', 'z.safetensors']);
      expect(t.code).not.toBe(0);
      expect(t.stderr.trim()).toMatch(/^hero-lvlm: error: backend needs the optional package @tensorflow\/tfjs-node, which is not installed/);
    }
    const e = runCli(['trace', '--model', 'x', '--image', 'y', '--input-ids', '1', '--out', 'z.safetensors'], { env: { [BACKEND_ENV]: 'cpu' } });
    expect(e.stderr).toMatch(/^backend: cpu$/m); // the backend in use is reported
  });
});
