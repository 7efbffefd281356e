/**
 * eval-report.html: the tables and plots of `eval report` as one self-contained page, a pure function of
 * eval-report.json's object (eval/report.ts) and the PNG bytes of its figures. As report.html: inline
 * style, plots as PNG data: URIs drawn with the embedded bitmap font (font.ts via chart.ts and
 * analysis.ts), no scripts, nothing fetched, every text from the runs escaped.
 *
 * Element ids: `random-weights` (the banner, when a model had random weights), per table `table-<name>`
 * (a section holding a `table.scores`), per figure `fig-<name>-<task>` (line) or `fig-<name>-<task>-measured`
 * and `…-paper` (heatmap).
 */
import type { RgbImage } from '../io/image';
import type { EvalReport, FlagValue, ReportCell, ReportRow, ReportTable } from '../eval/report';
import { TASKS, type TaskId } from '../eval/tasks';
import { lineChart } from './chart';
import { renderHeatmap } from './analysis';
import { escapeHtml, pngUri, STYLE } from './html';

export interface EvalFigure {
  readonly id: string;
  readonly table: string;
  readonly alt: string;
  readonly image: RgbImage;
}

/** An element id from a sweep's name. */
export const idOf = (s: string): string => s.replace(/[^A-Za-z0-9_-]+/g, '-');

/** A score as the paper prints it: integers as they are (OCRBench), else one decimal. */
export const fmtScore = (v: number | null): string => (v === null || !Number.isFinite(v) ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(1));
const fmtDiff = (v: number | null): string => (v === null ? '—' : `${v > 0 ? '+' : v < 0 ? '−' : '±'}${fmtScore(Math.abs(v))}`);
const fmtNum = (v: number | null, d: number): string => (v === null ? '—' : v.toFixed(d));
/** TFLOPs with 3 significant digits below 10 (small models), one decimal above. */
const fmtTflops = (v: number | null): string => (v === null ? 'unknown' : v >= 10 ? v.toFixed(1) : String(Number(v.toPrecision(3))));
const taskName = (t: string): string => (TASKS[t as TaskId]?.paper ?? t);
const asNumber = (v: FlagValue | undefined): number | null => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);

// ---- figures -------------------------------------------------------------------------------------------------

/** Fig. 4's kind: score against one flag, the measured runs and the paper's points, one plot per task. */
function lineFigures(t: ReportTable, x: string): EvalFigure[] {
  const out: EvalFigure[] = [];
  for (const task of t.tasks) {
    const measured = t.rows.flatMap((r) => {
      const c = r.cells[task], xv = asNumber(r.flags[x]);
      return c && c.measured !== null && xv !== null ? [[xv, c.measured] as const] : [];
    }).sort((a, b) => a[0] - b[0]);
    const paper = t.paper_points.flatMap((p) => {
      const xv = asNumber(p.flags[x]), s = p.scores[task];
      return xv !== null && typeof s === 'number' ? [[xv, s] as const] : [];
    }).sort((a, b) => a[0] - b[0]);
    const series = [
      ...(measured.length ? [{ label: 'measured', points: measured }] : []),
      ...(paper.length ? [{ label: 'paper', points: paper, dashed: true }] : []),
    ];
    if (!series.length) continue;
    out.push({
      id: `fig-${idOf(t.name)}-${idOf(task)}`, table: t.name,
      alt: `${taskName(task)} against ${x}: measured (${measured.length} points) and the paper's (${paper.length})`,
      image: lineChart({ title: `${t.title}: ${taskName(task)} vs ${x}`, xLabel: x, yLabel: taskName(task), series, width: 760, height: 440 }),
    });
  }
  return out;
}

/** Fig. 5's kind: score over two flags, measured and the paper's side by side, one pair per task. */
function heatmapFigures(t: ReportTable, x: string, y: string): EvalFigure[] {
  const values = (k: string): number[] => [...new Set([...t.rows.map((r) => r.flags[k]), ...t.paper_points.map((p) => p.flags[k])]
    .map(asNumber).filter((v): v is number => v !== null))].sort((a, b) => a - b);
  const xs = values(x), ys = values(y);
  if (!xs.length || !ys.length) return [];
  const out: EvalFigure[] = [];
  for (const task of t.tasks) {
    const grid = (points: ReadonlyArray<{ flags: Readonly<Record<string, FlagValue>>; v: number | null }>): Float64Array => {
      const g = new Float64Array(xs.length * ys.length).fill(NaN);
      for (const p of points) {
        const i = ys.indexOf(asNumber(p.flags[y]) ?? NaN), j = xs.indexOf(asNumber(p.flags[x]) ?? NaN);
        if (i >= 0 && j >= 0 && p.v !== null) g[i * xs.length + j] = p.v;
      }
      return g;
    };
    const m = grid(t.rows.map((r) => ({ flags: r.flags, v: r.cells[task]?.measured ?? null })));
    const p = grid(t.paper_points.map((q) => ({ flags: q.flags, v: typeof q.scores[task] === 'number' ? q.scores[task] : null })));
    for (const [which, g] of [['measured', m], ['paper', p]] as const) {
      if (!g.some(Number.isFinite)) continue;
      out.push({
        id: `fig-${idOf(t.name)}-${idOf(task)}-${which}`, table: t.name,
        alt: `${taskName(task)} (${which}) over ${x} (columns) and ${y} (rows)`,
        image: renderHeatmap(g, ys.length, xs.length, {
          title: `${t.title}: ${taskName(task)}, ${which}`, subtitle: `columns ${x}, rows ${y}; grey = no number`,
          rowLabels: ys.map(String), colLabels: xs.map(String), xTitle: x, yTitle: y, scaleText: `colour: ${taskName(task)}`,
          cellText: (r, c) => (Number.isFinite(g[r * xs.length + c]) ? fmtScore(g[r * xs.length + c]) : ''),
        }),
      });
    }
  }
  return out;
}

/** Every figure the report's tables ask for (`figure.kind` line or heatmap), in page order. */
export function evalFigures(rep: EvalReport): EvalFigure[] {
  return rep.tables.flatMap((t) => (t.figure.kind === 'line' ? lineFigures(t, t.figure.x) : t.figure.kind === 'heatmap' ? heatmapFigures(t, t.figure.x, t.figure.y) : []));
}

// ---- tables --------------------------------------------------------------------------------------------------

/** The measured cell: the number, or why there is none; an incomplete run says how far it got. */
function measuredHtml(c: ReportCell): string {
  const inc = c.complete === false ? ` <small class="incomplete">incomplete ${c.answered}/${c.questions ?? '?'}</small>` : '';
  if (c.status !== 'scored') return `<span class="not-scored">not scored</span><small>${escapeHtml(c.not_scored_reason ?? '')}</small>${inc}`;
  return `${fmtScore(c.measured)}${c.score_source === 'data-root' ? '<small>scored from --data-root</small>' : ''}${inc}`;
}

const tokensHtml = (s: { visual_kept: number | null; visual_total: number | null }): string =>
  `${fmtNum(s.visual_kept, 1)} / ${fmtNum(s.visual_total, 1)}${s.visual_kept !== null && s.visual_total ? `<small>${((100 * s.visual_kept) / s.visual_total).toFixed(1)} %</small>` : ''}`;

function settingHtml(r: ReportRow): string {
  const flags = Object.entries(r.flags).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ');
  return `${escapeHtml(r.label)}<small>${escapeHtml(r.method.name)}${flags ? ` · ${escapeHtml(flags)}` : ''}</small>`;
}

function sweepTableHtml(t: ReportTable): string {
  const head1 = `<tr><th class="l" rowspan="2">setting</th><th class="l" rowspan="2">protocol</th>${t.tasks.map((k) => `<th colspan="3">${escapeHtml(taskName(k))}<small>${escapeHtml(k)}</small></th>`).join('')}` +
    '<th rowspan="2">visual tokens<small>mean kept / total</small></th><th rowspan="2">prefill TFLOPs<small>HERO-7, mean</small></th></tr>';
  const head2 = `<tr>${t.tasks.map(() => '<th>measured</th><th>paper</th><th>Δ</th>').join('')}</tr>`;
  const rows = t.rows.map((r) => `<tr data-cell="${escapeHtml(r.cell ?? '')}"><td class="l">${settingHtml(r)}</td><td class="l protocol">${escapeHtml(r.protocols.join(', '))}</td>${t.tasks.map((k) => {
    const c = r.cells[k];
    const at = `data-task="${escapeHtml(k)}"`;
    if (!c) return `<td class="measured not-run" ${at}>not run</td><td class="paper" ${at}>${fmtScore(r.paper[k] ?? null)}</td><td class="diff" ${at}>—</td>`;
    return `<td class="measured" ${at}>${measuredHtml(c)}</td><td class="paper" ${at}>${fmtScore(c.paper)}</td><td class="diff" ${at}>${fmtDiff(c.diff)}</td>`;
  }).join('')}<td>${tokensHtml(r)}</td><td>${fmtTflops(r.prefill_tflops)}</td></tr>`);
  return `<div class="wide"><table class="scores"><thead>${head1}\n${head2}</thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>`;
}

function runsTableHtml(t: ReportTable): string {
  const head = '<tr><th class="l">RUN</th><th class="l">method</th><th class="l">protocol</th><th>measured</th><th class="l">metric</th><th>answered</th><th>visual tokens<small>mean kept / total</small></th><th>prefill TFLOPs<small>HERO-7, mean</small></th></tr>';
  const groups = t.tasks.map((k) => {
    const rows = t.rows.filter((r) => r.cells[k]).map((r) => {
      const c = r.cells[k]!;
      const opts = Object.entries(r.method.options).map(([o, v]) => `${o}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ');
      return `<tr data-task="${escapeHtml(k)}"><td class="l">${escapeHtml(c.dir)}</td><td class="l">${escapeHtml(r.method.name)}<small>${escapeHtml(opts)}</small></td>` +
        `<td class="l protocol">${escapeHtml(c.protocol)}</td><td class="measured" data-task="${escapeHtml(k)}">${measuredHtml(c)}</td><td class="l">${escapeHtml(c.metric ?? '—')}</td>` +
        `<td>${c.answered}${c.questions !== null ? ` / ${c.questions}` : ''}</td><td>${tokensHtml(c)}</td><td>${fmtTflops(c.prefill_tflops)}</td></tr>`;
    });
    return `<tbody><tr class="group"><th class="l" colspan="8">${escapeHtml(taskName(k))} <small>${escapeHtml(k)}</small></th></tr>\n${rows.join('\n')}</tbody>`;
  });
  return `<div class="wide"><table class="scores"><thead>${head}</thead>\n${groups.join('\n')}</table></div>`;
}

function notesHtml(t: ReportTable): string {
  const items = t.rows.flatMap((r) => Object.values(r.cells).flatMap((c) => (c ? c.notes.map((n) => `<li><code>${escapeHtml(c.dir)}</code>: ${escapeHtml(n)}</li>`) : [])));
  return items.length ? `<details><summary>Scorer notes (${items.length})</summary><ul>${items.join('')}</ul></details>` : '';
}

/** The whole page; `figures` are `evalFigures(rep)` with their images encoded as PNG. */
export function renderEvalReportHtml(rep: EvalReport, figures: ReadonlyArray<Omit<EvalFigure, 'image'> & { png: Uint8Array }>): string {
  const S: string[] = ['<h1>hero-lvlm eval report</h1>'];
  if (rep.random_weights.length) {
    S.push(`<div class="warn" id="random-weights"><strong>RANDOM WEIGHTS: every number measured here is meaningless</strong> (the token counts and FLOPs are real).<ul>${rep.random_weights.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>`);
  }
  S.push('<p>Each measured score stands beside the paper\'s own number for the same setting and their difference (Δ = measured − paper), in the paper\'s units (accuracies in %, MME perception as its sum, OCRBench as a count). The protocol that scored each row is named: lmms-eval and LLaVA\'s scripts normalise answers differently (docs/eval.md). Visual tokens are the means over the questions of the tokens the language model saw and of those the image had; prefill TFLOPs are HERO-7 at each question\'s kept visual + prompt tokens, averaged (docs/flops.md).</p>');
  for (const t of rep.tables) {
    S.push(`<section id="table-${idOf(t.name)}" class="eval-table"><h2>${escapeHtml(t.title)}</h2>`);
    const meta = [
      t.source !== null ? `sweep <code>${escapeHtml(t.source)}</code>` : '',
      t.config_file !== null ? `config <code>${escapeHtml(t.config_file)}</code>` : '',
      ...t.models.map((m) => `model <code>${escapeHtml(m.path)}</code> (config ${escapeHtml(m.configHash.slice(0, 12))}): ${escapeHtml(m.flops_note)}`),
    ].filter(Boolean);
    S.push(`<p class="note">${meta.join('<br>')}</p>`);
    S.push(t.kind === 'sweep' ? sweepTableHtml(t) : runsTableHtml(t));
    for (const f of figures.filter((g) => g.table === t.name)) S.push(`<figure><img id="${escapeHtml(f.id)}" src="${pngUri(f.png)}" alt="${escapeHtml(f.alt)}"></figure>`);
    S.push(notesHtml(t), '</section>');
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>hero-lvlm eval report</title>
<style>${STYLE}
td small,th small{display:block;font-weight:normal;color:#555}.not-scored,.incomplete{color:#a15c00}.not-run{color:#888}td.paper{color:#555}
tr.group th{background:#e8eefc;text-align:left}.wide{overflow-x:auto}table.scores{font-size:.9em}figure{display:inline-block;vertical-align:top;margin:1em 1em 0 0}
</style></head>
<body>
${S.join('\n')}
</body></html>
`;
}
