import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SafetensorsFile, SafetensorsDir, writeSafetensors, float32ToF16Bits, decodeFloat, decodeFloatInto } from '../../src/io/safetensors';
import { loadCheckpoint, type CheckpointRecipe } from '../../src/io/loader';
import { HeroError } from '../../src/core/errors';
import { FIXTURES } from '../util/fixtures';
import { expectRefused } from '../util/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-st-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Builds a raw safetensors file from a header object and a data buffer. */
function rawFile(name: string, header: unknown, data: Buffer, lenOverride?: bigint): string {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lenOverride ?? BigInt(h.length));
  const f = path.join(tmp, name);
  fs.writeFileSync(f, Buffer.concat([len, h, data]));
  return f;
}

describe('io.safetensors reader', () => {
  it('reads the golden F32 and F16 models (HF-written files)', () => {
    const f = SafetensorsFile.open(path.join(FIXTURES, 'models', 'clip-vit-l-336-1layer-f16', 'model.safetensors'));
    const info = f.info('vision_model.embeddings.position_embedding.weight');
    expect(info).toMatchObject({ dtype: 'F16', shape: [577, 1024] });
    const x = f.readFloat32('vision_model.embeddings.position_embedding.weight');
    expect(x.length).toBe(577 * 1024);
    expect(x.every(Number.isFinite)).toBe(true);
    expect(f.metadata).toEqual({ format: 'pt' });
    f.close();
  });

  it('round-trips F32/F16/I64/U8 through the writer', () => {
    const file = path.join(tmp, 'rt.safetensors');
    writeSafetensors(file, {
      a: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-30, -7]) },
      b: { dtype: 'F16', shape: [3], data: [1, -0.5, 65504] },
      c: { dtype: 'I64', shape: [1, 2], data: [1000, -3] },
      d: { dtype: 'U8', shape: [2], data: [0, 255] },
    }, { note: 'x' });
    const f = SafetensorsFile.open(file);
    expect(Array.from(f.readFloat32('a'))).toEqual(Array.from(Float32Array.from([1, -2, 3.5, 0, 1e-30, -7])));
    expect(Array.from(f.readFloat32('b'))).toEqual([1, -0.5, 65504]);
    expect(f.readNumbers('c')).toEqual([1000, -3]);
    expect(f.readNumbers('d')).toEqual([0, 255]);
    expect(f.metadata).toEqual({ note: 'x' });
    expect((fs.statSync(file).size - 8) % 8).toBe(0); // header padded to 8 bytes
    f.close();
  });

  it('readFloat64 reads element ranges of any dtype exactly (F64 not rounded to fp32, I64, U8, F16)', () => {
    const file = path.join(tmp, 'f64.safetensors');
    const f64 = Buffer.alloc(24);
    [0.1, -1e300, 2 ** -1074].forEach((v, i) => f64.writeDoubleLE(v, i * 8));
    const f16 = Buffer.alloc(4);
    f16.writeUInt16LE(0x0001, 0); f16.writeUInt16LE(0x7c00, 2); // 2^-24, +inf
    const i64 = Buffer.alloc(24);
    [2n ** 53n, -5n, 7n].forEach((v, i) => i64.writeBigInt64LE(v, i * 8));
    const hdr = {
      a: { dtype: 'F64', shape: [3], data_offsets: [0, 24] },
      b: { dtype: 'F16', shape: [2], data_offsets: [24, 28] },
      c: { dtype: 'I64', shape: [3], data_offsets: [28, 52] },
      d: { dtype: 'U8', shape: [2, 2], data_offsets: [52, 56] },
    };
    fs.copyFileSync(rawFile('f64raw', hdr, Buffer.concat([f64, f16, i64, Buffer.from([0, 1, 254, 255])])), file);
    const f = SafetensorsFile.open(file);
    expect(Array.from(f.readFloat64('a'))).toEqual([0.1, -1e300, 2 ** -1074]);
    expect(Array.from(f.readFloat64('a', 1, 3))).toEqual([-1e300, 2 ** -1074]);
    expect(Array.from(f.readFloat64('b'))).toEqual([2 ** -24, Infinity]);
    expect(Array.from(f.readFloat64('c', 0, 2))).toEqual([2 ** 53, -5]);
    expect(Array.from(f.readFloat64('d', 2, 4))).toEqual([254, 255]);
    expect(f.readFloat64('d', 1, 1).length).toBe(0);
    expect(() => f.readFloat64('d', 3, 5)).toThrow(/outside tensor 'd' of 4 elements/);
    f.close();
  });

  it('decodes BF16 as the top half of fp32 and F16 subnormals exactly', () => {
    const bf = Buffer.from([0x80, 0x3f, 0x40, 0xc0]); // 1.0, -3.0
    expect(Array.from(decodeFloat(bf, 'BF16'))).toEqual([1, -3]);
    const f16 = Buffer.alloc(4);
    f16.writeUInt16LE(0x0001, 0); f16.writeUInt16LE(float32ToF16Bits(-2.5), 2);
    expect(Array.from(decodeFloat(f16, 'F16'))).toEqual([2 ** -24, -2.5]);
  });

  const bad: Array<[string, () => string, RegExp]> = [
    ['shorter than 8 bytes', () => { const f = path.join(tmp, 'tiny'); fs.writeFileSync(f, Buffer.from([1, 2])); return f; }, /shorter than the 8-byte/],
    ['header length past EOF', () => rawFile('hl', {}, Buffer.alloc(0), 1000n), /runs past the end/],
    ['header not JSON', () => { const f = path.join(tmp, 'nj'); const b = Buffer.alloc(12); b.writeBigUInt64LE(4n); b.write('{no}', 8); fs.writeFileSync(f, b); return f; }, /not valid JSON/],
    ['unknown dtype', () => rawFile('dt', { a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)), /unsupported dtype/],
    ['byte count mismatch', () => rawFile('bc', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, Buffer.alloc(4)), /expected 8/],
    ['truncated data', () => rawFile('tr', { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)), /truncated/],
    ['overlapping tensors', () => rawFile('ov', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12)), /overlap/],
    ['negative shape', () => rawFile('ns', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, Buffer.alloc(0)), /invalid shape/],
  ];
  it.each(bad)('rejects a file with %s, naming the file', (_what, make, re) => {
    const f = make();
    let err: unknown;
    try { SafetensorsFile.open(f); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(HeroError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).toContain(f);
    expect((err as Error).message).not.toContain('\n');
  });

  it('follows model.safetensors.index.json across shards', () => {
    const dir = path.join(tmp, 'sharded');
    fs.mkdirSync(dir);
    writeSafetensors(path.join(dir, 's1.safetensors'), { x: { dtype: 'F32', shape: [1], data: [1] } });
    writeSafetensors(path.join(dir, 's2.safetensors'), { y: { dtype: 'F16', shape: [2], data: [2, 3] } });
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: 's1.safetensors', y: 's2.safetensors' } }));
    const d = SafetensorsDir.open(dir);
    expect(d.names().sort()).toEqual(['x', 'y']);
    expect(Array.from(d.readFloat32('y'))).toEqual([2, 3]);
    expect(Array.from(d.readFloat32('x'))).toEqual([1]);
    d.close();
  });
});

/** One tensor of `dtype` whose little-endian bytes are `data`, in a file of its own. */
function oneTensor(name: string, dtype: string, shape: number[], data: Buffer): string {
  return rawFile(name, { t: { dtype, shape, data_offsets: [0, data.length] } }, data);
}

describe('io.safetensors dtypes other than F32/F16/BF16', () => {
  const le = (n: number, write: (b: Buffer, v: number, off: number) => void, vals: number[]): Buffer => {
    const b = Buffer.alloc(n * vals.length);
    vals.forEach((v, i) => write(b, v, i * n));
    return b;
  };
  // Integers and booleans come back exactly through readNumbers; a float read of them is refused.
  const ints: Array<[string, number, (b: Buffer, v: number, off: number) => void, number[]]> = [
    ['I64', 8, (b, v, o) => b.writeBigInt64LE(BigInt(v), o), [-(2 ** 53) + 1, -1, 0, 2 ** 40]],
    ['I32', 4, (b, v, o) => b.writeInt32LE(v, o), [-(2 ** 31), -7, 2 ** 31 - 1]],
    ['I16', 2, (b, v, o) => b.writeInt16LE(v, o), [-32768, -2, 32767]],
    ['I8', 1, (b, v, o) => b.writeInt8(v, o), [-128, -1, 127]],
    ['U8', 1, (b, v, o) => b.writeUInt8(v, o), [0, 128, 255]],
    ['BOOL', 1, (b, v, o) => b.writeUInt8(v, o), [1, 0, 1]],
    ['U16', 2, (b, v, o) => b.writeUInt16LE(v, o), [0, 65535]],
    ['U32', 4, (b, v, o) => b.writeUInt32LE(v, o), [0, 2 ** 32 - 1]],
  ];
  it.each(ints)('%s: readNumbers gives the exact values; readFloat32 is refused naming the tensor and dtype', (dtype, n, write, vals) => {
    const file = oneTensor(`int_${dtype}`, dtype, [vals.length], le(n, write, vals));
    const f = SafetensorsFile.open(file);
    try {
      expect(f.info('t')).toMatchObject({ dtype, shape: [vals.length] });
      expect(f.readNumbers('t')).toEqual(vals);
      expect(() => f.readFloat32('t')).toThrow(HeroError);
      expect(() => f.readFloat32('t')).toThrow(new RegExp(`${file}: tensor 't' is ${dtype}, expected a float dtype`));
    } finally {
      f.close();
    }
  });

  it('I64/U64 beyond 2^53 are refused, not rounded', () => {
    const b = Buffer.alloc(8); b.writeBigInt64LE(2n ** 53n + 1n);
    const f = SafetensorsFile.open(oneTensor('i64big', 'I64', [1], b));
    try { expect(() => f.readNumbers('t')).toThrow(/'t' holds an integer beyond 2\^53/); } finally { f.close(); }
  });

  it('F64 is read as the nearest fp32 (round to nearest even), for floats and numbers alike', () => {
    const vals = [1 / 3, -2.5, 1e-40, 3.4e38, 1 + 2 ** -24];
    const f = SafetensorsFile.open(oneTensor('f64', 'F64', [5], le(8, (b, v, o) => b.writeDoubleLE(v, o), vals)));
    try {
      // Math.fround is the IEEE round-to-nearest-even f64 → f32; 1 + 2^-24 is a tie and rounds to 1.
      expect(Array.from(f.readFloat32('t'))).toEqual(vals.map(Math.fround));
      expect(Array.from(f.readFloat32('t'))[4]).toBe(1);
      expect(f.readNumbers('t')).toEqual(vals.map(Math.fround));
    } finally {
      f.close();
    }
  });

  it('a checkpoint weight stored as an integer dtype is refused by the loader, naming tensor and dtype', () => {
    const dir = path.join(tmp, 'intweight');
    fs.mkdirSync(dir);
    writeSafetensors(path.join(dir, 'model.safetensors'), { w: { dtype: 'I32', shape: [2], data: Int32Array.from([1, 2]) } });
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    const recipe: CheckpointRecipe<object> = {
      noConfig: (d) => `${d}: no config.json`, configWhat: 'test config', parseConfig: () => ({}),
      keys: () => new Map([['w', [2]]]), streamGroups: [/^w$/],
    };
    // resident and streamed alike (one check in the reader, readFloatBytes)
    for (const residency of ['resident', 'streamed'] as const) {
      expect(() => loadCheckpoint(dir, recipe, undefined, residency)).toThrow(/tensor 'w' is I32, expected a float dtype/);
    }
  });
});

describe('io.safetensors shard index errors and short reads', () => {
  const shardDir = (name: string, index: string | object, shards: Record<string, Record<string, number[]>>): string => {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    for (const [file, ts] of Object.entries(shards)) {
      writeSafetensors(path.join(dir, file), Object.fromEntries(Object.entries(ts).map(([k, v]) => [k, { dtype: 'F32' as const, shape: [v.length], data: v }])));
    }
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), typeof index === 'string' ? index : JSON.stringify(index));
    return dir;
  };
  const oneLine = (f: () => unknown, re: RegExp): void => { expectRefused(f, re); };

  it('an index naming a missing shard is refused at open, naming the index and the shard', () => {
    const dir = shardDir('missing_shard', { weight_map: { x: 's1.safetensors', y: 's2.safetensors' } }, { 's1.safetensors': { x: [1] } });
    oneLine(() => SafetensorsDir.open(dir), /model\.safetensors\.index\.json: names shard 's2\.safetensors' \(for 'y'\), which is not in/);
  });

  it('a tensor missing from the shard the index names is refused, naming shard and tensor', () => {
    const dir = shardDir('missing_tensor', { weight_map: { x: 's1.safetensors', y: 's1.safetensors' } }, { 's1.safetensors': { x: [1] } });
    const d = SafetensorsDir.open(dir);
    try {
      expect(Array.from(d.readFloat32('x'))).toEqual([1]);
      oneLine(() => d.readFloat32('y'), /s1\.safetensors: the index lists 'y' in this shard, but the shard has no such tensor/);
      oneLine(() => d.readFloat32('z'), /no tensor named 'z'/);
    } finally {
      d.close();
    }
  });

  it.each([
    ['malformed JSON', '{"weight_map": {"x": ', /index\.json: shard index is not valid JSON/],
    ['no weight_map', { metadata: {} }, /no "weight_map" object/],
    ['weight_map a list', { weight_map: ['s1.safetensors'] }, /no "weight_map" object/],
    ['a shard name that is not a string', { weight_map: { x: 3 } }, /weight_map entry 'x' is not a file name/],
  ] as Array<[string, string | object, RegExp]>)('an index with %s is refused in one line', (what, index, re) => {
    const dir = shardDir(`bad_index_${what.replace(/\W+/g, '_')}`, index, { 's1.safetensors': { x: [1] } });
    oneLine(() => SafetensorsDir.open(dir), re);
  });

  it('short reads: data_offsets past EOF, a header length past EOF, and a file truncated after opening', () => {
    oneLine(() => SafetensorsFile.open(rawFile('off_eof', { a: { dtype: 'F32', shape: [3], data_offsets: [4, 16] } }, Buffer.alloc(12))),
      /tensor 'a' ends at byte 16 of a 12-byte data section \(file truncated\?\)/);
    oneLine(() => SafetensorsFile.open(rawFile('hlen_eof', { a: { dtype: 'F32', shape: [0], data_offsets: [0, 0] } }, Buffer.alloc(0), 2n ** 20n)),
      /header length 1048576 runs past the end of the \d+-byte file/);
    const file = path.join(tmp, 'cut.safetensors');
    writeSafetensors(file, { a: { dtype: 'F32', shape: [4], data: Float32Array.from([1, 2, 3, 4]) }, b: { dtype: 'F32', shape: [2], data: Float32Array.from([5, 6]) } });
    const f = SafetensorsFile.open(file);
    try {
      fs.truncateSync(file, fs.statSync(file).size - 4); // the last tensor ('b', sorted last) loses its last float
      expect(Array.from(f.readFloat32('a'))).toEqual([1, 2, 3, 4]);
      oneLine(() => f.readFloat32('b'), /cut\.safetensors: short read in tensor 'b' \(file truncated\?\)/);
    } finally {
      f.close();
    }
  });
});

describe('io/safetensors · decodeFloat through a 16-bit view and byte by byte', () => {
  it('every f16 and bf16 bit pattern decodes the same at an even and an odd byte offset, and known values hold', () => {
    const n = 65536;
    const even = Buffer.alloc(2 * n + 2), odd = Buffer.alloc(2 * n + 3);
    for (let h = 0; h < n; h++) { even.writeUInt16LE(h, 2 + 2 * h); odd.writeUInt16LE(h, 3 + 2 * h); }
    const a = even.subarray(2), b = odd.subarray(3);
    expect(a.byteOffset % 2).toBe(0);
    expect(b.byteOffset % 2).toBe(1);
    for (const dt of ['F16', 'BF16'] as const) {
      const x = decodeFloat(a, dt), y = decodeFloat(b, dt);
      for (let h = 0; h < n; h++) if (!Object.is(x[h], y[h])) throw new Error(`${dt} 0x${h.toString(16)}: ${x[h]} vs ${y[h]}`);
    }
    const f16 = decodeFloat(a, 'F16'), bf16 = decodeFloat(a, 'BF16');
    expect([f16[0x3c00], f16[0xc000], f16[0x7bff], f16[0x0001], f16[0x8000]]).toEqual([1, -2, 65504, 2 ** -24, -0]);
    expect([bf16[0x3f80], bf16[0xc000], bf16[0x0001]]).toEqual([1, -2, 2 ** -133]);
  });
});

describe('io/safetensors · decodeFloatInto writes what decodeFloat returns, at an offset, and nothing around it', () => {
  it('every f16 and bf16 bit pattern, and f32 bytes, at even and odd byte offsets of the source', () => {
    const n = 65536;
    const src = Buffer.alloc(2 * n + 3);
    for (let h = 0; h < n; h++) src.writeUInt16LE(h, 3 + 2 * h);
    for (const off of [2, 3]) {
      const b = Buffer.from(src.buffer, src.byteOffset + off, 2 * n - 2); // 32767 values (odd count for F32 halves below)
      for (const dt of ['F16', 'BF16', 'F32'] as const) {
        const bytes = dt === 'F32' ? b.subarray(0, 4 * Math.floor(b.length / 4)) : b;
        const want = decodeFloat(bytes, dt);
        const out = new Float32Array(want.length + 7).fill(42);
        decodeFloatInto(bytes, dt, out, 5);
        for (let i = 0; i < want.length; i++) if (!Object.is(out[5 + i], want[i])) throw new Error(`${dt} offset ${off} [${i}]: ${out[5 + i]} vs ${want[i]}`);
        expect([dt, ...out.subarray(0, 5), out[5 + want.length], out[6 + want.length]]).toEqual([dt, 42, 42, 42, 42, 42, 42, 42]);
      }
    }
  });

  it('refuses to write past the end of the array', () => {
    expect(() => decodeFloatInto(Buffer.alloc(8), 'F16', new Float32Array(5), 2)).toThrow(/4 values at 2 do not fit 5/);
  });
});
