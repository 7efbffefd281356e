/** Sweep configs (src/eval/sweep.ts): every key checked, cells then grid points expanded in config order. */
import * as fs from 'fs';
import * as path from 'path';
import { expandSweep, flagArgv, formatFlagValue, parseSweepConfig, pick, type FlagType } from '../../src/eval/sweep';
import { HeroError } from '../../src/core/errors';

const MINI = path.join(__dirname, '..', 'fixtures', 'eval', 'sweep-mini.json');
/** A stand-in for run's method flags (the command passes cli/common.ts METHOD_FLAGS' types). */
const TYPES: Record<string, FlagType> = { ratio: 'number', alpha: 'number', 'tau-v': 'number', 'tau-t': 'number', 'low-layers': 'intList', variant: 'string', 'tokens-per-crop': 'int', flag: 'boolean' };
const parse = (o: unknown, file = 'x/t.json'): ReturnType<typeof parseSweepConfig> => parseSweepConfig(JSON.stringify(o), file, TYPES);
const BASE = { name: 't', title: 'T', model: 'm', protocol: 'lmms-eval', tasks: ['gqa'] };

describe('eval/sweep: SweepConfig parsed and expanded', () => {
  it('the mini config: cells first, then the grid in key order (first axis slowest), base flags under cell flags, paper numbers attached', () => {
    const c = parseSweepConfig(fs.readFileSync(MINI, 'utf8'), MINI, TYPES);
    const cells = expandSweep(c);
    expect(cells.map((x) => x.id)).toEqual(['hero-r0.4', 'none', 'tau-v=0.01,low-layers=5+6+7+8', 'tau-v=0.05,low-layers=5+6+7+8']);
    expect(cells[0]).toEqual({ id: 'hero-r0.4', label: 'HERO r = 0.4', method: 'hero', protocol: 'lmms-eval', flags: { alpha: 0.5, ratio: 0.4 }, paper: { gqa: 61, pope: null } });
    expect(cells[1].method).toBe('none');
    expect(cells[2]).toEqual({ id: 'tau-v=0.01,low-layers=5+6+7+8', label: 'tau-v=0.01 low-layers=5+6+7+8', method: 'hero', protocol: 'lmms-eval',
      flags: { alpha: 0.5, 'tau-v': 0.01, 'low-layers': [5, 6, 7, 8] }, paper: { gqa: 60.5 } });
    expect(cells[3].paper).toEqual({});
    expect(flagArgv(cells[2].flags)).toEqual(['--alpha', '0.5', '--tau-v', '0.01', '--low-layers', '5,6,7,8']);
  });

  it('a 5×5 grid has 25 points in order; ids and values round-trip', () => {
    const v = [0.01, 0.03, 0.05, 0.07, 0.09];
    const cells = expandSweep(parse({ ...BASE, grid: { axes: { 'tau-v': v, 'tau-t': v } } }));
    expect(cells).toHaveLength(25);
    expect(cells[1].id).toBe('tau-v=0.01,tau-t=0.03');
    expect(cells[5].id).toBe('tau-v=0.03,tau-t=0.01');
    expect(formatFlagValue(true)).toBe('true');
    expect(flagArgv({ flag: true, other: false, variant: 'paper' })).toEqual(['--flag', '--variant', 'paper']);
  });

  it('cell protocol overrides the config protocol; the default method is run\'s (hero)', () => {
    const cells = expandSweep(parse({ ...BASE, cells: [{ id: 'a', label: 'A', protocol: 'llava' }, { id: 'b', label: 'B' }] }));
    expect(cells.map((c) => [c.protocol, c.method])).toEqual([['llava', 'hero'], ['lmms-eval', 'hero']]);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['an unknown top-level key', { ...BASE, cells: [{ id: 'a', label: 'A' }], extra: 1 }, /x\/t\.json: unknown key 'extra'/],
    ['an unknown flag in a cell', { ...BASE, cells: [{ id: 'a', label: 'A', flags: { 'tau-x': 1 } }] }, /x\/t\.json: unknown key 'cells\[0\]\.flags\.tau-x'/],
    ['an unknown key in a cell', { ...BASE, cells: [{ id: 'a', label: 'A', ratios: 1 }] }, /unknown key 'cells\[0\]\.ratios'/],
    ['an unknown grid axis', { ...BASE, grid: { axes: { beta: [1] } } }, /unknown key 'grid\.axes\.beta'/],
    ['a paper point off the axes', { ...BASE, grid: { axes: { alpha: [1] }, paper: [{ at: { ratio: 1 }, scores: {} }] } }, /unknown key 'grid\.paper\[0\]\.at\.ratio'/],
    ['an unknown task', { ...BASE, tasks: ['gqa', 'nope'], cells: [{ id: 'a', label: 'A' }] }, /unknown task 'nope'/],
    ['a paper score for an unknown task', { ...BASE, cells: [{ id: 'a', label: 'A', paper: { vqa: 1 } }] }, /unknown key 'cells\[0\]\.paper\.vqa'/],
    ['a wrong value type', { ...BASE, cells: [{ id: 'a', label: 'A', flags: { 'low-layers': 5 } }] }, /'cells\[0\]\.flags\.low-layers': 5 is not an integer list/],
    ['a name that is not the file name', { ...BASE, name: 'u', cells: [{ id: 'a', label: 'A' }] }, /'name' is 'u' but the file is t\.json/],
    ['no cells and no grid', { ...BASE }, /give 'cells', 'grid' or both/],
    ['a duplicate cell id', { ...BASE, cells: [{ id: 'a', label: 'A' }, { id: 'a', label: 'B' }] }, /cell id 'a' occurs twice/],
    ['an id that is not file-safe', { ...BASE, cells: [{ id: 'a/b', label: 'A' }] }, /file-safe/],
    ['a figure axis that is no flag', { ...BASE, figure: { kind: 'line', x: 'beta' }, cells: [{ id: 'a', label: 'A' }] }, /'figure\.x' must name a method flag/],
  ];
  it.each(bad)('refuses %s in one line naming the file', (_what, cfg, re) => {
    let err: unknown;
    try { parse(cfg); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(HeroError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toContain('\n');
  });

  it('--cells / --tasks pick in config order and name an unknown one', () => {
    expect(pick(['a', 'b', 'c'], (x) => x, 'c,a', '--tasks')).toEqual(['a', 'c']);
    expect(pick(['a'], (x) => x, undefined, '--tasks')).toEqual(['a']);
    expect(() => pick(['a'], (x) => x, 'z', '--cells')).toThrow(/--cells: 'z' is not in the config/);
  });
});
