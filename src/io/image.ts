/**
 * Image files in and out. Decoding goes through `sharp` (libvips: PNG, JPEG, WebP, GIF, TIFF, …) and ends in
 * the one in-memory image type the preprocessing uses: 8-bit RGB, channels last, the array HF's
 * `LlavaNextImageProcessor` sees after `convert_to_rgb` + `to_numpy_array`.
 */
import * as fs from 'fs';
import sharp from 'sharp';
import { HeroError } from '../core/errors';

/** An 8-bit RGB image, rows top to bottom, `data[(y·width + x)·3 + c]` (HWC). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array; /* H·W·3, HWC, RGB */
}

/**
 * Largest image readImage accepts, in pixels (width·height): 50 megapixels, i.e. 150 MB of RGB bytes before
 * any resize. @choice Pillow warns at ~89 MP and fails at twice that; we stop earlier because the JS
 * resampler works on whole images in memory.
 */
export const MAX_IMAGE_PIXELS = 50_000_000;

/** Largest side readImage accepts, in pixels (also checked for images under MAX_IMAGE_PIXELS). @choice */
export const MAX_IMAGE_SIDE = 32_768;

export interface ReadImageOptions {
  /** overrides MAX_IMAGE_PIXELS (tests use a small value) */
  readonly maxPixels?: number;
  /** overrides MAX_IMAGE_SIDE */
  readonly maxSide?: number;
}

/**
 * Composites one 8-bit RGBA pixel channel onto an opaque white background, in Pillow's integer arithmetic
 * for `Image.alpha_composite(white, rgba)` (libImaging/AlphaComposite.c, 7-bit fixed point). With an opaque
 * white destination the general formula reduces to
 *   coef1 = a·128,  coef2 = (255 − a)·128,  t = c·coef1 + 255·coef2 + (128 << 7),
 *   out = (((t >> 8) + t) >> 8) >> 7          (the "shift for divide by 255" rounding).
 * @eq Img-1
 * @mirrors hf-4.45.1 image_transforms.py convert_to_rgb (RGBA → alpha-composite on white → RGB)
 * @choice Pillow's C source was not available to test against; the formula above is our reading of it and
 * gives 255 at a = 0, c at a = 255 and the rounded linear blend in between.
 */
export function compositeOnWhite(c: number, a: number): number {
  const coef1 = a * 128;
  const coef2 = (255 - a) * 128;
  const t = c * coef1 + 255 * coef2 + (0x80 << 7);
  return ((((t >> 8) + t) >> 8) >> 7);
}

/** One-line error naming the file. */
function fail(file: string, why: string): never {
  throw new HeroError(`${file}: ${why}`);
}

/**
 * Reads an image file as 8-bit RGB (HWC). Grey is replicated to R = G = B; an alpha channel is composited onto
 * white with compositeOnWhite (HF `convert_to_rgb`); opaque RGB is returned unchanged.
 * PNG and JPEG (baseline and progressive, 4:4:4 / 4:2:2 / 4:2:0 chroma, grey) decode to the same bytes as
 * Pillow 9.4 (spec/io/image.spec.ts): sharp's libjpeg-turbo runs with the same defaults as Pillow's
 * (islow IDCT, fancy chroma upsampling).
 * @choice The embedded ICC profile is ignored and EXIF orientation is not applied: Pillow's `Image.open` does
 * neither, and HF sees Pillow's pixels.
 * @deviation 16-bit PNG/TIFF input is reduced to 8 bits by libvips (scaled, ≈ v >> 8); Pillow keeps 16-bit
 * grey as mode "I;16" and clips it when converting. Such files are rare for VQA inputs.
 * @deviation CMYK input is converted by libvips; Pillow's CMYK → RGB formula is different.
 */
export async function readImage(file: string, opts: ReadImageOptions = {}): Promise<RgbImage> {
  const maxPixels = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  const maxSide = opts.maxSide ?? MAX_IMAGE_SIDE;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(file, code === 'ENOENT' ? 'image file not found' : `cannot read image file (${code ?? (e as Error).message})`);
  }
  if (bytes.length === 0) fail(file, 'not an image (the file is empty)');

  // Header first, so an oversized image is refused before its pixels are decoded.
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false, ignoreIcc: true }).metadata();
  } catch (e) {
    fail(file, `not a readable image (${oneLine(e)})`);
  }
  const w = meta.width ?? 0, h = meta.height ?? 0;
  if (w <= 0 || h <= 0) fail(file, `image has no pixels (${w}×${h})`);
  if (w * h > maxPixels) fail(file, `image is ${w}×${h} = ${w * h} pixels, more than the limit of ${maxPixels}`);
  if (Math.max(w, h) > maxSide) fail(file, `image is ${w}×${h}, a side is longer than the limit of ${maxSide}`);

  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await sharp(bytes, { limitInputPixels: false, ignoreIcc: true, failOn: 'error' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    fail(file, `cannot decode image (${oneLine(e)})`);
  }
  const { width, height, channels } = raw.info;
  if (width !== w || height !== h) fail(file, `decoded size ${width}×${height} differs from the header's ${w}×${h}`);
  return { width, height, data: toRgb(raw.data, width * height, channels, file) };
}

/** Grey / grey+alpha / RGB / RGBA interleaved bytes → RGB, alpha composited onto white. */
function toRgb(src: Uint8Array, n: number, channels: number, file: string): Uint8Array {
  const out = new Uint8Array(n * 3);
  switch (channels) {
    case 3:
      out.set(src.subarray(0, n * 3));
      break;
    case 1:
      for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = src[i];
      break;
    case 2:
      for (let i = 0; i < n; i++) {
        const v = compositeOnWhite(src[2 * i], src[2 * i + 1]);
        out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = v;
      }
      break;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = src[4 * i + 3];
        for (let c = 0; c < 3; c++) out[3 * i + c] = compositeOnWhite(src[4 * i + c], a);
      }
      break;
    default:
      fail(file, `unsupported number of channels (${channels})`);
  }
  return out;
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].trim();
}

/** Encodes an RGB image as PNG bytes (`what` names it in errors). */
export async function encodePng(img: RgbImage, what = 'image'): Promise<Buffer> {
  if (img.data.length !== img.width * img.height * 3) {
    throw new HeroError(`${what}: image data has ${img.data.length} bytes, expected ${img.width}×${img.height}×3`);
  }
  try {
    return await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length),
      { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
  } catch (e) {
    throw new HeroError(`${what}: cannot encode PNG (${oneLine(e)})`);
  }
}

/** Writes an RGB image as PNG (reports and debugging). */
export async function writePng(file: string, img: RgbImage): Promise<void> {
  const bytes = await encodePng(img, file);
  try {
    fs.writeFileSync(file, bytes);
  } catch (e) {
    throw new HeroError(`${file}: cannot write PNG (${oneLine(e)})`);
  }
}
