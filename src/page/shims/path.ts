/** POSIX `path` for the page's bundle (the loaders join and split paths of the in-memory files: io/browser_fs.ts). */
export const sep = '/';
export const delimiter = ':';
export function normalize(p: string): string {
  const abs = p.startsWith('/'), out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else if (part !== '..' || !abs) out.push(part);
  }
  let s = out.join('/');
  if (!s && !abs) s = '.';
  if (s && p.endsWith('/')) s += '/';
  return abs ? `/${s}` : s;
}
export function join(...parts: string[]): string { return normalize(parts.filter((p) => p !== '').join('/') || '.'); }
export function resolve(...parts: string[]): string {
  let r = '';
  for (const p of parts) if (p) r = p.startsWith('/') ? p : `${r}/${p}`;
  const n = normalize(r.startsWith('/') ? r : `/${r}`);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}
export function isAbsolute(p: string): boolean { return p.startsWith('/'); }
export function dirname(p: string): string {
  if (/^\/+$/.test(p)) return '/';
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}
export function basename(p: string, ext?: string): string {
  const b = p.replace(/\/+$/, '').split('/').pop() ?? '';
  return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
}
export function extname(p: string): string {
  const b = basename(p), i = b.lastIndexOf('.');
  if (b === '..') return '';
  return i <= 0 ? '' : b.slice(i);
}
export function relative(from: string, to: string): string {
  const a = resolve(from).split('/').filter(Boolean), b = resolve(to).split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}
export const posix = { sep, delimiter, normalize, join, resolve, isAbsolute, dirname, basename, extname, relative };
export default posix;
