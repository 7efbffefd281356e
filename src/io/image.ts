/**
 * Image files in and out. Decoding goes through `sharp` (libvips: PNG, JPEG, WebP, GIF, TIFF, …) and ends in
 * the one in-memory image type the preprocessing uses: 8-bit RGB, channels last, the array HF's
 * `LlavaNextImageProcessor` sees after `convert_to_rgb` + `to_numpy_array`.
 */
import * as fs from 'fs';
import sharp from 'sharp';
import { HeroError } from '../core/errors';
import type { RgbImage } from '../core/image';

export type { RgbImage } from '../core/image';

/**
 * Largest image readImage accepts, in pixels (width·height): 50 megapixels, i.e. 150 MB of RGB bytes before
 * any resize. @choice Pillow warns at ~89 MP and fails at twice that; we stop earlier because the JS
 * resampler works on whole images in memory.
 */
export const MAX_IMAGE_PIXELS = 50_000_000;

/** Largest side readImage accepts, in pixels (also checked for images under MAX_IMAGE_PIXELS). @choice */
export const MAX_IMAGE_SIDE = 32_768;

/**
 * What readImage does with an alpha channel (or palette / colour-key transparency):
 * 'drop' (default) — Pillow's `convert("RGB")`: alpha ignored, the stored colour of transparent pixels kept
 *   (HF transformers v4.45.1 `convert_to_rgb`, and the original LLaVA's `Image.open(f).convert('RGB')`);
 * 'composite-white' — alpha-composited onto opaque white (convert_to_rgb of transformers releases after
 *   v4.45.1): an explicit option, not the reference behaviour.
 */
export type AlphaMode = 'drop' | 'composite-white';
export const ALPHA_MODES: readonly AlphaMode[] = ['drop', 'composite-white'];

/**
 * SVG is refused, before anything decodes it: librsvg (behind libvips) follows an SVG's external references
 * (`<image xlink:href="file:///…">`, http URLs, XML entities), so an untrusted SVG could make us read local
 * files or the network. Pillow, which HF's processor and the original LLaVA read images with, cannot open SVG
 * at all, so no reference input is lost. @deviation docs/deviations.md
 */
export const SVG_REFUSED = 'SVG images are refused (their external references would be followed; HF/Pillow cannot read SVG either): convert it to PNG first';

/**
 * The refusal for bytes that are SVG (or gzip-compressed SVGZ, which librsvg unpacks), judged from the first
 * bytes: XML text starts with '<' after an optional BOM and whitespace, gzip with 1f 8b; no raster format starts
 * either way. Null for anything else.
 */
export function refusedFormat(bytes: Uint8Array): string | null {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return `${SVG_REFUSED} (a gzip file: SVGZ)`;
  let i = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) return SVG_REFUSED; // UTF-16 text
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return i < bytes.length && bytes[i] === 0x3c ? SVG_REFUSED : null;
}

export interface ReadImageOptions {
  /** overrides MAX_IMAGE_PIXELS (tests use a small value) */
  readonly maxPixels?: number;
  /** overrides MAX_IMAGE_SIDE */
  readonly maxSide?: number;
  /** transparency handling, default 'drop' (Pillow convert("RGB")) */
  readonly alpha?: AlphaMode;
}

/**
 * Composites one 8-bit RGBA pixel channel onto an opaque white background, in Pillow's integer arithmetic
 * for `Image.alpha_composite(white, rgba)` (libImaging/AlphaComposite.c, 7-bit fixed point). With an opaque
 * white destination the general formula reduces to
 *   coef1 = a·128,  coef2 = (255 − a)·128,  t = c·coef1 + 255·coef2 + (128 << 7),
 *   out = (((t >> 8) + t) >> 8) >> 7          (the "shift for divide by 255" rounding).
 * Used only with `alpha: 'composite-white'`; checked bit-exactly against Pillow 9.4 (images_alpha `*.white`).
 * @eq Img-2
 * @mirrors python-pillow/Pillow@9.4.0 src/PIL/Image.py alpha_composite (as called by convert_to_rgb of transformers releases after v4.45.1)
 */
export function compositeOnWhite(c: number, a: number): number {
  const coef1 = a * 128;
  const coef2 = (255 - a) * 128;
  const t = c * coef1 + 255 * coef2 + (0x80 << 7);
  return ((((t >> 8) + t) >> 8) >> 7);
}

/**
 * Pillow's CMYK → RGB (libImaging/Convert.c cmyk2rgb), per channel: nk = 255 − k,
 * out = clip8(nk − MULDIV255(c, nk)), MULDIV255(a, b) = ((t >> 8) + t) >> 8 with t = a·b + 128.
 * @eq Img-1
 * @mirrors python-pillow/Pillow@9.4.0 src/libImaging/Convert.c cmyk2rgb (Image.convert("RGB") from mode CMYK)
 */
export function cmykToRgb(c: number, k: number): number {
  const nk = 255 - k;
  const t = c * nk + 128;
  const v = nk - (((t >> 8) + t) >> 8);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** One-line error naming the file. */
function fail(file: string, why: string): never {
  throw new HeroError(`${file}: ${why}`);
}

/** How the decoded samples are laid out before the conversion to RGB (see pillowRgb). */
export type Layout = 'grey16' | 'grey16+alpha' | 'rgb8' | 'rgb16' | 'cmyk';

/**
 * Reads an image file as 8-bit RGB (HWC) with Pillow's `Image.open(f).convert("RGB")` semantics (HF
 * transformers v4.45.1 `convert_to_rgb`), mode by mode:
 *   L, 1, LA, grey + tRNS → R = G = B = L (alpha ignored)
 *   RGBA, RGB + tRNS      → R, G, B as stored (alpha ignored, transparent pixels keep their colour)
 *   P, P + tRNS           → the palette colour (palette transparency ignored)
 *   16-bit grey PNG       → Pillow opens it as mode I: min(v, 255)        (clipped, not scaled)
 *   16-bit grey + alpha, RGB, RGBA PNG → v >> 8                          (Pillow keeps the high byte)
 *   CMYK JPEG             → cmykToRgb (Pillow's formula; Adobe-inverted samples are un-inverted by both)
 * With `alpha: 'composite-white'` the RGB is then composited onto white with the (8-bit) alpha, as
 * `convert("RGBA")` + `alpha_composite` would (compositeOnWhite).
 * PNG and JPEG (baseline and progressive, 4:4:4 / 4:2:2 / 4:2:0 chroma, grey) decode to the same bytes as
 * Pillow 9.4 (spec/io/image.spec.ts): sharp's libjpeg-turbo runs with the same defaults as Pillow's
 * (islow IDCT, fancy chroma upsampling).
 * @eq Img-1
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/image_transforms.py convert_to_rgb (PIL Image.convert("RGB"), Pillow 9.4)
 * @choice The embedded ICC profile is ignored and EXIF orientation is not applied: Pillow's `Image.open` does
 * neither, and HF sees Pillow's pixels.
 * @deviation Formats other than PNG/JPEG (TIFF, WebP, GIF, …) are decoded by libvips; the modes above are
 * checked against Pillow on PNG and JPEG only.
 */
export async function readImage(file: string, opts: ReadImageOptions = {}): Promise<RgbImage> {
  const alphaMode = opts.alpha ?? 'drop';
  if (!ALPHA_MODES.includes(alphaMode)) throw new HeroError(`alpha: '${String(alphaMode)}' is not one of ${ALPHA_MODES.join(', ')}`);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(file, code === 'ENOENT' ? 'image file not found' : `cannot read image file (${code ?? (e as Error).message})`);
  }
  return decodeImage(bytes, file, opts);
}

/**
 * readImage on bytes already in memory (an image a parquet row or a TSV embeds): the same checks and the same
 * Pillow-exact conversion; `what` names the image in errors (e.g. `data.parquet#row3`).
 * @eq Img-1
 */
export async function readImageBytes(bytes: Uint8Array, what: string, opts: ReadImageOptions = {}): Promise<RgbImage> {
  return decodeImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), what, opts);
}

/** The decoding behind readImage and readImageBytes (`file` names the image in errors). */
async function decodeImage(bytes: Buffer, file: string, opts: ReadImageOptions): Promise<RgbImage> {
  const maxPixels = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  const maxSide = opts.maxSide ?? MAX_IMAGE_SIDE;
  const alphaMode = opts.alpha ?? 'drop';
  if (!ALPHA_MODES.includes(alphaMode)) throw new HeroError(`alpha: '${String(alphaMode)}' is not one of ${ALPHA_MODES.join(', ')}`);
  if (bytes.length === 0) fail(file, 'not an image (the file is empty)');
  const refused = refusedFormat(bytes);
  if (refused) fail(file, refused);

  // Header first, so an oversized image is refused before its pixels are decoded.
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false, ignoreIcc: true }).metadata();
  } catch (e) {
    fail(file, `not a readable image (${oneLine(e)})`);
  }
  if (meta.format === 'svg') fail(file, SVG_REFUSED); // a second guard, should the sniffing above miss a form
  const w = meta.width ?? 0, h = meta.height ?? 0;
  if (w <= 0 || h <= 0) fail(file, `image has no pixels (${w}×${h})`);
  if (w * h > maxPixels) fail(file, `image is ${w}×${h} = ${w * h} pixels, more than the limit of ${maxPixels}`);
  if (Math.max(w, h) > maxSide) fail(file, `image is ${w}×${h}, a side is longer than the limit of ${maxSide}`);

  // Raw samples in the file's own colour space and depth: no flattening, no premultiplying, no colour
  // management (libvips would otherwise turn CMYK into sRGB through a profile and scale 16 bits to 8).
  // 8-bit grey decodes as R = G = B (+ alpha) through libvips' exact band replication.
  const space = meta.space ?? 'srgb';
  const sixteen = meta.depth === 'ushort' && space !== 'cmyk';
  const layout: Layout = space === 'cmyk' ? 'cmyk'
    : space === 'grey16' ? (meta.hasAlpha ? 'grey16+alpha' : 'grey16')
      : sixteen ? 'rgb16' : 'rgb8';
  const colourspace = { cmyk: 'cmyk', grey16: 'grey16', 'grey16+alpha': 'grey16', rgb16: 'rgb16', rgb8: undefined }[layout];
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    let pipe = sharp(bytes, { limitInputPixels: false, ignoreIcc: true, failOn: 'error' });
    if (colourspace) pipe = pipe.pipelineColourspace(colourspace).toColourspace(colourspace);
    raw = await pipe
      .raw({ depth: sixteen ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    fail(file, `cannot decode image (${oneLine(e)})`);
  }
  const { width, height, channels } = raw.info;
  if (width !== w || height !== h) fail(file, `decoded size ${width}×${height} differs from the header's ${w}×${h}`);
  const n = width * height;
  const samples = sixteen
    ? new Uint16Array(raw.data.buffer.slice(raw.data.byteOffset, raw.data.byteOffset + raw.data.length)) // native (LE) order
    : raw.data;
  if (samples.length !== n * channels) fail(file, `decoded ${samples.length} samples, expected ${n}×${channels}`);
  const { rgb, alpha } = pillowRgb(samples, n, channels, layout, file);
  if (alphaMode === 'composite-white' && alpha) {
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[3 * i + c] = compositeOnWhite(rgb[3 * i + c], alpha[i]);
  }
  return { width, height, data: rgb };
}

/**
 * Interleaved decoded samples → Pillow's convert("RGB") bytes, and the 8-bit alpha (null when opaque) as
 * Pillow's convert("RGBA") would have it (16-bit alpha: the high byte).
 * @eq Img-1
 */
export function pillowRgb(src: ArrayLike<number>, n: number, channels: number, layout: Layout, file = 'image'):
  { rgb: Uint8Array; alpha: Uint8Array | null } {
  const rgb = new Uint8Array(n * 3);
  const wantColour = layout === 'rgb8' || layout === 'rgb16';
  const colourChannels = layout === 'cmyk' ? 4 : wantColour ? 3 : 1;
  if (channels !== colourChannels && channels !== colourChannels + 1) fail(file, `unsupported number of channels (${channels}) for ${layout}`);
  const hasAlpha = channels === colourChannels + 1 && layout !== 'cmyk';
  const alpha = hasAlpha ? new Uint8Array(n) : null;
  const to8 = (v: number): number => {
    switch (layout) {
      case 'grey16': return v > 255 ? 255 : v; // Pillow mode I → RGB clips
      case 'grey16+alpha': case 'rgb16': return v >> 8; // Pillow's ;16B unpackers keep the high byte
      default: return v;
    }
  };
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    if (layout === 'cmyk') {
      const k = src[s + 3];
      for (let c = 0; c < 3; c++) rgb[3 * i + c] = cmykToRgb(src[s + c], k);
    } else if (wantColour) {
      for (let c = 0; c < 3; c++) rgb[3 * i + c] = to8(src[s + c]);
    } else {
      rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = to8(src[s]);
    }
    if (alpha) alpha[i] = layout === 'rgb8' ? src[s + channels - 1] : src[s + channels - 1] >> 8;
  }
  return { rgb, alpha };
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
