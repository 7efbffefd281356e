/**
 * src/analyze/similarity.ts: the layer × layer similarity (AN-1) and the two-stage split (AN-2), against
 * the independent PyTorch/numpy script scripts/analyze-goldens/gen.py (spec/fixtures/analyze/) and as
 * properties (fast-check): symmetry, unit diagonal, a planted two-block matrix.
 */
import fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { averageRanks, MEASURES, meanMatrix, similarityMatrix, twoStageSplit, topKCount, type Measure } from '../../src/analyze/similarity';
import { FIXTURES } from '../util/fixtures';

/** The golden's maps and matrices are float64 on both sides: only summation order differs. */
const F64_TOL = 1e-9;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'analyze', 'layers_golden.json'), 'utf8')) as any;

function expectMatrixClose(a: ArrayLike<number>, e: number[][], tol: number, what: string): void {
  const flat = e.flat();
  expect(a.length).toBe(flat.length);
  let worst = 0;
  for (let i = 0; i < flat.length; i++) worst = Math.max(worst, Math.abs(a[i] - flat[i]));
  if (!(worst <= tol)) throw new Error(`${what}: worst |a − e| = ${worst} > ${tol}`);
}

describe('AN-1 · layer × layer similarity vs scripts/analyze-goldens/gen.py', () => {
  it.each(MEASURES)('%s: per image (mean over crops) and overall (mean over images), from the reference maps', (m) => {
    const perImage = (golden.maps as number[][][][]).map((img) => meanMatrix(img.map((crop) => similarityMatrix(crop, m as Measure))));
    perImage.forEach((S, i) => expectMatrixClose(S, golden.measures[m].per_image[i], F64_TOL, `${m} image ${i}`));
    expectMatrixClose(meanMatrix(perImage), golden.measures[m].overall, F64_TOL, `${m} overall`);
  });

  it('Spearman with tied values uses average ranks (as scipy rankdata "average")', () => {
    expect(Array.from(averageRanks(golden.ties.maps[0]))).toEqual(golden.ties.ranks_layer0);
    expect(new Set(golden.ties.maps[0]).size).toBeLessThan(golden.ties.maps[0].length); // the case does hold ties
    expectMatrixClose(similarityMatrix(golden.ties.maps, 'spearman'), golden.ties.spearman, F64_TOL, 'spearman with ties');
    expect(Array.from(averageRanks([3, 1, 3, 2, 3]))).toEqual([4, 1, 4, 2, 4]);
  });

  it('topk-iou keeps k = max(1, round(0.1·N)) tokens: 58 of 576 (Table 2), 2 of 16, 1 of 4', () => {
    expect([topKCount(576, 0.1), topKCount(16, 0.1), topKCount(4, 0.1)]).toEqual([58, 2, 1]);
  });

  it('refuses an unknown measure and ragged maps', () => {
    expect(() => similarityMatrix([[1, 2]], 'euclid' as Measure)).toThrow(/--measure: 'euclid'/);
    expect(() => similarityMatrix([[1, 2], [1]], 'cosine')).toThrow(/differ in length/);
  });
});

describe('AN-2 · two-stage split s* vs scripts/analyze-goldens/gen.py', () => {
  it.each(MEASURES)('%s: s*, D(s) for every s, s* per image', (m) => {
    const g = golden.measures[m];
    const L = golden.layers as number;
    const r = twoStageSplit((g.overall as number[][]).flat(), L);
    expect(r.split).toBe(g.split);
    r.contrast.forEach((d, i) => expect(Math.abs(d - g.contrast[i])).toBeLessThanOrEqual(F64_TOL));
    expect((g.per_image as number[][][]).map((S) => twoStageSplit(S.flat(), L).split)).toEqual(g.split_per_image);
  });

  it('refuses fewer than 3 layers and a wrongly sized matrix', () => {
    expect(() => twoStageSplit([1, 0, 0, 1], 2)).toThrow(/at least 3 layers/);
    expect(() => twoStageSplit([1, 2, 3], 3)).toThrow(/needs 9 values/);
  });
});

const vectors = (L: number, N: number) => fc.array(fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: N, maxLength: N }), { minLength: L, maxLength: L });

describe('AN-1 · properties', () => {
  it('every measure is symmetric; cosine, pearson, spearman and topk-iou have a unit diagonal on non-constant maps', () => {
    // distinct values inside each map (no constant map, no ties at the top-k boundary)
    const distinct = fc.uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: 12, maxLength: 12 });
    fc.assert(fc.property(fc.array(distinct, { minLength: 2, maxLength: 6 }), (maps) => {
      const L = maps.length;
      for (const m of MEASURES) {
        const S = similarityMatrix(maps, m);
        for (let i = 0; i < L; i++) {
          expect(S[i * L + i]).toBeCloseTo(1, 12);
          for (let j = 0; j < L; j++) expect(S[i * L + j]).toBe(S[j * L + i]);
        }
      }
    }));
  });

  it('cosine is in [−1, 1] and scale-invariant; pearson is shift-invariant', () => {
    fc.assert(fc.property(vectors(3, 8), fc.double({ min: 0.1, max: 10, noNaN: true }), (maps, c) => {
      const S = similarityMatrix(maps, 'cosine');
      const scaled = similarityMatrix(maps.map((m, i) => (i === 0 ? m.map((x) => x * c) : m)), 'cosine');
      S.forEach((v, i) => { expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-12); expect(scaled[i]).toBeCloseTo(v, 10); });
      const P = similarityMatrix(maps, 'pearson');
      const shifted = similarityMatrix(maps.map((m) => m.map((x) => x + c)), 'pearson');
      P.forEach((v, i) => { if (Number.isFinite(v)) expect(shifted[i]).toBeCloseTo(v, 8); });
    }));
  });
});

describe('AN-2 · properties', () => {
  it('a planted two-block matrix (high within, low across, noise below the gap) gives back its split', () => {
    fc.assert(fc.property(fc.integer({ min: 3, max: 30 }).chain((L) => fc.tuple(fc.constant(L), fc.integer({ min: 1, max: L - 1 }),
      fc.array(fc.double({ min: -0.1, max: 0.1, noNaN: true }), { minLength: L * L, maxLength: L * L }))), ([L, s, noise]) => {
      const S = new Float64Array(L * L);
      for (let i = 0; i < L; i++) {
        for (let j = 0; j <= i; j++) {
          const v = i === j ? 1 : ((i < s) === (j < s) ? 0.8 : 0.2) + noise[i * L + j];
          S[i * L + j] = v; S[j * L + i] = v;
        }
      }
      expect(twoStageSplit(S, L).split).toBe(s);
    }));
  });

  it('leaves the diagonal out: a matrix that differs only on its diagonal has the same D(s)', () => {
    const L = 5, S = new Float64Array(L * L).map((_, k) => ((k * 37) % 11) / 11);
    for (let i = 0; i < L; i++) for (let j = 0; j < i; j++) S[i * L + j] = S[j * L + i];
    const T = Float64Array.from(S);
    for (let i = 0; i < L; i++) T[i * L + i] = 100;
    expect(twoStageSplit(T, L).contrast).toEqual(twoStageSplit(S, L).contrast);
  });

  it('ties go to the smallest s (a constant matrix: every D(s) = 0)', () => {
    expect(twoStageSplit(new Float64Array(16).fill(0.5), 4)).toEqual({ split: 1, contrast: [0, 0, 0], best: 0 });
  });
});
