/**
 * runtime/index.ts openRuntime: the one start-up of the commands, on the tiny golden model (cpu). It loads
 * what the options ask (the CLIP model only when the method needs one), carries the acceleration seams
 * (the host KV cache for streamed weights, the in-process decoder when told), says each choice in one
 * line, and close() frees everything it loaded.
 */
import * as tf from '@tensorflow/tfjs-core';
import { installAccelerations } from '../../src/accel';
import { HostKvCache } from '../../src/accel/kv_host';
import { openRuntime, type RuntimeOptions } from '../../src/runtime';
import { LLAMA_DECODER } from '../../src/llama/generate';
import { KvCache } from '../../src/llama/kv_cache';
import { imagePath, leaveBackend, modelDir } from '../util/fixtures';
import { runPipeline } from '../../src/pipeline';
import { readImage } from '../../src/io/image';

const base = (log: string[]): RuntimeOptions => ({
  backend: 'cpu', modelDir: modelDir('llava-next-tiny'),
  residency: { weights: 'resident', promptTokens: 16, maxNewTokens: 4 },
  method: { name: 'none', options: {} }, log: (s) => { log.push(s); },
});

describe('runtime · openRuntime', () => {
  afterEach(async () => {
    installAccelerations('cpu', { attention: 'batched', linear: 'reference' });
    await leaveBackend();
  });

  it('resident weights: the model, the method as given, the reference decoder; close() frees every tensor it loaded', async () => {
    const before = tf.memory().numTensors;
    const log: string[] = [];
    const rt = await openRuntime(base(log));
    try {
      expect([rt.backend, rt.residency, rt.method, rt.visionEncoder, rt.decoder]).toEqual(['cpu', 'resident', { name: 'none', options: {} }, undefined, LLAMA_DECODER]);
      expect(rt.model.config.text_config.num_hidden_layers).toBe(2);
      expect(log.slice(0, 3)).toEqual(['backend: cpu', expect.stringMatching(/^accel: /), 'weights: resident']);
    } finally {
      await rt.close();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('streamed weights: the decoder fills a host KV cache; HERO gets its CLIP model and text ids', async () => {
    const before = tf.memory().numTensors;
    const rt = await openRuntime({ ...base([]), residency: { weights: 'streamed', promptTokens: 16, maxNewTokens: 4 }, clipDir: modelDir('clip-tiny'),
      method: { name: 'hero', options: { alpha: 0.5 }, clipTextIds: [1, 2] } });
    try {
      expect(rt.residency).toBe('streamed');
      const cache = rt.decoder.newCache(2);
      expect(cache).toBeInstanceOf(HostKvCache);
      cache.dispose();
      const m = rt.method as { clip?: { dir: string }; clipTextIds?: number[] };
      expect([m.clip?.dir, m.clipTextIds]).toEqual([modelDir('clip-tiny'), [1, 2]]);
    } finally {
      await rt.close();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps the in-process decoder when told (a trace, a decoder hook) and says why', async () => {
    const log: string[] = [];
    const rt = await openRuntime({ ...base(log), decoderWorkers: 2, inProcessDecoder: 'by trace, which records every layer' });
    try {
      expect(rt.decoder.newCache(2)).toBeInstanceOf(KvCache);
      expect(log).toContain('decoder: in-process (--decoder-workers 2 is not used by trace, which records every layer)');
    } finally {
      await rt.close();
    }
  });

  it('keepPools (eval predict, sweep): the vision pool outlives atStage and encodes the next image the same way', async () => {
    const rt = await openRuntime({ ...base([]), visionWorkers: 2, keepPools: true });
    try {
      expect(rt.visionEncoder).toBeDefined();
      const ask = async (): Promise<number[]> => {
        const r = await runPipeline(rt.model, { image: await readImage(imagePath('wide_h30_w100')), inputIds: [1, rt.model.config.image_token_index, 2],
          method: rt.method, maxNewTokens: 2, visionEncoder: rt.visionEncoder, decoder: rt.decoder, onStage: (s) => rt.atStage(s) });
        return r.newIds;
      };
      const first = await ask();
      expect(await ask()).toEqual(first);                                    // a closed pool would refuse the second image
    } finally {
      await rt.close();
    }
  });

  it('refuses an unknown backend before loading anything', async () => {
    await expect(openRuntime({ ...base([]), backend: 'tpu' })).rejects.toThrow(/tpu/);
  });
});
