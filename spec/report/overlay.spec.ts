/**
 * overlay.png: the shading lands on exactly the pixels of the dropped tokens (geometry checked on images
 * whose token grid is known by hand), the tile boundaries sit where the tiles meet, the label strips
 * (title, captions, legend) carry ink, and rendering is deterministic.
 */
import { renderOverlay, tileBoundaries, TILE_LINE } from '../../src/report/overlay';
import { getPixel } from '../../src/report/draw';
import { encodePng, type RgbImage } from '../../src/io/image';

/** A 16-row image with a varied mid-range colour at every pixel (so a tint always shows). */
function testImage(W: number, H: number): RgbImage {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set([40 + ((x * 7 + y * 13) % 150), 60 + ((x * 11) % 120), 50 + ((y * 17) % 140)], (y * W + x) * 3);
  return { width: W, height: H, data };
}

/** Dropped: 55 % towards pure red, rounded (the overlay's stated tint). */
const tinted = ([r, g, b]: readonly number[]): number[] => [Math.round(0.45 * r + 0.55 * 255), Math.round(0.45 * g), Math.round(0.45 * b)];
const px = (img: RgbImage, x: number, y: number): number[] => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

/** A deterministic pseudo-random keep mask of n tokens. */
const mask = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => ((i * 2654435761 + seed * 97) >>> 7) % 3 === 0 ? 1 : 0);

// Crop S = 8 px, G = 4 tokens per side → one token = 2×2 crop pixels.
const S = 8, G = 4;

describe('renderOverlay geometry', () => {
  it('1×2 grid: every panel pixel is tinted exactly when its token is dropped', () => {
    // 32×16 (W×H) with the single pinpoint 8×16 (h×w): grid 1×2, resize ×0.5 with no padding, so thumbnail
    // token (i, j) covers pixels [4i, 4i+4) × [8j, 8j+8) and tile c token (i, j) covers [4i, 4i+4) × [16c + 4j, 16c + 4j + 4).
    const W = 32, H = 16;
    const img = testImage(W, H);
    const masks = [mask(G * G, 1), mask(G * G, 2), mask(G * G, 3)];
    const { image: out, panels } = renderOverlay(img, masks, [1, 2], G, S, [[8, 16]], 'test');
    const [pl, pr] = panels;
    expect(pl.scale).toBe(pr.scale);
    const s = pl.scale, mid = Math.floor(s / 2);
    let nDropped = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const orig = px(img, x, y);
        const thumbKept = masks[0][Math.floor(y / 4) * G + Math.floor(x / 8)];
        expect(getPixel(out, pl.x + x * s + mid, pl.y + y * s + mid)).toEqual(thumbKept ? orig : tinted(orig));
        const c = Math.floor(x / 16), j = Math.floor((x % 16) / 4), i = Math.floor(y / 4);
        const tileKept = masks[1 + c][i * G + j];
        expect(getPixel(out, pr.x + x * s + mid, pr.y + y * s + mid)).toEqual(tileKept ? orig : tinted(orig));
        nDropped += tileKept ? 0 : 1;
      }
    }
    expect(nDropped).toBeGreaterThan(0);
    expect(nDropped).toBeLessThan(W * H);
    // the boundary between tile 0,0 and tile 0,1 at x = 16: a 2-px blue line over the whole panel height
    expect(tileBoundaries([1, 2], S, [H, W], [[8, 16]])).toEqual({ rows: [], cols: [16] });
    for (const y of [0, H * s - 1]) {
      expect(getPixel(out, pr.x + 16 * s, pr.y + y)).toEqual(TILE_LINE);
      expect(getPixel(out, pr.x + 16 * s - 1, pr.y + y)).toEqual(TILE_LINE);
    }
  });

  it('padding: tokens in the padded band of the tile canvas leave the image untouched', () => {
    // 16×8 (W×H), pinpoint 8×8: one tile, the image resized to 4×8 (h×w) and padded by 2 rows above and
    // below; token rows 0 and 3 lie in the padding, rows 1 and 2 cover image rows [0, 4) and [4, 8).
    const W = 16, H = 8;
    const img = testImage(W, H);
    const keepNone = new Uint8Array(G * G);
    const onlyRow1 = Uint8Array.from({ length: G * G }, (_, k) => (Math.floor(k / G) === 1 ? 1 : 0));
    const { image: out, panels } = renderOverlay(img, [keepNone, onlyRow1], [1, 1], G, S, [[8, 8]]);
    const pr = panels[1], s = pr.scale, mid = Math.floor(s / 2);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const orig = px(img, x, y);
      expect(getPixel(out, pr.x + x * s + mid, pr.y + y * s + mid)).toEqual(y < 4 ? orig : tinted(orig));
    }
  });
});

describe('renderOverlay labels', () => {
  const img = testImage(32, 16);
  const masks = [mask(16, 1), mask(16, 2), mask(16, 3)];
  const render = () => renderOverlay(img, masks, [1, 2], G, S, [[8, 16]], 'Visual tokens kept by hero');
  const inkRows = (out: RgbImage, y0: number, y1: number): number => {
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = 0; x < out.width; x++) if (getPixel(out, x, y).some((v) => v < 200)) n++;
    return n;
  };
  it('the title strip above the panels and the legend strip below them are not blank', () => {
    const { image: out, panels } = render();
    const top = panels[0].y, bottom = panels[0].y + 16 * panels[0].scale;
    expect(inkRows(out, 0, top - 2)).toBeGreaterThan(200);              // title, note, captions
    expect(inkRows(out, bottom + 2, out.height)).toBeGreaterThan(200);  // column labels and legend
    // the title's first letter 'V' starts at the left margin
    expect(inkRows(out, 0, 16 + 16)).toBeGreaterThan(50);
  });
  it('renders the same bytes twice (RGB and PNG)', async () => {
    const a = render().image, b = render().image;
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect((await encodePng(a)).equals(await encodePng(b))).toBe(true);
  });
});

describe('renderOverlay layout: no two labels overlap, for any grid and aspect', () => {
  type Box = { text: string; x: number; y: number; w: number; h: number };
  const overlaps = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  /** The first k of n tokens kept. */
  const firstK = (n: number, k: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i < k ? 1 : 0));

  /** Every label inside the picture, clear of every other label and of both image panels. */
  function expectClear(W: number, H: number, grid: [number, number], G: number, S: number, kept: number[]): void {
    const masks = kept.map((k) => firstK(G * G, k));
    const { image, panels, labels } = renderOverlay(testImage(W, H), masks, grid, G, S, [[grid[0] * S, grid[1] * S]], 'Visual tokens kept by hero, r = 0.2');
    const boxes: Box[] = [...labels, ...panels.map((p, i) => ({ text: `panel ${i}`, x: p.x, y: p.y, w: W * p.scale, h: H * p.scale }))];
    const clash: string[] = [];
    for (let i = 0; i < boxes.length; i++) {
      const a = boxes[i];
      if (a.x < 0 || a.y < 0 || a.x + a.w > image.width || a.y + a.h > image.height) clash.push(`'${a.text}' leaves the ${image.width}×${image.height} picture`);
      for (let j = i + 1; j < boxes.length; j++) if (overlaps(a, boxes[j])) clash.push(`'${a.text}' overlaps '${boxes[j].text}'`);
    }
    expect({ W, H, grid, clash }).toEqual({ W, H, grid, clash: [] });
    expect(labels.map((l) => l.text)).toEqual(expect.arrayContaining([`thumbnail: ${kept[0]} of ${G * G} tokens kept`]));
  }

  it("the issue's narrow image: 61×150 px on a 1×2 grid, 'thumbnail: 115 of 576 …' beside 'tiles (1×2 grid): 205 of 1152 kept'", () => {
    expectClear(61, 150, [1, 2], 24, 336, [115, 100, 105]);
    expectClear(61, 150, [2, 1], 24, 336, [115, 100, 105]);
  });

  it.each([
    [1, 400, [1, 1]], [400, 1, [1, 1]], [5, 5, [1, 1]], [1000, 3, [1, 6]], [3, 1000, [6, 1]], [30, 30, [6, 6]], [12, 700, [12, 1]], [700, 12, [1, 12]],
    [150, 61, [1, 2]], [336, 672, [2, 1]],
  ] as Array<[number, number, [number, number]]>)('%i×%i px, grid %j (the real geometry: 336-px crops, 24×24 tokens)', (W, H, grid) => {
    expectClear(W, H, grid, 24, 336, Array.from({ length: 1 + grid[0] * grid[1] }, (_, k) => (k * 37) % 577));
  });

  it.each([[7, 300, [9, 1]], [300, 7, [1, 9]], [16, 16, [4, 4]]] as Array<[number, number, [number, number]]>)('%i×%i px, grid %j (tiny: 8-px crops, 4×4 tokens)', (W, H, grid) => {
    expectClear(W, H, grid, G, S, Array.from({ length: 1 + grid[0] * grid[1] }, (_, k) => k % 17));
  });
});
