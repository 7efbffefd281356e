/** The bench's flags (src/cli/args.ts parser) and its PyTorch peer's Python: a flag, an env var, a loud failure. */
import * as os from 'os';
import { HeroError } from '../../src/core/errors';
import { benchOptions } from '../../bench/run';
import { DEFAULT_PYTHON, bestThreads, fairBlas, openblasEnv, peer, type PeerInfo, type Stat } from '../../bench/common';

describe('bench options', () => {
  const tmp = os.tmpdir();
  it('defaults: every suite but scale, 3 runs, wasm, the peer with /usr/bin/python3', () => {
    const o = benchOptions([], {}, tmp);
    expect([o.suites, o.runs, o.backends, o.peer, o.python, o.attention, o.decoderLayers, o.prefillChunk, o.chartsOnly])
      .toEqual([['vision', 'hero', 'decoder', 'memory'], 3, ['wasm'], true, DEFAULT_PYTHON, 'auto', 1, 512, false]);
    expect(DEFAULT_PYTHON).toBe('/usr/bin/python3');
    expect([o.scaleFull, o.scaleModel.endsWith('bench/.scale/llava-v1.6-vicuna-7b-f16')]).toEqual([false, true]);
    expect(benchOptions(['--suite', 'scale', '--scale-full', '--scale-model', '/m'], {}, tmp)).toMatchObject({ suites: ['scale'], scaleFull: true, scaleModel: '/m' });
  });
  it('the Python comes from --python, else $HERO_LVLM_PYTHON', () => {
    expect(benchOptions([], { HERO_LVLM_PYTHON: '/opt/py/bin/python' }, tmp).python).toBe('/opt/py/bin/python');
    expect(benchOptions(['--python', '/x/python3'], { HERO_LVLM_PYTHON: '/opt/py/bin/python' }, tmp).python).toBe('/x/python3');
  });
  it('parses the suite list and the boolean flags', () => {
    const o = benchOptions(['--suite', 'hero,memory', '--runs=1', '--no-peer', '--charts-only', '--backends', 'cpu,wasm'], {}, tmp);
    expect([o.suites, o.runs, o.peer, o.chartsOnly, o.backends]).toEqual([['hero', 'memory'], 1, false, true, ['cpu', 'wasm']]);
  });
  it('refuses unknown flags, suites, backends and attention implementations as HeroErrors naming the flag', () => {
    expect(() => benchOptions(['--suites', 'hero'], {}, tmp)).toThrow(/unknown flag --suites/);
    expect(() => benchOptions(['--suite', 'hero,gpu'], {}, tmp)).toThrow(/^--suite: /);
    expect(() => benchOptions(['--backends', 'tpu'], {}, tmp)).toThrow(/^--backends: /);
    expect(() => benchOptions(['--attention', 'fast'], {}, tmp)).toThrow(/^--attention: /);
    expect(() => benchOptions(['--runs', '0'], {}, tmp)).toThrow(HeroError);
  });
  it('--accel: tfjs\'s kernels by default, the BLAS kernel when asked, a bad mode names the flag', () => {
    expect(benchOptions([], {}, tmp).accel).toBe('wasm');
    expect(benchOptions(['--accel', 'blas'], { HERO_LVLM_ACCEL: 'auto' }, tmp).accel).toBe('blas');
    expect(() => benchOptions(['--accel', 'mkl'], {}, tmp)).toThrow("--accel: 'mkl' is not one of auto, blas, wasm");
  });
  it('the OpenBLAS variables that force a kernel are recorded as this process has them', () => {
    expect(openblasEnv({ OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '262144', PATH: '/bin' })).toEqual({ OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '262144' });
    expect(openblasEnv({})).toEqual({});
  });
});

describe('bench peer', () => {
  it('says loudly that the peer is unavailable when the Python cannot be run', () => {
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const opts = { ...benchOptions(['--python', '/nonexistent/python3'], {}, os.tmpdir()) };
      const r = peer(opts, 'vision', '/nonexistent/file.safetensors', {});
      expect(r).toBe("PyTorch peer unavailable: cannot run '/nonexistent/python3' (ENOENT); set --python or $HERO_LVLM_PYTHON");
      expect(err).toHaveBeenCalledWith(`!! ${r}`);
      expect(peer({ ...opts, peer: false }, 'vision', '/x', {})).toBe('skipped (--no-peer)');
    } finally { err.mockRestore(); }
  });
});

describe('bench peer ratios', () => {
  const info = (kind: string, libraries: string[]): PeerInfo => ({ torch: '1.13', blas: { kind, libraries }, cpu: 'x' });
  it('reports no ratio against the reference BLAS, naming the library and the fix', () => {
    expect(fairBlas(info('openblas', ['/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3']))).toBeUndefined();
    expect(fairBlas(info('mkl', ['/opt/libmkl_rt.so']))).toBeUndefined();
    expect(fairBlas(info('reference', ['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0'])))
      .toBe("PyTorch runs on the 'reference' BLAS (/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0); no ratio is reported (apt-get install libopenblas0-pthread)");
  });
  it("takes PyTorch's fastest thread count", () => {
    const s = (median: number): Stat => ({ median, min: median, max: median, runs: 1 });
    expect(bestThreads({ threads_1: s(20), threads_2: s(12) })).toEqual({ threads: 2, median: 12 });
    expect(bestThreads({ threads_1: s(10), threads_2: s(12) })).toEqual({ threads: 1, median: 10 });
  });
});
