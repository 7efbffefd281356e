/**
 * The llama_tiny golden's greedy generation (HF `generate`, greedy, 8 new tokens): the ids exactly and every
 * step's scores within TOL.golden. Shared by the decoder's own spec and the specs of the accelerations that
 * must leave it unchanged (accel/binding_split).
 */
import * as tf from '@tensorflow/tfjs-core';
import { embedTokens, type LlamaParams } from '../../src/llama/decoder';
import { greedyGenerate } from '../../src/llama/generate';
import type { LlamaConfig } from '../../src/llama/config';
import type { GoldenCase } from './fixtures';
import { expectCloseAsync } from './close';
import { TOL } from './tolerances';

export async function expectGreedyAsHf(m: { config: LlamaConfig; params: LlamaParams }, gc: GoldenCase): Promise<void> {
  const ids = gc.numbers('input_ids');
  const embeds = tf.tidy(() => embedTokens(m.params, ids));
  const gen = await greedyGenerate(m.params, m.config, embeds, { maxNewTokens: 8, eosTokenId: m.config.eos_token_id, keepScores: true });
  embeds.dispose();
  expect([...ids, ...gen.newIds]).toEqual(gc.numbers('generated_ids'));
  const scores = gc.floats('generate_scores');
  const V = m.config.vocab_size;
  for (const [i, s] of gen.scores!.entries()) await expectCloseAsync(s, scores.subarray(i * V, (i + 1) * V), TOL.golden, `generate_scores[${i}]`);
}
