/** The in-memory image type every stage shares (io/image.ts reads and writes it; llava/ preprocesses it). */

/** An 8-bit RGB image, rows top to bottom, `data[(y·width + x)·3 + c]` (HWC). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array; /* H·W·3, HWC, RGB */
}
