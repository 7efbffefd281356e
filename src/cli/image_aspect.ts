/**
 * What run and trace check on a LLaVA-1.5 --model (src/llava/llava15.ts) from its config.json alone, before
 * the backend starts or a weight is read: `--image-aspect crop|pad` (how the one square crop is made).
 * Whether the method is defined on one crop is its own `configure`'s refusal (HiRED, GlobalCom²), which the
 * commands run on the config before this (cli/common.ts methodChoice).
 */
import { HeroError } from '../core/errors';
import type { FlagSpecs, ParsedFlags } from './args';
import type { LlavaNextConfig } from '../llava/config';
import { IMAGE_ASPECTS, isLlava15, type ImageAspect } from '../llava/llava15';

export const IMAGE_ASPECT_FLAGS: FlagSpecs = {
  'image-aspect': {
    type: 'string', arg: 'crop|pad',
    help: "LLaVA-1.5 only: crop (default: HF v4.45.1's CLIPImageProcessor, shorter side to the crop size, centre crop) | pad (the original LLaVA's image_aspect_ratio 'pad': the image on a square of its processor's mean colour first, nothing cut off)",
  },
};

/** The --image-aspect value (undefined when not given; refused when unknown, or given for a LLaVA-NeXT --model). */
export function imageAspectFlag(flags: ParsedFlags, config: LlavaNextConfig, modelDir: string): ImageAspect | undefined {
  const v = flags['image-aspect'] as string | undefined;
  if (v !== undefined && !(IMAGE_ASPECTS as readonly string[]).includes(v)) throw new HeroError(`--image-aspect: '${v}' is not one of ${IMAGE_ASPECTS.join(', ')}`);
  if (!isLlava15(config)) {
    if (v !== undefined) throw new HeroError(`--image-aspect: only for LLaVA-1.5 checkpoints (config.json model_type 'llava'); '${modelDir}' is LLaVA-NeXT, whose anyres processor has its own padding`);
    return undefined;
  }
  return v as ImageAspect | undefined;
}
