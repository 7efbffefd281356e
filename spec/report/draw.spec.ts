/**
 * The raster drawing kit: text lands on exactly the font's pixels (hand-checked string), scales by whole
 * pixels, drawing is deterministic, the colour bar's ends are the colour map's ends, clipping never throws.
 */
import { BLACK, WHITE, blank, colorBar, drawText, drawTextUp, fillRect, getPixel, line, textWidth, wrapText } from '../../src/report/draw';
import { heat } from '../../src/report/attention_maps';
import type { RgbImage } from '../../src/io/image';

/** The image as rows of '#' (not white) and '.' (white). */
const ink = (img: RgbImage, x0 = 0, y0 = 0, w = img.width, h = img.height): string[] =>
  Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => (getPixel(img, x0 + x, y0 + y).every((v) => v === 255) ? '.' : '#')).join(''));

describe('drawText', () => {
  it('"Hi" at scale 1 is the hand-drawn H, one blank column, the hand-drawn i', () => {
    const img = blank(13, 10);
    expect(drawText(img, 1, 1, 'Hi', BLACK, 1)).toBe(11);
    expect(ink(img)).toEqual([
      '.............',
      '.#...#...#...',
      '.#...#.......',
      '.#...#..##...',
      '.#####...#...',
      '.#...#...#...',
      '.#...#...#...',
      '.#...#..###..',
      '.............',
      '.............',
    ]);
    expect(getPixel(img, 1, 1)).toEqual(BLACK);
  });
  it('at scale 3 every font pixel is a 3×3 block', () => {
    const one = blank(11, 8), three = blank(33, 24);
    drawText(one, 0, 0, 'Hi', BLACK, 1);
    drawText(three, 0, 0, 'Hi', BLACK, 3);
    const a = ink(one), b = ink(three);
    for (let y = 0; y < 24; y++) for (let x = 0; x < 33; x++) expect(b[y][x]).toBe(a[Math.floor(y / 3)][Math.floor(x / 3)]);
    expect(textWidth('Hi', 3)).toBe(33);
  });
  it('centre and right alignment move the text by half / all of its width', () => {
    const l = blank(40, 10), c = blank(40, 10), r = blank(40, 10);
    drawText(l, 10, 0, 'ab', BLACK, 1);
    drawText(c, 10 + textWidth('ab', 1) / 2, 0, 'ab', BLACK, 1, 'center');
    drawText(r, 10 + textWidth('ab', 1), 0, 'ab', BLACK, 1, 'right');
    expect(ink(c)).toEqual(ink(l));
    expect(ink(r)).toEqual(ink(l));
  });
  it('rotated text is the horizontal text turned a quarter counter-clockwise', () => {
    const h = blank(11, 8), v = blank(8, 11);
    drawText(h, 0, 0, 'Hi', BLACK, 1);
    drawTextUp(v, 4, 5.5, 'Hi', BLACK, 1);
    const a = ink(h), b = ink(v);
    // horizontal (u, row) → vertical (x = row, y = 10 − u)
    for (let row = 0; row < 8; row++) for (let u = 0; u < 11; u++) expect(b[10 - u][row]).toBe(a[row][u]);
  });
  it('is deterministic and clips outside the image', () => {
    const draw = (): Uint8Array => {
      const img = blank(50, 20);
      drawText(img, -3, -2, 'Clip me! 0.25 [s]', BLACK, 2);
      line(img, -10, 5, 80, 15, [0, 80, 255], 3, [4, 2]);
      fillRect(img, 45, 15, 20, 20, [1, 2, 3]);
      return img.data;
    };
    expect(Buffer.from(draw()).equals(Buffer.from(draw()))).toBe(true);
  });
  it('wraps at spaces within the width', () => {
    expect(wrapText('aa bb cc', textWidth('aa bb', 1), 1)).toEqual(['aa bb', 'cc']);
  });
});

describe('line', () => {
  it('covers both end points and is one pixel wide when t = 1', () => {
    const img = blank(10, 10);
    line(img, 1, 1, 8, 8, BLACK);
    for (let i = 1; i <= 8; i++) expect(getPixel(img, i, i)).toEqual(BLACK);
    expect(ink(img).join('').split('').filter((c) => c === '#')).toHaveLength(8);
  });
});

describe('colorBar', () => {
  it("first and last columns are the colour map's ends, ticks and labels below", () => {
    const img = blank(240, 60);
    const h = colorBar(img, 10, 5, 200, 12, heat, [{ t: 0, label: '0' }, { t: 1, label: '1' }], 2);
    expect(getPixel(img, 10, 10)).toEqual(heat(0));
    expect(getPixel(img, 209, 10)).toEqual(heat(1));
    expect(heat(0)).toEqual([68, 1, 84]);     // viridis' dark end
    expect(heat(1)).toEqual([253, 231, 37]);  // viridis' yellow end
    // labels drawn under the bar: some ink below it, none right of it
    expect(ink(img, 0, 5 + 12 + 2, 240, h - 14).join('')).toMatch(/#/);
    expect(ink(img, 212, 0, 28, 60).join('')).not.toMatch(/#/);
    expect(getPixel(img, 5, 5)).toEqual(WHITE);
  });
});
