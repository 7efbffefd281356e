/**
 * A small seeded PRNG for the embedded default weights: platform-independent (32-bit integer ops only,
 * float64 arithmetic, one `fround` at the end), so the same seed gives the same bytes everywhere.
 *
 * @choice xoshiro128** (Blackman & Vigna) seeded through splitmix32, uniforms with 53 random bits from two
 * draws, normals by Box–Muller in float64 (both outputs used). Nothing here tries to match PyTorch's
 * generator: the default weights are our own, and their sha256 is pinned in weights/manifest.json.
 */

// Math's functions bound once: inside a vm context (jest) every global `Math.x` lookup goes through the
// context's interceptors and is ~50× slower.
const { imul, log, sqrt, sin, cos, fround, PI } = Math;

/** splitmix32 step: a well-mixed 32-bit value from a 32-bit state (used only to seed xoshiro). */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = imul(z ^ (z >>> 16), 0x85ebca6b);
  z = imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** The second Box–Muller output, kept for the next call. */
  private spare: number | null = null;

  /** `seed` is any integer in [0, 2^32); `stream` names an independent stream for the same seed. */
  constructor(seed: number, stream = '') {
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`Rng: seed ${seed} is not a 32-bit unsigned integer`);
    // Fold the stream name into the seed (FNV-1a over its UTF-16 code units).
    let h = 0x811c9dc5;
    for (let i = 0; i < stream.length; i++) h = imul(h ^ stream.charCodeAt(i), 0x01000193);
    const st = { s: (seed ^ h) | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** One 32-bit unsigned value (xoshiro128**). */
  nextU32(): number {
    const t = this.b << 9;
    let r = imul(this.b, 5);
    r = imul((r << 7) | (r >>> 25), 9);
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = (this.d << 11) | (this.d >>> 21);
    return r >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits (float64). */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal N(0, 1) in float64 (Box–Muller; u1 is kept away from 0). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    const r = sqrt(-2 * log(u1));
    this.spare = r * sin(2 * PI * u2);
    return r * cos(2 * PI * u2);
  }

  /** n values mean + std·N(0, 1), each rounded once to fp32. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = fround(mean + std * this.normal());
    return out;
  }
}
