/**
 * report.html: the run report as one self-contained page for a person who has not read the paper. A pure
 * function of report.json's object and the PNG bytes of overlay.png and attention_maps.png: the images
 * are inlined as data: URIs, the bar charts are inline SVG, the style sheet is inline, and nothing is
 * fetched (no scripts, no external fonts). Every piece of text from the run (prompt, answer, file names)
 * is escaped.
 *
 * Sections (element ids): summary, answer, overlay, hero-tiles and budgets (HERO only), crops,
 * attention, efficiency, timings, files.
 */
import type { RunReport, TileRow } from './summary';

/** The section ids, in page order; `hero-tiles` and `budgets` appear only for --method hero. */
export const SECTION_IDS = ['summary', 'answer', 'overlay', 'hero-tiles', 'budgets', 'crops', 'attention', 'efficiency', 'timings', 'files'] as const;
export const HERO_ONLY_SECTIONS: readonly string[] = ['hero-tiles', 'budgets'];

export interface ReportImages {
  /** overlay.png bytes */
  readonly overlay: Uint8Array;
  /** attention_maps.png bytes */
  readonly attentionMaps: Uint8Array;
}

/** HTML-escapes text for element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A PNG as a data: URI (the pages are self-contained). */
export const pngUri = (bytes: Uint8Array): string => `data:image/png;base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64')}`;
const num = (v: number | null, d = 3): string => (v === null || !Number.isFinite(v) ? '—' : v.toFixed(d));

/** What each method does, in a sentence (docs/baselines.md has the details). */
const METHOD_TEXT: Record<string, string> = {
  hero: 'HERO drops visual tokens before the language model: it gives each tile a token budget from how salient (HERO-1) and how relevant to the question (HERO-2) it is, then keeps the tokens the vision encoder\'s CLS token attends to most (HERO-5/6).',
  none: 'No dropping: plain LLaVA-NeXT, every visual token goes to the language model.',
  fastervlm: 'FasterVLM keeps, in every crop, the tokens the CLS token of the vision encoder attends to most.',
  hired: 'HiRED gives each tile a budget from CLS attention in an early layer, then keeps the top tokens by CLS attention in the feature layer.',
  globalcom2: 'GlobalCom² compresses the tiles guided by the thumbnail, keeping more tokens of the tiles that matter more globally.',
  'prumerge+': 'PruMerge+ keeps outlier tokens by CLS attention (plus spatially sampled ones) and merges the dropped ones into them.',
  fastv: 'FastV drops image tokens inside the language model, after layer K, by the attention they receive.',
};

/** The pages' one style sheet (report.html, the analysis pages). */
export const STYLE = `
body{font-family:sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f2f2f2;vertical-align:bottom}td.l,th.l{text-align:left}
th small{display:block;font-weight:normal;color:#555}
.warn{background:#fff3cd;border:1px solid #e0b400;padding:.6em .8em;margin:.8em 0}
.answer{font-size:1.15em;background:#f6f8fa;border-left:4px solid #0050ff;padding:.6em .8em;white-space:pre-wrap;overflow-wrap:anywhere}
img{max-width:100%;height:auto;border:1px solid #ddd}
.note{color:#555;font-size:.92em}.sw{display:inline-block;width:1em;height:1em;vertical-align:middle;margin:0 .3em 0 1em;border:1px solid #888}
code{background:#f2f2f2;padding:0 .2em}.nw{white-space:nowrap}
`;

/** An HTML table; the first `leftCols` columns left-aligned. Cells are HTML (escape text first). */
export function table(head: string[], rows: string[][], leftCols = 1): string {
  const cell = (tag: string, s: string, i: number): string => `<${tag}${i < leftCols ? ' class="l"' : ''}>${s}</${tag}>`;
  return `<table><thead><tr>${head.map((h, i) => cell('th', h, i)).join('')}</tr></thead><tbody>\n${rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`).join('\n')}\n</tbody></table>`;
}

/** A vertical bar chart as inline SVG: one bar per item, its value above it, the labels below, a y axis with ticks. */
export function barChartSvg(items: ReadonlyArray<{ label: string; value: number; color: string }>, yTitle: string): string {
  const W = Math.max(360, 90 * items.length + 80), H = 260, l = 60, b = 40, t = 24;
  const max = Math.max(1, ...items.map((i) => i.value));
  const step = niceStep(max / 4);
  const top = Math.ceil(max / step) * step;
  const y = (v: number): number => t + (H - t - b) * (1 - v / top);
  const bw = Math.min(60, ((W - l - 20) / items.length) * 0.6);
  const parts: string[] = [];
  for (let v = 0; v <= top + 1e-9; v += step) {
    parts.push(`<line x1="${l - 4}" x2="${W - 10}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/><text x="${l - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="12">${v}</text>`);
  }
  items.forEach((it, i) => {
    const cx = l + ((i + 0.5) * (W - l - 20)) / items.length;
    parts.push(`<rect x="${(cx - bw / 2).toFixed(1)}" y="${y(it.value).toFixed(1)}" width="${bw.toFixed(1)}" height="${(y(0) - y(it.value)).toFixed(1)}" fill="${it.color}"/>`);
    parts.push(`<text x="${cx.toFixed(1)}" y="${(y(it.value) - 5).toFixed(1)}" text-anchor="middle" font-size="12">${it.value}</text>`);
    parts.push(`<text x="${cx.toFixed(1)}" y="${H - b + 18}" text-anchor="middle" font-size="12">${escapeHtml(it.label)}</text>`);
  });
  parts.push(`<line x1="${l}" x2="${l}" y1="${t}" y2="${y(0)}" stroke="#222"/><line x1="${l}" x2="${W - 10}" y1="${y(0)}" y2="${y(0)}" stroke="#222"/>`);
  parts.push(`<text x="14" y="${(t + H - b) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(t + H - b) / 2})">${escapeHtml(yTitle)}</text>`);
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" role="img">${parts.join('')}</svg>`;
}

/** 1, 2 or 5 × 10^k, the smallest at least x. */
export function niceStep(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return Math.max(1, m * p);
  return 10 * p;
}

function optionRows(options: unknown): string[][] {
  if (!options || typeof options !== 'object') return [];
  return Object.entries(options as Record<string, unknown>).map(([k, v]) => [
    `<code>${escapeHtml(k)}</code>`, escapeHtml(Array.isArray(v) ? v.join(', ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)),
  ]);
}

function heroTable(rep: RunReport): string {
  const head = [
    'crop', 'CLS similarity c<sub>k</sub><small>HERO-1</small>', 'saliency s<sup>v</sup><sub>k</sub><small>HERO-1</small>',
    'CLIP similarity t<sub>k</sub><small>HERO-2</small>', 'relevance s<sup>t</sup><sub>k</sub><small>HERO-2</small>',
    'density d<sub>k</sub><small>HERO-D</small>', 'importance f<sub>k</sub><small>HERO-3</small>',
    'budget b<sub>k</sub><small>HERO-4</small>', 'kept<small>HERO-6</small>',
  ];
  const row = (t: TileRow): string[] => [
    `tile ${t.row},${t.col}`, num(t.cls_similarity), num(t.saliency), num(t.clip_score), num(t.relevance), num(t.density), num(t.importance),
    t.budget === null ? '—' : String(t.budget), String(t.kept),
  ];
  const thumb = ['thumbnail', '', '', '', '', '', '', `B<sub>0</sub> = ${rep.kept_per_crop[0]}`, `${rep.kept_per_crop[0]}`];
  return table(head, [thumb, ...rep.tiles.map(row)]);
}

/** The whole page. */
export function renderReportHtml(rep: RunReport, images: ReportImages): string {
  const hero = rep.method === 'hero';
  const o = (rep.options ?? {}) as Record<string, unknown>;
  const v = rep.vicuna_7b;
  const [rows, cols] = rep.grid;
  const S: string[] = [];
  S.push(`<section id="summary"><h1>hero-lvlm run report</h1>`);
  if (rep.note) S.push(`<p class="warn"><strong>${escapeHtml(rep.note)}</strong></p>`);
  S.push(`<p>${escapeHtml(METHOD_TEXT[rep.method] ?? rep.method)}</p>`);
  S.push(table(['setting', 'value'], [
    ['image', `${escapeHtml(rep.image.file)} (${rep.image.width}×${rep.image.height} px, W×H; transparency: ${rep.image.alpha === 'drop' ? 'dropped, as Pillow convert("RGB")' : 'composited on white'})`],
    ['tile grid', cols === 0 ? 'none: one crop (LLaVA-1.5)' : `${rows}×${cols} tiles + 1 thumbnail = ${rows * cols + 1} crops`],
    ['prompt', rep.prompt === null ? '(given as token ids)' : escapeHtml(rep.prompt)],
    ['prompt template', rep.template === null ? '— (raw prompt or token ids)' : `<code>${escapeHtml(rep.template)}</code>`],
    ['method', `<code>${escapeHtml(rep.method)}</code>`],
    ...optionRows(rep.options),
    ['model', escapeHtml(rep.model)], ...(hero ? [['CLIP (relevance, HERO-2)', rep.clip === null ? '— (no relevance term)' : escapeHtml(rep.clip)]] : []),
    ['backend', escapeHtml(rep.backend)],
  ], 2));
  S.push('</section>');

  S.push(`<section id="answer"><h2>Answer</h2><div class="answer">${escapeHtml(rep.answer)}</div>`);
  S.push(`<p class="note">Token ids: ${escapeHtml(rep.answer_ids.join(', '))}</p></section>`);

  S.push(`<section id="overlay"><h2>Which visual tokens the language model sees</h2>`);
  S.push(`<p>LLaVA-NeXT looks at the image twice: once as a <em>thumbnail</em> (the whole image squashed to one crop, left) and once as a grid of ${rows}×${cols} <em>tiles</em> at higher resolution (right; blue lines are the tile boundaries). Each crop becomes a grid of visual tokens (one per image patch).
<span class="sw" style="background:#e07070"></span>tinted red: dropped before the language model
<span class="sw" style="background:#fff"></span>unchanged: kept.</p>`);
  S.push(`<img id="overlay-img" src="${pngUri(images.overlay)}" alt="the image with the dropped visual tokens of the thumbnail (left) and of the tiles (right) tinted red"></section>`);

  if (hero) {
    S.push(`<section id="hero-tiles"><h2>HERO per tile: importance and budget</h2>`);
    S.push(`<p>Each column head names its equation in <code>docs/equations.md</code> (trace names <code>hero.*</code> in <code>docs/trace.md</code>):</p><ul>
<li>HERO-1: CLS similarity c<sub>k</sub> = cosine between the tile's CLS token and the thumbnail's (last vision layer); saliency s<sup>v</sup> = softmax(c / τ<sub>v</sub>), τ<sub>v</sub> = ${escapeHtml(String(o.tauV ?? '—'))}.</li>
<li>HERO-2: CLIP similarity t<sub>k</sub> = cosine between a separate CLIP's embedding of the tile and of the question; relevance s<sup>t</sup> = softmax(t / τ<sub>t</sub>), τ<sub>t</sub> = ${escapeHtml(String(o.tauT ?? '—'))}.</li>
<li>HERO-D: density d<sub>k</sub> = the tile's share of the image tokens that are not padding.</li>
<li>HERO-3: importance f<sub>k</sub> = λ·d<sub>k</sub> + (1 − λ)(α·s<sup>v</sup><sub>k</sub> + (1 − α)·s<sup>t</sup><sub>k</sub>), α = ${escapeHtml(String(o.alpha ?? '—'))}, λ = ${escapeHtml(String(o.densityWeight ?? '—'))}.</li>
<li>HERO-4: budget b<sub>k</sub> = min(⌊f<sub>k</sub>·B<sub>loc</sub>⌋, valid tokens of tile k), B<sub>loc</sub> = ⌊K·N·r⌋ (HERO-B).</li>
<li>Kept: the b<sub>k</sub> tokens with the highest CLS attention averaged over the low layers (<span class="nw">HERO-6</span>); the thumbnail keeps B<sub>0</sub> = ⌊r·N⌋ by the high layers (<span class="nw">HERO-5</span>).</li></ul>`);
    S.push(heroTable(rep), '</section>');
    S.push(`<section id="budgets"><h2>Token budgets</h2><p>Tokens kept per crop: the thumbnail's fixed budget B<sub>0</sub> (grey) and each tile's budget b<sub>k</sub> (blue).</p>`);
    S.push(barChartSvg([{ label: 'thumbnail', value: rep.kept_per_crop[0], color: '#999' }, ...rep.tiles.map((t) => ({ label: `tile ${t.row},${t.col}`, value: t.budget ?? t.kept, color: '#0050ff' }))], 'tokens kept'));
    S.push('</section>');
  }

  S.push(`<section id="crops"><h2>Tokens kept per crop</h2>`);
  S.push(table(['crop', 'kept'], [['thumbnail', String(rep.kept_per_crop[0])], ...rep.kept_per_crop.slice(1).map((k, i) => [`tile ${Math.floor(i / cols)},${i % cols}`, String(k)])]));
  S.push(`<p>Visual tokens given to the language model: <strong>${rep.visual_tokens.full} → ${rep.visual_tokens.kept}</strong> (${((100 * rep.visual_tokens.kept) / rep.visual_tokens.full).toFixed(1)} %; both counts include the row-end <code>image_newline</code> tokens the layout keeps); text tokens: ${rep.text_tokens}.</p></section>`);

  S.push(`<section id="attention"><h2>Where the vision encoder's CLS token looks</h2>`);
  S.push(`<p>Each small map is the attention of the CLS token to the image patches of one crop (columns) in one vision layer (rows), averaged over the heads; bright = more attention, each map on its own scale (colour bar at the bottom).${hero ? ' Framed maps are the ones HERO reads: the high layers for the thumbnail (HERO-5), the low layers for the tiles (HERO-6); the last row shows their layer average, the score HERO ranks tokens by.' : ''}</p>`);
  S.push(`<img id="attention-img" src="${pngUri(images.attentionMaps)}" alt="CLS attention maps by vision layer (rows) and crop (columns)"></section>`);

  S.push(`<section id="efficiency"><h2>What it saves on the real Vicuna-7B</h2>`);
  S.push(`<p>Analytic cost of the language model's prefill at this run's token counts on the real Vicuna-7B (32 layers, d = 4096), whatever model ran here: FLOPs by HERO-7/8 (<code>docs/flops.md</code>), KV cache by HERO-KV (fp16).</p>`);
  S.push(table(['', 'before (all visual tokens)', 'after', 'ratio'], [
    ['tokens (visual + text)', String(v.tokens.full), String(v.tokens.pruned), `${num(v.tokens.full / v.tokens.pruned, 2)}×`],
    ['prefill TFLOPs <small>HERO-7/8</small>', num(v.prefill_tflops.full, 2), num(v.prefill_tflops.pruned, 2), `${num(v.prefill_tflops.ratio, 2)}×`],
    ['KV cache MiB <small>HERO-KV</small>', num(v.kv_cache_mib.full, 1), num(v.kv_cache_mib.pruned, 1), `${num(v.kv_cache_mib.full / v.kv_cache_mib.pruned, 2)}×`],
  ]));
  S.push('</section>');

  S.push(`<section id="timings"><h2>Wall time per stage (this machine)</h2>`);
  const total = Object.values(rep.timings_ms).reduce((a, b) => a + b, 0);
  S.push(table(['stage', 'ms', 'share'], Object.entries(rep.timings_ms).map(([k, ms]) => [escapeHtml(k), String(ms), `${total > 0 ? ((100 * ms) / total).toFixed(1) : '0.0'} %`])));
  S.push(`<p class="note">clip_relevance is HERO's extra CLIP pass (tiles and question); select excludes it.</p></section>`);

  S.push(`<section id="files"><h2>Files</h2>`);
  S.push(table(['output', 'path'], Object.entries(rep.outputs).map(([k, f]) => [escapeHtml(k), escapeHtml(f)]), 2));
  S.push('</section>');

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>hero-lvlm report: ${escapeHtml(rep.method)} on ${escapeHtml(rep.image.file)}</title>
<style>${STYLE}</style></head>
<body>
${S.join('\n')}
</body></html>
`;
}
