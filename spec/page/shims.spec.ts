/**
 * The page's stand-ins for Node modules (src/page/shims/): the same answers as Node's path, crypto and
 * Buffer for the calls the shared modules make, checked against Node itself.
 */
import * as nodePath from 'path';
import * as nodeCrypto from 'crypto';
import fc from 'fast-check';
import * as path from '../../src/page/shims/path';
import { createHash } from '../../src/page/shims/crypto';
import { Buffer as PageBuffer } from '../../src/page/shims/buffer';

describe('page/shims/path: POSIX path as Node\'s', () => {
  it('join, resolve, dirname, basename, extname, relative, normalize agree with Node on generated paths', () => {
    const seg = fc.constantFrom('a', 'b', 'model.safetensors', '..', '.', '', 'x.y.z', 'clip');
    const p = fc.array(seg, { maxLength: 5 }).map((s) => s.join('/'));
    fc.assert(fc.property(fc.boolean(), p, p, (abs, a, b) => {
      const x = (abs ? '/' : '') + a.replace(/^\/+/, ''); // a leading '//' (POSIX: implementation-defined) never occurs in the page
      expect(path.join(x, b)).toBe(nodePath.posix.join(x, b));
      expect(path.normalize(x || '.')).toBe(nodePath.posix.normalize(x || '.'));
      expect(path.resolve('/r', x, b)).toBe(nodePath.posix.resolve('/r', x, b));
      expect(path.dirname(x || '.')).toBe(nodePath.posix.dirname(x || '.'));
      expect(path.basename(x)).toBe(nodePath.posix.basename(x));
      expect(path.extname(x)).toBe(nodePath.posix.extname(x));
      expect(path.relative(`/r/${a}`, `/r/${b}`)).toBe(nodePath.posix.relative(`/r/${a}`, `/r/${b}`));
    }), { numRuns: 1000 });
  });
});

describe('page/shims/crypto: sha256 as Node\'s', () => {
  it('hex digests equal Node\'s for lengths around the 64-byte block and padding boundaries', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) % 256);
      expect(createHash('sha256').update(b).digest('hex')).toBe(nodeCrypto.createHash('sha256').update(b).digest('hex'));
    }
    expect(createHash('sha256').update('abc').digest('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'); // FIPS 180-4 example
  });
});

describe('page/shims/buffer: the Buffer calls safetensors and the vocab make, as Node\'s', () => {
  it('little-endian fields, base64, UTF-8, concat, byteLength', () => {
    const n = Buffer.alloc(32), p = PageBuffer.alloc(32);
    for (const b of [n, p] as Array<Buffer | PageBuffer>) {
      b.writeFloatLE(1.5, 0); b.writeUInt16LE(0xbeef, 4); b.writeInt32LE(-7, 8); b.writeBigInt64LE(-3n, 12); b.writeBigUInt64LE(2n ** 40n + 5n, 20);
    }
    expect(Array.from(p)).toEqual(Array.from(n));
    expect([p.readUInt16LE(4), p.readUInt32LE(8), p.readInt32LE(8), p.readBigInt64LE(12), p.readBigUInt64LE(20)])
      .toEqual([n.readUInt16LE(4), n.readUInt32LE(8), n.readInt32LE(8), n.readBigInt64LE(12), n.readBigUInt64LE(20)]);
    const text = 'HERO ▁token ✓';
    expect(Array.from(PageBuffer.from(text, 'utf8'))).toEqual(Array.from(Buffer.from(text, 'utf8')));
    expect(PageBuffer.from(Buffer.from(text).toString('base64'), 'base64').toString('utf8')).toBe(text);
    expect(PageBuffer.from(text).toString('base64')).toBe(Buffer.from(text).toString('base64'));
    expect(PageBuffer.byteLength(text)).toBe(Buffer.byteLength(text));
    expect(Array.from(PageBuffer.concat([PageBuffer.from([1, 2]), PageBuffer.from([3])]))).toEqual([1, 2, 3]);
    const ab = new ArrayBuffer(8);
    expect(PageBuffer.from(ab, 2, 4).length).toBe(Buffer.from(ab, 2, 4).length);
  });
});
