/**
 * The stitched (rows·G) × (cols·G) token grid of an anyres image, walked on the host: the one raster walk
 * behind every pruned layout (HERO, the baselines) and the one region → per-tile mask rule behind every
 * valid/unpadded mask (HERO-D, LLaVA packing, HiRED, GlobalCom²).
 */

/** Rows and columns cut from each side of the stitched grid (e.g. `unpadRegion`'s padding). */
export interface GridCut {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/**
 * Visits the stitched grid in raster order: for each grid row y = 0..rows·G−1, each cell x = 0..cols·G−1
 * as (tile, local) with tile = (y // G)·cols + x // G (row-major tiles) and local = (y % G)·G + x % G
 * (the tile's raster index); `rowEnd(y)` after each grid row (where a layout puts its image_newline).
 */
export function rasterWalk(grid: readonly [number, number], G: number, cell: (tile: number, local: number) => void,
  rowEnd?: (y: number) => void): void {
  const [rows, cols] = grid;
  for (let y = 0; y < rows * G; y++) {
    for (let x = 0; x < cols * G; x++) cell(Math.floor(y / G) * cols + Math.floor(x / G), (y % G) * G + (x % G));
    rowEnd?.(y);
  }
}

/**
 * Per-tile 0/1 masks of the cells inside the stitched grid minus `cut`:
 *   mask[k][i·G + j] = 1  iff  top ≤ y < rows·G − bottom  and  left ≤ x < cols·G − right,
 *   y = (k // cols)·G + i,  x = (k % cols)·G + j
 * @returns masks [K][N] (row-major tiles, raster tokens), counts [K] (ones per tile)
 */
export function tileMasksInside(grid: readonly [number, number], G: number, cut: GridCut): { masks: Uint8Array[]; counts: number[] } {
  const [rows, cols] = grid;
  const masks: Uint8Array[] = [];
  const counts: number[] = [];
  for (let tr = 0; tr < rows; tr++) {
    for (let tc = 0; tc < cols; tc++) {
      const m = new Uint8Array(G * G);
      let n = 0;
      for (let i = 0; i < G; i++) {
        for (let j = 0; j < G; j++) {
          const y = tr * G + i, x = tc * G + j;
          if (y >= cut.top && y < rows * G - cut.bottom && x >= cut.left && x < cols * G - cut.right) { m[i * G + j] = 1; n++; }
        }
      }
      masks.push(m);
      counts.push(n);
    }
  }
  return { masks, counts };
}
