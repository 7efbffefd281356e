/**
 * The pure side of `hero-lvlm compare`: data-flow order, default tolerances, per-tensor statistics (checked
 * against hand-computed values), range-by-range reading, and the result of walking two in-memory traces.
 * The command itself is spec/cli/compare.spec.ts.
 */
import fc from 'fast-check';
import {
  compareJson, compareTensor, compareTraces, diffStats, formatCompareText, globFilter, naturalCompare, toleranceFor,
  traceOrder, type TraceSource,
} from '../../src/report/compare';
import type { DType } from '../../src/io/safetensors';
import { TOL } from '../util/tolerances';

interface MemTensor { dtype: DType; shape: number[]; data: number[] }

/** An in-memory trace that records the largest range it was asked for. */
function memSource(label: string, tensors: Record<string, MemTensor>): TraceSource & { maxRange: number } {
  const src = {
    label, maxRange: 0,
    names: () => Object.keys(tensors),
    info: (n: string) => tensors[n],
    read: (n: string, from: number, to: number) => {
      src.maxRange = Math.max(src.maxRange, to - from);
      return Float64Array.from(tensors[n].data.slice(from, to));
    },
  };
  return src;
}

const f32 = (shape: number[], data: number[]): MemTensor => ({ dtype: 'F32', shape, data });

describe('compare · data-flow order', () => {
  it('walks the stages of docs/trace.md, hidden state and attention of each layer in turn, indices as numbers', () => {
    const shuffled = ['zz_other', 'logits', 'vision.attentions.1', 'vision.hidden_states.10', 'generated_ids', 'hero.budgets',
      'input_ids', 'vision.hidden_states.2', 'fastv.kept_positions', 'image_features_packed', 'pixel_values', 'hero.saliency',
      'vision.hidden_states.1', 'inputs_embeds', 'image_sizes', 'hired.budgets', 'vision.attentions.10', 'image_features_projected',
      'hero.global_scores', 'aa_other', 'vision.hidden_states.0', 'vision.attentions.0', 'x.10', 'x.9'];
    expect(traceOrder(shuffled)).toEqual([
      'pixel_values', 'image_sizes',
      'vision.hidden_states.0', 'vision.attentions.0', 'vision.hidden_states.1', 'vision.attentions.1', 'vision.hidden_states.2',
      'vision.hidden_states.10', 'vision.attentions.10',
      'image_features_projected',
      'hero.global_scores', 'hero.saliency', 'hero.budgets',
      'fastv.kept_positions', 'hired.budgets', 'x.9', 'x.10',
      'image_features_packed', 'input_ids', 'inputs_embeds', 'logits', 'generated_ids',
      'aa_other', 'zz_other',
    ]);
  });

  it('naturalCompare orders digit runs by value and is antisymmetric', () => {
    expect(naturalCompare('a.9', 'a.10')).toBeLessThan(0);
    expect(naturalCompare('a.10', 'a.9')).toBeGreaterThan(0);
    expect(naturalCompare('a.01', 'a.1')).not.toBe(0); // distinct names never tie
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => Math.sign(naturalCompare(a, b)) === -Math.sign(naturalCompare(b, a))));
  });
});

describe('compare · default tolerances are the golden specs\' own', () => {
  it('floats golden, attention probabilities probs, pixel_values pixels, integer dtypes exact', () => {
    expect(toleranceFor('logits', 'F32')).toEqual({ kind: 'golden', tol: TOL.golden });
    expect(toleranceFor('hero.saliency', 'F16')).toEqual({ kind: 'golden', tol: TOL.golden });
    expect(toleranceFor('vision.attentions.3', 'F32')).toEqual({ kind: 'probs', tol: TOL.probs });
    expect(toleranceFor('pixel_values', 'F32')).toEqual({ kind: 'pixels', tol: TOL.pixels });
    for (const d of ['I64', 'I32', 'U8', 'BOOL'] as const) expect(toleranceFor('hero.budgets', d).tol).toMatchObject({ atol: 0, rtol: 0 });
  });

  it('--atol replaces the absolute term without scaling, --rtol the relative term; integers stay exact', () => {
    expect(toleranceFor('logits', 'F32', { atol: 0.5 }).tol).toMatchObject({ atol: 0.5, rtol: 0, scaleByMax: false });
    expect(toleranceFor('logits', 'F32', { rtol: 0.01 }).tol).toMatchObject({ atol: 1e-4, rtol: 0.01, scaleByMax: true });
    expect(toleranceFor('vision.attentions.0', 'F32', { rtol: 0.01 }).tol).toMatchObject({ atol: 1e-5, rtol: 0.01 });
    expect(toleranceFor('input_ids', 'I64', { atol: 5, rtol: 1 }).tol).toMatchObject({ atol: 0, rtol: 0 });
  });
});

describe('compare · diffStats', () => {
  it('max |a−e|, max relative error, count out of tolerance, first bad element (hand-computed)', () => {
    // d = [0, 0.5, 0.05, 2], |e| = [1, 2, 0, 4]: max abs 2, max rel max(0.25, 0.5) = 0.5 (e = 0 skipped)
    const s = diffStats([1, 2.5, 0.05, 6], [1, 2, 0, 4], 0.1, 0);
    expect(s).toEqual({ numel: 4, maxAbs: 2, maxRel: 0.5, outOfTol: 2, nonFinite: 0, firstBad: { index: 1, actual: 2.5, expected: 2 } });
  });

  it('bound is atol + rtol·|e|, inclusive', () => {
    expect(diffStats([101], [100], 0, 0.01).outOfTol).toBe(0);
    expect(diffStats([101.5], [100], 0, 0.01).outOfTol).toBe(1);
    expect(diffStats([101.5], [100], 0.5, 0.01).outOfTol).toBe(0);
  });

  it('NaN in PORT fails, NaN matches NaN in REF, ±inf must match exactly', () => {
    expect(diffStats([NaN], [1], 1e9, 1e9)).toMatchObject({ outOfTol: 1, nonFinite: 1 });
    expect(diffStats([1], [NaN], 1e9, 1e9)).toMatchObject({ outOfTol: 1, nonFinite: 1 });
    expect(diffStats([NaN], [NaN], 0, 0)).toMatchObject({ outOfTol: 0, nonFinite: 0 });
    expect(diffStats([Infinity, -Infinity], [Infinity, -Infinity], 0, 0).outOfTol).toBe(0);
    expect(diffStats([Infinity], [-Infinity], 1e9, 1e9).outOfTol).toBe(1);
    expect(diffStats([1e30], [Infinity], 1e9, 1e9).outOfTol).toBe(1);
    expect(diffStats([0, NaN], [0, 1], 0, 0, 10).firstBad).toEqual({ index: 11, actual: NaN, expected: 1 });
  });
});

describe('compare · one tensor read range by range', () => {
  it('gives the same result for any range size and never reads more than one range at a time', () => {
    fc.assert(fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -100, max: 100 }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 50 }), (e, chunk) => {
        const a = e.map((v, i) => (i % 3 === 0 ? v + 0.02 * (i % 5) : v));
        const mk = (d: number[]) => memSource('m', { t: f32([d.length], d) });
        const ref = mk(e), port = mk(a);
        const whole = compareTensor(mk(e), mk(a), 't', {}, 1 << 20);
        const ranged = compareTensor(ref, port, 't', {}, chunk);
        expect(ranged).toEqual(whole);
        expect(Math.max(ref.maxRange, port.maxRange)).toBeLessThanOrEqual(chunk);
      }));
  });

  it('scales the golden atol by max|e| over the whole tensor, not the first range', () => {
    // bound 1e-4 · 1000 = 0.1 ≥ 0.05; scaled by the first range only (max 1) it would be 1e-4
    const ref = memSource('r', { t: f32([6], [0, 0, 0, 0, 0, 1000]) });
    const port = memSource('p', { t: f32([6], [0.05, 0, 0, 0, 0, 1000]) });
    const c = compareTensor(ref, port, 't', {}, 2);
    expect(c.atol).toBeCloseTo(0.1, 12);
    expect(c.problems).toEqual([]);
  });

  it('shape and dtype mismatches fail; values are not compared across shapes', () => {
    const ref = memSource('r', { a: f32([2, 3], [1, 2, 3, 4, 5, 6]), b: f32([2], [1, 2]) });
    const port = memSource('p', { a: f32([3, 2], [1, 2, 3, 4, 5, 6]), b: { dtype: 'F16', shape: [2], data: [1, 2] } });
    const a = compareTensor(ref, port, 'a');
    expect({ problems: a.problems, stats: a.stats, portShape: a.portShape }).toEqual({ problems: ['shape'], stats: null, portShape: [3, 2] });
    const b = compareTensor(ref, port, 'b');
    expect(b.problems).toEqual(['dtype']);
    expect(b.stats).toMatchObject({ maxAbs: 0, outOfTol: 0 });
  });
});

describe('compare · two traces', () => {
  const layer = (v: number): MemTensor => f32([2, 2], [v, v + 1, v + 2, v + 3]);
  const refTensors = (): Record<string, MemTensor> => ({
    logits: f32([1, 3], [0.1, 0.2, 0.3]),
    'vision.hidden_states.10': layer(10),
    'vision.hidden_states.2': layer(2),
    'vision.hidden_states.9': layer(9),
    input_ids: { dtype: 'I64', shape: [1, 3], data: [1, 5, 2] },
    pixel_values: f32([4], [0.5, -0.5, 1, -1]),
  });

  it('names the first failing tensor in data-flow order, not in name or file order', () => {
    const port = refTensors();
    port.logits = f32([1, 3], [0.1, 0.2, 0.4]);
    port['vision.hidden_states.10'] = layer(11);
    port['vision.hidden_states.9'] = layer(9.5);
    const r = compareTraces(memSource('ref', refTensors()), memSource('port', port));
    expect(r.tensors.map((t) => t.name)).toEqual(['pixel_values', 'vision.hidden_states.2', 'vision.hidden_states.9', 'vision.hidden_states.10', 'input_ids', 'logits']);
    expect({ ok: r.ok, divergence: r.divergence }).toEqual({ ok: false, divergence: 'vision.hidden_states.9' });
    expect(r.tensors.filter((t) => t.problems.length).map((t) => t.name)).toEqual(['vision.hidden_states.9', 'vision.hidden_states.10', 'logits']);
  });

  it('the first tensor can be the divergence: pixel_values off by 2e-6 (pixels tolerance 1e-6, not golden 1e-4)', () => {
    const port = refTensors();
    port.pixel_values = f32([4], [0.5, -0.5, 1, -1 + 2e-6]);
    const r = compareTraces(memSource('ref', refTensors()), memSource('port', port));
    expect({ ok: r.ok, divergence: r.divergence, failed: r.tensors.filter((t) => t.problems.length).length })
      .toEqual({ ok: false, divergence: 'pixel_values', failed: 1 });
  });

  it('an integer tensor off by one fails (exact)', () => {
    const port = refTensors();
    port.input_ids = { dtype: 'I64', shape: [1, 3], data: [1, 6, 2] };
    const r = compareTraces(memSource('ref', refTensors()), memSource('port', port));
    expect(r.divergence).toBe('input_ids');
  });

  it('a name missing in PORT fails; an extra name in PORT is listed but passes', () => {
    const port = refTensors();
    delete port['vision.hidden_states.2'];
    port['myport.debug'] = f32([1], [0]);
    const r = compareTraces(memSource('ref', refTensors()), memSource('port', port));
    expect({ ok: r.ok, divergence: r.divergence, missing: r.missing, extra: r.extra })
      .toEqual({ ok: false, divergence: null, missing: ['vision.hidden_states.2'], extra: ['myport.debug'] });
    const onlyExtra = refTensors();
    onlyExtra['myport.debug'] = f32([1], [0]);
    const r2 = compareTraces(memSource('ref', refTensors()), memSource('port', onlyExtra));
    expect({ ok: r2.ok, extra: r2.extra }).toEqual({ ok: true, extra: ['myport.debug'] });
  });

  it('only: compares, and counts as missing, just the names it keeps', () => {
    const port = refTensors();
    delete port.logits;
    port['vision.hidden_states.2'] = layer(3);
    const r = compareTraces(memSource('ref', refTensors()), memSource('port', port), { only: globFilter('vision.hidden_states.1*,pixel_values') });
    expect(r.tensors.map((t) => t.name)).toEqual(['pixel_values', 'vision.hidden_states.10']);
    expect({ ok: r.ok, missing: r.missing }).toEqual({ ok: true, missing: [] });
  });

  it('text: one row per tensor and a summary naming the divergence; JSON: the documented keys', () => {
    const port = refTensors();
    port['vision.hidden_states.9'] = f32([2, 2], [9, NaN, 11, 12]);
    const r = compareTraces(memSource('ref.safetensors', refTensors()), memSource('port.safetensors', port));
    const text = formatCompareText(r);
    const rows = text.split('\n').filter((l) => /\s(ok|FAIL)/.test(l) && !l.startsWith('tensor'));
    expect(rows).toHaveLength(6);
    expect(rows[2]).toMatch(/^vision\.hidden_states\.9\s+\[2,2\]\s+F32\s.*\s1\/4\s.*FAIL \(values\)$/);
    expect(text).toMatch(/^divergence: vision\.hidden_states\.9 — values \(first at flat index 1: port NaN, ref 10\); 1 of 6 tensors fail$/m);
    const j = JSON.parse(JSON.stringify(compareJson(r)));
    expect(Object.keys(j).sort()).toEqual(['compared', 'divergence', 'extra', 'failed', 'missing', 'ok', 'port', 'ref', 'tensors']);
    expect(j).toMatchObject({ ok: false, divergence: 'vision.hidden_states.9', compared: 6, failed: 1, ref: 'ref.safetensors' });
    expect(Object.keys(j.tensors[2]).sort()).toEqual(['atol', 'dtype', 'first_bad', 'max_abs', 'max_rel', 'name', 'non_finite', 'numel', 'ok',
      'out_of_tol', 'port_dtype', 'port_shape', 'problems', 'rtol', 'shape', 'tolerance'].sort());
    expect(j.tensors[2]).toMatchObject({ name: 'vision.hidden_states.9', ok: false, out_of_tol: 1, non_finite: 1, first_bad: { index: 1, port: 'NaN', ref: 10 } });
  });
});

describe('compare · --only globs', () => {
  it('match whole names; * spans dots, ? is one character, everything else literal; commas separate globs', () => {
    const f = globFilter('vision.*,hero.?udgets,logits');
    expect(['vision.attentions.0', 'hero.budgets', 'logits'].every(f)).toBe(true);
    expect(['pixel_values', 'hero.xbudgets', 'logits2', 'xvision.a', 'visionXa'].some(f)).toBe(false);
  });
});
