/** Memory estimate before loading a model, and the refusal when it would not fit. */
import * as fs from 'fs';
import * as os from 'os';
import { HeroError } from '../core/errors';
import type { ClipModelConfig } from '../clip/config';
import { clipParameterCount } from '../clip/load';
import type { LlavaNextConfig } from '../llava/config';
import { llavaNextParameterCount } from '../llava/load';

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

/**
 * fp32 bytes a `run` needs (f16/bf16 files double in memory), from the parsed configs: every parameter of
 * the LLaVA-NeXT model and of the CLIP model (given when --clip names one), each counted from its loader's
 * key spec, plus the vision tower's activations for the most crops P the pinpoints can give (1 + the
 * largest tile grid): (L+1)·(N+1)·(Dv + Hv·(N+1)/4) values per crop.
 * @choice the activation term is an upper-bound estimate, not a count.
 */
export function runMemoryBytes(llava: LlavaNextConfig, clip?: ClipModelConfig): number {
  const v = llava.vision_config;
  const S = v.image_size;
  const P = 1 + Math.max(...llava.image_grid_pinpoints.map(([h, w]) => Math.ceil(h / S) * Math.ceil(w / S)));
  const N1 = (S / v.patch_size) ** 2 + 1;
  const activations = 4 * P * (v.num_hidden_layers + 1) * N1 * (v.hidden_size + v.num_attention_heads * N1 / 4);
  return 4 * llavaNextParameterCount(llava) + (clip ? 4 * clipParameterCount(clip) : 0) + activations;
}
