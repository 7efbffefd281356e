/**
 * The loading layer's files in the browser: an in-memory file system with the synchronous subset of Node's
 * `fs` that src/io (and the other loaders) call. The page's bundle (scripts/page.ts) resolves `fs` to this
 * module, so the same loaders read the files a person picked (or the default model the page generated) with
 * the same code as in Node; Node itself never loads it. Paths are POSIX; directories exist implicitly as the
 * prefixes of files (and explicitly after mkdirSync).
 */
import { HeroError } from '../core/errors';

const files = new Map<string, Uint8Array>();
const dirs = new Set<string>(['/']);

/** '/a/./b//c/../d' → '/a/b/d' (relative paths are taken from '/'). */
function norm(p: string): string {
  const out: string[] = [];
  for (const part of String(p).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop(); else out.push(part);
  }
  return `/${out.join('/')}`;
}

function isDir(p: string): boolean {
  if (dirs.has(p)) return true;
  const pre = p === '/' ? '/' : `${p}/`;
  for (const f of files.keys()) if (f.startsWith(pre)) return true;
  return false;
}

function missing(op: string, p: string): Error {
  const e = new Error(`ENOENT: no such file or directory, ${op} '${p}'`) as Error & { code: string };
  e.code = 'ENOENT';
  return e;
}

const encoder = new TextEncoder(), decoder = new TextDecoder();

/** Puts a whole file (the page's picked files, the generated default model). */
export function putFile(p: string, bytes: Uint8Array): void {
  files.set(norm(p), bytes);
}
/** Removes every file under `dir`. */
export function removeTree(dir: string): void {
  const d = norm(dir), pre = d === '/' ? '/' : `${d}/`;
  for (const f of [...files.keys()]) if (f === d || f.startsWith(pre)) files.delete(f);
  for (const x of [...dirs]) if (x === d || x.startsWith(pre)) dirs.delete(x);
}
export function fileBytes(p: string): Uint8Array {
  const b = files.get(norm(p));
  if (!b) throw missing('open', p);
  return b;
}

interface Stat { size: number; isFile(): boolean; isDirectory(): boolean; mtimeMs: number }
function stat(p: string): Stat {
  const n = norm(p), f = files.get(n);
  if (f) return { size: f.length, isFile: () => true, isDirectory: () => false, mtimeMs: 0 };
  if (isDir(n)) return { size: 0, isFile: () => false, isDirectory: () => true, mtimeMs: 0 };
  throw missing('stat', p);
}

export const constants = { F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 };
export function existsSync(p: string): boolean { const n = norm(p); return files.has(n) || isDir(n); }
export function statSync(p: string): Stat { return stat(p); }
export const lstatSync = statSync;
export function accessSync(p: string): void { if (!existsSync(p)) throw missing('access', p); }
/** The browser's "disk": no limit known beyond the tab's memory, said as plenty. */
export function statfsSync(): { bsize: number; bavail: number; blocks: number } { return { bsize: 4096, bavail: 2 ** 30, blocks: 2 ** 30 }; }
export function readFileSync(p: string, enc?: string | { encoding?: string }): Uint8Array | string {
  const b = fileBytes(p);
  const e = typeof enc === 'string' ? enc : enc?.encoding;
  return e ? decoder.decode(b) : b;
}
export function writeFileSync(p: string, data: string | Uint8Array): void {
  files.set(norm(p), typeof data === 'string' ? encoder.encode(data) : new Uint8Array(data));
}
export function mkdirSync(p: string, _opts?: unknown): void { dirs.add(norm(p)); }
export function readdirSync(p: string): string[] {
  const n = norm(p);
  if (!isDir(n)) throw missing('scandir', p);
  const pre = n === '/' ? '/' : `${n}/`, names = new Set<string>();
  for (const f of [...files.keys(), ...dirs]) if (f.startsWith(pre) && f.length > pre.length) names.add(f.slice(pre.length).split('/')[0]);
  return [...names].sort();
}
export function renameSync(a: string, b: string): void {
  const na = norm(a), nb = norm(b), f = files.get(na);
  if (f) { files.delete(na); files.set(nb, f); return; }
  const pre = `${na}/`;
  for (const [k, v] of [...files]) if (k.startsWith(pre)) { files.delete(k); files.set(nb + k.slice(na.length), v); }
  for (const x of [...dirs]) if (x === na || x.startsWith(pre)) { dirs.delete(x); dirs.add(nb + x.slice(na.length)); }
}
export function rmSync(p: string, _opts?: unknown): void { removeTree(p); }
export const unlinkSync = rmSync;

// File descriptors: an open file is its path and, while written, a growing buffer.
interface Fd { path: string; buf: Uint8Array; len: number; writing: boolean }
const fds = new Map<number, Fd>();
let nextFd = 3;
export function openSync(p: string, flags = 'r'): number {
  const writing = /[wa+]/.test(String(flags));
  if (!writing && !files.has(norm(p))) throw missing('open', p);
  const buf = writing ? new Uint8Array(1 << 16) : files.get(norm(p))!;
  const fd = nextFd++;
  fds.set(fd, { path: norm(p), buf, len: writing ? 0 : buf.length, writing });
  return fd;
}
function fdOf(fd: number): Fd {
  const f = fds.get(fd);
  if (!f) throw new HeroError(`browser file system: bad file descriptor ${fd}`);
  return f;
}
export function fstatSync(fd: number): Stat { const f = fdOf(fd); return { size: f.len, isFile: () => true, isDirectory: () => false, mtimeMs: 0 }; }
export function readSync(fd: number, out: Uint8Array, offset = 0, length = out.length - offset, position: number | null = 0): number {
  const f = fdOf(fd), pos = position ?? 0, n = Math.max(0, Math.min(length, f.len - pos));
  out.set(f.buf.subarray(pos, pos + n), offset);
  return n;
}
export function writeSync(fd: number, data: Uint8Array | string, offset = 0, length?: number, position?: number | null): number {
  const f = fdOf(fd);
  const bytes = typeof data === 'string' ? encoder.encode(data) : data.subarray(offset, length === undefined ? undefined : offset + length);
  const pos = position ?? f.len, end = pos + bytes.length;
  if (end > f.buf.length) { const g = new Uint8Array(Math.max(end, f.buf.length * 2)); g.set(f.buf.subarray(0, f.len)); f.buf = g; }
  f.buf.set(bytes, pos);
  f.len = Math.max(f.len, end);
  return bytes.length;
}
export function ftruncateSync(fd: number, len = 0): void {
  const f = fdOf(fd);
  if (len > f.buf.length) { const g = new Uint8Array(len); g.set(f.buf.subarray(0, f.len)); f.buf = g; }
  f.len = len;
}
export function closeSync(fd: number): void {
  const f = fdOf(fd);
  if (f.writing) files.set(f.path, f.buf.slice(0, f.len));
  fds.delete(fd);
}
