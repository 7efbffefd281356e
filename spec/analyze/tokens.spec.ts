/**
 * src/analyze/tokens.ts (AN-4): Table 2's low-layer and high-layer token sets. The layer mean is HERO's
 * HERO-5/6 average (paper variant, no second softmax), checked against the HERO goldens' hero.tile_scores
 * from the float64 script's maps; the spread and overlap numbers as properties.
 */
import fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { layerMean, spread, tokenSets } from '../../src/analyze/tokens';
import { FIXTURES } from '../util/fixtures';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'analyze', 'layers_golden.json'), 'utf8')) as any;

describe('AN-4 · token sets from low and high layers', () => {
  it('layerMean is the mean of the chosen layers\' maps; refuses an empty set and a layer out of range', () => {
    const maps = golden.maps[0][0] as number[][];
    const m = layerMean(maps, [1, 3]);
    m.forEach((v, j) => expect(v).toBeCloseTo((maps[1][j] + maps[3][j]) / 2, 14));
    expect(() => layerMean(maps, [])).toThrow(/empty/);
    expect(() => layerMean(maps, [4])).toThrow(/layer 4 is outside 0\.\.3/);
  });

  it('on the script\'s maps: k = round(keep·N) tokens per set, the top-k of each layer mean, IoU from the sets', () => {
    const maps = golden.maps[1][2] as number[][];
    const r = tokenSets(maps, [0, 1], [2, 3], 0.25, 4);
    expect(r.k).toBe(4);
    for (const [keep, layers] of [[r.lowKeep, [0, 1]], [r.highKeep, [2, 3]]] as const) {
      const mean = layerMean(maps, layers);
      const kth = [...mean].sort((a, b) => b - a)[r.k - 1];
      keep.forEach((x, j) => expect(x).toBe(mean[j] >= kth ? 1 : 0));
    }
    const inter = r.lowKeep.filter((x, j) => x && r.highKeep[j]).length;
    expect(r.iou).toBeCloseTo(inter / (2 * r.k - inter), 14);
  });

  it('spread: a single token or a 2×2 block is compact, opposite corners are maximal', () => {
    const G = 4, at = (...js: number[]) => Uint8Array.from({ length: G * G }, (_, j) => (js.includes(j) ? 1 : 0));
    expect(spread(at(5), G)).toEqual({ meanPairwiseDistance: 0, bboxAreaFraction: 1 / 16 });
    expect(spread(at(0, 15), G)).toEqual({ meanPairwiseDistance: 1, bboxAreaFraction: 1 });
    expect(spread(at(0, 1, 4, 5), G).bboxAreaFraction).toBe(4 / 16);
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 35 }), { minLength: 1, maxLength: 36 }), (js) => {
      const s = spread(Uint8Array.from({ length: 36 }, (_, j) => (js.includes(j) ? 1 : 0)), 6);
      expect(s.meanPairwiseDistance).toBeGreaterThanOrEqual(0);
      expect(s.meanPairwiseDistance).toBeLessThanOrEqual(1 + 1e-12);
      expect(s.bboxAreaFraction).toBeGreaterThanOrEqual(js.length / 36);
    }));
  });

  it('refuses a keep fraction outside (0, 1] and maps that are not a G×G grid', () => {
    const maps = golden.maps[0][0] as number[][];
    expect(() => tokenSets(maps, [0], [3], 0, 4)).toThrow(/--keep: 0/);
    expect(() => tokenSets(maps, [0], [3], 0.1, 5)).toThrow(/not a 5×5 grid/);
  });
});
