/**
 * Stands in, in the page's bundle, for the Node-only modules (worker_threads, child_process, sharp, koffi,
 * the webgpu npm package, …): their code is not bundled (scripts/page.ts). Importing works (the
 * accelerations that use them are imported by the runtime but never chosen in the browser); any use throws
 * an error naming the module.
 */
export function nodeOnlyModule(name: string): unknown {
  const fail = (what: string): never => { throw new Error(`${name} (${what}) is Node-only and not in the page`); };
  const stub: unknown = new Proxy(function () { /* never called: apply traps */ }, {
    get(_t, k) {
      if (typeof k === 'symbol' || k === '__esModule' || k === 'then' || k === 'prototype') return undefined;
      if (k === 'default') return stub;
      if (k === 'isMainThread') return true;
      return (..._args: unknown[]) => fail(String(k));
    },
    apply: () => fail('call'),
    construct: () => fail('new'),
  });
  return stub;
}
