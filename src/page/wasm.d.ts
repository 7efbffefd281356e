/** esbuild's binary loader (scripts/page.ts): a .wasm import is its bytes. */
declare module '*.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
declare module '*.json' {
  const value: unknown;
  export default value;
}
declare module 'hero-page:node-files' {
  const files: Record<string, string>;
  export default files;
}
