/**
 * The part of Node's `Buffer` the shared modules use (safetensors headers and little-endian fields, base64
 * and UTF-8 text), as a Uint8Array subclass, for the page's bundle (scripts/page.ts injects it where a
 * module names `Buffer`).
 */
const enc = new TextEncoder(), dec = new TextDecoder();

export class Buffer extends Uint8Array {
  // any: Node's overloads (string + encoding, buffer + offset + length), wider than Uint8Array.from's
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  static override from(x: any, a?: any, b?: any): Buffer {
    if (typeof x === 'string') {
      if (a === 'base64') { const s = atob(x); const out = new Buffer(s.length); for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i); return out; }
      const u = enc.encode(x);
      return new Buffer(u.buffer as ArrayBuffer, u.byteOffset, u.length);
    }
    if (x instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer)) {
      return new Buffer(x as ArrayBuffer, (a as number | undefined) ?? 0, b ?? (x as ArrayBuffer).byteLength - ((a as number | undefined) ?? 0));
    }
    if (ArrayBuffer.isView(x)) { const v = x as ArrayBufferView; const out = new Buffer(v.byteLength); out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)); return out; }
    const out = new Buffer((x as ArrayLike<number>).length);
    out.set(x as ArrayLike<number>);
    return out;
  }
  static alloc(n: number): Buffer { return new Buffer(n); }
  static allocUnsafe(n: number): Buffer { return new Buffer(n); }
  static isBuffer(x: unknown): boolean { return x instanceof Buffer; }
  static byteLength(s: string | ArrayBufferView): number { return typeof s === 'string' ? enc.encode(s).length : s.byteLength; }
  static concat(list: readonly Uint8Array[]): Buffer {
    const out = new Buffer(list.reduce((s, b) => s + b.length, 0));
    let o = 0;
    for (const b of list) { out.set(b, o); o += b.length; }
    return out;
  }
  private view(): DataView { return new DataView(this.buffer, this.byteOffset, this.byteLength); }
  override toString(encoding?: string): string {
    if (encoding === 'base64') { let s = ''; for (let i = 0; i < this.length; i++) s += String.fromCharCode(this[i]); return btoa(s); }
    if (encoding === 'hex') return Array.from(this, (x) => x.toString(16).padStart(2, '0')).join('');
    return dec.decode(this);
  }
  override subarray(begin?: number, end?: number): Buffer { const u = super.subarray(begin, end); return new Buffer(u.buffer, u.byteOffset, u.length); }
  override slice(begin?: number, end?: number): Buffer { return this.subarray(begin, end); }
  readUInt8(o: number): number { return this[o]; }
  readInt8(o: number): number { return this.view().getInt8(o); }
  readInt16LE(o: number): number { return this.view().getInt16(o, true); }
  writeUInt8(v: number, o: number): number { this[o] = v; return o + 1; }
  readUInt16LE(o: number): number { return this.view().getUint16(o, true); }
  readUInt32LE(o: number): number { return this.view().getUint32(o, true); }
  readUInt32BE(o: number): number { return this.view().getUint32(o, false); }
  readInt32LE(o: number): number { return this.view().getInt32(o, true); }
  readFloatLE(o: number): number { return this.view().getFloat32(o, true); }
  readBigUInt64LE(o: number): bigint { return this.view().getBigUint64(o, true); }
  readBigInt64LE(o: number): bigint { return this.view().getBigInt64(o, true); }
  writeUInt16LE(v: number, o: number): number { this.view().setUint16(o, v, true); return o + 2; }
  writeUInt32LE(v: number, o: number): number { this.view().setUint32(o, v, true); return o + 4; }
  writeInt32LE(v: number, o: number): number { this.view().setInt32(o, v, true); return o + 4; }
  writeFloatLE(v: number, o: number): number { this.view().setFloat32(o, v, true); return o + 4; }
  writeBigInt64LE(v: bigint, o: number): number { this.view().setBigInt64(o, v, true); return o + 8; }
  writeBigUInt64LE(v: bigint, o: number): number { this.view().setBigUint64(o, v, true); return o + 8; }
  equals(b: Uint8Array): boolean { return this.length === b.length && this.every((x, i) => x === b[i]); }
}
