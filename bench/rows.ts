/**
 * `node --expose-gc -r ./src/cli/register-ts.js bench/rows.ts [--rows 11008] [--cols 4096] [--dtype F16] [--runs 5] [--chunks 65536,262144,1048576]`
 *
 * One decode-step product y = x Wᵀ with W [--rows, --cols] stored as --dtype (default: a Vicuna-7B
 * gate_proj, 4096 × 11008 f16, 90 MB), x one fp32 row, four ways, each reported as GB/s of the stored weight bytes:
 *   - floor: a memory copy of the same bytes, chunk by chunk into one reused buffer (what the kernel's own
 *     streaming does before any arithmetic), and one Buffer.copy of the whole into a second buffer;
 *   - accel/rows.ts with the WebAssembly SIMD kernel (the chunk sizes of --chunks; for F16 also its plain loop,
 *     dot_f16, without the pre-scaled x of dot_f16_scaled) and with the plain-JS kernel;
 *   - the path it replaces: widen the bytes to fp32 (io/safetensors.ts decodeFloatInto, as accel/decoder_pool.ts
 *     readShard does), then tfjs-wasm matMul(x, W, transposeB) as nn/linear.ts linear does.
 * Random weights (finite, unit scale). Median [min, max] of --runs after one warm-up, with the load average
 * (the machine may be shared: say so beside the figures). Not part of `npm test` or `npm run bench`.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend';
import { parseFlags, type FlagSpecs } from '../src/cli/args';
import { rowProduct, storedMatrix, CHUNK_BYTES, type RowsDType } from '../src/accel/rows';
import { decodeFloatInto, encodeFloats } from '../src/io/safetensors';

const FLAGS: FlagSpecs = {
  rows: { type: 'int', arg: 'N', default: 11008, help: 'output features (rows of W)' },
  cols: { type: 'int', arg: 'N', default: 4096, help: 'input features (columns of W)' },
  dtype: { type: 'string', arg: 'F16|BF16|F32', default: 'F16', help: 'stored dtype of W' },
  runs: { type: 'int', arg: 'R', default: 5, help: 'timed runs per figure, after one warm-up' },
  chunks: { type: 'string', arg: 'B,B,…', default: `65536,${CHUNK_BYTES},1048576`, help: 'chunk sizes (bytes) for the kernels' },
};

function median(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), FLAGS, 'bench/rows.ts');
  const rows = flags.rows as number, cols = flags.cols as number, dtype = flags.dtype as RowsDType, runs = flags.runs as number;
  await initBackend('wasm', () => undefined);
  const w32 = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.7) * 0.05);
  const bytes = new Uint8Array(encodeFloats(w32, dtype));
  const x = Float32Array.from({ length: cols }, (_, i) => Math.cos(i));
  const gb = bytes.length / 1e9;
  const line = (what: string, f: () => void): void => {
    f();
    const ts: number[] = [];
    for (let r = 0; r < runs; r++) { const t0 = performance.now(); f(); ts.push((performance.now() - t0) / 1000); }
    const g = ts.map((t) => gb / t);
    console.log(`${what.padEnd(52)} ${median(g).toFixed(2)} GB/s [${Math.min(...g).toFixed(2)}, ${Math.max(...g).toFixed(2)}]  (${(median(ts) * 1000).toFixed(1)} ms)`);
  };
  console.log(`W [${rows}, ${cols}] ${dtype}: ${(bytes.length / 2 ** 20).toFixed(1)} MiB; ${os.cpus()[0]?.model ?? 'CPU'} × ${os.cpus().length}; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; node ${process.version}`);
  const chunks = String(flags.chunks).split(',').map(Number);
  for (const c of chunks) {
    const buf = new Uint8Array(c);
    line(`floor: copy in ${c >> 10} KiB chunks into one buffer`, () => { for (let o = 0; o < bytes.length; o += c) buf.set(bytes.subarray(o, Math.min(bytes.length, o + c))); });
  }
  const whole = new Uint8Array(bytes.length);
  line('floor: one copy of the whole into another buffer', () => whole.set(bytes));
  const m = storedMatrix(bytes, dtype, [rows, cols]);
  for (const c of chunks) line(`accel/rows wasm-simd, ${c >> 10} KiB chunks`, () => rowProduct(m, x, 1, 'wasm-simd', c));
  if (dtype === 'F16') line(`accel/rows wasm-simd, plain f16 loop (dot_f16), ${CHUNK_BYTES >> 10} KiB`, () => rowProduct(m, x, 1, 'wasm-simd', CHUNK_BYTES, false));
  line(`accel/rows js, ${CHUNK_BYTES >> 10} KiB chunks`, () => rowProduct(m, x, 1, 'js'));
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  line('widen to fp32 (decodeFloatInto) + tfjs-wasm matMul', () => {
    const f = new Float32Array(rows * cols);
    decodeFloatInto(buf, dtype, f, 0);
    tf.tidy(() => tf.matMul(tf.tensor2d(x, [1, cols]), tf.tensor2d(f, [rows, cols]), false, true).dataSync());
  });
  line('  of which: widen only', () => decodeFloatInto(buf, dtype, new Float32Array(rows * cols), 0));
}

void main();
