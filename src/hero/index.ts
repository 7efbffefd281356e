/**
 * HERO (arXiv 2509.13067) on a LLaVA-NeXT VisualContext: content-adaptive tile budgets (stage 1,
 * HERO-1..4) and function-aware CLS-attention selection (stage 2, HERO-5/6), then the pruned layout.
 * Read in data-flow order: options → saliency → relevance → budget → scores → select → here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import { assertShape } from '../core/shape';
import { tidyAsync } from '../core/scope';
import type { VisualContext } from '../llava/visual_context';
import type { NamedTensor, PruneResult } from '../methods/contract';
import { resolveHero, validateHeroOptions, type HeroOptions } from './options';
import { clsSimilarity, saliency } from './saliency';
import { clipSimilarity, relevance } from './relevance';
import { budgetPools, density, importance, probeBudgets, tokenBudgets, uniformImportance, validMask } from './budget';
import { globalScores, tileScores } from './scores';
import { heroLayout, topKMask } from './select';

export * from './options';
export * from './saliency';
export * from './relevance';
export * from './budget';
export * from './scores';
export * from './select';

/** The separate CLIP model's raw embeddings of the K tiles and of the instruction (HERO-2's inputs). */
export interface HeroClipEmbeds {
  readonly tileImageEmbeds: tf.Tensor2D; // [K, Dp]
  readonly textEmbed: tf.Tensor1D;       // [Dp]
}

/**
 * Runs HERO on one image. `clip` may be null only when the relevance is not used (α = 1, or the
 * `noRelevance` / `uniformBudgets` ablations); then `hero.clip_similarity` and `hero.relevance` are
 * NaN-filled (@choice: the trace keeps every public name, NaN says "not computed").
 * Returned tensors are owned by the caller (`features` and every `tensors[*].tensor`).
 * Trace names: hero.{global_scores [N], tile_scores [K,N], cls_similarity, saliency, clip_similarity,
 * relevance, density, importance [K] (F32), budgets [K] (I64), global_keep [N], tile_keep [K,N],
 * valid_mask [K,N] (U8)}; with `tileProbe` (Table 1's pilot, HERO-PROBE) also hero.{probe_scores [K] (F32),
 * probe_order [K] or [0] (I64), probe_tile [1] (I64, −1: none)}, and hero.importance is NaN-filled.
 */
export async function applyHero(ctx: VisualContext, clip: HeroClipEmbeds | null, opts: HeroOptions): Promise<PruneResult> {
  const L = ctx.attentions.length;
  validateHeroOptions(opts, L);
  const r = resolveHero(opts);
  if (r.needsRelevance && clip === null && ctx.grid[0] * ctx.grid[1] > 0) throw new HeroError('HERO needs the CLIP model for the relevance score: pass --clip');
  const [rows, cols] = ctx.grid;
  const G = ctx.patchGrid, N = G * G, K = rows * cols;
  assertShape(ctx.projected, ['P', 'N', 'D'], [1 + K, N, -1], 'HERO: projected features');
  const lastHidden = ctx.hiddenStates[L];
  if (!lastHidden) throw new HeroError(`HERO: the last vision hidden state (index ${L}) was not tapped`);
  if (clip) assertShape(clip.tileImageEmbeds, ['K', 'Dp'], [K, -1], 'HERO: CLIP tile embeddings');
  if (K === 0 && opts.tileProbe) throw new HeroError('HERO tile probe (Table 1): this image has one crop and no tiles to probe (LLaVA-1.5)');
  if (K === 0) return heroSingleCrop(ctx, opts);

  return tidyAsync(async () => {
    // Stage 1: tile importance (HERO-1, HERO-2, HERO-D, HERO-3).
    const clsSim = clsSimilarity(lastHidden);                                        // [K]
    const sal = saliency(clsSim, opts.tauV);                                         // [K]
    const clipSim = clip ? clipSimilarity(clip.tileImageEmbeds, clip.textEmbed) : tf.fill([K], NaN) as tf.Tensor1D;
    const rel = clip ? relevance(clipSim, opts.tauT) : tf.fill([K], NaN) as tf.Tensor1D;
    const valid = validMask(ctx.grid, G, ctx.imageSize);
    const dens = density(tf.tensor1d(valid.counts, 'float32'), N);                  // [K]
    const probe = opts.tileProbe;
    // Table 1's pilot (HERO-PROBE) decides the budgets without HERO-3: its importance is NaN ("not computed").
    const imp = probe ? tf.fill([K], NaN) as tf.Tensor1D
      : r.uniformBudgets
        ? uniformImportance(K)
        : importance(sal, r.needsRelevance ? rel : null, dens, r.alpha, opts.densityWeight); // [K]
    // Stage 2 scores (HERO-5, HERO-6).
    const gScores = globalScores(ctx.attentions, r.globalLayers, r.secondSoftmax);  // [N]
    const tScores = tileScores(ctx.attentions, r.tileLayers, r.secondSoftmax);      // [K, N]

    // Host round-trip: budgets and top-k indices are integers decided on the CPU from these small
    // score tensors (K + N + K·N floats).
    const impHost = await imp.data();
    const gHost = await gScores.data();
    const tHost = await tScores.data();

    // HERO-B, HERO-4: integer budgets (or HERO-PROBE's); then the top-k selections.
    const probed = probe
      ? probeBudgets(probe, probe === 'thumbnail-only' ? null : await (probe.by === 'clip' ? clipSim : clsSim).data(), valid.counts, N)
      : null;
    const { globalBudget, budgets } = probed ?? tokenBudgets(impHost, valid.counts, N, opts.ratio);
    const globalKeep = topKMask(gHost, globalBudget, undefined, 'HERO selection');
    const tileKeep = budgets.map((b, k) => topKMask(tHost.subarray(k * N, (k + 1) * N), b, valid.mask[k], 'HERO selection'));

    const features = heroLayout(ctx.projected, ctx.imageNewline, globalKeep, tileKeep, ctx.grid, G); // [M, D]
    const u8 = (masks: readonly Uint8Array[]): tf.Tensor => tf.tensor2d(masks.flatMap((m) => Array.from(m)), [masks.length, N], 'int32');
    const tensors: Record<string, NamedTensor> = {
      'hero.global_scores': { tensor: gScores, dtype: 'F32' },
      'hero.tile_scores': { tensor: tScores, dtype: 'F32' },
      'hero.cls_similarity': { tensor: clsSim, dtype: 'F32' },
      'hero.saliency': { tensor: sal, dtype: 'F32' },
      'hero.clip_similarity': { tensor: clipSim, dtype: 'F32' },
      'hero.relevance': { tensor: rel, dtype: 'F32' },
      'hero.density': { tensor: dens, dtype: 'F32' },
      'hero.importance': { tensor: imp, dtype: 'F32' },
      'hero.budgets': { tensor: tf.tensor1d(budgets, 'int32'), dtype: 'I64' },
      'hero.global_keep': { tensor: tf.tensor1d(Array.from(globalKeep), 'int32'), dtype: 'U8' },
      'hero.tile_keep': { tensor: u8(tileKeep), dtype: 'U8' },
      'hero.valid_mask': { tensor: u8(valid.mask), dtype: 'U8' },
    };
    if (probed) {
      // HERO-PROBE: the ranking scores (c_k or t_k; NaN for 'thumbnail-only'), the ranking and the chosen tile.
      tensors['hero.probe_scores'] = { tensor: probe === 'thumbnail-only' ? tf.fill([K], NaN) : tf.clone(probe!.by === 'clip' ? clipSim : clsSim), dtype: 'F32' };
      tensors['hero.probe_order'] = { tensor: tf.tensor1d(probed.order, 'int32'), dtype: 'I64' };
      tensors['hero.probe_tile'] = { tensor: tf.tensor1d([probed.tile], 'int32'), dtype: 'I64' };
    }
    const result: PruneResult = { features, keepMasks: [globalKeep, ...tileKeep], numNewlines: rows * G, tensors };
    return result; // the scope keeps every tensor nested in the result
  });
}

/**
 * HERO on one crop (LLaVA-1.5: grid 0 × 0, the crop in the thumbnail's slot). Stage 1 has nothing to share out:
 * no tiles, so no saliency, relevance, density or tile budgets; what is left is stage 2 on the crop, the
 * thumbnail's rule (HERO-B's B_0 = ⌊r·N⌋ = the whole budget, chosen by HERO-5's high-layer scores), and the
 * tokens in raster order with no newline (HERO-LAYOUT with no grid rows).
 * @choice the one crop is the whole image, as the thumbnail is, so it takes the thumbnail's (global, high-layer)
 * scores; --high-layers picks those layers (pass the low layers there to rank it as a tile would be ranked).
 * Trace names: hero.global_scores [N] (F32), hero.global_keep [N] (U8); the per-tile names have no tile to describe.
 */
async function heroSingleCrop(ctx: VisualContext, opts: HeroOptions): Promise<PruneResult> {
  const r = resolveHero(opts);
  const N = ctx.patchGrid ** 2;
  return tidyAsync(async () => {
    const gScores = globalScores(ctx.attentions, r.globalLayers, r.secondSoftmax);   // [N]
    const { globalBudget } = budgetPools(N, 0, opts.ratio);
    const globalKeep = topKMask(await gScores.data(), globalBudget, undefined, 'HERO selection');
    const features = heroLayout(ctx.projected, ctx.imageNewline, globalKeep, [], ctx.grid, ctx.patchGrid); // [M, D], M = B₀
    const result: PruneResult = {
      features, keepMasks: [globalKeep], numNewlines: 0, tensors: {
        'hero.global_scores': { tensor: gScores, dtype: 'F32' },
        'hero.global_keep': { tensor: tf.tensor1d(Array.from(globalKeep), 'int32'), dtype: 'U8' },
      },
    };
    return result;
  });
}
