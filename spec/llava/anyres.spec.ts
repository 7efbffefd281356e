import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import {
  selectBestResolution, getPatchOutputSize, anyresGridShape, imageSizeToNumPatches, unpadRegion, numImageTokens,
} from '../../src/llava/anyres';
import { loadImageProcessorConfig } from '../../src/llava/load';
import { loadCase, modelDir } from '../util/fixtures';

type Pin = readonly [number, number];

// Geometry of the tiny golden model, read from its files (crop S, pinpoints, patch grid G = image_size / patch_size).
const cfg = loadImageProcessorConfig(modelDir('llava-next-tiny'));
const PINS = cfg.image_grid_pinpoints;
const S = cfg.crop_size.height;
const vision = JSON.parse(fs.readFileSync(path.join(modelDir('llava-next-tiny'), 'config.json'), 'utf8')).vision_config;
const G = vision.image_size / vision.patch_size;

// llava-v1.6's pinpoints (llava-hf/llava-v1.6-vicuna-7b-hf image_grid_pinpoints), for worked values by hand.
const REAL_PINS: Pin[] = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]];

const images = loadCase('llava_processor').json.images as Record<string, {
  original_hw: [number, number]; best_resolution_hw: [number, number]; resized_for_patching_hw: [number, number];
  tile_grid_rows_cols: [number, number]; num_patches_incl_base: number; feature_grid_before_unpad_hw: [number, number];
  feature_grid_after_unpad_hw: [number, number]; num_image_tokens: number;
}>;

/** The quantities AnyRes-1 ranks pinpoints by, straight from the definition. */
function score([H, W]: Pin, [h, w]: Pin): { effective: number; wasted: number } {
  const s = Math.min(w / W, h / H);
  const effective = Math.min(Math.trunc(W * s) * Math.trunc(H * s), W * H);
  return { effective, wasted: h * w - effective };
}

describe('AnyRes-1 AnyRes-2 AnyRes-3 · geometry of the golden images (llava_processor.json images block)', () => {
  it.each(Object.keys(images))('%s', (name) => {
    const m = images[name];
    const hw = m.original_hw;
    expect(selectBestResolution(hw, PINS)).toEqual(m.best_resolution_hw);
    expect(getPatchOutputSize(hw, m.best_resolution_hw)).toEqual(m.resized_for_patching_hw);
    expect(anyresGridShape(hw, PINS, S)).toEqual(m.tile_grid_rows_cols);
    expect(imageSizeToNumPatches(hw, PINS, S)).toBe(m.num_patches_incl_base);
    const [gh, gw] = m.feature_grid_before_unpad_hw;
    expect([gh, gw]).toEqual([m.tile_grid_rows_cols[0] * G, m.tile_grid_rows_cols[1] * G]);
    const u = unpadRegion(gh, gw, hw);
    expect([gh - u.top - u.bottom, gw - u.left - u.right]).toEqual(m.feature_grid_after_unpad_hw);
    expect(numImageTokens(hw, PINS, S, G)).toBe(m.num_image_tokens);
  });
});

describe('AnyRes-1 AnyRes-2 · worked values for llava-v1.6', () => {
  const table: Array<[Pin, Pin, Pin, number]> = [
    [[899, 1024], [672, 672], [590, 672], 2634],
    [[480, 640], [672, 672], [504, 672], 2340],
    [[768, 1024], [672, 672], [504, 672], 2340],
    [[1080, 1920], [672, 672], [378, 672], 1948],
    [[500, 1500], [336, 1008], [336, 1008], 2328],
    [[1500, 500], [1008, 336], [1008, 336], 2376],
    [[100, 100], [336, 672], [336, 336], 1176],
    [[336, 336], [336, 672], [336, 336], 1176],
  ];
  it.each(table)('%j → best %j, resized %j, %i tokens', (hw, best, resized, n) => {
    expect(selectBestResolution(hw, REAL_PINS)).toEqual(best);
    expect(getPatchOutputSize(hw, best)).toEqual(resized);
    expect(numImageTokens(hw, REAL_PINS, 336, 24)).toBe(n);
  });
  it('ties on effective and waste keep the earlier pinpoint: a small image gets 1 row × 2 cols', () => {
    expect(anyresGridShape([100, 100], REAL_PINS, 336)).toEqual([1, 2]);
    expect(anyresGridShape([100, 100], [[672, 336], [336, 672]], 336)).toEqual([2, 1]);
  });
  it('getPatchOutputSize rounds the free side up (ceil, not round)', () => {
    expect(getPatchOutputSize([30, 100], [56, 112])).toEqual([34, 112]); // 30·1.12 = 33.6 → 34
    expect(getPatchOutputSize([101, 100], [56, 112])).toEqual([56, 56]); // 100·56/101 = 55.4 → 56
  });
});

const side = fc.integer({ min: 1, max: 2000 });
const arbPins = fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })), { minLength: 1, maxLength: 8 })
  .map((ps) => ps.map(([a, b]) => [a * 336, b * 336] as Pin));

describe('AnyRes-1 · selectBestResolution (property)', () => {
  it('returns a pinpoint that no other pinpoint beats on (effective ↑, wasted ↓), earliest on full ties', () => {
    fc.assert(fc.property(side, side, fc.oneof(fc.constant(REAL_PINS), arbPins), (H, W, pins) => {
      const best = selectBestResolution([H, W], pins);
      const i = pins.findIndex((p) => p[0] === best[0] && p[1] === best[1]);
      expect(i).toBeGreaterThanOrEqual(0);
      const b = score([H, W], best);
      pins.forEach((p, j) => {
        const o = score([H, W], p);
        expect(o.effective).toBeLessThanOrEqual(b.effective);
        if (o.effective === b.effective) expect(o.wasted).toBeGreaterThanOrEqual(b.wasted);
        if (o.effective === b.effective && o.wasted === b.wasted) expect(j).toBeGreaterThanOrEqual(i);
      });
    }), { numRuns: 500 });
  });
  it('getPatchOutputSize fits inside the target and touches it on one side', () => {
    fc.assert(fc.property(side, side, (H, W) => {
      const t = selectBestResolution([H, W], REAL_PINS);
      const [nh, nw] = getPatchOutputSize([H, W], t);
      expect(nh).toBeLessThanOrEqual(t[0]);
      expect(nw).toBeLessThanOrEqual(t[1]);
      expect(nh === t[0] || nw === t[1]).toBe(true);
      expect(Math.min(nh, nw)).toBeGreaterThanOrEqual(1);
    }), { numRuns: 500 });
  });
});

describe('AnyRes-2 AnyRes-3 · numImageTokens from unpadRegion (property)', () => {
  it('numImageTokens = G² + kept rows · (kept cols + 1) for sizes 1..2000', () => {
    fc.assert(fc.property(side, side, (H, W) => {
      for (const [pins, s, g] of [[REAL_PINS, 336, 24], [PINS, S, G]] as const) {
        const [rows, cols] = anyresGridShape([H, W], pins, s);
        const u = unpadRegion(rows * g, cols * g, [H, W]);
        const keptRows = rows * g - u.top - u.bottom, keptCols = cols * g - u.left - u.right;
        expect(numImageTokens([H, W], pins, s, g)).toBe(g * g + keptRows * (keptCols + 1));
      }
    }), { numRuns: 500 });
  });
  it('unpadRegion drops the same count on both sides of one axis only; kept = new size or one more', () => {
    fc.assert(fc.property(side, side, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), (H, W, r, c) => {
      const gh = r * 24, gw = c * 24;
      const u = unpadRegion(gh, gw, [H, W]);
      expect(u.top).toBe(u.bottom);
      expect(u.left).toBe(u.right);
      expect(u.top === 0 || u.left === 0).toBe(true);
      // The image's own extent on the grid (can be 0 for extreme aspect ratios, as in HF: then only newlines remain).
      const wide = W / H > gw / gh;
      const exact = wide ? Math.trunc(H * (gw / W)) : Math.trunc(W * (gh / H));
      const kept = wide ? gh - 2 * u.top : gw - 2 * u.left;
      expect(kept - exact === 0 || kept - exact === 1).toBe(true);
    }), { numRuns: 500 });
  });
  it('v4.45.1 keeps rows [pad, gridH − pad): one padding row survives when gridH − new_h is odd', () => {
    // odd_h31_w100: 4×8 token grid, new_h = int(31·8/100) = 2 → pad 1 → 2 rows; 35×112 canvas, 21 px padding.
    expect(unpadRegion(4, 8, [31, 100])).toEqual({ top: 1, bottom: 1, left: 0, right: 0 });
    // 24×48 grid, 100×330: new_h = int(100·48/330) = 14, pad = 5 → keeps 14 rows; 100×310: new_h = 15 → pad 4, 16 kept.
    expect(unpadRegion(24, 48, [100, 330])).toEqual({ top: 5, bottom: 5, left: 0, right: 0 });
    expect(unpadRegion(24, 48, [100, 310])).toEqual({ top: 4, bottom: 4, left: 0, right: 0 });
  });
  it('@choice counts with the model\'s float int(H·scale): 55×176 gives new_h 14 where integer floor gives 15', () => {
    // The v4.45.1 processor's integer formula H·gridW // W = 15 would predict 2 more tokens than the model packs.
    expect(Math.trunc(55 * (48 / 176))).toBe(14);
    expect(Math.floor((55 * 48) / 176)).toBe(15);
    const u = unpadRegion(24, 48, [55, 176]);
    expect(u).toEqual({ top: 5, bottom: 5, left: 0, right: 0 });
    expect(numImageTokens([55, 176], REAL_PINS, 336, 24)).toBe(576 + 14 * 49);
  });
});
