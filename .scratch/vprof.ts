import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend';
import { installKernels } from '../src/accel/kernels';
import { activeKernels, setKernels } from '../src/nn/kernels';
import { timeVisionViTL } from '../src/accel/vision_timing';
(async () => {
  await initBackend('wasm', () => undefined);
  const lin = process.argv[2] as 'wasm-gemm' | 'transpose-policy';
  installKernels({ attention: (process.argv[3] ?? 'per-head') as any, linear: lin, widen: 'wasm-simd' });
  const k = activeKernels();
  let tl = 0, ta = 0;
  setKernels({
    linear: (p, x) => { const t = performance.now(); const y = k.linear(p, x); (tf.backend() as any).dataSync?.(y.dataId); tl += performance.now() - t; return y; },
    attend: (q, kk, v, s, o) => { const t = performance.now(); const y = k.attend(q, kk, v, s, o); ta += performance.now() - t; return y; },
  });
  const r = await timeVisionViTL(1, 1);
  console.log(lin, 'crop ms', r.runs_ms, 'first', r.first_run_ms.toFixed(0), 'linear ms (2 runs)', tl.toFixed(0), 'attend ms', ta.toFixed(0));
})();
