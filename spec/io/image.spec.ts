import * as fs from 'fs';
import * as zlib from 'zlib';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { readImage, readImageBytes, writePng, compositeOnWhite, cmykToRgb, MAX_IMAGE_PIXELS, type RgbImage } from '../../src/io/image';
import { preprocess } from '../../src/llava/image_processor';
import { expectCloseAsync } from '../util/close';
import { TOL } from '../util/tolerances';
import { HeroError } from '../../src/core/errors';
import { FIXTURES, GOLDEN_BACKENDS, imagePath, loadCase, modelDir, useBackend } from '../util/fixtures';
import { loadImageProcessorConfig } from '../../src/llava/load';
import { expectRefusedAsync } from '../util/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-img-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const IMAGES = ['wide_h30_w100', 'tall_h160_w30', 'square_h70_w80', 'odd_h31_w100'];

describe('io.readImage decodes the golden PNGs exactly as PIL (pil_resize <img>.original)', () => {
  it.each(IMAGES)('%s', async (name) => {
    const c = loadCase('pil_resize');
    const [h, w] = c.shape(`${name}.original`);
    const img = await readImage(imagePath(name));
    expect([img.height, img.width]).toEqual([h, w]);
    expect(Buffer.from(img.data).equals(Buffer.from(Uint8Array.from(c.numbers(`${name}.original`))))).toBe(true);
  });
});

describe('io.readImage decodes JPEG exactly as Pillow 9.4 (pil_jpeg: baseline 4:2:0 / 4:2:2 / 4:4:4, progressive 4:2:0, grey)', () => {
  // Pillow and sharp both decode with libjpeg-turbo's defaults (islow IDCT, fancy upsampling): measured
  // equal to the last byte. A decode rounding its colour conversion differently is one level off in ~45 %
  // of the values (ycbcr_draft_gap in pil_jpeg.json), so exact equality is the test.
  const c = loadCase('pil_jpeg');
  it.each(Object.keys(c.json.images as Record<string, unknown>))('%s', async (stem) => {
    const info = c.json.images[stem] as { file: string; size_hw: [number, number] };
    const img = await readImage(path.join(FIXTURES, info.file));
    expect([img.height, img.width]).toEqual(c.shape(`${stem}.rgb`).slice(0, 2));
    expect([img.height, img.width]).toEqual(info.size_hw);
    expect(Buffer.from(img.data).equals(Buffer.from(Uint8Array.from(c.numbers(`${stem}.rgb`))))).toBe(true);
  });
});

describe('io.readImageBytes (parquet and TSV images) = readImage on the same bytes, Pillow-exact', () => {
  it('golden PNGs and JPEGs give the Pillow bytes; bad bytes are refused naming the image', async () => {
    const c = loadCase('pil_resize');
    for (const name of IMAGES) {
      const img = await readImageBytes(new Uint8Array(fs.readFileSync(imagePath(name))), `${name}#row0`);
      expect(Buffer.from(img.data).equals(Buffer.from(Uint8Array.from(c.numbers(`${name}.original`))))).toBe(true);
    }
    const j = loadCase('pil_jpeg');
    for (const stem of Object.keys(j.json.images as Record<string, unknown>)) {
      const info = j.json.images[stem] as { file: string };
      const img = await readImageBytes(fs.readFileSync(path.join(FIXTURES, info.file)), stem);
      expect(Buffer.from(img.data).equals(Buffer.from(Uint8Array.from(j.numbers(`${stem}.rgb`))))).toBe(true);
    }
    await expect(readImageBytes(new Uint8Array([1, 2, 3]), 'd.parquet#row7')).rejects.toThrow(/^d\.parquet#row7: not a readable image/);
    await expect(readImageBytes(new Uint8Array(0), 'd.parquet#row8')).rejects.toThrow(/d\.parquet#row8: not an image/);
  });
});

/** Writes raw interleaved pixels with `channels` channels as a PNG. */
async function png(name: string, w: number, h: number, channels: 1 | 2 | 3 | 4, px: number[]): Promise<string> {
  const f = path.join(tmp, name);
  await sharp(Buffer.from(px), { raw: { width: w, height: h, channels } }).png().toFile(f);
  return f;
}

const alphaCase = loadCase('images_alpha');
const ALPHA_FILES = alphaCase.json.files as Record<string, string>;
const ALPHA_NAMES = Object.keys(ALPHA_FILES).sort();
const alphaFile = (name: string): string => path.join(FIXTURES, ALPHA_FILES[name]);
const bytesOf = (img: RgbImage): number[] => Array.from(img.data);

describe('Img-1 · readImage = Pillow 9.4 Image.open(f).convert("RGB") for every mode (cases/images_alpha)', () => {
  it('covers the modes the issue names', () => {
    expect(new Set(Object.values(alphaCase.json.pil_mode as Record<string, string>)))
      .toEqual(new Set(['RGBA', 'LA', 'L', '1', 'P', 'I', 'RGB', 'CMYK']));
    expect(ALPHA_NAMES).toEqual(expect.arrayContaining(['rgba', 'la', 'p', 'p_trns', 'i16', 'rgb16', 'rgba16', 'cmyk']));
  });
  it.each(ALPHA_NAMES)('%s: default (alpha dropped, stored colour kept)', async (name) => {
    const img = await readImage(alphaFile(name));
    const [h, w] = alphaCase.shape(name);
    expect([img.height, img.width]).toEqual([h, w]);
    expect(bytesOf(img)).toEqual(alphaCase.numbers(name));
  });
  it('the transparent pixels of the RGBA image keep a stored colour that is not white', async () => {
    const img = await readImage(alphaFile('rgba'));
    expect(bytesOf(img).slice(0, 3)).toEqual([12, 200, 40]); // pixel (0, 0) has alpha 0 in the file
  });
  it('16-bit grey is clipped (Pillow mode I), not scaled: 256, 300, 32768, 65535 → 255', async () => {
    const img = await readImage(alphaFile('i16'));
    expect(bytesOf(img).slice(0, 21).filter((_, i) => i % 3 === 0)).toEqual([0, 1, 255, 255, 255, 255, 255]);
  });
  it('16-bit RGB keeps the high byte: 0x00FF, 0x0180, 0xFF7F → 0, 1, 255', async () => {
    const img = await readImage(alphaFile('rgb16'));
    expect(bytesOf(img).slice(0, 3)).toEqual([0, 1, 255]);
  });
  it('cmykToRgb: k = 0 → 255 − c; k = 255 → 0; c = 0 → 255 − k', () => {
    for (let v = 0; v < 256; v++) {
      expect(cmykToRgb(v, 0)).toBe(255 - v);
      expect(cmykToRgb(v, 255)).toBe(0);
      expect(cmykToRgb(0, v)).toBe(255 - v);
    }
  });
});

describe("Img-2 · readImage(…, { alpha: 'composite-white' }) = Pillow convert('RGBA') + alpha_composite on white", () => {
  it.each(ALPHA_NAMES)('%s', async (name) => {
    const img = await readImage(alphaFile(name), { alpha: 'composite-white' });
    expect(bytesOf(img)).toEqual(alphaCase.numbers(`${name}.white`));
  });
  it('differs from the default exactly where the image has partial or full transparency', async () => {
    const drop = await readImage(alphaFile('rgba'));
    const white = await readImage(alphaFile('rgba'), { alpha: 'composite-white' });
    expect(bytesOf(white).slice(0, 3)).toEqual([255, 255, 255]); // alpha 0
    expect(bytesOf(drop)).not.toEqual(bytesOf(white));
    const opaque = await readImage(alphaFile('rgb16'), { alpha: 'composite-white' });
    expect(bytesOf(opaque)).toEqual(alphaCase.numbers('rgb16'));
  });
  it('an unknown mode is a one-line HeroError', async () => {
    await expect(readImage(alphaFile('rgba'), { alpha: 'black' as never })).rejects.toThrow(HeroError);
  });
  it('compositeOnWhite is the identity at a = 255, white at a = 0, and within 1 of the exact blend', () => {
    for (let c = 0; c < 256; c++) {
      expect(compositeOnWhite(c, 255)).toBe(c);
      expect(compositeOnWhite(c, 0)).toBe(255);
      for (const a of [1, 64, 128, 200, 254]) {
        expect(Math.abs(compositeOnWhite(c, a) - (c * a + 255 * (255 - a)) / 255)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('Img-1 · readImage on hand-made PNGs', () => {
  it('grey is replicated to R = G = B', async () => {
    const img = await readImage(await png('grey.png', 3, 1, 1, [0, 77, 255]));
    expect(Array.from(img.data)).toEqual([0, 0, 0, 77, 77, 77, 255, 255, 255]);
  });
  it('RGBA: alpha dropped by default, composited onto white on request', async () => {
    const f = await png('rgba.png', 3, 1, 4, [10, 20, 30, 0, 10, 20, 30, 255, 0, 100, 200, 128]);
    expect(Array.from((await readImage(f)).data)).toEqual([10, 20, 30, 10, 20, 30, 0, 100, 200]);
    // 128/255 of c plus 127/255 of white, rounded: c = 0 → 127, 100 → 177, 200 → 227.
    expect(Array.from((await readImage(f, { alpha: 'composite-white' })).data)).toEqual([255, 255, 255, 10, 20, 30, 127, 177, 227]);
  });
  it('grey + alpha: alpha dropped', async () => {
    const img = await readImage(await png('ga.png', 2, 1, 2, [50, 0, 60, 255]));
    expect(Array.from(img.data)).toEqual([50, 50, 50, 60, 60, 60]);
  });
});

describe.each(GOLDEN_BACKENDS)('Img-1 · RGBA file → pixel_values = LlavaNextImageProcessor v4.45.1 (images_alpha rgba_wide) [%s]', (backend) => {
  beforeAll(async () => { await useBackend(backend); });
  it('the whole path: readImage → preprocess → [1, P, 3, S, S] tensor', async () => {
    const cfg = loadImageProcessorConfig(modelDir('llava-next-tiny'));
    const out = preprocess(await readImage(alphaFile('rgba_wide')), cfg);
    expect(out.imageSize).toEqual(alphaCase.numbers('rgba_wide.image_sizes'));
    const want = alphaCase.shape('rgba_wide.pixel_values');
    const t = tf.tensor(out.pixelValues, [1, ...out.shape]);
    expect(t.shape).toEqual(want);
    const got = await t.data() as Float32Array;
    await expectCloseAsync(got, alphaCase.floats('rgba_wide.pixel_values'), TOL.pixels, 'rgba_wide.pixel_values');
    expect(Buffer.from(got.buffer).equals(Buffer.from(alphaCase.floats('rgba_wide.pixel_values').buffer))).toBe(true);
    t.dispose();
  });
});

describe('io.writePng', () => {
  it('round-trips through readImage', async () => {
    const img: RgbImage = { width: 4, height: 3, data: Uint8Array.from({ length: 36 }, (_, i) => (i * 37) % 256) };
    const f = path.join(tmp, 'rt.png');
    await writePng(f, img);
    const back = await readImage(f);
    expect(back).toEqual({ width: 4, height: 3, data: img.data });
  });
  it('rejects data of the wrong length, naming the file', async () => {
    const f = path.join(tmp, 'bad.png');
    await expect(writePng(f, { width: 2, height: 2, data: new Uint8Array(5) })).rejects.toThrow(f);
  });
});

describe('io.readImage errors: one-line HeroError naming the file', () => {
  // Every row has all four entries: jest.each treats a missing trailing argument as a `done` callback.
  const cases: Array<[string, () => Promise<string>, RegExp, object]> = [
    ['a missing file', async () => path.join(tmp, 'nope.png'), /not found/, {}],
    ['a text file named .png', async () => { const f = path.join(tmp, 'text.png'); fs.writeFileSync(f, 'hello, not a PNG\n'); return f; }, /not a readable image/, {}],
    ['a 0-byte file', async () => { const f = path.join(tmp, 'empty.png'); fs.writeFileSync(f, ''); return f; }, /empty/, {}],
    ['a truncated PNG', async () => {
      const good = await png('trunc_src.png', 64, 64, 3, Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7) % 256));
      const f = path.join(tmp, 'trunc.png');
      const b = fs.readFileSync(good);
      fs.writeFileSync(f, b.subarray(0, Math.floor(b.length / 2)));
      return f;
    }, /image/, {}],
    ['an image over the pixel limit', async () => png('big.png', 20, 10, 3, new Array(600).fill(9)), /more than the limit of 100/, { maxPixels: 100 }],
    ['an image over the side limit', async () => png('long.png', 20, 1, 3, new Array(60).fill(9)), /longer than the limit of 16/, { maxSide: 16 }],
  ];
  it.each(cases)('%s', async (_what, make, re, opts) => {
    const f = await make();
    expect((await expectRefusedAsync(() => readImage(f, opts), re)).message).toContain(f);
  });
  it('the default limit is documented and large enough for a 4K image', () => {
    expect(MAX_IMAGE_PIXELS).toBeGreaterThanOrEqual(3840 * 2160);
  });
});

describe('io/image · SVG refused before decoding (untrusted images: librsvg follows external references)', () => {
  const png = fs.readFileSync(imagePath('wide_h30_w100'));
  it.each([
    ['an <image xlink:href="file:///…"> reference', `<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="40"><image xlink:href="file:///etc/hostname" width="40" height="40"/></svg>`],
    ['an http href', `<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><image href="http://127.0.0.1:9/x.png" width="8" height="8"/></svg>`],
    ['no reference at all, after a BOM and blank lines', `\ufeff\n\n  <svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>`],
  ])('%s', async (_what, text) => {
    const f = path.join(tmp, 'x.svg');
    fs.writeFileSync(f, text);
    await expectRefusedAsync(() => readImage(f), /x\.svg: SVG images are refused \(their external references would be followed; HF\/Pillow cannot read SVG either\): convert it to PNG first$/);
  });

  it('gzip-compressed SVG (SVGZ) too; a PNG named .svg is read as the PNG it is', async () => {
    const f = path.join(tmp, 'x.svgz');
    fs.writeFileSync(f, zlib.gzipSync('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'));
    await expectRefusedAsync(() => readImage(f), /x\.svgz: SVG images are refused .* \(a gzip file: SVGZ\)$/);
    const g = path.join(tmp, 'png.svg');
    fs.writeFileSync(g, png);
    expect((await readImage(g)).width).toBe(100);
  });
});
