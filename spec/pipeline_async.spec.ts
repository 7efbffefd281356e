/**
 * The run/trace path makes no synchronous tensor read (docs/gpu.md "Synchronous reads"): with a readSync that
 * throws installed on the cpu and wasm backends (forbidSyncReads, the guard webgpu installs, refusing every read
 * made outside a kernel), runPipeline completes for every method of the registry, with and without a trace,
 * through the decode loop (maxNewTokens 3), and returns exactly what it returns unguarded: the new ids, every
 * trace tensor, the method's tensors, the masks and the CLS attention maps. Then `hero-lvlm trace` and `run`
 * run in-process under the same guard: the same trace file byte for byte, the same report (timings aside).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../src/core/errors';
import { forbidSyncReads, outsideKernels } from '../src/accel/sync_reads';
import { installKernels, installedKernels } from '../src/accel/kernels';
import { main } from '../src/cli/main';
import { disposeClipModel, loadClipModel } from '../src/clip/load';
import type { ClipModel } from '../src/clip/model';
import type { RgbImage } from '../src/io/image';
import { readImage } from '../src/io/image';
import { disposeLlavaNext, loadLlavaNext } from '../src/llava/load';
import type { LlavaNextModel } from '../src/llava/model';
import type { RawOptions } from '../src/methods/contract';
import { METHODS, type MethodSpec } from '../src/methods';
import { runPipeline, type PipelineInput, type PipelineResult } from '../src/pipeline';
import { imagePath, loadCase, modelDir, useBackend } from './util/fixtures';
import { HERO_CASES, heroTraceArgs, llavaWideTraceArgs } from './util/golden_traces';

/** The flags the tiny model needs where a method's defaults assume a 7B geometry (4 vision, 2 decoder layers). */
const TINY_FLAGS: Record<string, RawOptions> = {
  hero: { 'low-layers': [0, 1], 'high-layers': [2] },
  fastv: { 'fastv-layer': 1 },
  sparsevlm: { 'sparsevlm-layers': [0, 1] },
};

/** Runs `f` with synchronous reads refused on the active backend (every read outside a kernel). */
async function guarded<T>(f: () => Promise<T>): Promise<T> {
  const undo = forbidSyncReads(tf.backend(), { refuse: outsideKernels, message: 'a synchronous read on the run/trace path' });
  try {
    // the guard is in force: a read of our own fails
    const probe = tf.scalar(1);
    try { expect(() => probe.dataSync()).toThrow(HeroError); } finally { probe.dispose(); }
    return await f();
  } finally {
    undo();
  }
}

/** Everything a run returns that the guard must not change (timings aside). */
function outcome(r: PipelineResult): unknown {
  return {
    newIds: r.newIds, inputIds: r.inputIds, visualTokens: r.visualTokens, visualTokensFull: r.visualTokensFull,
    visualTokensInDecoder: r.visualTokensInDecoder, keptPerCrop: r.keptPerCrop, keepMasks: r.keepMasks.map((m) => Array.from(m)),
    numNewlines: r.numNewlines, methodTensors: [...r.methodTensors], trace: [...r.trace], clsAttention: r.clsAttention,
  };
}

describe.each(['cpu', 'wasm'])('the run/trace path reads asynchronously only (%s backend)', (backend) => {
  let m: LlavaNextModel;
  let clip: ClipModel;
  let image: RgbImage;
  const ids = loadCase('llava_wide').numbers('legacy_input_ids');
  beforeAll(async () => {
    await useBackend(backend);
    m = loadLlavaNext(modelDir('llava-next-tiny'));
    clip = loadClipModel(modelDir('clip-tiny'));
    image = await readImage(imagePath('wide_h30_w100'));
  });
  afterAll(async () => { disposeLlavaNext(m); disposeClipModel(clip); await useBackend('cpu'); });

  const specOf = (name: string): MethodSpec => {
    const method = METHODS.find((x) => x.name === name)!;
    const options = method.configure({ method: name, ...TINY_FLAGS[name] }, m.config);
    return (name === 'hero'
      ? { name, options, clip, clipTextIds: loadCase(HERO_CASES()[0]).numbers('clip_input_ids') }
      : { name, options }) as MethodSpec;
  };

  const cases = METHODS.flatMap((x) => [[x.name, false], [x.name, true]] as const);
  it.each(cases)('%s, trace %s: completes under the guard and equals the unguarded run exactly', async (name, trace) => {
    const input: PipelineInput = { image, inputIds: ids, method: specOf(name), maxNewTokens: 3, trace, clsAttentionLayers: 'all' };
    const free = await runPipeline(m, input);
    const safe = await guarded(() => runPipeline(m, input));
    expect(free.newIds.length).toBeGreaterThanOrEqual(2); // the decode loop ran
    expect(free.trace.has('logits')).toBe(trace); // a trace run records every tensor (the logits among them)
    expect(outcome(safe)).toEqual(outcome(free));
  });

  describe('`hero-lvlm trace` in-process', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `hero-async-${backend}-`));
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    /** main([command, …]) with its output captured; restores the kernels the CLI installs. */
    const cli = async (command: string, args: string[], out: string): Promise<{ code: number; stdout: string; stderr: string }> => {
      const kernels = installedKernels();
      let stdout = '', stderr = '';
      const err = jest.spyOn(process.stderr, 'write').mockImplementation((s) => { stderr += String(s); return true; });
      const std = jest.spyOn(process.stdout, 'write').mockImplementation((s) => { stdout += String(s); return true; });
      try {
        // --accel wasm: the WebAssembly kernels, without the BLAS search. Our product (accel/gemm.ts) and the BLAS
        // kernel (accel/blas.ts) read the tensors' host memory as a backend kernel does (accel/host_tensor.ts
        // hostView, not readSync): kernels for the host backends only (wasm, cpu), never chosen on webgpu, whose
        // async-only reads this guards.
        return { code: await main([command, ...args, '--backend', backend, '--accel', 'wasm', '--out', out]), stdout, stderr };
      } finally {
        err.mockRestore();
        std.mockRestore();
        installKernels(kernels);
      }
    };

    it.each([
      ['hero (a HERO golden case)', () => heroTraceArgs(loadCase(HERO_CASES()[0]))],
      ['sparsevlm (a decoder hook)', () => [...llavaWideTraceArgs(), '--method', 'sparsevlm', '--sparsevlm-layers', '0,1']],
    ])('%s: exit 0 under the guard, the same file byte for byte', async (_what, args) => {
      const free = path.join(tmp, 'free.safetensors'), safe = path.join(tmp, 'safe.safetensors');
      const a = await cli('trace', args(), free);
      expect({ code: a.code, stderr: a.code ? a.stderr : '' }).toEqual({ code: 0, stderr: '' });
      const b = await guarded(() => cli('trace', args(), safe));
      expect({ code: b.code, stderr: b.code ? b.stderr : '' }).toEqual({ code: 0, stderr: '' });
      expect(fs.readFileSync(safe).equals(fs.readFileSync(free))).toBe(true);
    });

    it('`hero-lvlm run --method hero --json`: exit 0 under the guard, the same report (timings aside)', async () => {
      const args = [...heroTraceArgs(loadCase(HERO_CASES()[0])).filter((x, i, all) => x !== '--max-new-tokens' && all[i - 1] !== '--max-new-tokens'), '--max-new-tokens', '3', '--json'];
      /* eslint-disable-next-line @typescript-eslint/no-explicit-any */
      const report = (r: { stdout: string }): any => {
        const j = JSON.parse(r.stdout);
        delete j.timings_ms;
        delete j.outputs;
        return j;
      };
      const a = await cli('run', args, path.join(tmp, 'run_free'));
      expect({ code: a.code, stderr: a.code ? a.stderr : '' }).toEqual({ code: 0, stderr: '' });
      const b = await guarded(() => cli('run', args, path.join(tmp, 'run_safe')));
      expect({ code: b.code, stderr: b.code ? b.stderr : '' }).toEqual({ code: 0, stderr: '' });
      expect(report(b)).toEqual(report(a));
    });
  });
});
