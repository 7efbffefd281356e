/**
 * The paper's experiments as sweep configs (eval/configs/*.json): each has the public SweepConfig shape
 * (docs/eval.md "The paper's experiments"), names only known tasks and methods, sets only flags that `run` takes
 * with values of the flag's type, and every setting (base + cell, every grid point) is accepted by its method's
 * configure on the LLaVA-NeXT-7B config of the `random-weights` preset (13B for table3-13b). Every number said to
 * be the paper's is checked against spec/fixtures/paper/tables.txt (the table rows copied verbatim from the
 * paper's text), row by row, and each row's setting text (budget, k-th tile, removed component, layer ranges)
 * against the cell's flags.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TASK_IDS } from '../../src/eval/tasks';
import { METHOD_NAMES, methodByName } from '../../src/methods';
import { METHOD_FLAGS } from '../../src/cli/common';
import { llavaNextConfig } from '../../src/llava/config';
import { PRESETS } from '../../src/weights/random_checkpoint';

const ROOT = path.join(__dirname, '..', '..');
const DIR = path.join(ROOT, 'eval', 'configs');

type FlagValue = number | string | boolean | number[];
type Flags = Record<string, FlagValue>;
type Scores = Record<string, number | null>;
interface Cell { id: string; label: string; method?: string; protocol?: string; flags?: Flags; paper?: Scores }
interface SweepConfig {
  name: string; title: string;
  figure?: { kind: 'table' } | { kind: 'line'; x: string } | { kind: 'heatmap'; x: string; y: string };
  model: string; protocol: string; tasks: string[];
  base?: { method?: string; flags?: Flags };
  cells?: Cell[];
  grid?: { method?: string; axes: Record<string, FlagValue[]>; paper?: Array<{ at: Flags; scores: Scores }> };
}

const FILES = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const load = (f: string): SweepConfig => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8'));
const CONFIG = {
  'llava-hf/llava-v1.6-vicuna-7b-hf': llavaNextConfig(PRESETS['llava-v1.6-vicuna-7b'].config()),
  'llava-hf/llava-v1.6-vicuna-13b-hf': llavaNextConfig(PRESETS['llava-v1.6-vicuna-13b'].config()),
} as Record<string, ReturnType<typeof llavaNextConfig>>;

/** The paper's tables, by section: header cells and the rows' cells ('–' kept as text). */
function fixtureTables(): Map<string, { header: string[]; rows: string[][] }> {
  const out = new Map<string, { header: string[]; rows: string[][] }>();
  let cur: { header: string[]; rows: string[][] } | null = null;
  for (const line of fs.readFileSync(path.join(ROOT, 'spec', 'fixtures', 'paper', 'tables.txt'), 'utf8').split('\n')) {
    if (line.startsWith('## ')) { cur = { header: [], rows: [] }; out.set(line.slice(3), cur); continue; }
    if (!cur || line.startsWith('#') || line.trim() === '' || line.startsWith('---|')) continue;
    const cells = line.split('|').slice(0, -1).map((s) => s.trim());   // each line ends in '|'
    if (cur.header.length === 0) cur.header = cells; else cur.rows.push(cells);
  }
  return out;
}
const TABLES = fixtureTables();

/** The paper's column names → task ids (src/eval/tasks.ts). */
const COLUMN: Record<string, string> = {
  'VQA-v2': 'vqav2_val', VizWiz: 'vizwiz_val', GQA: 'gqa', SQA: 'scienceqa_img', ChartQA: 'chartqa', TextVQA: 'textvqa_val',
  OCRBench: 'ocrbench', MME: 'mme', MMB: 'mmbench_en_dev', POPE: 'pope', RWQA: 'realworldqa',
};
/** Which section each config transcribes (fig4/fig5: the text has no numbers for the figures). */
const SECTION: Record<string, string | null> = {
  table1: 'Table 1', 'table3-7b': 'Table 3 (7B)', 'table3-13b': 'Table 3 (13B)', table5: 'Table 5', table6: 'Table 6', fig4: null, fig5: null,
};
/** The fixture's method names (as extracted: GlobalCom² lost its ²) → --method. */
const METHOD_OF_ROW: Record<string, string> = { Prumerge: 'prumerge+', FastV: 'fastv', SparseVLM: 'sparsevlm', FasterVLM: 'fastervlm', GlobalCo: 'globalcom2', HiRED: 'hired', HERO: 'hero' };

/** Every setting a config runs: method and flags, base first then the cell's (or the grid point's). */
function settings(c: SweepConfig): Array<{ where: string; method: string; flags: Flags }> {
  const baseFlags = c.base?.flags ?? {};
  const cells = (c.cells ?? []).map((cell) => ({ where: cell.id, method: cell.method ?? c.base?.method ?? 'hero', flags: { ...baseFlags, ...(cell.flags ?? {}) } }));
  const points: Flags[] = [];
  if (c.grid) {
    const axes = Object.entries(c.grid.axes);
    const walk = (i: number, at: Flags): void => { if (i === axes.length) { points.push(at); return; } for (const v of axes[i][1]) walk(i + 1, { ...at, [axes[i][0]]: v }); };
    walk(0, {});
  }
  return [...cells, ...points.map((at) => ({ where: JSON.stringify(at), method: c.grid!.method ?? c.base?.method ?? 'hero', flags: { ...baseFlags, ...at } }))];
}

/** A flag value of the type `run` parses it into. */
function fits(flag: string, v: FlagValue): boolean {
  switch (METHOD_FLAGS[flag]?.type) {
    case 'boolean': return v === true;
    case 'int': return Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'intList': return Array.isArray(v) && v.length > 0 && v.every(Number.isInteger);
    case 'string': return typeof v === 'string';
    default: return false;
  }
}

describe('eval/configs: the paper\'s experiments', () => {
  it('holds exactly the seven configs of issue 20, each named as its file', () => {
    expect(FILES).toEqual(['fig4.json', 'fig5.json', 'table1.json', 'table3-13b.json', 'table3-7b.json', 'table5.json', 'table6.json']);
    for (const f of FILES) expect(load(f).name).toBe(f.replace(/\.json$/, ''));
  });

  describe.each(FILES)('%s', (file) => {
    const c = load(file);

    it('has the SweepConfig shape: known keys, tasks, methods, protocols and figure axes', () => {
      expect(Object.keys(c).filter((k) => !['name', 'title', 'figure', 'model', 'protocol', 'tasks', 'base', 'cells', 'grid'].includes(k))).toEqual([]);
      expect(typeof c.title).toBe('string');
      expect(Object.keys(CONFIG)).toContain(c.model);
      expect(['lmms-eval', 'llava']).toContain(c.protocol);
      expect(c.tasks.length).toBeGreaterThan(0);
      for (const t of c.tasks) expect(TASK_IDS).toContain(t);
      expect(new Set(c.tasks).size).toBe(c.tasks.length);
      expect((c.cells ?? []).length + (c.grid ? 1 : 0)).toBeGreaterThan(0);
      const ids = (c.cells ?? []).map((x) => x.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const cell of c.cells ?? []) {
        expect(Object.keys(cell).filter((k) => !['id', 'label', 'method', 'protocol', 'flags', 'paper'].includes(k))).toEqual([]);
        if (cell.protocol !== undefined) expect(['lmms-eval', 'llava']).toContain(cell.protocol);
        // every task has the paper's number or an explicit null, and nothing else
        expect(Object.keys(cell.paper ?? {}).sort()).toEqual([...c.tasks].sort());
      }
      for (const m of [c.base?.method, c.grid?.method, ...(c.cells ?? []).map((x) => x.method)]) if (m !== undefined) expect(METHOD_NAMES).toContain(m);
      if (c.figure?.kind === 'line') expect(Object.keys(c.grid!.axes)).toEqual([c.figure.x]);
      if (c.figure?.kind === 'heatmap') expect(Object.keys(c.grid!.axes).sort()).toEqual([c.figure.x, c.figure.y].sort());
      if (c.grid?.paper) {
        const n = Object.values(c.grid.axes).reduce((a, v) => a * v.length, 1);
        expect(c.grid.paper.length).toBe(n);
        for (const p of c.grid.paper) expect(Object.keys(p.scores).sort()).toEqual([...c.tasks].sort());
      }
    });

    it("sets only run's flags, with values of their types, and each setting passes its method's configure (no weights)", () => {
      for (const s of settings(c)) {
        for (const [k, v] of Object.entries(s.flags)) expect({ where: s.where, flag: k, fits: fits(k, v) }).toEqual({ where: s.where, flag: k, fits: true });
        expect(() => methodByName(s.method).configure({ method: s.method, ...s.flags }, CONFIG[c.model])).not.toThrow();
      }
    });

    it("every paper number is the fixture's, row by row, and each row's setting is the cell's", () => {
      const section = SECTION[c.name];
      if (section === null) {
        // Figs. 4 and 5 are plots: the paper's text has no numbers for them
        for (const p of c.grid?.paper ?? []) expect(Object.values(p.scores).every((v) => v === null)).toBe(true);
        return;
      }
      const table = TABLES.get(section)!;
      const cols = table.header.map((h) => COLUMN[h]);
      const cells = c.cells!;
      expect(cells.length).toBe(table.rows.length);
      cells.forEach((cell, i) => {
        const row = table.rows[i];
        const lead = row.length - c.tasks.length;                        // the setting columns
        for (let j = lead; j < row.length; j++) {
          const want = row[j] === '–' ? null : Number(row[j]);
          expect({ cell: cell.id, task: cols[j], v: cell.paper![cols[j]] }).toEqual({ cell: cell.id, task: cols[j], v: want });
        }
        expect(Object.keys(cell.paper!).sort()).toEqual(cols.slice(lead).sort());
        checkSetting(c.name, row.slice(0, lead), { ...(c.base?.flags ?? {}), ...(cell.flags ?? {}) }, cell.method ?? c.base?.method ?? 'hero', cell.protocol ?? c.protocol);
      });
    });
  });
});

/** The row's own words against the cell's method and flags. */
function checkSetting(name: string, lead: string[], flags: Flags, method: string, protocol: string): void {
  const text = lead.join(' | ');
  if (name === 'table1') {
    const m = /^\+Top-(\d) (CLIP score|CLS similarity)$/.exec(text);
    if (text === 'Global Thumbnail') expect({ text, flags }).toEqual({ text, flags: { 'thumbnail-only': true } });
    else expect({ text, flags }).toEqual({ text, flags: { 'probe-tile': Number(m![1]), 'probe-by': m![2] === 'CLIP score' ? 'clip' : 'cls' } });
    return;
  }
  if (name.startsWith('table3')) {
    const m = /^(?:LLaVA-NeXT-\d+B|\+ (\w+)\+?) \((\d+)%\)$/.exec(text)!;
    expect({ text, method }).toEqual({ text, method: m[1] ? METHOD_OF_ROW[m[1]] : 'none' });
    const pct = Number(m[2]);
    if (method === 'none') expect(pct).toBe(100);
    else if (method === 'prumerge+') expect({ text, flags }).toEqual({ text, flags: {} });   // adaptive: 55 % is its outcome
    else expect({ text, ratio: flags.ratio }).toEqual({ text, ratio: pct / 100 });
    // the baselines' rows came from LLaVA's scripts, HiRED's and PruMerge+'s from lmms-eval (docs/eval.md)
    expect({ text, protocol }).toEqual({ text, protocol: ['fastv', 'sparsevlm', 'fastervlm', 'globalcom2'].includes(method) ? 'llava' : 'lmms-eval' });
    return;
  }
  if (name === 'table5') {
    // removed cumulatively: A = relevance, B = saliency (uniform budgets), C = multi-layer, D = function-aware selection
    const order = ['no-relevance', 'uniform-budgets', 'single-layer', 'same-selection'];
    const upTo = text === 'HERO' ? 0 : 'ABCD'.indexOf(/^([ABCD]) removed$/.exec(text)![1]) + 1;
    expect({ text, set: Object.keys(flags).filter((k) => order.includes(k)) }).toEqual({ text, set: order.slice(0, upTo) });
    expect(flags.ratio).toBe(0.4);                                         // its HERO row is Table 3's HERO (40 %) on GQA/SQA/MME
    return;
  }
  if (name === 'table6') {
    const range = (s: string): number[] => {
      const [a, b] = s.replace(/[[\]]/g, '').split('-').map(Number);
      return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
    };
    expect({ text, low: flags['low-layers'], high: flags['high-layers'] }).toEqual({ text, low: range(lead[0]), high: range(lead[1]) });
    return;
  }
  throw new Error(`no setting check for ${name}`);
}
