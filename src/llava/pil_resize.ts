/**
 * Pillow's BICUBIC resize for 8-bit RGB images, bit for bit. HF v4.45.1's image processor hands uint8 arrays
 * to `PIL.Image.resize((w, h), BICUBIC)`, so every pixel the model sees went through this resampler.
 * A port of our numpy re-derivation (spec/fixtures/generate/pil_resize_cases.py `resize_bicubic`), which is
 * checked bit-exact against Pillow;
 * here laid out the way Pillow runs it (libImaging/Resample.c): separable, horizontal pass first over only
 * the source rows the vertical pass will read, 22-bit fixed-point weights, uint8 clamp between the passes.
 */
import { check } from '../core/errors';
import type { RgbImage } from '../core/image';

/** Fixed-point fraction bits of the 8-bit path: 32 − 8 − 2. */
const PRECISION_BITS = 22;

/** Bicubic kernel with a = −0.5 (Pillow `bicubic_filter`), support 2. */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Per-output-pixel source windows and integer weights along one axis. */
interface Coeffs {
  /** first source index of output i */
  readonly first: Int32Array;
  /** number of source samples of output i */
  readonly count: Int32Array;
  /** weights, `ksize` slots per output (row-major) */
  readonly k: Int32Array;
  readonly ksize: number;
}

/**
 * Pillow `precompute_coeffs` + `normalize_coeffs_8bpc` for the whole-image box:
 *   scale = in/out, fs = max(scale, 1) (antialias when shrinking), support = 2·fs,
 *   centre_i = (i + ½)·scale, window [trunc(centre − support + ½) ∨ 0, trunc(centre + support + ½) ∧ in),
 *   w_j = bicubic((j − centre + ½)/fs) normalised to sum 1, k_j = trunc(w_j·2²² ± ½) (half away from zero).
 * @eq PIL-2
 * @mirrors python-pillow/Pillow@9.4.0 src/libImaging/Resample.c precompute_coeffs, normalize_coeffs_8bpc
 */
function coeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ss = 1 / filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize), count = new Int32Array(outSize), k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0); // C (int) cast truncates toward zero
    const xn = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let j = 0; j < xn; j++) {
      w[j] = bicubic((j + xmin - center + 0.5) * ss);
      sum += w[j];
    }
    for (let j = 0; j < xn; j++) {
      const v = sum !== 0 ? w[j] / sum : w[j];
      const f = v * (1 << PRECISION_BITS);
      k[i * ksize + j] = v < 0 ? Math.trunc(f - 0.5) : Math.trunc(f + 0.5);
    }
    first[i] = xmin;
    count[i] = xn;
  }
  return { first, count, k, ksize };
}

/** Pillow `clip8`: round-to-nearest is already in the accumulator's start value; shift and clamp. */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS; // |acc| < 2³¹ for 8-bit input and normalised weights
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Horizontal pass on source rows [y0, y0 + rows): [rows, inW, 3] → [rows, outW, 3]. */
function horizontal(src: Uint8Array, inW: number, y0: number, rows: number, outW: number): Uint8Array {
  const c = coeffs(inW, outW);
  const out = new Uint8Array(rows * outW * 3);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < rows; y++) {
    const row = (y0 + y) * inW;
    for (let x = 0; x < outW; x++) {
      const base = x * c.ksize, xmin = c.first[x], n = c.count[x];
      let r = half, g = half, b = half;
      for (let j = 0; j < n; j++) {
        const p = (row + xmin + j) * 3, kk = c.k[base + j];
        r += src[p] * kk; g += src[p + 1] * kk; b += src[p + 2] * kk;
      }
      const o = (y * outW + x) * 3;
      out[o] = clip8(r); out[o + 1] = clip8(g); out[o + 2] = clip8(b);
    }
  }
  return out;
}

/** Vertical pass with precomputed row windows, shifted by `yShift` source rows: [*, w, 3] → [outH, w, 3]. */
function vertical(src: Uint8Array, w: number, c: Coeffs, yShift: number, outH: number): Uint8Array {
  const out = new Uint8Array(outH * w * 3);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < outH; y++) {
    const base = y * c.ksize, ymin = c.first[y] - yShift, n = c.count[y];
    for (let x = 0; x < w; x++) {
      let r = half, g = half, b = half;
      for (let j = 0; j < n; j++) {
        const p = ((ymin + j) * w + x) * 3, kk = c.k[base + j];
        r += src[p] * kk; g += src[p + 1] * kk; b += src[p + 2] * kk;
      }
      const o = (y * w + x) * 3;
      out[o] = clip8(r); out[o + 1] = clip8(g); out[o + 2] = clip8(b);
    }
  }
  return out;
}

/**
 * Resizes to `width × height` exactly as Pillow's `Image.resize((width, height), BICUBIC)` on an RGB image:
 *   y = clip8(V · clip8(H · x)),  H, V the fixed-point coefficient matrices of PIL-2 (identity when that
 *   axis keeps its size); the horizontal pass runs only on the source rows V reads. Same size → a copy.
 * @eq PIL-1
 * @mirrors python-pillow/Pillow@9.4.0 src/libImaging/Resample.c ImagingResampleInner
 */
export function resizeBicubic(img: RgbImage, width: number, height: number): RgbImage {
  check(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0,
    `resizeBicubic: target size must be positive integers, got ${width}×${height}`);
  check(img.data.length === img.width * img.height * 3,
    `resizeBicubic: image data has ${img.data.length} bytes, expected ${img.width}×${img.height}×3`);
  const needH = width !== img.width, needV = height !== img.height;
  if (!needH && !needV) return { width, height, data: img.data.slice() };
  if (!needV) return { width, height, data: horizontal(img.data, img.width, 0, img.height, width) };
  const cv = coeffs(img.height, height);
  if (!needH) return { width, height, data: vertical(img.data, width, cv, 0, height) };
  // Source rows the vertical pass reads: from the first window's start to the last window's end.
  const y0 = cv.first[0], y1 = cv.first[height - 1] + cv.count[height - 1];
  const tmp = horizontal(img.data, img.width, y0, y1 - y0, width); // [y1−y0, width, 3]
  return { width, height, data: vertical(tmp, width, cv, y0, height) }; // [height, width, 3]
}
