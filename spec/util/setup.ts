/**
 * Runs before every spec file: selects the deterministic `cpu` backend (golden specs switch to each of
 * GOLDEN_BACKENDS themselves) and wraps every test in a tensor-leak check: tf.memory().numTensors must be
 * back to its value at the start of the test (async tests too: jest runs afterEach once the test's promise settles).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

// Silence tfjs's console hints in tests (the CLI sets PROD for the same reason).
tf.env().set('IS_TEST', true);

let start = 0;
beforeAll(async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialise');
});
beforeEach(() => {
  start = tf.memory().numTensors;
});
afterEach(() => {
  const now = tf.memory().numTensors;
  if (now !== start) throw new Error(`tensor leak: ${now - start} tensor(s) created by this test were not disposed`);
});
