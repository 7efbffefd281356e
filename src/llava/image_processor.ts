/**
 * LLaVA-NeXT image preprocessing, bit-exact with HF transformers v4.45.1 `LlavaNextImageProcessor` (the slow,
 * PIL path) for one RGB image. Data flow, each step exported so it can be checked on its own:
 *
 *   best = selectBestResolution((H, W), pinpoints)            AnyRes-1
 *   canvas = padForPatching(resizeForPatching(img, best))     bicubic fit, black padding (uint8 0)
 *   crops = [thumbnail(img), ...divideToPatches(canvas)]      thumbnail first, tiles row-major
 *   each crop: resizeShortestEdge → centerCrop → rescaleNormalize (Proc-1) → CHW
 *
 * v4.45.1 quirk, reproduced on purpose: `_pad_for_patching` pads floor(d/2) on *both* sides, so an odd
 * padding d leaves the canvas one pixel short, its edge tiles are smaller than the crop size, and the per-crop
 * resize + centre crop turns them back into S × S (see spec/fixtures/cases/llava_processor.json, odd_h31_w100).
 * The same happens when a pinpoint is not a multiple of the crop size (HF's processor test: crop 18, pinpoint
 * 672 = 37·18 + 6 → 38 tiles per side, the last 6 px wide; spec/fixtures/cases/llava_processor_partial).
 */
import { HeroError } from '../core/errors';
import { ConfigFields } from '../core/config_fields';
import type { RgbImage } from '../core/image';
import { resizeBicubic } from './pil_resize';
import { selectBestResolution, getPatchOutputSize, type Hw } from './anyres';

/**
 * preprocessor_config.json (HF `LlavaNextImageProcessor`, v4.45.1), the fields we use, verbatim. Each field:
 * what it means; the HF default ("required" where we refuse a file without it); the value of
 * llava-hf/llava-v1.6-vicuna-7b-hf, "7B:".
 */
export interface ImageProcessorConfig {
  /** side of each crop fed to the vision tower (square only). HF 224×224, required; 7B: 336×336 */
  readonly crop_size: { readonly height: number; readonly width: number };
  /** per-crop resize target of the shorter side (≥ crop). HF 224, required; 7B: 336 */
  readonly size: { readonly shortest_edge: number };
  /** the (h, w) canvases AnyRes may pick. HF the five 336-multiples, required; 7B: [[336,672],[672,336],[672,672],[1008,336],[336,1008]] */
  readonly image_grid_pinpoints: ReadonlyArray<readonly [number, number]>; /* (h, w) */
  /** per-channel mean subtracted after rescaling. HF OpenAI CLIP's, required; 7B: [0.48145466, 0.4578275, 0.40821073] */
  readonly image_mean: readonly [number, number, number];
  /** per-channel std divided by (no 0). HF OpenAI CLIP's, required; 7B: [0.26862954, 0.26130258, 0.27577711] */
  readonly image_std: readonly [number, number, number];
  /** uint8 → [0, 1] factor. HF 1/255, required; 7B: 0.00392156862745098 */
  readonly rescale_factor: number;
  /** PIL resampling filter id; only 3 (BICUBIC) is supported. HF 3, required; 7B: 3 */
  readonly resample: number;
  /** resize each crop's shorter side to size.shortest_edge (must be true). HF true; 7B: true */
  readonly do_resize: boolean;
  /** centre-crop each crop to crop_size (must be true). HF true; 7B: true */
  readonly do_center_crop: boolean;
  /** multiply by rescale_factor. HF true; 7B: true */
  readonly do_rescale: boolean;
  /** subtract image_mean, divide by image_std. HF true; 7B: true */
  readonly do_normalize: boolean;
  /** pad the resized image to the pinpoint canvas. HF true; 7B: true */
  readonly do_pad: boolean;
  /** convert to RGB first. HF true; 7B: true */
  readonly do_convert_rgb: boolean;
}

/** Checks a config object; `where` names the file or argument in the one-line error. */
export function validateImageProcessorConfig(raw: unknown, where: string): ImageProcessorConfig {
  if (typeof raw !== 'object' || raw === null) throw new HeroError(`${where}: not a JSON object`);
  const c = raw as Record<string, unknown>;
  const f = new ConfigFields(c, where);
  const bad = (why: string): never => f.bad(why);
  const posInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
  const crop = c.crop_size as Record<string, unknown> | undefined;
  if (!crop || !posInt(crop.height) || !posInt(crop.width)) bad('crop_size must be {height, width} positive integers');
  if (crop!.height !== crop!.width) bad(`crop_size must be square, got ${crop!.height}×${crop!.width}`);
  const size = c.size as Record<string, unknown> | undefined;
  if (!size || !posInt(size.shortest_edge)) bad('size.shortest_edge must be a positive integer');
  if ((size!.shortest_edge as number) < (crop!.height as number)) {
    bad(`size.shortest_edge (${size!.shortest_edge}) smaller than crop_size (${crop!.height}) is not supported`);
  }
  const pins = c.image_grid_pinpoints;
  if (!Array.isArray(pins) || pins.length === 0 ||
    !pins.every((p) => Array.isArray(p) && p.length === 2 && posInt(p[0]) && posInt(p[1]))) {
    bad('image_grid_pinpoints must be a non-empty list of [height, width] positive integers');
  }
  // Pinpoints need not be multiples of the crop size here: v4.45.1's divide_to_patches then keeps the partial
  // edge tiles (HF's own processor test does that). The *model* cannot pack such a grid (loadLlavaNext refuses).
  for (const k of ['image_mean', 'image_std'] as const) {
    const v = c[k];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      bad(`${k} must be a list of 3 numbers`);
    }
  }
  if (!(c.image_std as number[]).every((x) => x !== 0)) bad('image_std must not contain 0');
  if (typeof c.rescale_factor !== 'number' || !Number.isFinite(c.rescale_factor)) bad('rescale_factor must be a number');
  if (c.resample !== 3) bad(`resample = ${JSON.stringify(c.resample)} is not supported (only 3 = bicubic)`);
  const flags = ['do_resize', 'do_center_crop', 'do_rescale', 'do_normalize', 'do_pad', 'do_convert_rgb'] as const;
  const out: Record<string, boolean> = {};
  for (const f of flags) {
    const v = c[f] ?? true; // HF's defaults are all true
    if (typeof v !== 'boolean') bad(`${f} must be true or false`);
    out[f] = v as boolean;
  }
  // Without the per-crop resize and centre crop, odd-padding tiles would not be S × S (HF fails to stack them).
  if (!out.do_resize || !out.do_center_crop) bad('do_resize and do_center_crop must be true');
  return {
    crop_size: { height: crop!.height as number, width: crop!.width as number },
    size: { shortest_edge: size!.shortest_edge as number },
    image_grid_pinpoints: (pins as number[][]).map((p) => [p[0], p[1]] as const),
    image_mean: c.image_mean as [number, number, number],
    image_std: c.image_std as [number, number, number],
    rescale_factor: c.rescale_factor as number,
    resample: 3,
    do_resize: out.do_resize, do_center_crop: out.do_center_crop, do_rescale: out.do_rescale,
    do_normalize: out.do_normalize, do_pad: out.do_pad, do_convert_rgb: out.do_convert_rgb,
  };
}

/** One preprocessed image: `pixelValues` is [P, 3, S, S] float32, thumbnail first then tiles row-major. */
export interface ProcessedImage {
  readonly pixelValues: Float32Array;
  readonly shape: [number, number, number, number]; /* [P, 3, S, S] */
  readonly imageSize: [number, number]; /* (H, W) */
  readonly bestResolution: [number, number]; /* (h, w) */
  readonly grid: [number, number]; /* (rows, cols) */
}

/** Pixels of padding on each side of an image. */
export interface Padding { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number }

/**
 * How the resized image is centred on the pinpoint canvas:
 * 'v4.45.1' pads floor(d/2) on both sides (the canvas is one pixel short when d is odd);
 * 'centered' pads (floor(d/2), d − floor(d/2)) as transformers ≥ 4.46 and the original LLaVA do.
 */
export type PadMode = 'v4.45.1' | 'centered';

/**
 * Resize for patching: bicubic fit of the image into `target` (h, w) with getPatchOutputSize (AnyRes-1).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/image_processing_llava_next.py _resize_for_patching
 */
export function resizeForPatching(img: RgbImage, target: Hw): RgbImage {
  const [nh, nw] = getPatchOutputSize([img.height, img.width], target);
  return resizeBicubic(img, nw, nh); // [nh, nw, 3]
}

/**
 * Padding that centres a (nh, nw) image on a (th, tw) canvas: d = th − nh, top = ⌊d/2⌋,
 * bottom = ⌊d/2⌋ ('v4.45.1') or d − ⌊d/2⌋ ('centered'); the same for columns.
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/image_processing_llava_next.py _pad_for_patching
 */
export function patchingPadding(resized: Hw, target: Hw, mode: PadMode = 'v4.45.1'): Padding {
  const dy = target[0] - resized[0], dx = target[1] - resized[1];
  const top = Math.floor(dy / 2), left = Math.floor(dx / 2);
  return mode === 'v4.45.1'
    ? { top, bottom: top, left, right: left }
    : { top, bottom: dy - top, left, right: dx - left };
}

/** Pads with black (uint8 0, before normalisation). */
export function padImage(img: RgbImage, pad: Padding): RgbImage {
  const width = img.width + pad.left + pad.right, height = img.height + pad.top + pad.bottom;
  const data = new Uint8Array(width * height * 3); // zeros = black
  for (let y = 0; y < img.height; y++) {
    data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + pad.top) * width + pad.left) * 3);
  }
  return { width, height, data }; // [height + top + bottom, width + left + right, 3]
}

/** Resize for patching, then pad to the target canvas. */
export function padForPatching(resized: RgbImage, target: Hw, mode: PadMode = 'v4.45.1'): RgbImage {
  return padImage(resized, patchingPadding([resized.height, resized.width], target, mode));
}

/** Copies the window [top, top + h) × [left, left + w), clipped to the image. */
export function cropImage(img: RgbImage, top: number, left: number, h: number, w: number): RgbImage {
  const height = Math.min(h, img.height - top), width = Math.min(w, img.width - left);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const s = ((top + y) * img.width + left) * 3;
    data.set(img.data.subarray(s, s + width * 3), y * width * 3);
  }
  return { width, height, data }; // [height, width, 3]
}

/**
 * Cuts the canvas into tile × tile pieces row-major (outer loop over rows); pieces at the bottom/right edge
 * are smaller when the canvas is not a multiple of the tile (v4.45.1 odd padding).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/image_processing_llava_next.py divide_to_patches
 */
export function divideToPatches(img: RgbImage, tile: number): RgbImage[] {
  const out: RgbImage[] = [];
  for (let i = 0; i < img.height; i += tile) {
    for (let j = 0; j < img.width; j += tile) out.push(cropImage(img, i, j, tile, tile));
  }
  return out;
}

/**
 * (rows, cols) of the tiles divideToPatches cuts from an (h, w) canvas: ⌈h/tile⌉ × ⌈w/tile⌉, partial edge
 * tiles included. Equals (best_h // tile, best_w // tile) — the model's anyresGridShape — whenever the
 * pinpoints are multiples of the tile (the canvas is then at most one pixel short, v4.45.1 odd padding).
 */
export function tileGrid(canvas: Hw, tile: number): [number, number] {
  return [Math.ceil(canvas[0] / tile), Math.ceil(canvas[1] / tile)];
}

/**
 * Thumbnail: the original image squashed to edge × edge (aspect ratio not kept).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/image_processing_llava_next.py get_image_patches (resized_original_image)
 */
export function thumbnail(img: RgbImage, edge: number): RgbImage {
  return resizeBicubic(img, edge, edge); // [edge, edge, 3]
}

/**
 * Resize so the shorter side is `edge`: new_long = trunc(edge · long / short) (a width ≤ height image counts
 * its width as the short side). Same size → copy.
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/image_transforms.py get_resize_output_image_size (default_to_square=False)
 */
export function resizeShortestEdge(img: RgbImage, edge: number): RgbImage {
  const { width: w, height: h } = img;
  const [short, long] = w <= h ? [w, h] : [h, w];
  const newLong = Math.trunc((edge * long) / short);
  return w <= h ? resizeBicubic(img, edge, newLong) : resizeBicubic(img, newLong, edge);
}

/**
 * Centre crop to h × w: top = ⌊(H − h)/2⌋, left = ⌊(W − w)/2⌋. The image must be at least h × w
 * (guaranteed after resizeShortestEdge with edge ≥ crop size).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/image_transforms.py center_crop
 */
export function centerCrop(img: RgbImage, h: number, w: number): RgbImage {
  if (img.height < h || img.width < w) throw new Error(`centerCrop: ${img.height}×${img.width} is smaller than ${h}×${w}`);
  return cropImage(img, Math.floor((img.height - h) / 2), Math.floor((img.width - w) / 2), h, w);
}

/**
 * The 1 + K uint8 crops, thumbnail first, each already resized + centre-cropped to S × S.
 * Returned with the geometry that produced them.
 */
export function cropsForPatching(img: RgbImage, cfg: ImageProcessorConfig, mode: PadMode = 'v4.45.1'):
  { crops: RgbImage[]; bestResolution: [number, number]; grid: [number, number]; resized: [number, number]; padding: Padding } {
  const tile = cfg.crop_size.height;
  const best = selectBestResolution([img.height, img.width], cfg.image_grid_pinpoints);
  const resized = resizeForPatching(img, best);
  const padding = patchingPadding([resized.height, resized.width], best, mode);
  const tiles = divideToPatches(padImage(resized, padding), tile);
  const perCrop = (c: RgbImage): RgbImage =>
    centerCrop(resizeShortestEdge(c, cfg.size.shortest_edge), cfg.crop_size.height, cfg.crop_size.width);
  return {
    crops: [thumbnail(img, cfg.size.shortest_edge), ...tiles].map(perCrop),
    bestResolution: best,
    grid: tileGrid([resized.height + padding.top + padding.bottom, resized.width + padding.left + padding.right], tile),
    resized: [resized.height, resized.width],
    padding,
  };
}

/**
 * Rescale and normalise one crop into `out` at `offset`, channels first ([3, S, S]), with numpy's float32
 * steps: x = f32(u8 · rescale_factor) (the product in float64), y = f32(f32(x − f32(mean_c)) / f32(std_c)).
 * JS computes each step in float64 and Math.fround rounds it; a float64 result of one float32 − or ÷ rounded
 * to float32 equals the float32 operation.
 * @eq Proc-1
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/image_transforms.py rescale, normalize (via LlavaNextImageProcessor._preprocess)
 */
export function rescaleNormalize(img: RgbImage, cfg: ImageProcessorConfig, out: Float32Array, offset = 0): void {
  const n = img.width * img.height;
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(cfg.image_mean[c]), std = Math.fround(cfg.image_std[c]);
    const dst = offset + c * n;
    for (let i = 0; i < n; i++) {
      let x = img.data[3 * i + c];
      if (cfg.do_rescale) x = Math.fround(x * cfg.rescale_factor);
      if (cfg.do_normalize) x = Math.fround(Math.fround(x - mean) / std);
      out[dst + i] = x;
    }
  }
}

/**
 * The full v4.45.1 pipeline for one image → pixel_values [P, 3, S, S] (P = 1 + rows·cols).
 * `opts.padding = 'centered'` gives the newer transformers' padding instead (for comparison only).
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/image_processing_llava_next.py LlavaNextImageProcessor.preprocess
 */
export function preprocess(img: RgbImage, cfg: ImageProcessorConfig, opts: { padding?: PadMode } = {}): ProcessedImage {
  if (img.width <= 0 || img.height <= 0 || img.data.length !== img.width * img.height * 3) {
    throw new HeroError(`preprocess: image must be non-empty RGB (${img.width}×${img.height}, ${img.data.length} bytes)`);
  }
  const { crops, bestResolution, grid } = cropsForPatching(img, cfg, opts.padding ?? 'v4.45.1');
  const S = cfg.crop_size.height;
  const pixelValues = new Float32Array(crops.length * 3 * S * S);
  crops.forEach((c, p) => rescaleNormalize(c, cfg, pixelValues, p * 3 * S * S)); // [P, 3, S, S]
  return { pixelValues, shape: [crops.length, 3, S, S], imageSize: [img.height, img.width], bestResolution, grid };
}
