/**
 * `node -r ./src/cli/register-ts.js scripts/trace-goldens.ts OUT_DIR [--backend cpu|wasm] [--only SUBSTRING]`
 *
 * Runs `hero-lvlm trace` over every golden case of spec/fixtures/cases that trace reproduces — plain
 * LLaVA-NeXT (llava_wide), HERO in both variants (hero_*, hero_paper_*), every baseline (baseline_*: the
 * case's own `cli` flags) and SparseVLM (sparsevlm_*: its settings) — writing OUT_DIR/<case>.safetensors.
 * A refactoring that must not change behaviour runs it on the old tree and the new one, then
 * `hero-lvlm compare --atol 0 OLD/<case>.safetensors NEW/<case>.safetensors` for each case
 * (`--compare OLD_DIR` does that loop, both ways round: every pair must be identical). Runs one trace at a time.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { FIXTURES, loadCase } from '../spec/util/fixtures';
import { goldenTraceCases } from '../spec/util/golden_traces';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'src', 'cli', 'hero-lvlm.js');

/** Every case as `trace` flags (without --backend and --out). */
export function traceCases(): { case: string; args: string[] }[] {
  const out = goldenTraceCases().map((c) => ({ case: c.case, args: c.args }));
  const tiny = path.join(FIXTURES, 'models', 'llava-next-tiny');
  for (const f of fs.readdirSync(path.join(FIXTURES, 'cases')).filter((x) => /^(baseline|sparsevlm)_.*\.json$/.test(x)).sort()) {
    const name = f.replace(/\.json$/, '');
    const j = loadCase(name).json as Record<string, unknown>;
    if (name.startsWith('baseline_')) {
      out.push({ case: name, args: ['--model', path.join(FIXTURES, j.model as string), '--image', path.join(FIXTURES, 'images', `${j.image as string}.png`),
        '--input-ids', (j.input_ids as number[]).join(','), '--max-new-tokens', '3', '--method', j.method as string, ...(j.cli as string[])] });
    } else {
      const s = j.settings as { layers: number[]; scale: number; bias: number; max_new_tokens: number };
      out.push({ case: name, args: ['--model', tiny, '--image', path.join(FIXTURES, 'images', j.image as string),
        '--input-ids', (j.legacy_input_ids as number[]).join(','), '--max-new-tokens', String(s.max_new_tokens), '--method', 'sparsevlm',
        '--sparsevlm-layers', s.layers.join(','), '--sparsevlm-scale', String(s.scale), '--sparsevlm-bias', String(s.bias)] });
    }
  }
  return out;
}

function main(argv: string[]): number {
  const dir = argv[0];
  if (!dir || dir.startsWith('--')) {
    process.stderr.write('usage: scripts/trace-goldens.ts OUT_DIR [--backend cpu|wasm] [--only SUBSTRING] [--compare OLD_DIR]\n');
    return 2;
  }
  const opt = (k: string): string | undefined => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
  const backend = opt('--backend') ?? 'cpu', only = opt('--only'), old = opt('--compare');
  fs.mkdirSync(dir, { recursive: true });
  let failed = 0, n = 0;
  for (const c of traceCases().filter((x) => !only || x.case.includes(only))) {
    const out = path.join(dir, `${c.case}.safetensors`);
    n++;
    if (old) {
      // both ways: compare lists a tensor only in PORT without failing, so each file is the reference once
      const rs = [[path.join(old, `${c.case}.safetensors`), out], [out, path.join(old, `${c.case}.safetensors`)]]
        .map(([a, b]) => spawnSync(process.execPath, [BIN, 'compare', '--atol', '0', '--rtol', '0', a, b], { encoding: 'utf8' }));
      const ok = rs.every((x) => x.status === 0);
      const r = rs.find((x) => x.status !== 0) ?? rs[0];
      if (!ok) failed++;
      process.stdout.write(`${ok ? 'same' : 'DIFF'} ${c.case}${ok ? '' : `\n${r.stdout}${r.stderr}`}\n`);
      continue;
    }
    try {
      execFileSync(process.execPath, [BIN, 'trace', '--backend', backend, ...c.args, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
      process.stdout.write(`traced ${c.case}\n`);
    } catch (e) {
      failed++;
      process.stdout.write(`FAILED ${c.case}: ${String((e as { stderr?: Buffer }).stderr ?? e)}\n`);
    }
  }
  process.stdout.write(`${n - failed} of ${n} cases ${old ? 'identical' : 'traced'}\n`);
  return failed ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
