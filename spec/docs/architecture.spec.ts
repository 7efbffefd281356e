/**
 * The import rules of docs/architecture.md, checked on every file under src/ by parsing its imports
 * (import/export … from, import x = require(…), require(…) and import(…) calls; type-only imports count).
 *
 *   1. The model folders (nn/ clip/ llama/ llava/ hero/ baselines/) and analyze/ hold the math only: they import
 *      neither node's file/thread modules (fs, path, worker_threads, child_process) nor src/io/ nor
 *      src/accel/. A file named `load.ts` in a model folder is the exception for io/, fs and path: it is
 *      the one place a model folder reads its files.
 *   2. nn/ imports nothing from src/ but core/ (and itself).
 *   3. src/accel/ is imported only by the start-up code that chooses the accelerations: cli/, backend.ts,
 *      index.ts (and by accel/ itself).
 *   4. src/eval/ imports nothing from src/ but core/ (and itself); only its load.ts and run_file.ts use fs/path
 *      (no worker_threads or child_process at all).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');

const MODEL_DIRS = ['nn', 'clip', 'llama', 'llava', 'hero', 'baselines', 'analyze'];
const NODE_IO = ['fs', 'fs/promises', 'path', 'worker_threads', 'child_process'];
const ACCEL_USERS = ['src/cli/', 'src/backend.ts', 'src/index.ts', 'src/accel/'];
const EVAL_FILE_IO = ['src/eval/load.ts', 'src/eval/run_file.ts'];

/**
 * Violations of the rules tolerated for now, each `file → import`: none since the loaders moved into one
 * load.ts per model folder. An entry that no longer occurs fails the last test below, so the list can only
 * get shorter.
 */
const ALLOWED_TODAY: readonly string[] = [];

/** Every module specifier `source` imports, in order. */
export function importsOf(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push(n.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference) && ts.isStringLiteral(n.moduleReference.expression)) {
      out.push(n.moduleReference.expression.text);
    } else if (ts.isCallExpression(n) && n.arguments.length >= 1 && ts.isStringLiteralLike(n.arguments[0]) &&
      ((ts.isIdentifier(n.expression) && n.expression.text === 'require') || n.expression.kind === ts.SyntaxKind.ImportKeyword)) {
      out.push(n.arguments[0].text);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      out.push(n.argument.literal.text);                                             // import('…').T in a type
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** The violations of the rules above in one file (path relative to the repository root, '/'-separated). */
export function violations(file: string, source: string): string[] {
  const dir = file.split('/')[1];
  const isModel = MODEL_DIRS.includes(dir) && file.split('/').length > 2;
  const isLoad = isModel && path.posix.basename(file) === 'load.ts';
  const out: string[] = [];
  for (const spec of importsOf(file, source)) {
    const bare = spec.replace(/^node:/, '');
    const target = spec.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)) : null;
    const inSrc = (d: string): boolean => target !== null && (target === `src/${d}` || target.startsWith(`src/${d}/`));
    const bad = (why: string): void => { out.push(`${file} → ${spec}  (${why})`); };
    if (isModel) {
      if (NODE_IO.includes(bare) && !(isLoad && (bare === 'fs' || bare === 'path'))) bad('rule 1: a model folder does no file or thread I/O');
      if (inSrc('io') && !isLoad) bad('rule 1: only load.ts imports io/');
      if (inSrc('accel')) bad('rule 1: accelerations plug in through nn/kernels.ts and the pipeline, never imported by the math');
    }
    if (dir === 'nn' && target !== null && !inSrc('nn') && !inSrc('core')) bad('rule 2: nn/ imports only core/');
    if (inSrc('accel') && !ACCEL_USERS.some((u) => file === u || file.startsWith(u))) bad('rule 3: only start-up code imports accel/');
    if (dir === 'eval') {
      if (target !== null && !inSrc('eval') && !inSrc('core')) bad('rule 4: eval/ imports only core/');
      if (NODE_IO.includes(bare) && !(EVAL_FILE_IO.includes(file) && (bare === 'fs' || bare === 'path'))) bad('rule 4: only eval/load.ts and eval/run_file.ts touch files');
    }
  }
  return out;
}

function srcFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? srcFiles(p) : /\.(ts|js)$/.test(e.name) ? [p] : [];
  });
}

const key = (v: string): string => v.replace(/ {2}\(.*\)$/, '');

describe('docs/architecture.md · import rules', () => {
  const files = srcFiles(path.join(ROOT, 'src')).map((f) => path.relative(ROOT, f).split(path.sep).join('/'));
  const found = files.flatMap((f) => violations(f, fs.readFileSync(path.join(ROOT, f), 'utf8')));

  it('finds the imports of every kind of import statement', () => {
    const src = [
      "import * as fs from 'fs';", "import type { A } from '../io/json';", "export { B } from './b';",
      "import c = require('node:path');", "const w = require('worker_threads');", "const m = () => import('../accel');",
      "let t: import('../io/image').RgbImage;", "const s = 'fs'; // not an import",
    ].join('\n');
    expect(importsOf('src/clip/x.ts', src)).toEqual(['fs', '../io/json', './b', 'node:path', 'worker_threads', '../accel', '../io/image']);
  });

  it('catches a planted import of each forbidden kind, and lets load.ts read files', () => {
    const planted = "import * as fs from 'fs';\nimport { x } from '../io/json';\nimport { installAccelerations } from '../accel';\n" +
      "const w = require('node:worker_threads');\nimport type { Kernels } from '../accel/kernels';\n";
    // (an accel/ import from a model folder breaks rules 1 and 3: listed once per rule)
    expect([...new Set(violations('src/clip/vision.ts', planted).map(key))]).toEqual([
      'src/clip/vision.ts → fs', 'src/clip/vision.ts → ../io/json', 'src/clip/vision.ts → ../accel',
      'src/clip/vision.ts → node:worker_threads', 'src/clip/vision.ts → ../accel/kernels']);
    expect(violations('src/llava/load.ts', "import * as fs from 'fs';\nimport { x } from '../io/json';\n")).toEqual([]);
    expect(new Set(violations('src/llava/load.ts', "import { w } from 'worker_threads';\nimport { a } from '../accel';\n").map(key)).size).toBe(2);
    expect(violations('src/nn/attention.ts', "import { l } from '../llama/decoder';\nimport { e } from '../core/errors';\n").map(key)).toEqual(['src/nn/attention.ts → ../llama/decoder']);
    expect(violations('src/pipeline.ts', "import { VisionPool } from './accel/vision_pool';\n")).toHaveLength(1);
    expect(violations('src/cli/run.ts', "import { VisionPool } from '../accel/vision_pool';\n")).toEqual([]);
    expect(violations('src/io/json.ts', "import * as fs from 'fs';\n")).toEqual([]);
    expect(violations('src/eval/score.ts', "import * as fs from 'fs';\nimport { x } from '../llama/model';\nimport { c } from '../core/errors';\n").map(key))
      .toEqual(['src/eval/score.ts → fs', 'src/eval/score.ts → ../llama/model']);
    expect(violations('src/eval/load.ts', "import * as fs from 'fs';\nimport * as path from 'path';\n")).toEqual([]);
    expect(violations('src/eval/run_file.ts', "import { spawn } from 'child_process';\n")).toHaveLength(1);
  });

  it('no file under src/ breaks a rule (beyond the allow-list of today)', () => {
    if (ALLOWED_TODAY.length) {
      // eslint-disable-next-line no-console
      console.log(`architecture: ${ALLOWED_TODAY.length} import(s) allowed for now (ALLOWED_TODAY in spec/docs/architecture.spec.ts):\n  ${ALLOWED_TODAY.join('\n  ')}`);
    }
    expect(found.filter((v) => !ALLOWED_TODAY.includes(key(v)))).toEqual([]);
  });

  it('every allow-list entry still occurs (remove the ones that moved to io/ or load.ts)', () => {
    const live = new Set(found.map(key));
    expect(ALLOWED_TODAY.filter((a) => !live.has(a))).toEqual([]);
  });
});
