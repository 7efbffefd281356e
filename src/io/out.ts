/**
 * Output paths (`--out` of run, trace and random-weights): probed before any heavy work, and written whole
 * or not at all.
 *
 * The probe touches nothing: the path is not empty; what exists of it is a directory (or, for a file, not a
 * directory); its nearest existing ancestor is a writable directory on a real file system. Pseudo file
 * systems (/proc, /sys, cgroup, …) are refused by their statfs type: Node's recursive `mkdirSync` loops
 * forever under /proc, and nothing written there is an output. Missing directories are then created one
 * level at a time (never `recursive: true`), and files are written under a temporary name in their final
 * directory and renamed, so a kill mid-write leaves no truncated file under the final name.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';

/**
 * statfs `f_type` of kernel pseudo file systems (linux/magic.h): proc, sysfs, cgroup, cgroup2, debugfs,
 * tracefs, securityfs, devpts, bpf, pstore, configfs, fusectl, efivarfs.
 */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2'], [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'], [0x73636673, 'securityfs'], [0x1cd1, 'devpts'], [0xcafe4a11, 'bpf'], [0x6165676c, 'pstore'],
  [0x62656570, 'configfs'], [0x65735543, 'fusectl'], [0xde5e81e4, 'efivarfs'],
]);

const errno = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** The nearest ancestor of `abs` (or `abs` itself) that exists, and the levels below it that do not. */
function nearestExisting(abs: string, flag: string): { dir: string; missing: string[] } {
  const missing: string[] = [];
  let d = abs;
  for (;;) {
    try {
      fs.lstatSync(d);
      return { dir: d, missing };
    } catch (e) {
      if (errno(e) !== 'ENOENT' && errno(e) !== 'ENOTDIR') throw new HeroError(`${flag}: cannot use '${abs}': '${d}' cannot be inspected (${errno(e)})`);
    }
    missing.unshift(d);
    const up = path.dirname(d);
    if (up === d) return { dir: d, missing };
    d = up;
  }
}

/** Refuses an existing `dir` that is not a writable directory on a real file system (`flag` names it). */
function checkWritableDir(dir: string, flag: string, shown: string): void {
  let st: fs.Stats;
  try { st = fs.statSync(dir); } catch (e) { throw new HeroError(`${flag}: cannot use '${shown}' (${errno(e)} at '${dir}')`); }
  if (!st.isDirectory()) throw new HeroError(`${flag}: '${dir}' is not a directory, so '${shown}' cannot be created there`);
  const kind = PSEUDO_FS.get(Number(fs.statfsSync(dir).type));
  if (kind !== undefined) throw new HeroError(`${flag}: '${shown}' is on a pseudo file system (${kind} at '${dir}'), not a place for output files`);
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    throw new HeroError(`${flag}: '${shown}' cannot be written: '${dir}' is not writable (${errno(e)})`);
  }
}

/**
 * Probes an output directory that may exist already (run --out): the files go inside it. Returns its
 * absolute path. Creates nothing.
 */
export function probeOutDir(dir: string, flag = '--out'): string {
  if (dir.trim() === '') throw new HeroError(`${flag}: empty path`);
  const abs = path.resolve(dir);
  const { dir: existing } = nearestExisting(abs, flag);
  if (existing === abs && !fs.statSync(abs).isDirectory()) throw new HeroError(`${flag}: '${dir}' exists and is a file, not a directory`);
  checkWritableDir(existing, flag, dir);
  return abs;
}

/** Probes an output directory that must not exist yet (random-weights --out). Returns its absolute path. */
export function probeNewDir(dir: string, flag = '--out'): string {
  if (dir.trim() === '') throw new HeroError(`${flag}: empty path`);
  const abs = path.resolve(dir);
  const { dir: existing } = nearestExisting(abs, flag);
  if (existing === abs) throw new HeroError(`${flag}: '${dir}' already exists (choose a new directory)`);
  checkWritableDir(existing, flag, dir);
  return abs;
}

/** Probes an output file (trace --out): not a directory; its directory exists or can be created. Returns its absolute path. */
export function probeOutFile(file: string, flag = '--out'): string {
  if (file.trim() === '') throw new HeroError(`${flag}: empty path`);
  const abs = path.resolve(file);
  const { dir: existing } = nearestExisting(abs, flag);
  if (existing === abs) {
    if (fs.statSync(abs).isDirectory()) throw new HeroError(`${flag}: '${file}' is a directory`);
    checkWritableDir(path.dirname(abs), flag, file);
  } else checkWritableDir(existing, flag, file);
  return abs;
}

/** Creates `dir` and its missing parents one level at a time (no recursive mkdir: see the file comment). */
export function makeDirs(dir: string, flag = '--out'): void {
  const { missing } = nearestExisting(path.resolve(dir), flag);
  for (const d of missing) {
    try { fs.mkdirSync(d); } catch (e) {
      if (errno(e) !== 'EEXIST') throw new HeroError(`${flag}: cannot create '${d}' (${errno(e)})`);
    }
  }
}

/** A temporary name next to `file`, in the same directory (so the rename stays on one file system). */
export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
}

/**
 * Writes several files whole or not at all: every one goes to its temporary name first, then all are
 * renamed into place. `write(tmp)` writes one file's bytes to `tmp`; a Buffer or string is written as is.
 * Missing directories are created (makeDirs). Any failure removes the temporaries and is a HeroError
 * naming `flag` and the file.
 */
export function writeFilesAtomic(files: ReadonlyArray<readonly [string, string | Uint8Array | ((tmp: string) => void)]>, flag = '--out'): void {
  const temps: string[] = [];
  try {
    for (const [file, data] of files) {
      makeDirs(path.dirname(path.resolve(file)), flag);
      const tmp = tempNameFor(file);
      temps.push(tmp);
      try {
        if (typeof data === 'function') data(tmp);
        else fs.writeFileSync(tmp, data);
      } catch (e) {
        if (e instanceof HeroError) throw e;
        throw new HeroError(`${flag}: cannot write '${file}' (${errno(e)})`);
      }
    }
    // A directory in a file's place would fail its rename half-way through: refuse before renaming any.
    for (const [file] of files) {
      if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new HeroError(`${flag}: cannot write '${file}' (EISDIR)`);
    }
    const renamed: string[] = [];
    try {
      files.forEach(([file], i) => {
        const isNew = !fs.existsSync(file);
        try { fs.renameSync(temps[i], file); } catch (e) { throw new HeroError(`${flag}: cannot write '${file}' (${errno(e)})`); }
        if (isNew) renamed.push(file);
      });
    } catch (e) {
      for (const f of renamed) fs.rmSync(f, { force: true }); // the files this call created; replaced ones cannot come back
      throw e;
    }
  } finally {
    for (const t of temps) fs.rmSync(t, { force: true });
  }
}

/** One file whole or not at all (writeFilesAtomic). */
export function writeFileAtomic(file: string, data: string | Uint8Array | ((tmp: string) => void), flag = '--out'): void {
  writeFilesAtomic([[file, data]], flag);
}
