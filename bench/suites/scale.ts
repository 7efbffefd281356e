/**
 * scale: the whole `hero-lvlm run` on real shapes — the llava-v1.6-vicuna-7b-shaped checkpoint in f16 and
 * the CLIP ViT-L/14-336-shaped one (random weights, `hero-lvlm random-weights`), HERO at r = 0.2 with 8 new
 * tokens (r = 1.0 too with --scale-full), the vision towers over --vision-workers threads and the decoder over
 * --decoder-workers threads — as a child process, so what is measured is what a user gets:
 * the time per stage (report.json timings_ms) and the peak resident set (the kernel's VmHWM of the child,
 * read from /proc until it exits). Not in the default suites: it takes tens of minutes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { HeroError } from '../../src/core/errors';
import type { BackendName } from '../../src/backend';
import { ROOT, type BenchOptions } from '../common';

const CLI = path.join(ROOT, 'src', 'cli', 'hero-lvlm.js');

/** One run of the suite. */
export interface ScaleRow {
  ratio: number;
  exit_code: number;
  wall_ms: number;
  /** the child's peak resident set size (VmHWM), bytes */
  peak_rss_bytes: number;
  /** report.json timings_ms: load, preprocess, vision, clip_relevance, select, prefill, decode */
  timings_ms: Record<string, number>;
  visual_tokens: number | null;
  visual_tokens_full: number | null;
  /** the greedy ids (report.json answer_ids): the same weights and prompt give the same ids on every path */
  answer_ids: number[] | null;
  /** the lines run printed on stderr (the weights and memory choice, stages) */
  log: string[];
}

export interface ScaleResult {
  backend: BackendName;
  model: string;
  clip: string;
  cpu: string;
  rows: ScaleRow[];
}

/** The checkpoint at `dir`, or generated there (f16) with `hero-lvlm random-weights` when absent — loudly. */
function ensureCheckpoint(dir: string, preset: string): void {
  if (fs.existsSync(path.join(dir, 'config.json'))) return;
  console.log(`!! ${dir} is missing: generating the ${preset} checkpoint in f16 (random weights; minutes, GBs of disk)`);
  const r = spawnSync(process.execPath, [CLI, 'random-weights', '--preset', preset, '--dtype', 'f16', '--out', dir], { stdio: 'inherit' });
  if (r.status !== 0) throw new HeroError(`scale: random-weights --preset ${preset} failed (exit ${r.status})`);
}

/** VmHWM of a live process, bytes (0 once it has exited). */
function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs `hero-lvlm run` as a child, sampling its peak RSS every 500 ms. */
async function runOnce(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; wallMs: number; peak: number; stderr: string }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'run', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); process.stderr.write(d); });
  let peak = 0;
  const timer = setInterval(() => { peak = Math.max(peak, peakRss(child.pid!)); }, 500);
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  clearInterval(timer);
  return { code, wallMs: performance.now() - t0, peak, stderr };
}

export async function scaleSuite(opts: BenchOptions, backend: BackendName): Promise<ScaleResult> {
  const model = opts.scaleModel, clip = opts.scaleClip;
  ensureCheckpoint(model, 'llava-v1.6-vicuna-7b');
  ensureCheckpoint(clip, 'clip-vit-large-patch14-336');
  const rows: ScaleRow[] = [];
  for (const ratio of opts.scaleFull ? [0.2, 1.0] : [0.2]) {
    const out = fs.mkdtempSync(path.join(opts.tmp, 'scale-'));
    const args = ['--model', model, '--clip', clip, '--image', path.join(ROOT, 'docs', 'assets', 'example.png'),
      '--prompt', 'What is in the picture?', '--ratio', String(ratio), '--max-new-tokens', '8', '--backend', backend, '--out', out,
      // Both vision towers (LLaVA's, then HERO's CLIP) over --vision-workers threads and the decoder over
      // --decoder-workers threads; with streamed weights every worker shares the host bytes and widens one layer at a time.
      '--vision-workers', String(Math.max(1, opts.visionWorkers)), '--decoder-workers', String(opts.decoderWorkers)];
    console.log(`scale   hero-lvlm run ${args.join(' ')}`);
    const r = await runOnce(args, { ...process.env });
    const reportFile = path.join(out, 'report.json');
    const report = r.code === 0 && fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Record<string, unknown> : undefined;
    const tokens = report?.visual_tokens as { kept?: number; full?: number } | undefined;
    rows.push({
      ratio, exit_code: r.code, wall_ms: r.wallMs, peak_rss_bytes: r.peak, timings_ms: (report?.timings_ms as Record<string, number>) ?? {},
      visual_tokens: tokens?.kept ?? null, visual_tokens_full: tokens?.full ?? null, answer_ids: (report?.answer_ids as number[] | undefined) ?? null,
      log: r.stderr.split('\n').filter((l) => /^(backend|accel|weights|memory):/.test(l)),
    });
    console.log(`        r = ${ratio}: exit ${r.code}, wall ${(r.wallMs / 1000).toFixed(1)} s, peak RSS ${(r.peak / 2 ** 30).toFixed(2)} GiB`);
  }
  return { backend, model, clip, cpu: `${os.cpus().length}× ${os.cpus()[0]?.model}`, rows };
}
