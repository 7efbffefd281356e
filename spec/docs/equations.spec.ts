/**
 * The equation registry is checked mechanically: every id in docs/equations.md has an `@eq <id>` in src/
 * and a describe() title containing it in spec/, and every `@eq` in src/ is registered.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

function files(dir: string, ext: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : files(p, ext);
    return p.endsWith(ext) ? [p] : [];
  });
}

const registry = fs.readFileSync(path.join(ROOT, 'docs', 'equations.md'), 'utf8');
/** Ids are the first cell of each table row: `| HERO-3 | …`. */
const ids = [...registry.matchAll(/^\|\s*`?([A-Za-z0-9²+-]+-[A-Za-z0-9]+)`?\s*\|/gm)].map((m) => m[1]).filter((id) => id !== 'id');
const src = files(path.join(ROOT, 'src'), '.ts').map((f) => fs.readFileSync(f, 'utf8')).join('\n');
const spec = files(path.join(ROOT, 'spec'), '.spec.ts').map((f) => fs.readFileSync(f, 'utf8')).join('\n');
const eqTags = new Set([...src.matchAll(/@eq[ \t]+([A-Za-z0-9²+-]+(?:[ \t]+[A-Za-z0-9²+-]+)*)/g)].flatMap((m) => m[1].split(/\s+/)).filter((t) => /-/.test(t)));
const describeTitles = [...spec.matchAll(/describe(?:\.each\([^)]*\))?\(\s*[`'"]([^`'"]+)[`'"]/g)].map((m) => m[1]);

describe('docs/equations.md registry', () => {
  it('lists equations', () => {
    expect(ids.length).toBeGreaterThan(20);
    expect(new Set(ids).size).toBe(ids.length);
  });
  it.each(ids)('%s has an @eq tag in src/', (id) => {
    expect(eqTags.has(id)).toBe(true);
  });
  it.each(ids)('%s has a describe() in spec/', (id) => {
    expect(describeTitles.some((t) => t.split(/[\s·,/]+/).includes(id))).toBe(true);
  });
  it('every @eq tag in src/ is registered', () => {
    expect([...eqTags].filter((t) => !ids.includes(t))).toEqual([]);
  });
});
