import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { readImage, writePng, compositeOnWhite, MAX_IMAGE_PIXELS, type RgbImage } from '../../src/io/image';
import { HeroError } from '../../src/core/errors';
import { FIXTURES, imagePath, loadCase } from '../util/fixtures';

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

/** Writes raw interleaved pixels with `channels` channels as a PNG. */
async function png(name: string, w: number, h: number, channels: 1 | 2 | 3 | 4, px: number[]): Promise<string> {
  const f = path.join(tmp, name);
  await sharp(Buffer.from(px), { raw: { width: w, height: h, channels } }).png().toFile(f);
  return f;
}

describe('Img-1 · readImage converts to RGB like HF convert_to_rgb', () => {
  it('grey is replicated to R = G = B', async () => {
    const img = await readImage(await png('grey.png', 3, 1, 1, [0, 77, 255]));
    expect(Array.from(img.data)).toEqual([0, 0, 0, 77, 77, 77, 255, 255, 255]);
  });
  it('RGBA is composited onto white: a = 0 → white, a = 255 → unchanged, a = 128 → rounded blend', async () => {
    const img = await readImage(await png('rgba.png', 3, 1, 4, [10, 20, 30, 0, 10, 20, 30, 255, 0, 100, 200, 128]));
    const blend = [0, 100, 200].map((v) => compositeOnWhite(v, 128));
    expect(Array.from(img.data)).toEqual([255, 255, 255, 10, 20, 30, ...blend]);
    // 128/255 of c plus 127/255 of white, rounded: c = 0 → 127, 100 → 177, 200 → 227.
    expect(blend).toEqual([127, 177, 227]);
  });
  it('grey + alpha is composited onto white', async () => {
    const img = await readImage(await png('ga.png', 2, 1, 2, [50, 0, 50, 255]));
    expect(Array.from(img.data)).toEqual([255, 255, 255, 50, 50, 50]);
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
    let err: unknown;
    try { await readImage(f, opts); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(HeroError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).toContain(f);
    expect((err as Error).message).not.toContain('\n');
  });
  it('the default limit is documented and large enough for a 4K image', () => {
    expect(MAX_IMAGE_PIXELS).toBeGreaterThanOrEqual(3840 * 2160);
  });
});
