import fc from 'fast-check';
import { resizeBicubic } from '../../src/llava/pil_resize';
import type { RgbImage } from '../../src/io/image';
import { loadCase } from '../util/fixtures';

/** A stored uint8 HWC array of cases/pil_resize as an RgbImage. */
function stored(name: string): RgbImage {
  const c = loadCase('pil_resize');
  const [height, width, ch] = c.shape(name);
  expect(ch).toBe(3);
  return { width, height, data: Uint8Array.from(c.numbers(name)) };
}

/** Index and values of the first differing byte, or null (a readable failure instead of a 100k-element diff). */
function firstDiff(a: Uint8Array, e: Uint8Array): null | { i: number; a: number; e: number } {
  if (a.length !== e.length) return { i: -1, a: a.length, e: e.length };
  for (let i = 0; i < a.length; i++) if (a[i] !== e[i]) return { i, a: a[i], e: e[i] };
  return null;
}

const IMAGES = ['wide_h30_w100', 'tall_h160_w30', 'square_h70_w80', 'odd_h31_w100'];

describe('PIL-1 PIL-2 · resizeBicubic equals Pillow BICUBIC bit for bit (cases/pil_resize)', () => {
  it.each(IMAGES)('%s: base_resized (squash to S × S) and canvas_resized (fit into the pinpoint)', (img) => {
    const orig = stored(`${img}.original`);
    for (const tag of ['base_resized', 'canvas_resized']) {
      const want = stored(`${img}.${tag}`);
      const got = resizeBicubic(orig, want.width, want.height);
      expect([got.height, got.width]).toEqual([want.height, want.width]);
      expect({ tag, diff: firstDiff(got.data, want.data) }).toEqual({ tag, diff: null });
    }
  });

  const sizes = loadCase('pil_resize').names().filter((n) => n.startsWith('random_61x97.to_'));
  it('covers the seven random_61x97 targets', () => expect(sizes).toHaveLength(7));
  it.each(sizes)('%s (up, down, one axis only, extreme ratios)', (name) => {
    const orig = stored('random_61x97.original');
    const want = stored(name);
    const got = resizeBicubic(orig, want.width, want.height);
    expect(firstDiff(got.data, want.data)).toBeNull();
  });
});

const arbImage = (maxSide: number): fc.Arbitrary<RgbImage> =>
  fc.record({ w: fc.integer({ min: 1, max: maxSide }), h: fc.integer({ min: 1, max: maxSide }), seed: fc.integer() })
    .map(({ w, h, seed }) => {
      const data = new Uint8Array(w * h * 3);
      let s = seed >>> 0;
      for (let i = 0; i < data.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; data[i] = s >>> 24; }
      return { width: w, height: h, data };
    });

describe('PIL-1 · resizeBicubic shape and identity', () => {
  it('same size is a copy (equal bytes, new buffer)', () => {
    fc.assert(fc.property(arbImage(40), (img) => {
      const out = resizeBicubic(img, img.width, img.height);
      expect(out.data).not.toBe(img.data);
      expect(firstDiff(out.data, img.data)).toBeNull();
    }));
  });
  it('output has the requested size', () => {
    fc.assert(fc.property(arbImage(30), fc.integer({ min: 1, max: 90 }), fc.integer({ min: 1, max: 90 }), (img, w, h) => {
      const out = resizeBicubic(img, w, h);
      expect([out.width, out.height, out.data.length]).toEqual([w, h, w * h * 3]);
    }));
  });
  it('rejects a non-positive or fractional size', () => {
    const img: RgbImage = { width: 2, height: 2, data: new Uint8Array(12) };
    expect(() => resizeBicubic(img, 0, 2)).toThrow(/positive integers/);
    expect(() => resizeBicubic(img, 2, 1.5)).toThrow(/positive integers/);
  });
});

describe('PIL-2 · fixed-point weights sum to one', () => {
  it('a constant image stays the same constant at any size', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 120 }), fc.integer({ min: 0, max: 255 }),
      (w, h, ow, oh, v) => {
        const out = resizeBicubic({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) }, ow, oh);
        expect(out.data.every((x) => x === v)).toBe(true);
      }));
  });
});
