/**
 * Images in the browser: the picked file decoded by the browser (createImageBitmap, no colour-space
 * conversion, alpha not premultiplied) into the RgbImage the preprocessing takes, alpha dropped as
 * Pillow's convert("RGB") does (io/image.ts 'drop'). PNG decodes to the same bytes as sharp/Pillow; a
 * JPEG decoder may differ from Pillow's libjpeg by a level here and there (docs/page.md).
 */
import { HeroError } from '../core/errors';
import type { RgbImage } from '../core/image';
import { refusedFormat, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from '../io/image';

export async function decodeImage(name: string, bytes: Uint8Array): Promise<RgbImage> {
  const refused = refusedFormat(bytes);
  if (refused) throw new HeroError(`${name}: ${refused}`);
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new HeroError(`${name}: this browser cannot decode it as an image (PNG, JPEG, WebP, GIF, BMP)`);
  }
  const { width: W, height: H } = bmp;
  if (W * H > MAX_IMAGE_PIXELS || W > MAX_IMAGE_SIDE || H > MAX_IMAGE_SIDE) throw new HeroError(`${name}: ${W}×${H} is larger than the ${MAX_IMAGE_PIXELS} pixels / ${MAX_IMAGE_SIDE} px side allowed`);
  const canvas = new OffscreenCanvas(W, H);
  const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' })!;
  ctx.drawImage(bmp, 0, 0);
  const rgba = ctx.getImageData(0, 0, W, H, { colorSpace: 'srgb' }).data;
  const data = new Uint8Array(W * H * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) { data[j] = rgba[i]; data[j + 1] = rgba[i + 1]; data[j + 2] = rgba[i + 2]; }
  return { width: W, height: H, data };
}

/** An RgbImage onto a canvas (the overlay, the attention maps, the heatmaps: report/ renders RgbImages). */
export function drawRgb(canvas: HTMLCanvasElement, img: RgbImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d')!;
  const out = ctx.createImageData(img.width, img.height);
  for (let i = 0, j = 0; j < img.data.length; i += 4, j += 3) { out.data[i] = img.data[j]; out.data[i + 1] = img.data[j + 1]; out.data[i + 2] = img.data[j + 2]; out.data[i + 3] = 255; }
  ctx.putImageData(out, 0, 0);
}
