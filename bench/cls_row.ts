/**
 * `node -r ./src/cli/register-ts.js bench/cls_row.ts`: clip/cls.ts clsPatchAttention on ViT-L/14-336 probabilities of 3 crops
 * ([3, 16, 577, 577]) on tfjs-wasm, against the slice it replaced (tfjs-wasm's slice reads its whole input back to JS).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend';
import { clsPatchAttention } from '../src/clip/cls';
(async () => {
  await initBackend('wasm');
  const p = tf.randomUniform([3, 16, 577, 577]) as tf.Tensor4D;
  for (let r = 0; r < 3; r++) {
    let t = performance.now(); const a = clsPatchAttention(p); a.dataSync(); const t1 = performance.now() - t;
    t = performance.now(); const b = tf.tidy(() => tf.mean(tf.reshape(tf.slice(p, [0, 0, 0, 1], [3, 16, 1, 576]), [3, 16, 576]), 1)); b.dataSync(); const t2 = performance.now() - t;
    console.log('gather', t1.toFixed(1), 'ms; slice', t2.toFixed(1), 'ms; same', a.dataSync().every((x, i) => x === b.dataSync()[i]));
    tf.dispose([a, b]);
  }
})();
