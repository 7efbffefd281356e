/** Memory estimate before loading a model, and the refusal when it would not fit. */
import * as fs from 'fs';
import * as os from 'os';
import { HeroError } from '../core/errors';

/** Environment variable that overrides the detected available memory (bytes), e.g. under a cgroup limit. */
export const MEMORY_ENV = 'HERO_LVLM_AVAILABLE_MEMORY';

/**
 * Bytes the OS can give us: $HERO_LVLM_AVAILABLE_MEMORY when set (a non-negative integer, else an error),
 * /proc/meminfo MemAvailable, else os.freemem().
 */
export function availableMemory(env: NodeJS.ProcessEnv = process.env): number {
  const over = env[MEMORY_ENV];
  if (over !== undefined) {
    const n = Number(over);
    if (over.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new HeroError(`$${MEMORY_ENV}: '${over}' is not a byte count`);
    return n;
  }
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  return os.freemem();
}

export const GIB = 2 ** 30;

/** Throws unless `needBytes` fits in the available memory (or `force`). */
export function checkMemory(needBytes: number, force: boolean, log: (s: string) => void, avail = availableMemory()): void {
  log(`memory: this run needs about ${(needBytes / GIB).toFixed(2)} GiB in fp32; ${(avail / GIB).toFixed(1)} GiB available`);
  if (needBytes > avail && !force) {
    throw new HeroError(`the model needs about ${(needBytes / GIB).toFixed(1)} GiB in fp32 but only ${(avail / GIB).toFixed(1)} GiB is available; use a machine with more memory, or --force to try anyway`);
  }
}
