const v8 = require('v8');
const wabt = require('wabt');
(async () => {
  const w = await wabt();
  const m = w.parseWat('t.wat', `(module (func (export "f") (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))`, { simd: true, relaxed_simd: true });
  const bytes = m.toBinary({}).buffer;
  console.log('before flag', WebAssembly.validate(bytes));
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  console.log('after flag', WebAssembly.validate(bytes));
  const { Worker } = require('worker_threads');
  const wk = new Worker(`const {parentPort, workerData} = require('worker_threads'); parentPort.postMessage(WebAssembly.validate(workerData))`, { eval: true, workerData: bytes });
  wk.on('message', (x) => console.log('in worker', x));
})();
