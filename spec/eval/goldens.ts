/**
 * spec/fixtures/eval/goldens.json: what the official scoring code returns on answers written to hit each
 * rule (made by scripts/eval-goldens/gen.py from lmms-eval v0.2.4, LLaVA c121f043 and MME's eval_tool).
 */
import * as fs from 'fs';
import * as path from 'path';

export const GOLDENS = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'eval', 'goldens.json'), 'utf8'));

/** Soft accuracies: the official code averages with `statistics.mean` (exact rational) or sum/len;
 * ours sums floats in order. They agree to the last few ulps of a number ≤ 1. */
export const MEAN_TOL = 1e-12;
