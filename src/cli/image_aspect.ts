/**
 * What run and trace check on a LLaVA-1.5 --model (src/llava/llava15.ts) from its config.json alone, before
 * the backend starts or a weight is read: `--image-aspect crop|pad` (how the one square crop is made), and
 * whether the method is defined on one crop (its `configure`, which refuses HiRED and GlobalCom² there).
 */
import { HeroError } from '../core/errors';
import type { FlagSpecs, ParsedFlags } from './args';
import type { Method } from '../method';
import { deriveLlava } from '../llava/config';
import { loadLlavaNextConfig } from '../llava/load';
import type { LlavaNextModel } from '../llava/model';
import { IMAGE_ASPECTS, isLlava15, type ImageAspect } from '../llava/llava15';

export const IMAGE_ASPECT_FLAGS: FlagSpecs = {
  'image-aspect': {
    type: 'string', arg: 'crop|pad',
    help: "LLaVA-1.5 only: crop (default: HF v4.45.1's CLIPImageProcessor, shorter side to the crop size, centre crop) | pad (the original LLaVA's image_aspect_ratio 'pad': the image on a square of its processor's mean colour first, nothing cut off)",
  },
};

/**
 * The --image-aspect value (undefined when not given; refused when unknown, or given for a LLaVA-NeXT
 * --model); for a LLaVA-1.5 --model also the method's own refusal (Method.configure on the config alone).
 */
export function imageAspectFlag(flags: ParsedFlags, modelDir: string, method?: Method<unknown>): ImageAspect | undefined {
  const v = flags['image-aspect'] as string | undefined;
  if (v !== undefined && !(IMAGE_ASPECTS as readonly string[]).includes(v)) throw new HeroError(`--image-aspect: '${v}' is not one of ${IMAGE_ASPECTS.join(', ')}`);
  const config = loadLlavaNextConfig(modelDir);
  if (!isLlava15(config)) {
    if (v !== undefined) throw new HeroError(`--image-aspect: only for LLaVA-1.5 checkpoints (config.json model_type 'llava'); '${modelDir}' is LLaVA-NeXT, whose anyres processor has its own padding`);
    return undefined;
  }
  // configure reads only the config and what it derives (the same call runs again on the loaded model).
  method?.configure(flags, { config, derived: deriveLlava(config) } as LlavaNextModel);
  return v as ImageAspect | undefined;
}
