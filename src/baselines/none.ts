/**
 * `none`: plain LLaVA-NeXT, every visual token (the reference the pruning methods are measured against).
 * No vision-side selection (the pipeline's default packing), no decoder hook, no options.
 */
import { ratioOption, type Method } from '../methods/contract';

export const noneMethod: Method<Record<string, never>, 'none'> = {
  name: 'none',
  configure: (raw) => { ratioOption(raw); return {}; }, // takes no ratio, but a bad one is still an error
  taps: () => ({}),
};
