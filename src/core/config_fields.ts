/**
 * The one way configs are parsed: a typed config object is built field by field from an HF JSON object
 * (config.json, preprocessor_config.json, …) with `ConfigFields`; an absent or null field takes the HF
 * class default given at the call, a field of the wrong type is a one-line HeroError naming the file and
 * the field. Unsupported settings are refused by the caller with `bad`, naming the file too.
 */
import { HeroError } from './errors';

export class ConfigFields {
  /** `where` names the file (and the sub-object, e.g. 'x/config.json text_config') in every error */
  constructor(readonly json: Record<string, unknown>, readonly where: string) {}

  /** A refusal: `<where>: <why>`. */
  bad(why: string): never {
    throw new HeroError(`${this.where}: ${why}`);
  }

  /** The raw value, or `dflt` when absent or null. */
  raw(key: string, dflt?: unknown): unknown {
    const v = this.json[key];
    return v === undefined || v === null ? dflt : v;
  }

  /** A finite number. */
  num(key: string, dflt?: number): number {
    const v = this.raw(key, dflt);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.bad(`field ${key} must be a number (got ${JSON.stringify(this.json[key])})`);
    return v as number;
  }

  /** An integer. */
  int(key: string, dflt?: number): number {
    const v = this.raw(key, dflt);
    if (!Number.isInteger(v)) this.bad(`field ${key} must be an integer (got ${JSON.stringify(this.json[key])})`);
    return v as number;
  }

  /** A size or count (layers, heads, widths, positions): an integer ≥ 1. */
  size(key: string, dflt?: number): number {
    const v = this.raw(key, dflt);
    if (!(Number.isInteger(v) && (v as number) >= 1)) this.bad(`field ${key} must be a positive integer (got ${JSON.stringify(this.json[key])})`);
    return v as number;
  }

  /** A finite number > 0 (a norm's ε, RoPE's base θ). */
  positive(key: string, dflt?: number): number {
    const v = this.num(key, dflt);
    if (!(v > 0)) this.bad(`field ${key} must be a number > 0 (got ${JSON.stringify(this.json[key])})`);
    return v;
  }

  /** A string. */
  str(key: string, dflt?: string): string {
    const v = this.raw(key, dflt);
    if (typeof v !== 'string') this.bad(`field ${key} must be a string (got ${JSON.stringify(this.json[key])})`);
    return v as string;
  }

  /** A flag; HF's configs store true/false, any other value is read as JS truthiness (as HF's `if` does). */
  flag(key: string, dflt: boolean): boolean {
    return Boolean(this.raw(key, dflt));
  }

  /** A nested object (`vision_config`, `text_config`); absent or null → {} (all class defaults). */
  sub(key: string): ConfigFields {
    const v = this.raw(key, {});
    if (typeof v !== 'object' || Array.isArray(v)) this.bad(`field ${key} must be an object`);
    return new ConfigFields(v as Record<string, unknown>, `${this.where} ${key}`);
  }
}
