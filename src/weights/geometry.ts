/**
 * The embedded default model's geometry (src/weights/default_model.ts): the real values of
 * llava-hf/llava-v1.6-vicuna-7b-hf and openai/clip-vit-large-patch14-336 where they matter to HERO, small
 * widths elsewhere. Every other file of the default model derives from these constants.
 *
 * @choice Every design decision here (widths, seed) is ours; none of it comes from the paper or HF.
 */

/** @choice seed = HERO's arXiv number 2509.13067 without the dot. */
export const DEFAULT_SEED = 250913067;

/** @choice The pinpoints, crop, patch and depths of llava-v1.6 (Vicuna-7B: 32 decoder layers) / CLIP ViT-L/14-336 (24 layers); widths are small. */
export const PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]];
export const CROP_PX = 336;
export const PATCH_PX = 14;
export const VISION = { hidden: 64, heads: 4, mlp: 256, layers: 24, projection: 32 };
export const TEXT = { hidden: 64, heads: 4, kvHeads: 4, mlp: 192, layers: 32, vocab: 32064, maxPos: 4096 };
export const CLIP_TEXT = { hidden: 64, heads: 4, mlp: 256, layers: 3, maxPos: 77 };
/** Llama-2 ids, plus the two tokens llava-hf adds. */
export const LLAMA_IDS = { unk: 0, bos: 1, eos: 2, image: 32000, pad: 32001 };
export const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
