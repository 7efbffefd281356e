/**
 * io/browser_fs.ts, the loading layer's files in the page: the same answers as Node's fs for the calls the
 * loaders make (checked side by side on a real temporary directory), and a safetensors file written and
 * read back through it by io/safetensors.ts unchanged.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as mem from '../../src/io/browser_fs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-browser-fs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('io/browser_fs: in-memory files with fs\'s synchronous answers', () => {
  it('write, read, stat, list, rename, remove: as Node\'s fs on a real directory', () => {
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) % 256);
    const ops = (f: typeof fs | typeof mem, root: string): unknown[] => {
      f.mkdirSync(path.join(root, 'm'), { recursive: true } as never);
      f.writeFileSync(path.join(root, 'm', 'config.json'), '{"a":1}');
      f.writeFileSync(path.join(root, 'm', 'w.bin'), bytes);
      const fd = f.openSync(path.join(root, 'm', 'w.bin'), 'r');
      const buf = new Uint8Array(10);
      const n = f.readSync(fd, buf, 0, 10, 100);
      const size = f.fstatSync(fd).size;
      f.closeSync(fd);
      const out: unknown[] = [
        f.existsSync(path.join(root, 'm')), f.existsSync(path.join(root, 'nope')), f.statSync(path.join(root, 'm')).isDirectory(),
        f.statSync(path.join(root, 'm', 'w.bin')).size, f.readFileSync(path.join(root, 'm', 'config.json'), 'utf8'),
        f.readdirSync(path.join(root, 'm')), n, Array.from(buf), size,
      ];
      const w = f.openSync(path.join(root, 'm', 'out.bin'), 'w');
      f.writeSync(w, Uint8Array.from([1, 2, 3]));
      f.writeSync(w, Uint8Array.from([9]), 0, 1, 1);
      f.closeSync(w);
      out.push(Array.from(f.readFileSync(path.join(root, 'm', 'out.bin')) as Uint8Array));
      f.renameSync(path.join(root, 'm', 'out.bin'), path.join(root, 'm', 'moved.bin'));
      out.push(f.readdirSync(path.join(root, 'm')));
      f.rmSync(path.join(root, 'm'), { recursive: true, force: true } as never);
      out.push(f.existsSync(path.join(root, 'm')));
      let code = '';
      try { f.readFileSync(path.join(root, 'm', 'config.json')); } catch (e) { code = (e as { code?: string }).code ?? ''; }
      out.push(code);
      return out;
    };
    expect(ops(mem, '/t')).toEqual(ops(fs, tmp));
  });

  it('a safetensors file written through it has the bytes Node writes, and reads back through it', () => {
    const tensors = { a: { dtype: 'F32' as const, shape: [2, 2], data: Float32Array.from([1, 2, 3, 4.5]) }, ids: { dtype: 'I64' as const, shape: [3], data: [5, 6, 7] } };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const real = require('../../src/io/safetensors') as typeof import('../../src/io/safetensors');
    real.writeSafetensors(path.join(tmp, 't.safetensors'), tensors, { producer: 'spec' });
    jest.isolateModules(() => {
      // io/safetensors.ts, unchanged, on the in-memory files (the page's bundle resolves fs to them)
      jest.doMock('fs', () => mem);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const st = require('../../src/io/safetensors') as typeof import('../../src/io/safetensors');
      st.writeSafetensors('/x/t.safetensors', tensors, { producer: 'spec' });
      expect(Buffer.from(mem.fileBytes('/x/t.safetensors')).equals(fs.readFileSync(path.join(tmp, 't.safetensors')))).toBe(true);
      const f = st.SafetensorsFile.open('/x/t.safetensors');
      expect(f.names().sort()).toEqual(['a', 'ids']);
      expect(Array.from(f.readFloat32('a'))).toEqual([1, 2, 3, 4.5]);
      expect(f.readNumbers('ids')).toEqual([5, 6, 7]);
      expect(f.metadata.producer).toBe('spec');
      jest.dontMock('fs');
    });
    mem.removeTree('/x');
  });
});
