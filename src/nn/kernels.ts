/**
 * The one indirection point between the model code and the accelerations.
 *
 * The model folders call `attend` and `linear` from here. They run the reference formulas of
 * nn/attention.ts and nn/linear.ts, unless src/accel/ (and nothing else) has installed a faster
 * implementation of the same signature and the same math at start-up (`installAccelerations`,
 * src/accel/index.ts, which also prints what it chose). Nothing here looks at the backend.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { attend as attendReference, type AttendOptions } from './attention';
import { linear as linearReference, type LinearParams } from './linear';

/** The replaceable kernels: each has the signature and the math of its reference. */
export interface Kernels {
  readonly attend: typeof attendReference;
  readonly linear: typeof linearReference;
}

/** The reference formulas. */
export const REFERENCE_KERNELS: Kernels = { attend: attendReference, linear: linearReference };

let active: Kernels = REFERENCE_KERNELS;

/** Replaces the given kernels (the others go back to the reference). Only src/accel/ calls this. */
export function setKernels(k: Partial<Kernels>): void { active = { ...REFERENCE_KERNELS, ...k }; }

/** The kernels in use now. */
export function activeKernels(): Kernels { return active; }

/** o = softmax(q kᵀ · scale + mask) v: nn/attention.ts `attend`, or the installed replacement. @eq Attn-1 */
export function attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number,
  opts: AttendOptions = {}): { out: tf.Tensor4D; probs?: tf.Tensor4D } {
  return active.attend(q, k, v, scale, opts);
}

/** y = x Wᵀ + b: nn/linear.ts `linear`, or the installed replacement. @eq NN-linear */
export function linear<T extends tf.Tensor>(p: LinearParams, x: T): T {
  return active.linear(p, x);
}
