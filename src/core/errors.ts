/**
 * Errors a user can cause (bad files, bad flags, bad images). The CLI prints `message` as one line and
 * exits with `exitCode`; anything else is a bug and is reported as such.
 */
export class HeroError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'HeroError';
  }
}

/** Throws a HeroError unless `cond` holds. */
export function check(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new HeroError(typeof message === 'string' ? message : message());
}
