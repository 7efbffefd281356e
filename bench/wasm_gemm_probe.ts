/**
 * `node [--experimental-wasm-relaxed-simd] -r ./src/cli/register-ts.js bench/wasm_gemm_probe.ts [--kc 256] [--runs 200]`
 *
 * How fast could a matrix product of our own in WebAssembly go on this CPU, against XNNPACK's (bench/blas_product.ts)?
 * A probe, not a kernel: the inner loop of a packed GEMM (the GotoBLAS micro-kernel, C[MR × 8] += A[MR × kc]·B[kc × 8]
 * on panels packed so that both are read in order) over blocks that stay in the caches — 96 rows of A and 1024
 * columns of B at depth kc —, for MR = 3…6 rows, with f32x4.mul + f32x4.add (WebAssembly SIMD, what tfjs-wasm's
 * XNNPACK build uses) and, where the engine has relaxed SIMD (Node ≥ 22; Node 20 with
 * --experimental-wasm-relaxed-simd), with f32x4.relaxed_madd (a fused multiply-add on x86 with FMA). Its rate is
 * an upper bound for a whole product (packing, edges and the memory traffic of large matrices come on top): if it
 * is not well above XNNPACK's, an own kernel cannot make `--accel wasm` much faster. One thread; the figures are
 * only comparable on an idle machine. bench/README.md, "An own WebAssembly product?".
 */
import { parseFlags, type FlagSpecs } from '../src/cli/args';

const FLAGS: FlagSpecs = {
  kc: { type: 'int', arg: 'K', default: 256, help: 'depth of the packed panels' },
  runs: { type: 'int', arg: 'R', default: 200, help: 'passes over the block per figure, after 3 warm-up passes' },
};

/** The block function's text: for each 8-column panel j, each MR-row panel i, C[i, j] += A_i · B_j over kc. */
function microKernelWat(MR: number, fma: boolean): string {
  const acc = Array.from({ length: MR }, (_, r) => `(local $c${r}0 v128) (local $c${r}1 v128)`).join(' ');
  const madd = (c: string, b: string): string => (fma
    ? `(local.set ${c} (f32x4.relaxed_madd (local.get $a) (local.get ${b}) (local.get ${c})))`
    : `(local.set ${c} (f32x4.add (local.get ${c}) (f32x4.mul (local.get $a) (local.get ${b}))))`);
  const row = (r: string): string => `(i32.add (local.get $pc) (i32.mul (i32.const ${r}) (local.get $ldc)))`;
  const lines: string[] = [];
  for (let r = 0; r < MR; r++) lines.push(`(local.set $c${r}0 (v128.load ${row(String(r))})) (local.set $c${r}1 (v128.load offset=16 ${row(String(r))}))`);
  const inner: string[] = ['(local.set $b0 (v128.load (local.get $pb))) (local.set $b1 (v128.load offset=16 (local.get $pb)))'];
  for (let r = 0; r < MR; r++) inner.push(`(local.set $a (v128.load32_splat offset=${4 * r} (local.get $pa))) ${madd(`$c${r}0`, '$b0')} ${madd(`$c${r}1`, '$b1')}`);
  const stores: string[] = [];
  for (let r = 0; r < MR; r++) stores.push(`(v128.store ${row(String(r))} (local.get $c${r}0)) (v128.store offset=16 ${row(String(r))} (local.get $c${r}1))`);
  return `(module (memory (export "memory") 1 65536)
 (func (export "block") (param $ap i32) (param $bp i32) (param $c i32) (param $mb i32) (param $nb i32) (param $kc i32) (param $ldc i32)
  (local $i i32) (local $j i32) (local $k i32) (local $pa i32) (local $pb i32) (local $pc i32) (local $b0 v128) (local $b1 v128) (local $a v128) ${acc}
  (block $jd (loop $jl (br_if $jd (i32.ge_u (local.get $j) (local.get $nb)))
   (local.set $i (i32.const 0))
   (block $id (loop $il (br_if $id (i32.ge_u (local.get $i) (local.get $mb)))
    (local.set $pa (i32.add (local.get $ap) (i32.mul (local.get $i) (i32.mul (local.get $kc) (i32.const ${4 * MR})))))
    (local.set $pb (i32.add (local.get $bp) (i32.mul (local.get $j) (i32.shl (local.get $kc) (i32.const 5)))))
    (local.set $pc (i32.add (local.get $c) (i32.add (i32.mul (i32.mul (local.get $i) (i32.const ${MR})) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 5)))))
    ${lines.join('\n    ')}
    (local.set $k (local.get $kc))
    (block $kd (loop $kl (br_if $kd (i32.eqz (local.get $k)))
     ${inner.join('\n     ')}
     (local.set $pa (i32.add (local.get $pa) (i32.const ${4 * MR}))) (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
     (local.set $k (i32.sub (local.get $k) (i32.const 1))) (br $kl)))
    ${stores.join('\n    ')}
    (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $il)))
   (local.set $j (i32.add (local.get $j) (i32.const 1))) (br $jl)))))`;
}

/** The part of the WebAssembly API used here (the project's TypeScript libs have no DOM types). */
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  instantiate(bytes: Uint8Array): Promise<{ instance: { exports: Record<string, unknown> } }>;
};
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }

type Wabt = { parseWat: (f: string, s: string, feat: object) => { validate(): void; toBinary(o: object): { buffer: Uint8Array }; destroy(): void } };

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), FLAGS, 'bench/wasm_gemm_probe.ts');
  const KC = f.kc as number, runs = f.runs as number;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const wabt = await (require('wabt') as () => Promise<Wabt>)();
  const assemble = (wat: string): Uint8Array => {
    const m = wabt.parseWat('probe.wat', wat, { simd: true, relaxed_simd: true });
    try { m.validate(); return m.toBinary({}).buffer; } finally { m.destroy(); }
  };
  const relaxed = WebAssembly.validate(assemble(microKernelWat(1, true)));
  console.log(`node ${process.version}; relaxed SIMD ${relaxed ? 'available' : 'not available (Node 20: --experimental-wasm-relaxed-simd)'}; kc = ${KC}, ${runs} passes`);
  for (const fma of relaxed ? [false, true] : [false]) {
    for (const MR of [3, 4, 5, 6]) {
      const { instance } = await WebAssembly.instantiate(assemble(microKernelWat(MR, fma)));
      const mem = instance.exports.memory as WasmMemory;
      const block = instance.exports.block as (ap: number, bp: number, c: number, mb: number, nb: number, kc: number, ldc: number) => void;
      const MB = Math.ceil(96 / MR), NB = 128;                                     // A: 96 rows × kc, B: kc × 1024, C: 96 × 1024
      const ap = 1024, bp = ap + MB * MR * KC * 4, c = bp + NB * 8 * KC * 4, ldc = NB * 8 * 4, end = c + MB * MR * ldc;
      mem.grow(Math.ceil(end / 65536));
      const v = new Float32Array(mem.buffer);
      for (let i = ap / 4; i < end / 4; i++) v[i] = ((i * 7919) % 1000) / 1000 - 0.5;
      for (let w = 0; w < 3; w++) block(ap, bp, c, MB, NB, KC, ldc);
      const t0 = performance.now();
      for (let r = 0; r < runs; r++) block(ap, bp, c, MB, NB, KC, ldc);
      const s = (performance.now() - t0) / 1000;
      console.log(`MR = ${MR} × 8, ${fma ? 'f32x4.relaxed_madd' : 'f32x4.mul + f32x4.add'}: ${(2 * MB * MR * NB * 8 * KC * runs / s / 1e9).toFixed(1)} GFLOP/s`);
    }
  }
}

main().catch((e: Error) => { console.error(`bench/wasm_gemm_probe.ts: error: ${e.message}`); process.exit(1); });
