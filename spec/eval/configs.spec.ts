/**
 * Every sweep config in eval/configs/ (the paper's experiments) parses, and every cell's flags pass
 * Method.configure against LLaVA-v1.6-Vicuna-7B's config (the random-weights preset's config.json, nothing
 * loaded): the `eval sweep --dry-run` check. The specs' mini config is checked the same way, so this runs
 * something even while eval/configs/ is empty.
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkSweepCells, readSweepConfig } from '../../src/cli/eval_predict';
import { PRESETS } from '../../src/weights/random_checkpoint';
import { llavaNextConfig } from '../../src/llava/config';

const ROOT = path.join(__dirname, '..', '..');
const DIR = path.join(ROOT, 'eval', 'configs');
const FILES = [
  path.join(ROOT, 'spec', 'fixtures', 'eval', 'sweep-mini.json'),
  ...(fs.existsSync(DIR) ? fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(DIR, f)) : []),
];
const CONFIG_7B = llavaNextConfig(PRESETS['llava-v1.6-vicuna-7b'].config(), 'llava-v1.6-vicuna-7b preset');

describe('eval/configs/*.json: parsed and dry-run-checked against the 7B config', () => {
  it.each(FILES.map((f) => [path.relative(ROOT, f), f]))('%s', (_name, file) => {
    const { config, cells } = readSweepConfig(file);
    expect(cells.length).toBeGreaterThan(0);
    const options = checkSweepCells(file, cells, CONFIG_7B, true);
    expect(options).toHaveLength(cells.length);
    expect(config.tasks.length).toBeGreaterThan(0);
  });

  it('a cell the 7B config refuses is one error naming the file and the cell', () => {
    const file = FILES[0];
    const { cells } = readSweepConfig(file);
    const bad = { ...cells[0], flags: { ...cells[0].flags, 'low-layers': [99] } };
    expect(() => checkSweepCells(file, [bad], CONFIG_7B, true)).toThrow(/sweep-mini\.json: cell hero-r0\.4: .*99/);
    expect(() => checkSweepCells(file, [cells[0]], CONFIG_7B, false)).toThrow(/sweep-mini\.json: cell hero-r0\.4: .*CLIP/);
  });
});
