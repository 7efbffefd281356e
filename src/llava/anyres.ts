/**
 * LLaVA-NeXT "anyres" geometry: which tile grid an image gets, how it is resized into it, which rows/columns
 * of the stitched feature grid are padding, and how many `<image>` tokens that makes. Integer arithmetic on
 * (H, W) pairs only; every size is HF's (height, width) order, pinpoints included.
 */

/** (H, W) or (h, w), in that order. */
export type Hw = readonly [number, number];

/**
 * Picks the pinpoint (h, w) that keeps the most image pixels, then wastes the least canvas:
 *   s = min(w/W, h/H) (float64), effective = min(trunc(W·s)·trunc(H·s), W·H), wasted = h·w − effective;
 *   best = argmax effective, ties → smaller wasted, remaining ties → the earlier pinpoint.
 * @eq AnyRes-1
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/image_processing_utils.py select_best_resolution
 */
export function selectBestResolution(imageSize: Hw, pinpoints: ReadonlyArray<Hw>): [number, number] {
  const [H, W] = imageSize;
  let best: Hw | undefined;
  let bestEffective = 0, bestWasted = Infinity;
  for (const p of pinpoints) {
    const [h, w] = p;
    const scale = Math.min(w / W, h / H);
    const effective = Math.min(Math.trunc(W * scale) * Math.trunc(H * scale), W * H); // Python int() truncates
    const wasted = h * w - effective;
    if (effective > bestEffective || (effective === bestEffective && wasted < bestWasted)) {
      best = p; bestEffective = effective; bestWasted = wasted;
    }
  }
  if (best === undefined) throw new Error('selectBestResolution: no pinpoint keeps any pixel (empty list or empty image)');
  return [best[0], best[1]];
}

/**
 * Aspect-preserving fit of (H, W) into target (h, w), rounding the free side up:
 *   sw = w/W, sh = h/H; sw < sh → (min(⌈H·sw⌉, h), w), else (h, min(⌈W·sh⌉, w)).
 * @eq AnyRes-1
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/image_processing_llava_next.py _get_patch_output_size
 */
export function getPatchOutputSize(imageSize: Hw, target: Hw): [number, number] {
  const [H, W] = imageSize, [th, tw] = target;
  const sw = tw / W, sh = th / H;
  if (sw < sh) return [Math.min(Math.ceil(H * sw), th), tw];
  return [th, Math.min(Math.ceil(W * sh), tw)];
}

/**
 * Tile grid (rows, cols) = (h // tile, w // tile) of the best pinpoint.
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/modeling_llava_next.py get_anyres_image_grid_shape
 */
export function anyresGridShape(imageSize: Hw, pinpoints: ReadonlyArray<Hw>, tileSize: number): [number, number] {
  const [h, w] = selectBestResolution(imageSize, pinpoints);
  return [Math.floor(h / tileSize), Math.floor(w / tileSize)];
}

/**
 * Crops per image: the thumbnail plus rows·cols tiles.
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/modeling_llava_next.py image_size_to_num_patches
 */
export function imageSizeToNumPatches(imageSize: Hw, pinpoints: ReadonlyArray<Hw>, tileSize: number): number {
  const [rows, cols] = anyresGridShape(imageSize, pinpoints, tileSize);
  return 1 + rows * cols;
}

/**
 * Padding rows/columns to drop from a stitched gridH × gridW feature grid of an (H, W) image:
 *   W/H > gridW/gridH → new_h = trunc(H · (gridW/W)), pad = (gridH − new_h) // 2, keep rows [pad, gridH − pad);
 *   else              → new_w = trunc(W · (gridH/H)), pad = (gridW − new_w) // 2, keep cols [pad, gridW − pad).
 * The same `pad` is dropped on both sides, so when gridH − new_h is odd one padding row survives.
 * @eq AnyRes-3
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/modeling_llava_next.py unpad_image
 * @deviation none for v4.45.1; transformers ≥ 4.47 truncates round(H·scale, 7) instead, which differs only when
 * H·scale lands within float error below an integer.
 */
export function unpadRegion(gridH: number, gridW: number, imageSize: Hw):
  { top: number; bottom: number; left: number; right: number } {
  const [H, W] = imageSize;
  if (W / H > gridW / gridH) {
    const newH = Math.trunc(H * (gridW / W));
    const pad = Math.floor((gridH - newH) / 2);
    return { top: pad, bottom: pad, left: 0, right: 0 };
  }
  const newW = Math.trunc(W * (gridH / H));
  const pad = Math.floor((gridW - newW) / 2);
  return { top: 0, bottom: 0, left: pad, right: pad };
}

/**
 * `<image>` tokens for one image with the "default" feature strategy (CLS dropped, G² per crop):
 *   M = N (thumbnail, N = G²) + h'·w' (kept grid) + h' (one image_newline per kept row),
 *   h' × w' = the (rows·G) × (cols·G) grid minus unpadRegion.
 * @eq AnyRes-2
 * @mirrors huggingface/transformers@v4.45.1 src/transformers/models/llava_next/modeling_llava_next.py pack_image_features (its output length)
 * @choice We count what the model packs (float `int(H·scale)`, AnyRes-3). v4.45.1's processor
 * (`_get_number_of_features`) uses integer `H·gridW // W`, which is one larger when the float product falls
 * just below an integer; the two agree on every golden image.
 */
export function numImageTokens(imageSize: Hw, pinpoints: ReadonlyArray<Hw>, tileSize: number, patchGrid: number): number {
  const [rows, cols] = anyresGridShape(imageSize, pinpoints, tileSize);
  const gridH = rows * patchGrid, gridW = cols * patchGrid;
  const u = unpadRegion(gridH, gridW, [imageSize[0], imageSize[1]]);
  const h = gridH - u.top - u.bottom, w = gridW - u.left - u.right;
  return patchGrid * patchGrid + h * w + h;
}
