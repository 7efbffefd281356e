/**
 * scripts/gpu-bundle.ts: the manifest of a dry-run bundle of this checkout lists what scripts/gpu-check.sh
 * needs (Node binary, the CLI entry, dawn.node, tfjs-backend-webgpu, the golden fixtures) and fits 64 MiB;
 * checkManifest catches each missing piece and an oversized archive. (The real `npm run gpu-bundle` packs
 * Node from the npm registry and compresses with xz; too slow for a spec.)
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildBundle, checkManifest, prunedFromPackage, BUNDLE_NAME, LIMIT_BYTES, REQUIRED, type BundleManifest } from '../../scripts/gpu-bundle';
import { FIXTURES } from '../util/fixtures';

describe('gpu-bundle manifest (dry run on this checkout)', () => {
  let m: BundleManifest;
  beforeAll(() => { m = buildBundle({ dryRun: true, outDir: 'unused', nodeVersion: process.version.slice(1) }, () => undefined); });
  const has = (p: string): boolean => m.files.some((f) => f.path === `${BUNDLE_NAME}/${p}`);

  it('lists the Node binary, the CLI, the timing entry, dawn.node and tfjs-backend-webgpu, with their sizes', () => {
    for (const p of Object.values(REQUIRED)) expect({ p, listed: has(p) }).toEqual({ p, listed: true });
    const node = m.files.find((f) => f.path === `${BUNDLE_NAME}/${REQUIRED.node}`)!;
    expect(node.size).toBe(fs.statSync(process.execPath).size);
    expect(m.node_version).toBe(process.version);
    expect(m.files.find((f) => f.path.endsWith('/dawn.node'))!.size).toBeGreaterThan(1e6);
    // dawn.node for linux-x64 only; no dev packages, no type packages
    expect(m.files.filter((f) => f.path.endsWith('dawn.node')).map((f) => f.path)).toEqual([`${BUNDLE_NAME}/${REQUIRED.dawn}`]);
    expect(m.files.some((f) => /node_modules\/(jest|typescript|@swc|@types)\//.test(f.path))).toBe(false);
  });

  it('lists every golden case trace reproduces (llava_wide and every hero_* case) and the tiny models', () => {
    const heroCases = fs.readdirSync(path.join(FIXTURES, 'cases')).filter((f) => /^hero_.*\.json$/.test(f)).map((f) => f.replace(/\.json$/, ''));
    expect([...m.cases].sort()).toEqual(['llava_wide', ...heroCases].sort());
    for (const c of m.cases) {
      for (const ext of ['json', 'safetensors']) expect(has(`app/spec/fixtures/cases/${c}.${ext}`)).toBe(true);
    }
    for (const f of ['llava-next-tiny/model.safetensors', 'llava-next-tiny/config.json', 'clip-tiny/model.safetensors', 'clip-tiny/config.json']) {
      expect({ f, listed: has(`app/spec/fixtures/models/${f}`) }).toEqual({ f, listed: true });
    }
    expect(has('app/spec/fixtures/images/wide_h30_w100.png')).toBe(true);
  });

  it('sizes add up and the archive (gzip -1 upper estimate) is under 64 MiB; checkManifest finds nothing', () => {
    expect(m.total_bytes).toBe(m.files.reduce((a, f) => a + f.size, 0));
    expect(m.archive_estimated).toBe(true);
    expect(m.archive_bytes).toBeLessThan(LIMIT_BYTES);
    expect(checkManifest(m)).toEqual([]);
  });

  it('checkManifest names what is missing or too big', () => {
    const drop = (suffix: string): BundleManifest => ({ ...m, files: m.files.filter((f) => !f.path.endsWith(suffix)) });
    expect(checkManifest(drop('dawn.node'))).toEqual([`missing dawn: ${REQUIRED.dawn}`]);
    expect(checkManifest(drop('node/bin/node'))).toEqual(['missing node: node/bin/node']);
    expect(checkManifest(drop('dist/cli/main.js'))).toEqual(['missing cli: app/dist/cli/main.js']);
    expect(checkManifest(drop('cases/llava_wide.safetensors'))).toEqual([`missing golden case file ${BUNDLE_NAME}/app/spec/fixtures/cases/llava_wide.safetensors`]);
    expect(checkManifest({ ...m, archive_bytes: LIMIT_BYTES })).toEqual([`archive ${LIMIT_BYTES} bytes is not under ${LIMIT_BYTES} (64 MiB)`]);
  });
});

describe('prunedFromPackage', () => {
  it('keeps what Node loads, drops types, maps, docs and other platforms', () => {
    expect(prunedFromPackage('webgpu', 'dist/linux-x64/dawn.node')).toBe(false);
    expect(prunedFromPackage('webgpu', 'dist/win32-x64/dawn.node')).toBe(true);
    expect(prunedFromPackage('webgpu', 'index.js')).toBe(false);
    expect(prunedFromPackage('@tensorflow/tfjs-core', 'dist/tf-core.node.js')).toBe(false);
    expect(prunedFromPackage('@tensorflow/tfjs-core', 'dist/tf-core.min.js')).toBe(true);
    expect(prunedFromPackage('@tensorflow/tfjs-backend-wasm', 'dist/tfjs-backend-wasm-simd.wasm')).toBe(false);
    expect(prunedFromPackage('sharp', 'lib/index.d.ts')).toBe(true);
    expect(prunedFromPackage('sharp', 'LICENSE.md')).toBe(false);
  });
});
