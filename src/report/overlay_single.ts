/**
 * The overlay of a one-crop model (LLaVA-1.5, src/llava/llava15.ts): the original image with each dropped
 * token of the crop tinted red where that token lies, through the processor's geometry ('crop': shorter
 * side to S and centre crop, so the cut-off sides are greyed; 'pad': the image centred on a square, so the
 * tokens over the padding are not drawn). Labels as in overlay.ts.
 */
import type { RgbImage } from '../io/image';
import { CELL_H } from './font';
import { BLACK, GREY, blank, blit, drawText, fillRect, legendItem, textWidth } from './draw';
import { tint, type Rect } from './overlay';
import type { ImageAspect } from '../llava/llava15';

/**
 * Where token (i, j) of the G×G crop lies in the original H×W image, or null when it lies on padding.
 * 'crop': the shorter side s is resized to S and the longer to ⌊S·l/s⌋, the S×S window starts at ⌊(⌊S·l/s⌋ − S)/2⌋;
 * 'pad': the square of side max(H, W) is resized to S, the image sits at ⌊(side − H)/2⌋, ⌊(side − W)/2⌋.
 */
export function cropTokenRect(i: number, j: number, G: number, S: number, imageSize: readonly [number, number], aspect: ImageAspect): Rect | null {
  const [H, W] = imageSize;
  const p = S / G;
  if (aspect === 'pad') {
    const side = Math.max(H, W), top = Math.floor((side - H) / 2), left = Math.floor((side - W) / 2);
    const f = side / S;
    const y0 = Math.max(0, Math.floor(i * p * f) - top), y1 = Math.min(H, Math.ceil((i + 1) * p * f) - top);
    const x0 = Math.max(0, Math.floor(j * p * f) - left), x1 = Math.min(W, Math.ceil((j + 1) * p * f) - left);
    return y1 > y0 && x1 > x0 ? { y0, y1, x0, x1 } : null;
  }
  const wide = W > H;
  const [short, long] = wide ? [H, W] : [W, H];
  const newLong = Math.trunc((S * long) / short), off = Math.floor((newLong - S) / 2);
  const along = (k: number): [number, number] => [Math.floor(((off + k * p) * long) / newLong), Math.ceil(((off + (k + 1) * p) * long) / newLong)];
  const across = (k: number): [number, number] => [Math.floor((k * p * short) / S), Math.ceil(((k + 1) * p * short) / S)];
  const [y0, y1] = wide ? across(i) : along(i), [x0, x1] = wide ? along(j) : across(j);
  return { y0, y1: Math.min(H, y1), x0, x1: Math.min(W, x1) };
}

/** The labelled one-crop overlay; `keep` is the crop's [N] mask. */
export function renderSingleCropOverlay(img: RgbImage, keep: Uint8Array, G: number, S: number, aspect: ImageAspect,
  title = 'Visual tokens kept'): RgbImage {
  const { width: W, height: H } = img;
  const panel = Uint8Array.from(img.data);
  // Per pixel: 0 outside the crop, 1 under a dropped token, 2 under a kept one (kept wins where rounded rects overlap).
  const state = new Uint8Array(W * H);
  for (const pass of [0, 1] as const) {
    for (let i = 0; i < G; i++) {
      for (let j = 0; j < G; j++) {
        const r = cropTokenRect(i, j, G, S, [H, W], aspect);
        if (!r || (keep[i * G + j] ? 1 : 0) !== pass) continue;
        for (let y = r.y0; y < r.y1; y++) state.fill(pass + 1, y * W + r.x0, y * W + r.x1);
      }
    }
  }
  for (let k = 0; k < W * H; k++) {
    if (state[k] === 1) tint(panel, W, { y0: Math.floor(k / W), y1: Math.floor(k / W) + 1, x0: k % W, x1: (k % W) + 1 });
    // what the processor cut off ('crop'): greyed
    if (state[k] === 0) for (let c = 0; c < 3; c++) panel[3 * k + c] = Math.round(0.3 * panel[3 * k + c] + 0.7 * 200);
  }
  const scale = Math.max(1, Math.ceil(360 / Math.max(W, H)));
  const sc = 2, lineH = CELL_H * sc + 4, m = 16;
  const kept = keep.reduce((a, b) => a + b, 0);
  const note = aspect === 'pad'
    ? `one ${S}x${S} crop of the image padded to a square (${G}x${G} tokens): ${kept} of ${G * G} kept`
    : `one ${S}x${S} centre crop (${G}x${G} tokens; grey: cut off by the processor): ${kept} of ${G * G} kept`;
  const legend = ['dropped token (red: not given to the LLM)', 'outside the crop'];
  const outW = 2 * m + Math.max(W * scale, textWidth(title, sc), textWidth(note, sc), textWidth(legend.join('    '), sc) + 80);
  const py = m + 2 * lineH, legendY = py + H * scale + 8, outH = legendY + lineH + m;
  const out = blank(outW, outH);
  drawText(out, m, m, title, BLACK, sc);
  drawText(out, m, m + lineH, note, GREY, sc);
  blit(out, { width: W, height: H, data: panel }, m, py, scale);
  let lx = m;
  lx += legendItem(out, lx, legendY, legend[0], (x, y, s) => { fillRect(out, x, y, s, s, [190, 190, 190]); tint(out.data, out.width, { y0: y, y1: y + s, x0: x, x1: x + s }); }, sc) + 24;
  legendItem(out, lx, legendY, legend[1], (x, y, s) => fillRect(out, x, y, s, s, [200, 200, 200]), sc);
  return out;
}
