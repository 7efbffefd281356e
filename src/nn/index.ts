export type { LinearParams } from './linear';
export * from './norm';
export * from './activations';
export { MASK_MIN, attentionProbs, causalMask, positionMask, splitHeads, mergeHeads, type AttendOptions } from './attention';
export * from './rope';
// `attend` and `linear` as the model code calls them: the reference, or what src/accel/ installed.
export { attend, linear, activeKernels, REFERENCE_KERNELS, type Kernels } from './kernels';
