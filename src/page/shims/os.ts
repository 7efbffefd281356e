/**
 * `os` for the page's bundle: the memory plan (runtime/memory.ts) asks how much memory there is. A page
 * cannot know; the wasm heap's 4 GiB is the real limit there, so that is what it says.
 */
const HEAP = 4 * 2 ** 30;
export function totalmem(): number { return HEAP; }
export function freemem(): number { return HEAP; }
export function cpus(): { model: string }[] { return Array.from({ length: ((globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1) }, () => ({ model: 'browser' })); }
export function availableParallelism(): number { return 1; }
export function tmpdir(): string { return '/tmp'; }
export function platform(): string { return 'browser'; }
export function homedir(): string { return '/'; }
export const EOL = '\n';
export default { totalmem, freemem, cpus, availableParallelism, tmpdir, platform, homedir, EOL };
