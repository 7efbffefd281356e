/**
 * `node -r ./src/cli/register-ts.js bench/widen.ts [--rows 5504] [--cols 4096] [--runs 5]`
 *
 * Widening one streamed weight (f16 and bf16 bytes → an fp32 tfjs-wasm tensor), the step every use of a streamed
 * or on-disk group takes: the reference (io/stored.ts REFERENCE_WIDENING: io/safetensors.ts decodeFloatInto into a
 * new array, then tf.tensor's copy into the wasm heap) against accel/widen.ts (WebAssembly SIMD, straight into the
 * heap). Prints the median ms and the G elements/s of each; checks both made the same bits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseFlags, type FlagSpecs } from '../src/cli/args';
import { initBackend } from '../src/backend';
import { SIMD_WIDENING } from '../src/accel/widen';
import { REFERENCE_WIDENING, type StoredWidening } from '../src/io/stored';

const FLAGS: FlagSpecs = {
  rows: { type: 'number', arg: 'N', help: 'weight rows (default 5504: one worker\'s half of a Vicuna-7B MLP matrix)' },
  cols: { type: 'number', arg: 'N', help: 'weight columns (default 4096)' },
  runs: { type: 'number', arg: 'N', help: 'timed runs per way (default 5)' },
};

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), FLAGS, 'bench/widen.ts');
  const R = (f.rows as number | undefined) ?? 5504, C = (f.cols as number | undefined) ?? 4096, runs = (f.runs as number | undefined) ?? 5;
  await initBackend('wasm');
  const n = R * C;
  const bytes = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) bytes.writeUInt16LE((i * 40503) & 0x3bff, 2 * i); // finite, mixed exponents
  console.log(`bench/widen.ts: [${R}, ${C}] = ${(n / 1e6).toFixed(1)} M elements on tfjs-wasm, ${runs} runs each`);
  for (const dtype of ['F16', 'BF16'] as const) {
    const sums: number[] = [];
    for (const w of [REFERENCE_WIDENING, SIMD_WIDENING] as StoredWidening[]) {
      const ms: number[] = [];
      let sum = 0;
      for (let r = 0; r < runs + 1; r++) {
        const t0 = performance.now();
        const t = w.newTensor([R, C], (out) => w.widenInto(bytes, dtype, out, 0));
        const dt = performance.now() - t0;
        if (r > 0) ms.push(dt);                                   // the first run warms up
        if (r === 0) sum = tf.tidy(() => tf.sum(t).dataSync()[0]);
        t.dispose();
      }
      sums.push(sum);
      const med = ms.sort((a, b) => a - b)[ms.length >> 1];
      console.log(`  ${dtype} ${w.kind.padEnd(9)}: ${med.toFixed(1)} ms [${ms[0].toFixed(1)}, ${ms[ms.length - 1].toFixed(1)}] = ${(n / med / 1e6).toFixed(2)} G elements/s`);
    }
    if (!Object.is(sums[0], sums[1])) throw new Error(`bench/widen.ts: the two ways summed to ${sums[0]} and ${sums[1]}`);
  }
}

void main().catch((e: Error) => { console.error(`bench/widen.ts: error: ${e.message}`); process.exit(1); });
