/**
 * The split of weights over the storage-buffer binding (src/accel/binding_split.ts) against the plain kernels
 * it replaces, on every backend under test: the row-block gather and the column-block x·Wᵀ, and the tiny
 * llama golden (embedding → decoder → lm_head → greedy generation) with its embedding and lm_head forced
 * into blocks by a small limit. The same limit through the CLI on webgpu ($HERO_LVLM_WEBGPU_MAX_BINDING):
 * the last block below.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { bindingCapFromEnv, installBindingSplit, isSplittable, rowBlocks, WEBGPU_MAX_BINDING_ENV } from '../../src/accel/binding_split';
import { embedTokens, llamaForward, type LlamaParams } from '../../src/llama/decoder';
import { loadLlama } from '../../src/llama/load';
import { greedyGenerate } from '../../src/llama/generate';
import type { LlamaConfig } from '../../src/llama/config';
import { disposeTree } from '../../src/io/checkpoint';
import { tidyAsync } from '../../src/core/scope';
import { FIXTURES, GOLDEN_BACKENDS, imagePath, leaveBackend, loadCase, modelDir, useBackend } from '../util/fixtures';
import { runCli, type CliResult } from '../util/cli';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';
import { expectGreedyAsHf } from '../util/llama_golden';

describe('rowBlocks, isSplittable, the test cap', () => {
  it('blocks cover every row once, in order, each within the limit; a row wider than the limit is one line', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 4, max: 20000 }), (rows, cols, limit) => {
      if (4 * cols > limit) {
        expect(() => rowBlocks(rows, cols, limit)).toThrow(/one row of a matrix \[\d+, \d+\] \(f32\) exceeds maxStorageBufferBindingSize/);
        return;
      }
      const b = rowBlocks(rows, cols, limit);
      let next = 0;
      for (const { start, rows: n } of b) {
        expect(start).toBe(next);
        expect(n).toBeGreaterThan(0);
        expect(4 * n * cols).toBeLessThanOrEqual(limit);
        next += n;
      }
      expect(next).toBe(rows);
      expect(b.length).toBe(Math.ceil(rows / Math.floor(limit / (4 * cols))));
    }));
  });
  it('isSplittable: a 2-D f32 weight over the limit whose rows fit', () => {
    expect(isSplittable([32064, 4096], 256 * 2 ** 20)).toBe(true);   // Vicuna-7B embed_tokens under the WebGPU default buffer size
    expect(isSplittable([32064, 4096], 2 ** 30)).toBe(false);        // fits SwiftShader's 1 GiB binding whole
    expect(isSplittable([4, 8, 8], 16)).toBe(false);
    expect(isSplittable([4, 8], 16)).toBe(false);                     // one row is 32 B
  });
  it(`$${WEBGPU_MAX_BINDING_ENV}: bytes, unset, or one line`, () => {
    expect(bindingCapFromEnv({})).toBeUndefined();
    expect(bindingCapFromEnv({ [WEBGPU_MAX_BINDING_ENV]: '196608' })).toBe(196608);
    expect(() => bindingCapFromEnv({ [WEBGPU_MAX_BINDING_ENV]: '1.5e3x' })).toThrow(/HERO_LVLM_WEBGPU_MAX_BINDING: '1.5e3x' is not a number of bytes/);
  });
});

describe.each(GOLDEN_BACKENDS)('NN-linear · the binding split equals the plain gather and x·Wᵀ (%s backend)', (backend) => {
  beforeAll(async () => { await useBackend(backend); });
  afterAll(async () => { await leaveBackend(); });

  it('row-block gather (ids repeated, out of order, in one block or many) and column-block x·Wᵀ, then the blocks go with the weight', async () => {
    const V = 37, D = 6;
    const W = tf.randomNormal([V, D], 0, 1, 'float32', 5) as tf.Tensor2D;
    const x = tf.randomNormal([5, D], 0, 1, 'float32', 6) as tf.Tensor2D;
    const idsList = [[36, 0, 5, 5, 17, 36, 1], [3], [20, 21]];
    // the plain kernels first, on a copy (a tensor over the limit is split at its first use, from its host values)
    const plainW = tf.tensor2d(await W.data(), [V, D]);
    const gathers = tf.tidy(() => idsList.map((ids) => tf.gather(plainW, tf.tensor1d(ids, 'int32'))));
    const product = tf.matMul(x, plainW, false, true);
    const dataIds = tf.memory().numDataBuffers;
    const split = installBindingSplit(tf.getBackend(), 4 * D * 8); // 8 rows per block: 5 blocks, the last of 5 rows
    try {
      for (const [i, ids] of idsList.entries()) {
        const idx = tf.tensor1d(ids, 'int32');
        const got = tf.gather(W, idx);
        idx.dispose();
        expect(got.shape).toEqual([ids.length, D]);
        expect(Array.from(await got.data())).toEqual(Array.from(await gathers[i].data())); // row copies: exact
        got.dispose();
      }
      const y = tf.matMul(x, W, false, true);
      expect(y.shape).toEqual([5, V]);
      await expectCloseAsync(y, product, TOL.sameMath, 'x·Wᵀ by column blocks');
      y.dispose();
      expect(split.blocks()).toBe(5); // W's five blocks, made at its first use…
      expect(tf.memory().numDataBuffers).toBe(dataIds); // …and not counted as tensors' data
      W.dispose();
      expect(split.blocks()).toBe(0); // …freed with W
      expect(tf.memory().numDataBuffers).toBe(dataIds - 1);
    } finally {
      split.uninstall();
      tf.dispose([x, plainW, product, ...gathers, W]);
    }
  });

  it('a product that is not x·Wᵀ with a tensor over the limit is one line, not a wrong answer', () => {
    const split = installBindingSplit(tf.getBackend(), 64);
    try {
      tf.tidy(() => {
        const W = tf.ones([8, 4]);
        expect(() => tf.matMul(tf.ones([2, 8]), W)).toThrow(/only x·Wᵀ with W a matrix is split/);
      });
    } finally { split.uninstall(); }
  });
});

describe.each(GOLDEN_BACKENDS)('Llama-3 Gen-1 · llama_tiny golden with embed_tokens and lm_head split into row blocks (%s backend)', (backend) => {
  let m: { config: LlamaConfig; params: LlamaParams };
  let undo: () => void = () => undefined, blocks: () => number = () => 0;
  const gc = loadCase('llama_tiny');
  beforeAll(async () => {
    await useBackend(backend);
    m = loadLlama(modelDir('llama-tiny'));
    // 1000 × D f32: a limit of a quarter of it leaves every other weight and activation of the case whole
    const [V, D] = (m.params.model.embed_tokens as { weight: tf.Tensor2D }).weight.shape;
    ({ uninstall: undo, blocks } = installBindingSplit(tf.getBackend(), Math.ceil((4 * V * D) / 4)));
  });
  afterAll(async () => { undo(); disposeTree(m.params); await leaveBackend(); });

  it('logits of the full forward and greedy generation (ids exact, per-step scores) as HF', async () => {
    await tidyAsync(async () => {
      const out = llamaForward(m.params, embedTokens(m.params, gc.numbers('input_ids')), m.config);
      await expectCloseAsync(out.logits, tf.squeeze(gc.tensor('logits'), [0]), TOL.golden, 'logits');
    });
    await expectGreedyAsHf(m, gc);
    expect(blocks()).toBe(8); // embed_tokens and lm_head, 4 row blocks each: the split did run
  });
});

/**
 * Through the CLI on webgpu (the webgpu pass of .ci/run, SwiftShader): the tiny LLaVA-NeXT golden with its
 * binding capped below embed_tokens and lm_head (1024 × 64 f32 = 256 KiB) and above every other tensor of the
 * case (logits [40, 1024] = 160 KiB), so both go in row blocks and every buffer is checked against the cap:
 * the trace equals the golden, and with --weights streamed (each group uploaded per use) equals the resident trace exactly.
 */
const WEBGPU_CLI = GOLDEN_BACKENDS.includes('webgpu') ? describe : describe.skip;
WEBGPU_CLI('webgpu · hero-lvlm trace with $HERO_LVLM_WEBGPU_MAX_BINDING below embed_tokens and lm_head: llava_wide as HF (webgpu backend)', () => {
  let dir = '';
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-binding-split-')); }); // not made when the block is skipped
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const CAP = 192 * 1024;
  const trace = (out: string, extra: string[]): CliResult => runCli(['trace', '--backend', 'webgpu', '--model', modelDir('llava-next-tiny'),
    '--image', imagePath('wide_h30_w100'), '--input-ids', '1,110,34,1000,882,632,146', '--max-new-tokens', '5', '--out', path.join(dir, out), ...extra],
  { env: { [WEBGPU_MAX_BINDING_ENV]: String(CAP) }, timeoutMs: 600_000 });

  it('resident: split said at start-up, the trace within the golden tolerance; streamed: the same trace exactly', () => {
    const r = trace('resident.safetensors', ['--weights', 'resident']);
    expect(r.stderr).toMatch(/maxStorageBufferBindingSize=196608 B \(capped by \$HERO_LVLM_WEBGPU_MAX_BINDING, for tests\)/);
    expect(r.stderr).toMatch(/^webgpu: maxStorageBufferBindingSize 196608 B: split \(accel\/binding_split\.ts\): language_model\.model\.embed_tokens\.weight \[1024, 64\] 262144 B → 2 row blocks, language_model\.lm_head\.weight \[1024, 64\] 262144 B → 2 row blocks; every other weight bound whole/m);
    expect(r.code).toBe(0);
    const c = runCli(['compare', path.join(FIXTURES, 'cases', 'llava_wide.safetensors'), path.join(dir, 'resident.safetensors'), '--only', 'generated_ids,logits,inputs_embeds']);
    expect(c.stdout).toMatch(/OK: all 3 tensors within tolerance/);
    expect(c.code).toBe(0);
    const s = trace('streamed.safetensors', ['--weights', 'streamed']);
    expect(s.stderr).toMatch(/^webgpu: .*; streamed groups uploaded one at a time, per use$/m);
    expect(s.code).toBe(0);
    const e = runCli(['compare', path.join(dir, 'resident.safetensors'), path.join(dir, 'streamed.safetensors'), '--atol', '0']);
    expect(e.code).toBe(0);
  });
});
