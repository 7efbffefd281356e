/**
 * The equation registry is checked mechanically: every id in docs/equations.md has an `@eq <id>` in src/,
 * every `@eq` in src/ is registered, and the test files the registry lists for an id hold a describe()
 * whose title names the id and whose body asserts something: an `expect…(` or `fc.assert(` call, directly
 * or through a helper function of the same file that makes one. A title alone does not count.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');

function files(dir: string, ext: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : files(p, ext);
    return p.endsWith(ext) ? [p] : [];
  });
}

const registry = fs.readFileSync(path.join(ROOT, 'docs', 'equations.md'), 'utf8');
/** Rows `| id | source | statement | implementation | test |`: the id and the spec files of the last cell. */
const rows = [...registry.matchAll(/^\|\s*`?([A-Za-z0-9²+-]+-[A-Za-z0-9]+)`?\s*\|(.*)\|\s*$/gm)]
  .filter((m) => m[1] !== 'id')
  .map((m) => ({ id: m[1], tests: [...(m[2].split('|').pop() ?? '').matchAll(/spec\/[\w/.-]+\.spec\.ts/g)].map((t) => t[0]) }));
const ids = rows.map((r) => r.id);
const src = files(path.join(ROOT, 'src'), '.ts').map((f) => fs.readFileSync(f, 'utf8')).join('\n');
const eqTags = new Set([...src.matchAll(/@eq[ \t]+([A-Za-z0-9²+-]+(?:[ \t]+[A-Za-z0-9²+-]+)*)/g)].flatMap((m) => m[1].split(/\s+/)).filter((t) => /-/.test(t)));

/** describe() blocks of a spec file: title and whether the body (or a same-file helper it calls) asserts. */
function describeBlocks(file: string): Array<{ title: string; asserts: boolean }> {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const calleeName = (c: ts.CallExpression): string => c.expression.getText(sf);
  const isAssertion = (c: ts.CallExpression): boolean => /^expect\w*$/.test(calleeName(c)) || calleeName(c) === 'fc.assert';
  // Helper functions of this file (declarations and const arrow functions) that themselves assert.
  const helpers = new Map<string, ts.Node>();
  const collect = (n: ts.Node): void => {
    if (ts.isFunctionDeclaration(n) && n.name) helpers.set(n.name.text, n);
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer))) helpers.set(n.name.text, n.initializer);
    ts.forEachChild(n, collect);
  };
  collect(sf);
  const asserting = new Map<ts.Node, boolean>();
  const asserts = (n: ts.Node, seen = new Set<string>()): boolean => {
    if (asserting.has(n)) return asserting.get(n)!;
    let found = false;
    const walk = (m: ts.Node): void => {
      if (found) return;
      if (ts.isCallExpression(m)) {
        const name = calleeName(m);
        if (isAssertion(m)) { found = true; return; }
        if (helpers.has(name) && !seen.has(name)) { seen.add(name); if (asserts(helpers.get(name)!, seen)) { found = true; return; } }
      }
      ts.forEachChild(m, walk);
    };
    walk(n);
    asserting.set(n, found);
    return found;
  };
  const text = (a: ts.Expression | undefined): string | null => {
    if (!a) return null;
    if (ts.isStringLiteral(a) || ts.isNoSubstitutionTemplateLiteral(a)) return a.text;
    if (ts.isTemplateExpression(a)) return [a.head.text, ...a.templateSpans.map((s) => s.literal.text)].join(' ');
    return null;
  };
  const out: Array<{ title: string; asserts: boolean }> = [];
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      const isDescribe = (ts.isIdentifier(callee) && callee.text === 'describe')
        || (ts.isCallExpression(callee) && /^describe\.each$/.test(callee.expression.getText(sf)));
      const title = isDescribe ? text(n.arguments[0]) : null;
      if (title !== null && n.arguments[1]) out.push({ title, asserts: asserts(n.arguments[1]) });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

describe('docs/equations.md registry', () => {
  it('lists equations', () => {
    expect(ids.length).toBeGreaterThan(20);
    expect(new Set(ids).size).toBe(ids.length);
  });
  it.each(ids)('%s has an @eq tag in src/', (id) => {
    expect(eqTags.has(id)).toBe(true);
  });
  it.each(rows.map((r) => [r.id, r.tests] as const))('%s: a test file the registry lists has a describe() naming it that asserts', (id, tests) => {
    expect(tests.length).toBeGreaterThan(0);
    const found = tests.flatMap((t) => {
      expect({ t, exists: fs.existsSync(path.join(ROOT, t)) }).toEqual({ t, exists: true });
      return describeBlocks(path.join(ROOT, t)).filter((d) => d.title.split(/[\s·,/]+/).includes(id)).map((d) => ({ file: t, ...d }));
    });
    expect({ id, named: found.length > 0 }).toEqual({ id, named: true });
    expect({ id, asserting: found.filter((d) => d.asserts).map((d) => d.file).length > 0 }).toEqual({ id, asserting: true });
  });
  it('every @eq tag in src/ is registered', () => {
    expect([...eqTags].filter((t) => !ids.includes(t))).toEqual([]);
  });
  it('the checker sees through titles: a describe naming an id with no assertion in it does not count', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hero-eq-')), 'probe.spec.ts');
    fs.writeFileSync(f, "const check = (x: number): void => { expect(x).toBe(1); };\n" +
      "describe('X-1 · titled only', () => { it('does nothing', () => { const y = 1; void y; }); });\n" +
      "describe('X-2 · via helper', () => { it('checks', () => check(1)); });\n" +
      "describe.each([1])('X-3 · each %s', () => { it('p', () => { fc.assert(fc.property(fc.nat(), () => true)); }); });\n");
    try {
      expect(describeBlocks(f)).toEqual([{ title: 'X-1 · titled only', asserts: false }, { title: 'X-2 · via helper', asserts: true }, { title: 'X-3 · each %s', asserts: true }]);
    } finally {
      fs.rmSync(path.dirname(f), { recursive: true, force: true });
    }
  });
});
