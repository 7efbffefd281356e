/**
 * The one-crop overlay (LLaVA-1.5): where each token of the crop lies in the original image, by hand
 * (CLIPImageProcessor's shortest-edge resize and centre crop; the pad variant's square), and the picture.
 */
import { cropTokenRect, renderSingleCropOverlay } from '../../src/report/overlay_single';
import { CELL_H } from '../../src/report/font';

describe('cropTokenRect · token → original-image rectangle', () => {
  it('a square image: the G×G grid over the whole image', () => {
    expect(cropTokenRect(1, 2, 4, 56, [56, 56], 'crop')).toEqual({ y0: 14, y1: 28, x0: 28, x1: 42 });
    expect(cropTokenRect(1, 2, 4, 56, [56, 56], 'pad')).toEqual({ y0: 14, y1: 28, x0: 28, x1: 42 });
  });

  it('crop, 30×100 (H×W): resized to 56×186, window at x = ⌊(186 − 56)/2⌋ = 65 → original columns [34, 66), all 30 rows', () => {
    const rects = [0, 1, 2, 3].flatMap((i) => [0, 1, 2, 3].map((j) => cropTokenRect(i, j, 4, 56, [30, 100], 'crop')!));
    expect(Math.min(...rects.map((r) => r.x0))).toBe(34);   // ⌊65·100/186⌋
    expect(Math.max(...rects.map((r) => r.x1))).toBe(66);   // ⌈121·100/186⌉
    expect([Math.min(...rects.map((r) => r.y0)), Math.max(...rects.map((r) => r.y1))]).toEqual([0, 30]);
    // a tall image crops rows instead: 160×30 → 298×56, window at y = 121 → rows [⌊121·160/298⌋, ⌈177·160/298⌉) = [64, 96)
    const tall = [0, 3].map((i) => cropTokenRect(i, 0, 4, 56, [160, 30], 'crop')!);
    expect([tall[0].y0, tall[1].y1]).toEqual([64, 96]);
  });

  it('pad, 30×100: the 100-px square sits the image at row 35; token rows 0 and 3 are padding only', () => {
    expect(cropTokenRect(0, 0, 4, 56, [30, 100], 'pad')).toBeNull();
    expect(cropTokenRect(3, 0, 4, 56, [30, 100], 'pad')).toBeNull();
    expect(cropTokenRect(1, 1, 4, 56, [30, 100], 'pad')).toEqual({ y0: 0, y1: 15, x0: 25, x1: 50 });
    expect(cropTokenRect(2, 3, 4, 56, [30, 100], 'pad')).toEqual({ y0: 15, y1: 30, x0: 75, x1: 100 });
  });
});

describe('renderSingleCropOverlay', () => {
  it('tints the dropped tokens, greys what the centre crop cut off, leaves kept tokens unchanged', () => {
    const W = 100, H = 30;
    const img = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(100) };
    const keep = new Uint8Array(16).fill(1);
    keep[0] = 0; // token (0, 0): original rows [0, 8), columns [34, 42)
    const out = renderSingleCropOverlay(img, keep, 4, 56, 'crop', 'T');
    const scale = Math.ceil(360 / W), m = 16;
    const py = m + 2 * (CELL_H * 2 + 4); // below the title and the note
    const at = (x: number, y: number): number[] => {
      const o = ((py + y * scale) * out.width + m + x * scale) * 3;
      return Array.from(out.data.subarray(o, o + 3));
    };
    expect(at(50, 20)).toEqual([100, 100, 100]);                                   // kept
    expect(at(36, 2)).toEqual([Math.round(0.45 * 100 + 0.55 * 255), 45, 45]);      // dropped: red
    expect(at(5, 10)).toEqual([170, 170, 170]);                                     // cut off: 0.3·100 + 0.7·200
  });
});
