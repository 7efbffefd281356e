import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend';
import { decodeFloatInto } from '../src/io/safetensors';
import { useBlas, linearBlas } from '../src/accel/blas';
(async () => {
  await initBackend('wasm');
  useBlas('libopenblas.so.0', 1);
  const n = 4096 * 5504;
  const src = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) src.writeUInt16LE((i * 7919) & 0x3bff, 2 * i);
  const out = new Float32Array(n);
  let t = performance.now();
  for (let r = 0; r < 3; r++) decodeFloatInto(src, 'F16', out, 0);
  console.log('widen f16 ms per 22.5M', (performance.now() - t) / 3);
  t = performance.now();
  for (let r = 0; r < 3; r++) { const x = tf.tensor(out, [5504, 4096]); x.dispose(); }
  console.log('tf.tensor copy ms per 22.5M', (performance.now() - t) / 3);
  const w = tf.tensor(out, [5504, 4096]);
  const x = tf.randomNormal([669, 4096]);
  for (let r = 0; r < 3; r++) { t = performance.now(); const y = linearBlas({ weight: w } as any, x); y.dataSync(); y.dispose(); console.log('blas 669x4096x5504 ms', performance.now() - t, 'GFLOP/s', 2*669*n/1e6/(performance.now()-t)); }
  const w2 = tf.tensor(out, [4096, 5504]);
  const x2 = tf.randomNormal([669, 5504]);
  for (let r = 0; r < 2; r++) { t = performance.now(); const y = linearBlas({ weight: w2 } as any, x2); y.dataSync(); y.dispose(); console.log('blas down ms', performance.now() - t); }
  t = performance.now();
  for (let r = 0; r < 3; r++) tf.tidy(() => { const a = tf.mul(x2, tf.sigmoid(x2)); a.dataSync(); });
  console.log('silu*sig 669x5504 ms', (performance.now() - t) / 3);
})();
