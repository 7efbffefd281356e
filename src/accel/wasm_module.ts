/**
 * The part of the WebAssembly API the project's own kernels use (./rows.ts, ./gemm.ts; the project's TypeScript
 * libs have no DOM types), and the one way they compile their committed bytes.
 */

/** A module's linear memory. */
export interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }

declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: Record<string, unknown> };
};

/** The compiled module of base64 bytes (a ./*_wasm.ts constant), or null where this engine cannot run it (no WebAssembly, or a feature it lacks). */
export function compileWasm(base64: string): object | null {
  const bytes = Buffer.from(base64, 'base64');
  return typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
}

/** A new instance of a compiled module (its own memory): its exports. */
export function instantiateWasm(module: object): Record<string, unknown> {
  return new WebAssembly.Instance(module).exports;
}

/** n rounded up to a multiple of 16 bytes (v128 alignment of the kernels' buffers). */
export const align16 = (n: number): number => (n + 15) & ~15;
