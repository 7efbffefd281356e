/** Memory estimate before loading a model, and the refusal when it would not fit. */
import * as fs from 'fs';
import * as os from 'os';
import { HeroError } from '../core/errors';

/** Bytes the OS can give us: /proc/meminfo MemAvailable, else os.freemem(). */
export function availableMemory(): number {
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  return os.freemem();
}

export const GIB = 2 ** 30;

/** Throws unless `needBytes` fits in the available memory (or `force`). */
export function checkMemory(needBytes: number, force: boolean, log: (s: string) => void): void {
  const avail = availableMemory();
  log(`memory: this run needs about ${(needBytes / GIB).toFixed(2)} GiB in fp32; ${(avail / GIB).toFixed(1)} GiB available`);
  if (needBytes > avail && !force) {
    throw new HeroError(`the model needs about ${(needBytes / GIB).toFixed(1)} GiB in fp32 but only ${(avail / GIB).toFixed(1)} GiB is available; use a machine with more memory, or --force to try anyway`);
  }
}
