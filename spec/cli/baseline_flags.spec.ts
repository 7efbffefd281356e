/**
 * The baselines' corrected behaviours behind their CLI flags (`--hired-grid`, `--globalcom2-placement`,
 * `--fastervlm-grid`), run as a user runs them on the golden tiny LLaVA-NeXT; the defaults (as coded) are
 * checked against the authors' code in spec/baselines/authors_golden.spec.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../util/cli';
import { loadCase, modelDir, imagePath } from '../util/fixtures';
import { SafetensorsFile } from '../../src/io/safetensors';
import { TOL } from '../util/tolerances';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-baseline-flags-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function trace(name: string, args: string[]): { code: number; stderr: string; file?: SafetensorsFile } {
  const out = path.join(tmp, `${name}.safetensors`);
  const r = runCli(['trace', '--model', modelDir('llava-next-tiny'), '--image', imagePath('wide_h30_w100'), '--input-ids', '1,11,22,1000,33,44,55',
    '--max-new-tokens', '1', '--backend', 'cpu', '--out', out, ...args]);
  return { code: r.code, stderr: r.stderr, file: r.code === 0 ? SafetensorsFile.open(out) : undefined };
}

const rows = (a: Float32Array, D: number): string[] => Array.from({ length: a.length / D }, (_, i) => Array.from(a.subarray(i * D, (i + 1) * D)).join(','));

describe('baseline flags: the corrected behaviours (wide_h30_w100, 1×2 grid, padding rows at the top and bottom)', () => {
  it('--hired-grid corrected stitches (rows, cols): at r = 1 the tiles keep their valid rows 1, 2 (16 tokens), not 8', () => {
    // corrected: 4×8 stitched, new_h = ⌊30·8/100⌋ = 2, pad 1 → rows 1, 2 of both tiles = 16 tile tokens + 16 thumbnail.
    // As coded (the golden baseline_hired_wide_h30_w100_r100): 8×4 stitched, new_h = ⌊30·4/100⌋ = 1, pad 3 → rows 3, 4
    // = tile 0's last row and tile 1's first row: 8 tile tokens + 16.
    const r = trace('hired_corrected', ['--method', 'hired', '--ratio', '1', '--hired-grid', 'corrected']);
    expect(r.code).toBe(0);
    expect(r.file!.info('image_features_packed').shape).toEqual([32, 64]);
    expect(loadCase('baseline_hired_wide_h30_w100_r100').shape('order')).toEqual([24]);
    const keep = r.file!.readNumbers('hired.keep');
    expect(keep.slice(16, 32)).toEqual(Array.from({ length: 16 }, (_, j) => (j >= 4 && j < 12 ? 1 : 0)));
  });

  it('--globalcom2-placement corrected: the same tokens and count as coded, in another order', () => {
    const gc = loadCase('baseline_globalcom2_wide_h30_w100_r25');
    const r = trace('gc2_corrected', ['--method', 'globalcom2', '--ratio', '0.25', '--globalcom2-placement', 'corrected']);
    expect(r.code).toBe(0);
    expect(r.file!.readNumbers('globalcom2.keep')).toEqual(gc.numbers('globalcom2.keep'));
    const mine = rows(r.file!.readFloat32('image_features_packed'), 64), coded = rows(gc.floats('image_features_packed'), 64);
    expect(mine.length).toBe(coded.length);
    expect(mine).not.toEqual(coded);
    // the same rows up to the golden's float tolerance, in another order: each of ours matches one of the coded rows
    const left = coded.map((r) => r.split(',').map(Number));
    const bound = TOL.golden.atol * Math.max(1, ...left.flat().map(Math.abs)); // scaled by the largest value, as the golden comparisons are
    const unmatched = mine.filter((row) => {
      const v = row.split(',').map(Number);
      const j = left.findIndex((c) => c.every((x, i) => Math.abs(x - v[i]) <= bound));
      if (j >= 0) left.splice(j, 1);
      return j < 0;
    });
    expect(unmatched).toEqual([]);
  });

  it('--fastervlm-grid best-fit takes HF\'s 1×2 grid (3 crops), the default the fixed 2×2 (5 crops)', () => {
    const best = trace('fvlm_best', ['--method', 'fastervlm', '--ratio', '0.25', '--fastervlm-grid', 'best-fit']);
    expect(best.code).toBe(0);
    expect(best.file!.info('pixel_values').shape).toEqual([1, 3, 3, 56, 56]);
    expect(best.file!.info('image_features_packed').shape).toEqual([3 * 4, 64]);
    const dflt = trace('fvlm_default', ['--method', 'fastervlm', '--ratio', '0.25']);
    expect(dflt.file!.info('pixel_values').shape).toEqual([1, 5, 3, 56, 56]);
  });

  it('refuses a value it does not know, naming the flag', () => {
    for (const [flag, method] of [['--hired-grid', 'hired'], ['--globalcom2-placement', 'globalcom2'], ['--fastervlm-grid', 'fastervlm']]) {
      const r = trace(`bad_${method}`, ['--method', method, flag, 'sideways']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`hero-lvlm: error: ${flag}: 'sideways' is not one of`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('--help documents the three flags', () => {
    const h = runCli(['trace', '--help']).stdout;
    for (const flag of ['--hired-grid', '--globalcom2-placement', '--fastervlm-grid']) expect(h).toContain(flag);
  });
});
