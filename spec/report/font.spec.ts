/**
 * The embedded 5×7 bitmap font: every printable ASCII character has a glyph of the stated size, glyphs are
 * distinct, a hand-checked glyph has exactly the expected pixels, and the few non-ASCII stand-ins apply.
 */
import { GLYPH_H, GLYPH_W, glyph, toFontText } from '../../src/report/font';

const rows = (g: Uint8Array): string[] => Array.from({ length: GLYPH_H }, (_, y) => Array.from(g.subarray(y * GLYPH_W, (y + 1) * GLYPH_W), (b) => (b ? '#' : '.')).join(''));

describe('report font', () => {
  it('has a distinct glyph for every printable ASCII character', () => {
    const seen = new Set<string>();
    for (let c = 0x20; c <= 0x7e; c++) {
      const g = glyph(String.fromCharCode(c));
      expect(g.length).toBe(GLYPH_W * GLYPH_H);
      seen.add(rows(g).join('/'));
    }
    // 95 characters; the space is the only blank one and every other glyph differs from the rest
    expect(seen.size).toBe(95);
  });
  it("'A' and 'g' have the hand-checked pixels (g with its descender)", () => {
    expect(rows(glyph('A'))).toEqual(['.###.', '#...#', '#...#', '#...#', '#####', '#...#', '#...#', '.....']);
    expect(rows(glyph('g'))).toEqual(['.....', '.....', '.####', '#...#', '#...#', '.####', '....#', '.###.']);
  });
  it('draws characters outside the table as ?, after the ASCII stand-ins', () => {
    expect(rows(glyph('€'))).toEqual(rows(glyph('?')));
    expect(toFontText('2×2 → τ')).toBe('2x2 -> t');
  });
});
