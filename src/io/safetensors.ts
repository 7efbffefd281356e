/**
 * A strict safetensors reader and writer.
 *
 * Format (https://huggingface.co/docs/safetensors): 8-byte little-endian header length n, then n bytes of
 * UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`, then the
 * data buffer; offsets are relative to the first byte after the header. The reader validates everything
 * it can before reading a byte of data (header length, JSON, dtypes, shapes, byte counts, offsets inside
 * the file, no overlaps) and reads tensors lazily, by name, in chunks below 2 GiB, with 64-bit file offsets.
 * Floats of every width come back as Float32Array (fp32 everywhere in the math); integers as numbers.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readJsonObject } from './json';
import { HeroError } from '../core/errors';

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** Bytes per element of each dtype the reader accepts. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};
const FLOAT_DTYPES: readonly DType[] = ['F64', 'F32', 'F16', 'BF16'];

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Absolute byte range [begin, end) in the file. */
  readonly begin: number;
  readonly end: number;
}

/** Largest header we accept (HF's reader uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
/** Reads are split in chunks below 2 GiB (Node's fs.readSync limit). */
const READ_CHUNK_BYTES = 1 << 30;

export function isFloatDType(d: DType): boolean {
  return FLOAT_DTYPES.includes(d);
}

/** An opened safetensors file: header parsed and validated, data read on request. */
export class SafetensorsFile {
  /** @param mtimeMs the file's modification time when it was opened (io/stored.ts notices a file changed under a run) */
  private constructor(readonly file: string, private readonly fd: number, readonly byteSize: number,
    private readonly infos: ReadonlyMap<string, TensorInfo>, readonly metadata: Readonly<Record<string, string>>, readonly mtimeMs: number) {}

  static open(file: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw new HeroError(`${file}: cannot open safetensors file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new HeroError(`${file}: cannot open safetensors file (EISDIR: a directory)`);
      const size = st.size;
      const { infos, metadata } = parseHeader(file, fd, size);
      return new SafetensorsFile(file, fd, size, infos, metadata, st.mtimeMs);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  names(): string[] {
    return [...this.infos.keys()];
  }

  has(name: string): boolean {
    return this.infos.has(name);
  }

  info(name: string): TensorInfo {
    const i = this.infos.get(name);
    if (!i) throw new HeroError(`${this.file}: no tensor named '${name}'`);
    return i;
  }

  /**
   * Raw little-endian bytes of one tensor, or of its elements [from, to) in row-major order (to stream
   * through a tensor too large to hold twice). `shared`: in a SharedArrayBuffer of its own, which worker
   * threads read without a copy (accel/decoder_pool.ts).
   */
  readBytes(name: string, from?: number, to?: number, shared = false): Buffer {
    const info = this.info(name);
    const bytes = DTYPE_BYTES[info.dtype];
    const numel = (info.end - info.begin) / bytes;
    const lo = from ?? 0, hi = to ?? numel;
    if (!(Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && lo >= 0 && lo <= hi && hi <= numel)) {
      throw new Error(`readBytes: element range [${lo}, ${hi}) is outside tensor '${name}' of ${numel} elements`);
    }
    const begin = info.begin + lo * bytes, end = info.begin + hi * bytes;
    const buf = shared ? Buffer.from(new SharedArrayBuffer(end - begin)) : Buffer.allocUnsafe(end - begin);
    for (let off = 0; off < buf.length; off += READ_CHUNK_BYTES) {
      const len = Math.min(READ_CHUNK_BYTES, buf.length - off);
      const got = fs.readSync(this.fd, buf, off, len, begin + off);
      if (got !== len) throw new HeroError(`${this.file}: short read in tensor '${name}' (file truncated?)`);
    }
    return buf;
  }

  /** A floating-point tensor's stored bytes, refusing any other dtype (`shared`: as in readBytes). */
  readFloatBytes(name: string, shared = false): Buffer {
    const info = this.info(name);
    if (!isFloatDType(info.dtype)) throw new HeroError(`${this.file}: tensor '${name}' is ${info.dtype}, expected a float dtype`);
    return this.readBytes(name, undefined, undefined, shared);
  }

  /** A floating-point tensor as fp32 (F16 and BF16 are upcast exactly; F64 is rounded). */
  readFloat32(name: string): Float32Array {
    return decodeFloat(this.readFloatBytes(name), this.info(name).dtype);
  }

  /**
   * Elements [from, to) of a tensor of any dtype as float64: floats exactly (F64 is not rounded to fp32),
   * integers exactly up to ±2^53 (I64/U64 beyond that are rounded).
   */
  readFloat64(name: string, from?: number, to?: number): Float64Array {
    return decodeFloat64(this.readBytes(name, from, to), this.info(name).dtype);
  }

  /** An integer or boolean tensor as plain numbers (I64/U64 must fit in ±2^53). */
  readNumbers(name: string): number[] {
    const info = this.info(name);
    if (isFloatDType(info.dtype)) return Array.from(this.readFloat32(name));
    const values = decodeFloat64(this.readBytes(name), info.dtype);
    // an I64/U64 beyond ±(2^53 − 1) converts to a float64 of magnitude ≥ 2^53, which is not a safe integer
    if ((info.dtype === 'I64' || info.dtype === 'U64') && !values.every(Number.isSafeInteger)) {
      throw new HeroError(`${this.file}: tensor '${name}' holds an integer beyond 2^53`);
    }
    return Array.from(values);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function parseHeader(file: string, fd: number, size: number): { infos: Map<string, TensorInfo>; metadata: Record<string, string> } {
  const bad = (why: string): never => { throw new HeroError(`${file}: not a valid safetensors file: ${why}`); };
  if (size < 8) bad(`file is ${size} bytes, shorter than the 8-byte header length`);
  const lenBuf = Buffer.alloc(8);
  fs.readSync(fd, lenBuf, 0, 8, 0);
  const headerLen64 = lenBuf.readBigUInt64LE(0);
  if (headerLen64 < 2n || headerLen64 > BigInt(MAX_HEADER_BYTES)) bad(`header length ${headerLen64} is out of range`);
  const headerLen = Number(headerLen64);
  if (8 + headerLen > size) bad(`header length ${headerLen} runs past the end of the ${size}-byte file (truncated?)`);
  const hbuf = Buffer.alloc(headerLen);
  fs.readSync(fd, hbuf, 0, headerLen, 8);
  let json: unknown;
  try {
    json = JSON.parse(hbuf.toString('utf8'));
  } catch (e) {
    return bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = size - dataStart;
  const infos = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (v ?? {}) as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) bad(`entry '${name}' is not an object`);
    const dtype = e.dtype as DType;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) bad(`tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      bad(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [b, en] = offs as number[];
    const numel = (shape as number[]).reduce((a, d) => a * d, 1);
    if (en - b !== numel * DTYPE_BYTES[dtype]) {
      bad(`tensor '${name}': ${en - b} bytes for ${dtype}${JSON.stringify(shape)}, expected ${numel * DTYPE_BYTES[dtype]}`);
    }
    if (en > dataLen) bad(`tensor '${name}' ends at byte ${en} of a ${dataLen}-byte data section (file truncated?)`);
    infos.set(name, { name, dtype, shape: shape as number[], begin: dataStart + b, end: dataStart + en });
  }
  // No two tensors may share bytes.
  const sorted = [...infos.values()].filter((i) => i.end > i.begin).sort((a, c) => a.begin - c.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) bad(`tensors '${sorted[i - 1].name}' and '${sorted[i].name}' overlap`);
  }
  return { infos, metadata };
}

// ---------------------------------------------------------------------------------------------------------
// dtype conversion

/** Typed-array views read the host's byte order; the files are little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const f16Table = (() => {
  // fp16 → fp32 for all 65536 bit patterns (exact: every fp16 value is representable in fp32); accel/rows.ts reads it too.
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = s * m * 2 ** -24;
    else if (e === 31) t[h] = m ? NaN : s * Infinity;
    else t[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

/** Decodes little-endian float bytes of `dtype` into fp32. */
export function decodeFloat(b: Buffer, dtype: DType): Float32Array {
  if (dtype === 'F64') {
    const f64 = new Float64Array(b.length / 8);
    new Uint8Array(f64.buffer).set(b);
    return Float32Array.from(f64);
  }
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new HeroError(`cannot decode ${dtype} as float`);
  const out = new Float32Array(b.length / DTYPE_BYTES[dtype]);
  decodeFloatInto(b, dtype, out, 0);
  return out;
}

/**
 * Decodes little-endian F32/F16/BF16 bytes into `out` from element `at` on, without allocating: streamed
 * weights are widened on every use, straight into the array that becomes the tensor (accel/decoder_pool.ts).
 */
export function decodeFloatInto(b: Buffer, dtype: 'F32' | 'F16' | 'BF16', out: Float32Array, at: number): void {
  const n = b.length / DTYPE_BYTES[dtype];
  if (at < 0 || at + n > out.length) throw new Error(`decodeFloatInto: ${n} values at ${at} do not fit ${out.length}`);
  switch (dtype) {
    case 'F32':
      new Uint8Array(out.buffer, out.byteOffset + 4 * at, 4 * n).set(b);
      return;
    case 'F16':
      if (LITTLE_ENDIAN && b.byteOffset % 2 === 0) {
        // the same lookup through a 16-bit view (one load per element; streamed weights widen every use)
        const h = new Uint16Array(b.buffer, b.byteOffset, n);
        for (let i = 0; i < n; i++) out[at + i] = f16Table[h[i]];
      } else {
        for (let i = 0; i < n; i++) out[at + i] = f16Table[b[2 * i] | (b[2 * i + 1] << 8)];
      }
      return;
    case 'BF16': {
      // bf16 is the top half of an fp32: shift into place.
      const u = new Uint32Array(out.buffer, out.byteOffset + 4 * at, n);
      if (LITTLE_ENDIAN && b.byteOffset % 2 === 0) {
        const h = new Uint16Array(b.buffer, b.byteOffset, n);
        for (let i = 0; i < n; i++) u[i] = h[i] << 16;
      } else {
        for (let i = 0; i < n; i++) u[i] = (b[2 * i] | (b[2 * i + 1] << 8)) << 16;
      }
      return;
    }
  }
}

/** Decodes little-endian bytes of any dtype into float64 (exact, except I64/U64 beyond ±2^53). */
export function decodeFloat64(b: Buffer, dtype: DType): Float64Array {
  const n = b.length / DTYPE_BYTES[dtype];
  const out = new Float64Array(n);
  switch (dtype) {
    case 'F64': new Uint8Array(out.buffer).set(b); return out;
    case 'F32': case 'F16': case 'BF16': out.set(decodeFloat(b, dtype)); return out;
    default: break;
  }
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'I64': out[i] = Number(b.readBigInt64LE(i * 8)); break;
      case 'U64': out[i] = Number(b.readBigUInt64LE(i * 8)); break;
      case 'I32': out[i] = b.readInt32LE(i * 4); break;
      case 'U32': out[i] = b.readUInt32LE(i * 4); break;
      case 'I16': out[i] = b.readInt16LE(i * 2); break;
      case 'U16': out[i] = b.readUInt16LE(i * 2); break;
      case 'I8': out[i] = b.readInt8(i); break;
      default: out[i] = b[i]; // U8, BOOL
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Sharded checkpoints

/**
 * All tensors of a checkpoint directory: `model.safetensors`, or the shards named by
 * `model.safetensors.index.json` (`weight_map`: tensor name → shard file). Files are opened lazily.
 */
export class SafetensorsDir {
  private readonly files = new Map<string, SafetensorsFile>();
  private constructor(readonly dir: string, private readonly weightMap: ReadonlyMap<string, string>) {}

  static open(dir: string): SafetensorsDir {
    const index = path.join(dir, 'model.safetensors.index.json');
    const single = path.join(dir, 'model.safetensors');
    if (fs.existsSync(index)) {
      const wm = readJsonObject(index, 'shard index').weight_map as Record<string, string>;
      if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new HeroError(`${index}: no "weight_map" object`);
      const entries = Object.entries(wm);
      const badEntry = entries.find(([, f]) => typeof f !== 'string');
      if (badEntry) throw new HeroError(`${index}: weight_map entry '${badEntry[0]}' is not a file name`);
      // Every shard the index names must exist before any tensor is read.
      for (const shard of new Set(entries.map(([, f]) => f))) {
        if (!fs.existsSync(path.join(dir, shard))) {
          const t = entries.find(([, f]) => f === shard)![0];
          throw new HeroError(`${index}: names shard '${shard}' (for '${t}'), which is not in ${dir}`);
        }
      }
      return new SafetensorsDir(dir, new Map(entries));
    }
    if (!fs.existsSync(single)) throw new HeroError(`${dir}: no model.safetensors or model.safetensors.index.json`);
    const f = SafetensorsFile.open(single);
    const d = new SafetensorsDir(dir, new Map(f.names().map((n) => [n, 'model.safetensors'])));
    d.files.set('model.safetensors', f);
    return d;
  }

  names(): string[] {
    return [...this.weightMap.keys()];
  }

  has(name: string): boolean {
    return this.weightMap.has(name);
  }

  /** The opened file that holds `name` (the shard must list it, as the index says). */
  fileOf(name: string): SafetensorsFile {
    const shard = this.weightMap.get(name);
    if (shard === undefined) throw new HeroError(`${this.dir}: no tensor named '${name}'`);
    let f = this.files.get(shard);
    if (!f) {
      f = SafetensorsFile.open(path.join(this.dir, shard));
      this.files.set(shard, f);
    }
    if (!f.has(name)) throw new HeroError(`${f.file}: the index lists '${name}' in this shard, but the shard has no such tensor`);
    return f;
  }

  info(name: string): TensorInfo {
    return this.fileOf(name).info(name);
  }

  readFloat32(name: string): Float32Array {
    return this.fileOf(name).readFloat32(name);
  }

  /** A floating-point tensor's stored bytes (SafetensorsFile.readFloatBytes; `shared`: in a SharedArrayBuffer). */
  readFloatBytes(name: string, shared = false): Buffer {
    return this.fileOf(name).readFloatBytes(name, shared);
  }

  close(): void {
    for (const f of this.files.values()) f.close();
    this.files.clear();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Writer (trace output, generated weights)

export interface TensorToWrite {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array | Uint8Array | readonly number[] | BigInt64Array;
}

/** Encodes one tensor's data as little-endian bytes of `dtype` (F32, F16, I64, I32, U8 supported). */
export function encodeTensor(t: TensorToWrite): Buffer {
  const n = t.shape.reduce((a, d) => a * d, 1);
  if (t.data.length !== n) throw new Error(`encodeTensor: ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  if (t.dtype === 'F32' && t.data instanceof Float32Array) return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const b = Buffer.alloc(n * DTYPE_BYTES[t.dtype]);
  for (let i = 0; i < n; i++) {
    const v = t.data[i];
    switch (t.dtype) {
      case 'F32': b.writeFloatLE(Number(v), i * 4); break;
      case 'F16': b.writeUInt16LE(float32ToF16Bits(Number(v)), i * 2); break;
      case 'I64': b.writeBigInt64LE(BigInt(v), i * 8); break;
      case 'I32': b.writeInt32LE(Number(v), i * 4); break;
      case 'U8': case 'BOOL': b.writeUInt8(Number(v), i); break;
      default: throw new Error(`encodeTensor: writing ${t.dtype} is not supported`);
    }
  }
  return b;
}

/** fp32 → fp16 bits, round to nearest even (used only to write f16 weight files). */
export function float32ToF16Bits(x: number): number {
  const f = new Float32Array([x]);
  return f32BitsToF16Bits(new Uint32Array(f.buffer)[0]);
}

/** The same from the fp32's bit pattern `u`. */
export function f32BitsToF16Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  e = h >> 10;
  return sign | h;
}

/** fp32 bits → bf16 bits (the top half), round to nearest even; NaN stays a quiet NaN. */
export function f32BitsToBf16Bits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** fp32 values as little-endian F32, F16 or BF16 bytes (F16/BF16 rounded to nearest even), fast path for large tensors. */
export function encodeFloats(data: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Buffer {
  if (dtype === 'F32') return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  if (dtype === 'F16') for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]);
  else for (let i = 0; i < bits.length; i++) out[i] = f32BitsToBf16Bits(bits[i]);
  return Buffer.from(out.buffer); // little-endian hosts only, as the reader's typed-array views assume
}

/**
 * Writes tensors in sorted-name order, header padded with spaces to a multiple of 8 bytes
 * (as the reference writer does).
 */
export function writeSafetensors(file: string, tensors: Readonly<Record<string, TensorToWrite>>,
  metadata: Readonly<Record<string, string>> = {}): void {
  const names = Object.keys(tensors).sort();
  const bufs = names.map((name) => encodeTensor(tensors[name]));
  const head = safetensorsHeader(names.map((name, i) => ({ name, dtype: tensors[name].dtype, shape: tensors[name].shape, bytes: bufs[i].length })), metadata);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, head);
    for (const b of bufs) fs.writeSync(fd, b);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The bytes before the data: 8-byte length + JSON header (padded with spaces to a multiple of 8), for
 * tensors laid out back to back in the given order. Lets a writer stream the data after it.
 */
export function safetensorsHeader(entries: ReadonlyArray<{ name: string; dtype: DType; shape: readonly number[]; bytes: number }>,
  metadata: Readonly<Record<string, string>> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes] };
    off += e.bytes;
  }
  let h = JSON.stringify(header);
  h += ' '.repeat((8 - (Buffer.byteLength(h) % 8)) % 8);
  const hb = Buffer.from(h, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  return Buffer.concat([len, hb]);
}
