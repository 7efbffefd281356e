import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fastvHook, fastvKeep, validateFastv, FASTV_DEFAULTS } from '../../src/baselines/fastv';
import { roundHalfEven } from '../../src/baselines/common';
import { SafetensorsFile, writeSafetensors } from '../../src/io/safetensors';
import { runCli } from '../util/cli';
import { llamaForward, embedTokens, type LlamaParams } from '../../src/llama/decoder';
import { hookedForward, type DecoderHook } from '../../src/baselines/decoder_hooks';
import { loadLlama } from '../../src/llama/load';
import type { LlamaConfig } from '../../src/llama/config';
import { disposeTree } from '../../src/io/checkpoint';
import { tidyAsync } from '../../src/core/scope';
import { modelDir } from '../util/fixtures';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';

describe('FastV-1 · fastvKeep', () => {
  it('keeps all text rows and the image rows the last row attends to most (hand-checked)', async () => {
    await tidyAsync(async () => {
      // T = 6, image rows [1, 5). Last-row attention per head over keys 0..5:
      //   head 0: [.1, .4, .1, .2, .1, .1]   head 1: [.1, .2, .1, .4, .1, .1]
      // head mean on image keys 1..4 = [.3, .1, .3, .1] → with r = 0.5 keep round(2) = 2: rows 1 and 3.
      const probs = tf.zeros([2, 6, 6]).bufferSync();
      [[0.1, 0.4, 0.1, 0.2, 0.1, 0.1], [0.1, 0.2, 0.1, 0.4, 0.1, 0.1]].forEach((row, h) => row.forEach((v, j) => probs.set(v, h, 5, j)));
      expect(await fastvKeep(probs.toTensor() as tf.Tensor3D, 1, 5, 0.5)).toEqual([0, 1, 3, 5]);
      // ties break towards the lower index; r = 1 keeps everything
      expect(await fastvKeep(tf.fill([1, 4, 4], 0.25) as tf.Tensor3D, 0, 3, 1 / 3)).toEqual([0, 3]);
      expect(await fastvKeep(probs.toTensor() as tf.Tensor3D, 1, 5, 1)).toEqual([0, 1, 2, 3, 4, 5]);
    });
  });

  it('keeps Python\'s round(M·r): half to even (hand-checked)', async () => {
    await tidyAsync(async () => {
      // M = 34 image rows at r = 0.25: 8.5 → 8 (Math.round would keep 9); M = 6 at r = 0.25: 1.5 → 2.
      const probs = tf.softmax(tf.randomNormal([2, 40, 40], 0, 1, 'float32', 7)) as tf.Tensor3D;
      expect((await fastvKeep(probs, 3, 37, 0.25)).length).toBe(40 - 34 + 8);
      expect((await fastvKeep(probs, 3, 9, 0.25)).length).toBe(40 - 6 + 2);
    });
    expect([0.5, 1.5, 2.5, 8.5, 9.5, 658.5, 2.4999, 2.5001, 7].map(roundHalfEven)).toEqual([0, 2, 2, 8, 10, 658, 2, 3, 7]);
  });

  it('keeps T − M + round(r·M) rows (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 2, max: 12 }), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.integer({ min: 1, max: 1e6 }), (T, r, seed) => tidyAsync(async () => {
      const start = Math.floor(T / 4), end = Math.max(start + 1, T - 1);
      const keep = await fastvKeep(tf.softmax(tf.randomNormal([2, T, T], 0, 1, 'float32', seed)) as tf.Tensor3D, start, end, r);
      const x = r * (end - start), f = Math.floor(x);
      const pythonRound = x - f === 0.5 ? f + (f % 2) : Math.round(x);  // ties to even
      expect(keep.length).toBe(T - (end - start) + pythonRound);
      expect([...keep].sort((a, b) => a - b)).toEqual(keep);
    })));
  });

  it('rejects bad options', () => {
    expect(() => validateFastv({ layer: 0, ratio: 0.5 }, 32)).toThrow(/--fastv-layer/);
    expect(() => validateFastv({ layer: 2, ratio: 0 }, 32)).toThrow(/--ratio/);
    expect(() => validateFastv({ layer: 2, ratio: NaN }, 32)).toThrow(/--ratio/);
  });
});

/** A hook that keeps the rows `select` picks after `layer − 1`, with their position ids (FastV's row mechanics). */
function rowsHook(layer: number, select: (probs: tf.Tensor3D, positions: readonly number[]) => number[]): DecoderHook {
  return {
    layers: [layer - 1],
    after: async (_l, h, probs, positions) => {
      const keep = select(probs, positions);
      return { h: tf.gather(h, tf.tensor1d(keep, 'int32')) as tf.Tensor2D, positions: keep.map((i) => positions[i]) };
    },
  };
}

describe('FastV-1 · dropping rows inside the decoder (llama-tiny)', () => {
  let m: { config: LlamaConfig; params: LlamaParams };
  beforeAll(() => { m = loadLlama(modelDir('llama-tiny')); });
  afterAll(() => disposeTree(m.params));
  const ids = [1, 50, 60, 70, 80, 90, 100, 110, 120, 130];

  it('keeping every row changes nothing', async () => {
    await tidyAsync(async () => {
      const x = embedTokens(m.params, ids);
      const full = (await llamaForward(m.params, x, m.config)).logits;
      const kept = await hookedForward(m.params, x, m.config, { hook: rowsHook(1, (_p, pos) => pos.map((_, i) => i)) });
      expectClose(kept.logits, full, TOL.sameMath, 'logits');
      expect(kept.positions).toEqual(ids.map((_, i) => i));
    });
  });

  it('rows before the first dropped row are unchanged (causality); later rows keep their position ids', async () => {
    await tidyAsync(async () => {
      const x = embedTokens(m.params, ids);
      const full = (await llamaForward(m.params, x, m.config)).logits;
      const keep = [0, 1, 2, 3, 5, 8, 9]; // drops rows 4, 6, 7
      const out = await hookedForward(m.params, x, m.config, { hook: rowsHook(1, () => keep) });
      expect(out.positions).toEqual(keep);
      expect(out.logits.shape).toEqual([keep.length, m.config.vocab_size]);
      expectClose(tf.slice(out.logits, [0, 0], [4, -1]), tf.slice(full, [0, 0], [4, -1]), TOL.sameMath, 'rows before the drop');
      // and the dropped rows do change what later rows see
      const later = tf.sub(tf.slice(out.logits, [6, 0], [1, -1]), tf.slice(full, [9, 0], [1, -1]));
      expect(tf.max(tf.abs(later)).dataSync()[0]).toBeGreaterThan(1e-3);
    });
  });
});

describe('FastV-1 · fastvHook: the decoder side of the FastV method (llama-tiny)', () => {
  let m: { config: LlamaConfig; params: LlamaParams };
  beforeAll(() => { m = loadLlama(modelDir('llama-tiny')); });
  afterAll(() => disposeTree(m.params));
  const ids = [1, 50, 60, 70, 80, 90, 100, 110, 120, 130]; // "image" rows [2, 8)

  it('r = 1 keeps every row (the plain forward); r = 0.5 keeps round(M/2) image rows, the ones fastvKeep picks', async () => {
    await tidyAsync(async () => {
      const x = embedTokens(m.params, ids);
      const full = await llamaForward(m.params, x, m.config, { taps: { attentions: [0] } });
      let all: number[] = [];
      const same = await hookedForward(m.params, x, m.config, { hook: fastvHook({ layer: 1, ratio: 1 }, 2, 8, m.config.num_hidden_layers, (k) => { all = k; }) });
      expectClose(same.logits, full.logits, TOL.sameMath, 'logits');
      expect(all).toEqual(ids.map((_, i) => i));
      let kept: number[] = [];
      const half = await hookedForward(m.params, x, m.config, { hook: fastvHook({ layer: 1, ratio: 0.5 }, 2, 8, m.config.num_hidden_layers, (k) => { kept = k; }) });
      expect(kept).toEqual(await fastvKeep(full.attentions![0]!, 2, 8, 0.5));
      expect(kept.filter((i) => i >= 2 && i < 8)).toHaveLength(3);
      expect(half.positions).toEqual(kept);
    });
  });

  it('refuses K outside 1..L−1', () => {
    expect(() => fastvHook({ layer: m.config.num_hidden_layers, ratio: 0.5 }, 2, 8, m.config.num_hidden_layers)).toThrow(/--fastv-layer/);
  });
});

describe('FastV · the default K = 2 through the CLI', () => {
  // The golden tiny LLaVA-NeXT has 2 decoder layers (K must be < 2); this copy gets a third one (layer 1's weights).
  let dir: string;
  beforeAll(() => {
    const src = modelDir('llava-next-tiny');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastv-3layer-'));
    for (const f of fs.readdirSync(src)) if (f !== 'model.safetensors' && f !== 'config.json') fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const cfg = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
    cfg.text_config.num_hidden_layers = 3;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    const st = SafetensorsFile.open(path.join(src, 'model.safetensors'));
    const out: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (const n of st.names()) {
      const t = { dtype: 'F32' as const, shape: [...st.info(n).shape], data: st.readFloat32(n) };
      out[n] = t;
      if (n.includes('.layers.1.') && n.startsWith('language_model.')) out[n.replace('.layers.1.', '.layers.2.')] = t;
    }
    writeSafetensors(path.join(dir, 'model.safetensors'), out);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const trace = (extra: string[]): { positions: number[]; logits: Float32Array } => {
    const out = path.join(dir, `t${extra.join('')}.safetensors`);
    const r = runCli(['trace', '--model', dir, '--image', path.join(__dirname, '..', 'fixtures', 'images', 'wide_h30_w100.png'),
      '--input-ids', '1,11,22,1000,33,44,55', '--method', 'fastv', '--max-new-tokens', '1', '--backend', 'cpu', '--out', out, ...extra]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const f = SafetensorsFile.open(out);
    return { positions: f.readNumbers('fastv.kept_positions'), logits: f.readFloat32('logits') };
  };

  it('drops after layer 2 with r = 0.5 unless told otherwise', () => {
    expect(FASTV_DEFAULTS).toEqual({ layer: 2, ratio: 0.5 });
    const dflt = trace([]), k2 = trace(['--fastv-layer', '2', '--ratio', '0.5']), k1 = trace(['--fastv-layer', '1', '--ratio', '0.5']);
    // 3 text rows before the image, 34 image rows (1×2 grid), 3 after: 6 + round(34·0.5) = 23 rows reach layer K
    expect(dflt.positions.length).toBe(23);
    expect(dflt.positions).toEqual(k2.positions);
    expect(Array.from(dflt.logits)).toEqual(Array.from(k2.logits));
    // and K is not a no-op: dropping after layer 1 gives other logits
    expect(Array.from(dflt.logits)).not.toEqual(Array.from(k1.logits));
  });
});
