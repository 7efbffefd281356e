/**
 * The explorer page (docs/page.md), one script for both of its sides: in the page (a document) it starts
 * the UI (ui.ts), which starts this same script again as a worker, where it runs the model (worker.ts).
 * The wasm binaries come from the bundle (scripts/page.ts inlines them) as Blob URLs, for the worker's tfjs.
 * The same src/ modules as the command line run in the worker: the controls become `hero-lvlm trace`
 * flags (cli/trace.ts runTrace → runtime/index.ts openRuntime → pipeline.ts runPipeline), the pictures are
 * report/'s, the exported file io/safetensors.ts writeSafetensors' with trace's names and metadata.
 */
import './node_files';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import WASM from '../../node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm';
import WASM_SIMD from '../../node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm';
import WASM_THREADED from '../../node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm';
import { startPage } from './ui';
import { startWorker } from './worker';

if (typeof document !== 'undefined') {
  // the script's own text, for the worker (read while it is the current script)
  startPage(document.currentScript?.textContent ?? '');
} else {
  const blobUrl = (b: Uint8Array): string => URL.createObjectURL(new Blob([b as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }));
  // tfjs-wasm uses threads only where the page is cross-origin isolated (npm run page -- --serve); from file:// single-threaded SIMD
  setWasmPaths({ 'tfjs-backend-wasm.wasm': blobUrl(WASM), 'tfjs-backend-wasm-simd.wasm': blobUrl(WASM_SIMD), 'tfjs-backend-wasm-threaded-simd.wasm': blobUrl(WASM_THREADED) }, true);
  startWorker();
}
