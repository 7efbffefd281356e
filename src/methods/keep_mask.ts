/**
 * `keep-mask`: the LLaVA pipeline with a GIVEN keep-mask per crop — exactly the patch tokens the caller
 * marks, none of the others, laid out as LLaVA-NeXT lays out its tokens. It scores nothing and chooses
 * nothing; it is the tool of an analysis that decides elsewhere which tokens the LLM sees (`analyze tokens
 * --caption`: the low-layer or the high-layer top set of the thumbnail, docs/analyses.md).
 *
 * An internal method: listed in src/methods/index.ts INTERNAL_METHODS (the pipeline finds it by name), not
 * in METHOD_NAMES, so `--method` does not offer it; the library reaches it as `keepMaskMethod`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { deriveLlava } from '../llava/config';
import { rasterWalk } from '../llava/grid';
import { gatherWithNewline, NEWLINE_ROW, packedTileMasks } from '../llava/pack';
import type { VisualContext } from '../llava/visual_context';
import type { Method, PruneResult } from './contract';

export interface KeepMaskOptions {
  /**
   * 0/1 masks over each crop's N tokens in raster order, thumbnail first, then the tiles row-major
   * ([P][N]; LLaVA-1.5: its one crop). P must be the image's crop count.
   */
  readonly masks: readonly Uint8Array[];
}

/**
 * The rows of LLaVA-NeXT's token table ([all crop tokens ; image_newline], llava/pack.ts gatherWithNewline)
 * a keep-mask hands the LLM.                                                                @eq KM-LAYOUT
 *   [ thumbnail token j for kept j (raster) ;
 *     for each row y of the stitched (rows·G) × (cols·G) tile grid that holds a kept token:
 *       (tile token at (y, x) for kept x, left to right) , image_newline ]
 * i.e. LLaVA-NeXT's packing (llava/pack.ts packImageFeatures, LLaVA-3) with the dropped tokens taken out and a
 * grid row's newline dropped with its last token. Keeping every token LLaVA-NeXT packs gives packImageFeatures'
 * sequence exactly (except when the unpadding leaves rows of zero width, where LLaVA-NeXT still writes their
 * newlines). A kept tile token in the padding LLaVA-NeXT unpads is refused: LLaVA-NeXT never shows it.
 * LLaVA-1.5 (grid 0 × 0): the crop's kept tokens, no newline.
 * @param masks [P][N], P = 1 + rows·cols
 * @returns table rows (crop·N + j, or NEWLINE_ROW), and the number of newlines among them
 */
export function keepMaskRows(masks: readonly ArrayLike<number>[], grid: readonly [number, number], G: number,
  imageSize: readonly [number, number]): { rows: number[]; newlines: number } {
  const N = G * G, K = grid[0] * grid[1];
  if (masks.length !== 1 + K) throw new HeroError(`keep-mask: ${masks.length} masks for an image of ${1 + K} crops (thumbnail + ${grid[0]}×${grid[1]} tiles)`);
  masks.forEach((m, p) => {
    if (m.length !== N) throw new HeroError(`keep-mask: the mask of crop ${p} has ${m.length} entries, not N = ${N}`);
    for (let j = 0; j < N; j++) if (m[j] !== 0 && m[j] !== 1) throw new HeroError(`keep-mask: the mask of crop ${p} holds ${m[j]} at token ${j} (0 or 1 only)`);
  });
  const rows: number[] = [];
  for (let j = 0; j < N; j++) if (masks[0][j]) rows.push(j);
  if (K === 0) return { rows, newlines: 0 };
  const inside = packedTileMasks(grid, G, imageSize).masks;
  let newlines = 0, rowHasToken = false;
  rasterWalk(grid, G, (tile, local) => {
    if (!masks[1 + tile][local]) return;
    if (!inside[tile][local]) throw new HeroError(`keep-mask: token ${local} of crop ${1 + tile} lies in the padding LLaVA-NeXT unpads (it never reaches the LLM)`);
    rows.push((1 + tile) * N + local);
    rowHasToken = true;
  }, () => {
    if (rowHasToken) { rows.push(NEWLINE_ROW); newlines++; }
    rowHasToken = false;
  });
  return { rows, newlines };
}

/** The kept tokens of a VisualContext in the KM-LAYOUT order: the LLM's visual token sequence [M, D]. */
export function keepMask(ctx: VisualContext, opts: KeepMaskOptions): PruneResult {
  const { rows, newlines } = keepMaskRows(opts.masks, ctx.grid, ctx.patchGrid, ctx.imageSize);
  if (rows.length === 0) throw new HeroError('keep-mask: the masks keep no token (the LLM would see no image)');
  const features = tf.tidy(() => gatherWithNewline(ctx.projected, ctx.imageNewline, rows));
  return { features, keepMasks: opts.masks.map((m) => Uint8Array.from(m)), numNewlines: newlines, tensors: {} };
}

/** keep-mask as a Method (src/methods/contract.ts): options `masks` ([P][N] 0/1), checked against N here and against P per image. */
export const keepMaskMethod: Method<KeepMaskOptions, 'keep-mask'> = {
  name: 'keep-mask',
  configure: (raw, config) => {
    const masks = raw.masks;
    const N = deriveLlava(config).tokensPerCrop;
    if (!Array.isArray(masks) || masks.length === 0 || !masks.every((m) => m instanceof Uint8Array)) {
      throw new HeroError('keep-mask: options.masks must be a non-empty list of Uint8Array masks, one per crop');
    }
    const bad = (masks as Uint8Array[]).findIndex((m) => m.length !== N);
    if (bad >= 0) throw new HeroError(`keep-mask: the mask of crop ${bad} has ${(masks as Uint8Array[])[bad].length} entries, not N = ${N}`);
    return { masks: masks as Uint8Array[] };
  },
  taps: () => ({}), // the feature layer only (always tapped)
  select: async (s, ctx) => keepMask(ctx, s.options!),
};
