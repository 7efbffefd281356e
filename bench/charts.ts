/**
 * The bench charts, drawn from the JSON in bench/results/ (never from a live run), so they can be redrawn
 * without re-running the benchmark: `npm run bench -- --charts-only`. One PNG per suite result that has
 * something to plot:
 *   vision_vs_pytorch.png   ViT-L/14-336 over 5 crops: the tfjs paths against PyTorch at 1 and 2 threads
 *   decoder_vs_pytorch.png  Vicuna-7B-width prefill per token count: tfjs against PyTorch
 *   prefill_vs_ratio.png    measured prefill time against the retention ratio, next to the analytic FLOPs
 *   hero_cost.png           HERO's own cost (selection step, extra CLIP passes) next to the vision pass
 *   memory.png              RSS and tensor count over 20 pipeline runs
 * Labels use the embedded bitmap font (src/report/draw.ts): the PNGs are the same on every machine.
 */
import * as fs from 'fs';
import * as path from 'path';
import { encodePng } from '../src/io/image';
import { barChart, lineChart } from '../src/report/chart';
import type { RgbImage } from '../src/io/image';

interface Stat { median: number; min: number; max: number; runs: number }

function readJson(dir: string, name: string): Record<string, unknown> | null {
  const f = path.join(dir, `${name}.json`);
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown> : null;
}

const sec = (s: Stat) => ({ value: s.median / 1000, min: s.min / 1000, max: s.max / 1000 });
const fmtS = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** Renders every chart whose JSON is present in `dir` for `backend`; returns name → image. */
export function benchCharts(dir: string, backend = 'wasm'): Map<string, RgbImage> {
  const out = new Map<string, RgbImage>();
  const vision = readJson(dir, `vision_${backend}`), batched = readJson(dir, `vision_${backend}_attention-batched`);
  if (vision) {
    const peer = typeof vision.peer === 'object' ? vision.peer as Record<string, Stat> : null;
    const bars: Array<{ label: string; v: ReturnType<typeof sec>; torch?: boolean }> = [];
    bars.push({ label: `tfjs, ${vision.path}`, v: sec(vision.tfjs_ms as Stat) });
    if (vision.in_process_ms) bars.push({ label: 'tfjs, in-process', v: sec(vision.in_process_ms as Stat) });
    if (batched) bars.push({ label: 'tfjs, plain path', v: sec(batched.tfjs_ms as Stat) });
    if (peer) bars.push({ label: 'PyTorch, 1 thread', v: sec(peer.threads_1), torch: true }, { label: 'PyTorch, 2 threads', v: sec(peer.threads_2), torch: true });
    out.set('vision_vs_pytorch', barChart({
      title: `Vision tower: CLIP ViT-L/14-336, 24 layers, 5 crops (${backend} vs PyTorch)`,
      note: `median of the runs, whiskers min..max; plain path = in-process with batched attention; same weights and pixels; ${vision.machine}`,
      yLabel: 'wall time for 5 crops [s]', seriesLabels: [`tfjs-${backend}`, ...(peer ? [`PyTorch ${peer.torch ?? ''}`] : [])],
      groups: bars.map((b) => ({ label: b.label, values: b.torch ? [null, b.v] : [b.v] })), valueLabel: fmtS,
    }));
  }
  const dec = readJson(dir, `decoder_${backend}`);
  if (dec) {
    const rows = dec.rows as Array<{ ratio: number; tokens: number; prefill_ms: Stat; analytic_tflops_32_layers: number }>;
    const peer = typeof dec.peer === 'object' ? dec.peer as Record<string, Record<string, Stat>> : null;
    const series = ['tfjs-' + backend, ...(peer ? ['PyTorch 1 thread', 'PyTorch 2 threads'] : [])];
    out.set('decoder_vs_pytorch', barChart({
      title: `Decoder prefill at Vicuna-7B width, ${dec.layers} layer (${backend} vs PyTorch)`,
      note: `median of the runs, whiskers min..max; prompt split in 512-token chunks; ${dec.machine}`,
      yLabel: 'prefill time [s]', xLabel: 'prompt length [tokens] (retention ratio r)', seriesLabels: series,
      groups: [...rows].sort((a, b) => a.tokens - b.tokens).map((r) => ({
        label: `${r.tokens} (r=${r.ratio})`,
        values: [sec(r.prefill_ms), ...(peer ? [sec(peer.threads_1[String(r.tokens)]), sec(peer.threads_2[String(r.tokens)])] : [])],
      })),
      valueLabel: fmtS,
    }));
    const sorted = [...rows].sort((a, b) => a.ratio - b.ratio);
    out.set('prefill_vs_ratio', lineChart({
      title: `Prefill time vs retention ratio r (Vicuna-7B width, ${dec.layers} layer, ${backend})`,
      note: `measured: median, whiskers min..max; analytic: HERO-7/8 for the real 32-layer Vicuna-7B`,
      xLabel: 'retention ratio r (share of visual tokens kept)', yLabel: 'measured prefill [s]', y2Label: 'analytic prefill [TFLOPs]',
      xRange: [0, 1],
      series: [
        { label: `measured prefill time (${dec.layers} layer, ${backend})`, points: sorted.map((r) => [r.ratio, r.prefill_ms.median / 1000]), ranges: sorted.map((r) => [r.prefill_ms.min / 1000, r.prefill_ms.max / 1000]) },
        { label: 'analytic FLOPs (32 layers)', axis: 'right', dashed: true, points: sorted.map((r) => [r.ratio, r.analytic_tflops_32_layers]) },
      ],
    }));
  }
  const hero = readJson(dir, `hero_${backend}`);
  if (hero) {
    const v = hero.vision_ms as number;
    out.set('hero_cost', barChart({
      title: `HERO's own cost next to the vision pass (${backend})`,
      note: 'selection = applyHero given the vision outputs; CLIP = 4 tiles through a second ViT-L/14-336 + text tower',
      yLabel: 'wall time [s]', seriesLabels: ['median'],
      groups: [
        { label: 'vision (5 crops)', values: [{ value: v / 1000 }] },
        { label: 'HERO selection', values: [sec(hero.selection_ms as Stat)] },
        { label: 'CLIP tile passes', values: [sec(hero.clip_tile_passes_ms as Stat)] },
        { label: 'CLIP text pass', values: [sec(hero.clip_text_pass_ms as Stat)] },
      ],
      valueLabel: fmtS,
    }));
  }
  const mem = readJson(dir, `memory_${backend}`);
  if (mem) {
    const rss = mem.rss_bytes as number[], tensors = mem.tensors_after_each_run as number[];
    out.set('memory', lineChart({
      title: `Memory over 20 pipeline runs (HERO, golden tiny model, ${backend})`,
      note: `RSS ${mem.rss_measured}`,
      xLabel: 'run', yLabel: 'RSS [MiB]', y2Label: 'live tensors after the run', xRange: [0, rss.length],
      series: [
        { label: 'RSS', points: rss.map((b, i) => [i + 1, b / 2 ** 20]) },
        { label: 'tensors', axis: 'right', dashed: true, points: tensors.map((t, i) => [i + 1, t]) },
      ],
    }));
  }
  return out;
}

/** Writes every chart of benchCharts(dir) as dir/<name>.png; returns the files written. */
export async function writeBenchCharts(dir: string, backend = 'wasm'): Promise<string[]> {
  const files: string[] = [];
  for (const [name, img] of benchCharts(dir, backend)) {
    const f = path.join(dir, `${name}.png`);
    fs.writeFileSync(f, await encodePng(img, f));
    files.push(f);
  }
  return files;
}
