/**
 * Per-layer CLS attention maps (paper Fig. 2 / 8–11 style): one G×G heat map per (layer, crop), rows =
 * vision layers, columns = crops (thumbnail first), each normalised to its own min–max.
 */
import type { RgbImage } from '../io/image';

/** A perceptual dark-blue → yellow ramp (viridis-like), t ∈ [0, 1]. */
export function heat(t: number): [number, number, number] {
  const stops: Array<[number, number, number]> = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(x)), f = x - k;
  return [0, 1, 2].map((c) => Math.round(stops[k][c] + f * (stops[k + 1][c] - stops[k][c]))) as [number, number, number];
}

/**
 * @param maps per layer, the head-mean CLS→patch attention [P·N] (crop-major, raster order)
 * @param cell pixels per map side
 */
export function renderAttentionMaps(maps: ReadonlyArray<{ layer: number; maps: Float32Array }>, P: number, G: number, cell = 48, gap = 4): RgbImage {
  const rows = maps.length;
  const W = P * cell + (P + 1) * gap, H = rows * cell + (rows + 1) * gap;
  const data = new Uint8Array(W * H * 3).fill(255);
  maps.forEach(({ maps: m }, r) => {
    for (let p = 0; p < P; p++) {
      const v = m.subarray(p * G * G, (p + 1) * G * G);
      let lo = Infinity, hi = -Infinity;
      for (const x of v) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
      const y0 = gap + r * (cell + gap), x0 = gap + p * (cell + gap);
      for (let y = 0; y < cell; y++) {
        for (let x = 0; x < cell; x++) {
          const t = hi > lo ? (v[Math.floor((y * G) / cell) * G + Math.floor((x * G) / cell)] - lo) / (hi - lo) : 0;
          data.set(heat(t), ((y0 + y) * W + x0 + x) * 3);
        }
      }
    }
  });
  return { width: W, height: H, data };
}
