/**
 * io/out.ts: output paths are probed without creating anything (an empty path, an existing file, a path under a
 * file, a pseudo file system such as /proc — refused at once, where Node's recursive mkdirSync would loop), and
 * files are written whole or not at all (temporary names, renamed only when every file is written).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeDirs, probeNewDir, probeOutDir, probeOutFile, tempNameFor, writeFilesAtomic } from '../../src/io/out';
import { expectRefused } from '../util/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-out-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = path.join(tmp, 'a-file');
fs.writeFileSync(file, 'x');

describe('io/out · probes', () => {
  it("'' is refused by every probe, naming the flag", () => {
    for (const probe of [probeOutDir, probeNewDir, probeOutFile]) expectRefused(() => probe(''), /^--out: empty path$/);
  });

  it('an existing file, a path under a file, a directory for a file: one line each', () => {
    expectRefused(() => probeOutDir(file), /^--out: '.*a-file' exists and is a file, not a directory$/);
    expectRefused(() => probeOutDir(path.join(file, 'sub', 'deeper')), /^--out: '.*a-file' is not a directory, so '.*deeper' cannot be created there$/);
    expectRefused(() => probeNewDir(path.join(file, 'x')), /a-file' is not a directory/);
    expectRefused(() => probeNewDir(tmp), /already exists \(choose a new directory\)$/);
    expectRefused(() => probeOutFile(tmp), /is a directory$/);
    expectRefused(() => probeOutFile(path.join(file, 't.safetensors')), /a-file' is not a directory/);
  });

  it('/proc/x and /sys/x are refused at once (pseudo file systems), and nothing is created', () => {
    if (fs.statfsSync('/proc').type !== 0x9fa0) return; // not Linux: no /proc to refuse
    const t0 = Date.now();
    expectRefused(() => probeOutDir('/proc/x/y'), /^--out: '\/proc\/x\/y' is on a pseudo file system \(proc at '\/proc'\)/);
    expectRefused(() => probeNewDir('/proc/x'), /pseudo file system \(proc/);
    expectRefused(() => probeOutFile('/proc/t.safetensors'), /pseudo file system \(proc/);
    if (fs.existsSync('/sys') && fs.statfsSync('/sys').type === 0x62656572) expectRefused(() => probeOutDir('/sys/x'), /pseudo file system \(sysfs/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a missing directory under a writable one passes, and the probe creates nothing', () => {
    const d = path.join(tmp, 'new', 'deeper');
    expect(probeOutDir(d)).toBe(d);
    expect(probeNewDir(d)).toBe(d);
    expect(probeOutFile(path.join(d, 't.safetensors'))).toBe(path.join(d, 't.safetensors'));
    expect(fs.existsSync(path.join(tmp, 'new'))).toBe(false);
    makeDirs(d);
    expect(fs.statSync(d).isDirectory()).toBe(true);
  });
});

describe('io/out · writeFilesAtomic', () => {
  it('writes every file, leaving no temporary behind', () => {
    const d = path.join(tmp, 'w1', 'sub');
    writeFilesAtomic([[path.join(d, 'a.txt'), 'A'], [path.join(d, 'b.bin'), Uint8Array.from([1, 2])], [path.join(d, 'c.txt'), (t) => fs.writeFileSync(t, 'C')]]);
    expect(fs.readdirSync(d).sort()).toEqual(['a.txt', 'b.bin', 'c.txt']);
    expect(fs.readFileSync(path.join(d, 'c.txt'), 'utf8')).toBe('C');
  });

  it('when one file fails, none appears under its final name and the temporaries are gone', () => {
    const d = path.join(tmp, 'w2');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'old.txt'), 'old');
    const e = expectRefused(() => writeFilesAtomic([
      [path.join(d, 'a.txt'), 'A'],
      [path.join(d, 'b.txt'), () => { throw Object.assign(new Error('disk full'), { code: 'ENOSPC' }); }],
      [path.join(d, 'c.txt'), 'C'],
    ]), /^--out: cannot write '.*b\.txt' \(ENOSPC\)$/);
    expect(e).toBeDefined();
    expect(fs.readdirSync(d)).toEqual(['old.txt']);
    expect(tempNameFor(path.join(d, 'a.txt'))).toMatch(/^.*\/\.a\.txt\.\d+\.tmp$/);
  });

  it('a directory where a later file must go: refused before any file is renamed into place', () => {
    const d = path.join(tmp, 'w3');
    fs.mkdirSync(path.join(d, 'c.txt'), { recursive: true });
    expectRefused(() => writeFilesAtomic([[path.join(d, 'a.txt'), 'A'], [path.join(d, 'b.txt'), 'B'], [path.join(d, 'c.txt'), 'C']]), /^--out: cannot write '.*c\.txt' \(EISDIR\)$/);
    expect(fs.readdirSync(d)).toEqual(['c.txt']);
  });
});
