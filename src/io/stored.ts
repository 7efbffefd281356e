/**
 * Weight groups kept in their stored dtype (core/weights.ts WeightSource): the raw little-endian bytes of
 * each tensor as the safetensors file has them (F16, BF16 or F32) — on the host ('streamed'), or left in the
 * file and read with positioned reads when used ('disk') — widened to fp32 and handed to the backend only
 * while the group is used. Widening is exact (decodeFloat), so a stored group materialises the very tensors
 * the resident loader would have made.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';
import type { WeightSource } from '../core/weights';
import { decodeFloat, decodeFloatInto, DTYPE_BYTES, type DType } from './safetensors';
import { nestByPath } from './checkpoint';
import { arrivalFailure } from './background_read';

/**
 * Where a tensor's bytes are in a safetensors file ([begin, end), absolute), and the file's size and
 * modification time when the loader validated its header: a read first checks both, so that a file changed
 * under a running job is one error line, not garbage weights.
 */
export interface DiskRegion {
  readonly file: string;
  readonly begin: number;
  readonly end: number;
  readonly fileSize: number;
  readonly mtimeMs: number;
}

/**
 * Bytes a background read is still filling (io/background_read.ts): `progress[0]` counts the reads done, in
 * order; `progress[1]` is 1 + the index of a read that failed (0: none); these bytes are read number `seq` of `file`.
 */
export interface Arrival { readonly progress: Int32Array; readonly seq: number; readonly file: string }

/**
 * One float tensor as stored (the loader reads it with readFloatBytes, which refuses other dtypes): its
 * bytes on the host (with `arrival` while a background read fills them), or (`--weights disk`) where they are in the file.
 */
export type StoredTensor =
  | { readonly dtype: DType; readonly shape: readonly number[]; readonly bytes: Buffer; readonly arrival?: Arrival; readonly disk?: undefined }
  | { readonly dtype: DType; readonly shape: readonly number[]; readonly bytes?: undefined; readonly arrival?: undefined; readonly disk: DiskRegion };

/** Where stored bytes are: in memory (perhaps still arriving), or a file region. */
export type StoredSource = { readonly bytes: Uint8Array; readonly arrival?: Arrival; readonly disk?: undefined } | { readonly bytes?: undefined; readonly arrival?: undefined; readonly disk: DiskRegion };

/**
 * Waits until a source's bytes are there (at once when they were read at load or are on disk); a HeroError
 * naming the file when the background read of them failed.
 */
export function awaitBytes(src: { readonly arrival?: Arrival }): void {
  const a = src.arrival;
  if (!a) return;
  for (let done = Atomics.load(a.progress, 0); done <= a.seq; done = Atomics.load(a.progress, 0)) {
    const failed = Atomics.load(a.progress, 1);
    if (failed && failed - 1 <= a.seq) throw new HeroError(`${a.file}: reading the weights failed: ${arrivalFailure(a.progress)}`);
    Atomics.wait(a.progress, 0, done, 1000);
  }
}

/** Copies bytes [from, to) of a stored tensor into `into` from `at` on. */
export type ByteReader = (from: number, to: number, into: Uint8Array, at: number) => void;

/** One descriptor per file and thread, opened on first use and kept (a run reads the same files every token). */
const openFiles = new Map<string, number>();

/** Reads larger than this are split (Node's fs.readSync takes < 2 GiB). */
const READ_CHUNK_BYTES = 1 << 30;

function fdOf(r: DiskRegion): number {
  let fd = openFiles.get(r.file);
  if (fd === undefined) {
    try {
      fd = fs.openSync(r.file, 'r');
    } catch (e) {
      throw new HeroError(`${r.file}: cannot reopen the weights file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it was there when the run started`);
    }
    openFiles.set(r.file, fd);
  }
  const st = fs.fstatSync(fd);
  if (st.size !== r.fileSize || st.mtimeMs !== r.mtimeMs) {
    throw new HeroError(`${r.file}: changed on disk while the run was reading weights from it (size ${r.fileSize} → ${st.size} bytes, ` +
      `modified ${new Date(st.mtimeMs).toISOString()}); start the run again`);
  }
  return fd;
}

/** Bytes [from, to) of a tensor's file region into `into` at `at`: positioned reads, after checking the file is unchanged. */
export function readDiskRegion(r: DiskRegion, from: number, to: number, into: Uint8Array, at: number): void {
  if (!(from >= 0 && from <= to && r.begin + to <= r.end)) throw new Error(`readDiskRegion: bytes [${from}, ${to}) outside a ${r.end - r.begin}-byte region`);
  const fd = fdOf(r);
  for (let off = 0; off < to - from; off += READ_CHUNK_BYTES) {
    const len = Math.min(READ_CHUNK_BYTES, to - from - off);
    const got = fs.readSync(fd, into, at + off, len, r.begin + from + off);
    if (got !== len) throw new HeroError(`${r.file}: short read of weights (the file was truncated while the run was using it?)`);
  }
}

/** Closes the descriptors readDiskRegion opened in this thread (tests; a run keeps them until it exits). */
export function closeStoredFiles(): void {
  for (const fd of openFiles.values()) fs.closeSync(fd);
  openFiles.clear();
}

/** The reader of a stored tensor's bytes: a copy from memory, or positioned reads of its file region. */
export function byteReader(t: StoredSource): ByteReader {
  if (t.bytes) { const b = t.bytes; return (from, to, into, at) => { awaitBytes(t); into.set(b.subarray(from, to), at); }; }
  const r = t.disk;
  return (from, to, into, at) => readDiskRegion(r, from, to, into, at);
}

/** A stored tensor's bytes: its own buffer when on the host, else read from its file now. */
export function storedBytes(t: StoredTensor): Buffer {
  if (t.bytes) { awaitBytes(t); return t.bytes; }
  const b = Buffer.allocUnsafe(t.disk.end - t.disk.begin);
  readDiskRegion(t.disk, 0, b.length, b, 0);
  return b;
}

/**
 * How stored bytes become fp32 values and tensors on every use of a streamed group: `widenInto` writes the
 * values (decodeFloatInto's contract), `newTensor` makes a tensor whose values a fill function writes. The
 * reference widens with decodeFloatInto into a new array handed to tf.tensor; accel/widen.ts installs one that
 * computes the same bits faster (setStoredWidening, at start-up with the kernels).
 */
export interface StoredWidening {
  readonly kind: string;
  widenInto(b: Uint8Array, dtype: 'F32' | 'F16' | 'BF16', out: Float32Array, at: number): void;
  newTensor(shape: number[], fill: (out: Float32Array) => void): tf.Tensor;
}

export const REFERENCE_WIDENING: StoredWidening = {
  kind: 'reference',
  widenInto: (b, dtype, out, at) => decodeFloatInto(Buffer.from(b.buffer, b.byteOffset, b.byteLength), dtype, out, at),
  newTensor: (shape, fill) => {
    const out = new Float32Array(shape.reduce((a, d) => a * d, 1));
    fill(out);
    return tf.tensor(out, shape, 'float32');
  },
};

let widening: StoredWidening = REFERENCE_WIDENING;

/** Installs the widening streamed groups use from now on in this thread (default: the reference). */
export function setStoredWidening(w: StoredWidening = REFERENCE_WIDENING): void { widening = w; }

/** The widening installed in this thread. */
export function storedWidening(): StoredWidening { return widening; }

/** A float dtype the widening takes, or a HeroError naming the tensor. */
function floatDtype(dtype: DType, what: string): 'F32' | 'F16' | 'BF16' {
  if (dtype === 'F32' || dtype === 'F16' || dtype === 'BF16') return dtype;
  throw new HeroError(`${what}: cannot widen ${dtype} weights`);
}

/** A group of stored tensors by dotted path inside the group (`self_attn.q_proj.weight`, …). */
export class StoredWeights<T> implements WeightSource<T> {
  readonly kind = 'weight-source' as const;
  readonly hostBytes: number;
  readonly fp32Bytes: number;
  /** bytes left in the files, read on every use */
  readonly diskBytes: number;

  /** @param tensors the stored bytes (read by accel/decoder_pool.ts, which hands each worker its slices) */
  constructor(readonly name: string, readonly tensors: ReadonlyMap<string, StoredTensor>) {
    let host = 0, disk = 0, numel = 0;
    for (const t of tensors.values()) {
      if (t.bytes) host += t.bytes.length;
      else disk += t.disk.end - t.disk.begin;
      numel += t.shape.reduce((a, d) => a * d, 1);
    }
    this.hostBytes = host;
    this.diskBytes = disk;
    this.fp32Bytes = 4 * numel;
  }

  materialise(): T {
    const made = new Map<string, tf.Tensor>();
    try {
      for (const [path, t] of this.tensors) {
        const dtype = floatDtype(t.dtype, `${this.name}.${path}`), w = widening;
        made.set(path, w.newTensor([...t.shape], (out) => w.widenInto(storedBytes(t), dtype, out, 0)));
      }
    } catch (e) {
      for (const x of made.values()) x.dispose();
      throw e;
    }
    return nestByPath(made) as T;
  }

  leafShapes(): Array<{ path: string; shape: readonly number[] }> {
    return [...this.tensors].map(([path, t]) => ({ path, shape: t.shape }));
  }

  /** Rows `ids` of the 2-D tensor at `path`, widened: each row's bytes copied (or read from the file) and decoded alone. */
  rows(path: string, ids: readonly number[]): tf.Tensor2D {
    const t = this.tensors.get(path);
    if (!t || t.shape.length !== 2) throw new Error(`${this.name}: no 2-D tensor '${path}' to read rows of`);
    const [R, C] = t.shape, b = DTYPE_BYTES[t.dtype], dtype = floatDtype(t.dtype, `${this.name}.${path}`);
    const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < R));
    if (bad !== undefined) throw new Error(`${this.name}.${path}: row ${bad} is outside [0, ${R})`);
    const read = byteReader(t), row = Buffer.allocUnsafe(C * b), w = widening;
    return w.newTensor([ids.length, C], (out) => ids.forEach((id, i) => {   // [T, D]: the T rows looked up
      read(id * C * b, (id + 1) * C * b, row, 0);
      w.widenInto(row, dtype, out, i * C);
    })) as tf.Tensor2D;
  }

  hostLeaves(): Array<{ path: string; shape: readonly number[]; data: Float32Array }> {
    return [...this.tensors].map(([path, t]) => ({ path, shape: t.shape, data: decodeFloat(storedBytes(t), t.dtype) }));
  }
}
