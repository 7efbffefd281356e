/**
 * The dimension glossary is checked mechanically: every name used in a `// [..]` shape comment in src/ is
 * listed in docs/dims.md, and each name is listed once (one meaning per letter).
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Names in a bracket group: identifiers with an optional prime (T', h'); numbers, operators and … are not names. */
const names = (group: string): string[] => [...group.matchAll(/[A-Za-z_][A-Za-z0-9_]*'?/g)].map((m) => m[0]);

/** Shape comments of one source text: `// [..]` (a comment that starts with a bracket), every group in it. */
export function shapeSymbols(text: string): Array<{ line: number; symbol: string }> {
  const out: Array<{ line: number; symbol: string }> = [];
  text.split('\n').forEach((l, i) => {
    const m = /\/\/\s*(\[.*)$/.exec(l);
    if (!m) return;
    for (const g of m[1].matchAll(/\[([^\]]*)\]/g)) for (const s of names(g[1])) out.push({ line: i + 1, symbol: s });
  });
  return out;
}

/** The names docs/dims.md lists: the backticked names of each table row's first cell. */
export function glossaryNames(md: string): string[] {
  return [...md.matchAll(/^\|([^|\n]*)\|/gm)]
    .flatMap((m) => [...m[1].matchAll(/`([^`]+)`/g)].flatMap((c) => names(c[1])));
}

const glossary = glossaryNames(fs.readFileSync(path.join(ROOT, 'docs', 'dims.md'), 'utf8'));
const used = files(path.join(ROOT, 'src')).flatMap((f) => shapeSymbols(fs.readFileSync(f, 'utf8'))
  .map((u) => ({ where: `${path.relative(ROOT, f)}:${u.line}`, symbol: u.symbol })));

describe('docs/dims.md glossary', () => {
  it('the src/ tree has shape comments to check', () => {
    expect(used.length).toBeGreaterThan(100);
  });
  it('lists every name used in a `// [..]` shape comment in src/', () => {
    const known = new Set(glossary);
    expect(used.filter((u) => !known.has(u.symbol))).toEqual([]);
  });
  it('lists each name once', () => {
    expect(glossary.filter((g, i) => glossary.indexOf(g) !== i)).toEqual([]);
  });
  it('the extractor finds names in every group of a shape comment and ignores numbers and other comments', () => {
    const text = "const a = 1; // [P, N+1, Dv] → [K·G², 3]\n// not a shape [Zz]\nx(); // [T'|1, |kept| + 1, …]";
    expect(shapeSymbols(text)).toEqual([
      { line: 1, symbol: 'P' }, { line: 1, symbol: 'N' }, { line: 1, symbol: 'Dv' }, { line: 1, symbol: 'K' }, { line: 1, symbol: 'G' },
      { line: 3, symbol: "T'" }, { line: 3, symbol: 'kept' },
    ]);
    expect(glossaryNames('| dim | meaning |\n|---|---|\n| `H`, `Hkv` | heads |\n| `h\'`, `w\'` | x |\n')).toEqual(['H', 'Hkv', "h'", "w'"]);
  });
});
