import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { readImage, type RgbImage } from '../../src/io/image';
import { validateImageProcessorConfig, preprocess, cropsForPatching, resizeForPatching, thumbnail, patchingPadding, padImage, divideToPatches, rescaleNormalize, resizeShortestEdge, centerCrop } from '../../src/llava/image_processor';
import { HeroError } from '../../src/core/errors';
import { expectClose } from '../util/close';
import { TOL } from '../util/tolerances';
import { imagePath, loadCase, modelDir } from '../util/fixtures';
import { loadImageProcessorConfig } from '../../src/llava/load';
import { expectRefused } from '../util/errors';

const cfg = loadImageProcessorConfig(modelDir('llava-next-tiny'));
const S = cfg.crop_size.height;
const IMAGES = ['wide_h30_w100', 'tall_h160_w30', 'square_h70_w80', 'odd_h31_w100'];
const proc = loadCase('llava_processor');
const meta = proc.json.images as Record<string, {
  original_hw: [number, number]; best_resolution_hw: [number, number]; resized_for_patching_hw: [number, number];
  pad_top_left_yx: [number, number]; tile_grid_rows_cols: [number, number]; num_patches_incl_base: number;
}>;

const decoded = new Map<string, RgbImage>();
beforeAll(async () => {
  for (const n of IMAGES) decoded.set(n, await readImage(imagePath(n)));
});
const img = (n: string): RgbImage => decoded.get(n)!;

/** Number of float32 elements that differ at all (bit-exactness is expected, TOL.pixels is the bound). */
function nDiff(a: Float32Array, e: Float32Array): number {
  let n = 0;
  for (let i = 0; i < e.length; i++) if (a[i] !== e[i]) n++;
  return n;
}

function storedU8(name: string): Uint8Array {
  return Uint8Array.from(loadCase('pil_resize').numbers(name));
}

describe('Proc-1 · preprocess equals LlavaNextImageProcessor v4.45.1 (cases/llava_processor)', () => {
  it.each(IMAGES)('%s: pixel_values, image_sizes and geometry', (name) => {
    const out = preprocess(img(name), cfg);
    const m = meta[name];
    expect([1, ...out.shape]).toEqual(proc.shape(`${name}.pixel_values`));
    expect(out.imageSize).toEqual(proc.numbers(`${name}.image_sizes`));
    expect(out.imageSize).toEqual(m.original_hw);
    expect(out.bestResolution).toEqual(m.best_resolution_hw);
    expect(out.grid).toEqual(m.tile_grid_rows_cols);
    expect(out.shape[0]).toBe(m.num_patches_incl_base);
    const want = proc.floats(`${name}.pixel_values`);
    expectClose(out.pixelValues, want, TOL.pixels, `${name}.pixel_values`);
    expect(nDiff(out.pixelValues, want)).toBe(0); // bit-exact
  });

  it.each(IMAGES)('%s: resize size and pad offsets (JSON images block)', (name) => {
    const m = meta[name];
    const g = cropsForPatching(img(name), cfg);
    expect(g.resized).toEqual(m.resized_for_patching_hw);
    expect([g.padding.top, g.padding.left]).toEqual(m.pad_top_left_yx);
    expect(g.bestResolution).toEqual(m.best_resolution_hw);
    expect(g.crops).toHaveLength(m.num_patches_incl_base);
    for (const c of g.crops) expect([c.height, c.width]).toEqual([S, S]);
  });

  it('batch_tall_square: each image equals its row; the shorter image is zero-padded on the crop axis', () => {
    const pv = proc.floats('batch_tall_square.pixel_values');
    const [B, Pmax, , ,] = proc.shape('batch_tall_square.pixel_values');
    expect(proc.numbers('batch_tall_square.image_sizes')).toEqual([160, 30, 70, 80]);
    const per = 3 * S * S;
    ['tall_h160_w30', 'square_h70_w80'].forEach((name, b) => {
      const out = preprocess(img(name), cfg);
      const row = pv.subarray(b * Pmax * per, (b + 1) * Pmax * per);
      expect(nDiff(out.pixelValues, row.subarray(0, out.pixelValues.length))).toBe(0);
      expect(row.subarray(out.pixelValues.length).every((x) => x === 0)).toBe(true);
    });
    expect(B).toBe(2);
  });
});

describe('PIL-1 · processor intermediates equal the PIL arrays (cases/pil_resize)', () => {
  it.each(IMAGES)('%s: thumbnail = base_resized, resizeForPatching = canvas_resized', (name) => {
    const t = thumbnail(img(name), cfg.size.shortest_edge);
    expect(Buffer.from(t.data).equals(Buffer.from(storedU8(`${name}.base_resized`)))).toBe(true);
    const r = resizeForPatching(img(name), meta[name].best_resolution_hw);
    expect([r.height, r.width]).toEqual(meta[name].resized_for_patching_hw);
    expect(Buffer.from(r.data).equals(Buffer.from(storedU8(`${name}.canvas_resized`)))).toBe(true);
  });
});

describe('Proc-1 · v4.45.1 odd padding quirk (odd_h31_w100)', () => {
  it('pads floor(21/2) = 10 rows on both sides: a 55-row canvas, 55 × 56 tiles', () => {
    const r = resizeForPatching(img('odd_h31_w100'), [56, 112]);
    const pad = patchingPadding([r.height, r.width], [56, 112]);
    expect(pad).toEqual({ top: 10, bottom: 10, left: 0, right: 0 });
    expect(patchingPadding([r.height, r.width], [56, 112], 'centered')).toEqual({ top: 10, bottom: 11, left: 0, right: 0 });
    const tiles = divideToPatches(padImage(r, pad), S);
    expect(tiles.map((t) => [t.height, t.width])).toEqual([[55, 56], [55, 56]]);
    // the per-crop step brings them back to S × S: shortest edge → 56 (56 × 57), centre crop
    const fixed = centerCrop(resizeShortestEdge(tiles[0], S), S, S);
    expect([resizeShortestEdge(tiles[0], S).height, resizeShortestEdge(tiles[0], S).width]).toEqual([56, 57]);
    expect([fixed.height, fixed.width]).toEqual([S, S]);
  });
  it('the v4.45.1 output differs from the newer padding; padding "centered" reproduces pixel_values_fixed_padding', () => {
    const v445 = preprocess(img('odd_h31_w100'), cfg).pixelValues;
    const newer = loadCase('pil_resize').floats('odd_h31_w100.pixel_values_fixed_padding');
    expect(nDiff(v445, proc.floats('odd_h31_w100.pixel_values'))).toBe(0);
    let maxAbs = 0;
    for (let i = 0; i < newer.length; i++) maxAbs = Math.max(maxAbs, Math.abs(v445[i] - newer[i]));
    expect(maxAbs).toBeGreaterThan(1); // golden README: 3.3
    const centered = preprocess(img('odd_h31_w100'), cfg, { padding: 'centered' }).pixelValues;
    expect(nDiff(centered, newer)).toBe(0);
  });
});

describe('Proc-1 · rescaleNormalize', () => {
  it('padding pixels (uint8 0) become f32(−mean/std) per channel, channels first', () => {
    const one: RgbImage = { width: 2, height: 1, data: Uint8Array.from([0, 0, 0, 255, 255, 255]) };
    const out = new Float32Array(6);
    rescaleNormalize(one, cfg, out);
    for (let c = 0; c < 3; c++) {
      const m = Math.fround(cfg.image_mean[c]), s = Math.fround(cfg.image_std[c]);
      expect(out[2 * c]).toBe(Math.fround(Math.fround(0 - m) / s));
      expect(out[2 * c + 1]).toBe(Math.fround(Math.fround(Math.fround(255 * cfg.rescale_factor) - m) / s));
    }
  });
  it('is strictly increasing in the pixel value (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 254 }), fc.integer({ min: 0, max: 2 }), (v, c) => {
      const data = new Uint8Array(6);
      data[c] = v; data[3 + c] = v + 1;
      const out = new Float32Array(6);
      rescaleNormalize({ width: 2, height: 1, data }, cfg, out);
      expect(out[2 * c + 1]).toBeGreaterThan(out[2 * c]);
    }));
  });
  it('tiles are row-major and the thumbnail comes first', () => {
    // A 2 × 2 grid image whose quadrants have different colours; the thumbnail is the squashed whole image.
    const H = 140, W = 160;
    const data = new Uint8Array(H * W * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[(y * W + x) * 3] = (y < H / 2 ? 0 : 2) + (x < W / 2 ? 0 : 1);
    const g = cropsForPatching({ width: W, height: H, data }, cfg);
    expect(g.grid).toEqual([2, 2]);
    // tile k's centre pixel carries k (red channel)
    const centre = (t: RgbImage): number => t.data[((S >> 1) * S + (S >> 1)) * 3];
    expect(g.crops.slice(1).map(centre)).toEqual([0, 1, 2, 3]);
  });
});

describe("Proc-1 · HF's processor test config: crop 18, shortest_edge 20, default pinpoints, 400×400 → (1, 1445, 3, 18, 18) (cases/llava_processor_partial)", () => {
  const c = loadCase('llava_processor_partial');
  const pcfg = validateImageProcessorConfig(c.json.config, 'llava_processor_partial.json');
  const [h, w] = c.shape('image');
  const image: RgbImage = { width: w, height: h, data: Uint8Array.from(c.numbers('image')) };
  const out = preprocess(image, pcfg);

  it('accepts pinpoints that are not multiples of the crop and cuts 38 × 38 tiles (the last row/column 6 px)', () => {
    expect([1, ...out.shape]).toEqual(c.numbers('shape'));
    expect(out.shape).toEqual([1445, 3, 18, 18]);
    expect(out.bestResolution).toEqual([672, 672]);
    expect(out.grid).toEqual([38, 38]);
  });
  it('every stored crop is bit-exact, and every crop has HF\'s sum and sum of |x|', () => {
    const stride = c.json.stride as number;
    const per = 3 * 18 * 18;
    const strided = c.floats('pixel_values_strided');
    const picked = new Float32Array(strided.length);
    for (let i = 0, p = 0; p < 1445; p += stride, i++) picked.set(out.pixelValues.subarray(p * per, (p + 1) * per), i * per);
    expect(nDiff(picked, strided)).toBe(0);
    const sums = c.numbers('crop_sums'), abs = c.numbers('crop_abs_sums');
    const bad: number[] = [];
    for (let p = 0; p < 1445; p++) {
      let s = 0, a = 0;
      for (let i = p * per; i < (p + 1) * per; i++) { s += out.pixelValues[i]; a += Math.abs(out.pixelValues[i]); }
      // float64 sums, read back through float32 (readNumbers): 1e-6·Σ|x| is far below one pixel step (≈ 0.015)
      if (Math.abs(s - sums[p]) > 1e-6 * Math.max(1, abs[p]) || Math.abs(a - abs[p]) > 1e-6 * Math.max(1, abs[p])) bad.push(p);
    }
    expect(bad).toEqual([]);
  });
});

describe('io · loadImageProcessorConfig', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-ipc-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const base = JSON.parse(fs.readFileSync(path.join(modelDir('llava-next-tiny'), 'preprocessor_config.json'), 'utf8'));
  it('reads the tiny model\'s preprocessor_config.json verbatim', () => {
    expect(cfg).toMatchObject({ crop_size: { height: 56, width: 56 }, size: { shortest_edge: 56 }, resample: 3 });
    expect(cfg.image_grid_pinpoints).toEqual(base.image_grid_pinpoints);
  });
  const bad: Array<[string, (c: Record<string, unknown>) => unknown, RegExp]> = [
    ['resample 2 (bilinear)', (c) => ({ ...c, resample: 2 }), /resample = 2 is not supported/],
    ['no pinpoints', (c) => ({ ...c, image_grid_pinpoints: [] }), /image_grid_pinpoints/],
    ['a non-square crop', (c) => ({ ...c, crop_size: { height: 56, width: 60 } }), /square/],
    ['std with a zero', (c) => ({ ...c, image_std: [1, 0, 1] }), /image_std/],
    ['a string flag', (c) => ({ ...c, do_rescale: 'yes' }), /do_rescale/],
  ];
  it.each(bad)('rejects %s with a one-line HeroError naming the file', (_what, edit, re) => {
    const dir = fs.mkdtempSync(path.join(tmp, 'c'));
    const file = path.join(dir, 'preprocessor_config.json');
    fs.writeFileSync(file, JSON.stringify(edit(base)));
    expect(expectRefused(() => loadImageProcessorConfig(dir), re).message).toContain(file);
  });
  it('rejects a missing file and bad JSON', () => {
    expect(() => loadImageProcessorConfig(path.join(tmp, 'none'))).toThrow(HeroError);
    const dir = fs.mkdtempSync(path.join(tmp, 'j'));
    fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), '{oops');
    expect(() => loadImageProcessorConfig(dir)).toThrow(/not valid JSON/);
  });
  it('validateImageProcessorConfig fills HF\'s default true for absent do_* flags', () => {
    const { do_pad, ...rest } = base; // eslint-disable-line @typescript-eslint/no-unused-vars
    expect(validateImageProcessorConfig(rest, 'x').do_pad).toBe(true);
  });
});
