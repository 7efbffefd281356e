/**
 * Streamed weights read in the background: the loader ('streamed' residency, loadCheckpoint's backgroundReads)
 * validates every header and allocates every tensor's shared buffer at once, then hands the reads of the bytes
 * to one thread of this module, which performs them in order — the vision tower's groups first, then the
 * decoder's — while the model starts on the image. Reading the 7B's 13.8 GB of f16 from disk takes ≈ 25–35 s
 * here, about what the vision tower and HERO's CLIP pass take, so the two overlap instead of adding up.
 *
 * Each stored tensor so filled carries an Arrival (io/stored.ts): the number of its read. Every reader of stored
 * bytes (io/stored.ts byteReader and storedBytes, the decoder workers' readers) waits for it first
 * (awaitBytes), on the main thread and in worker threads alike: the bytes are in SharedArrayBuffers and so is
 * the progress counter. A read that fails — the file changed or was cut short after its header was read — stops
 * the reads; whoever then waits for those bytes gets one HeroError naming the file and the reason.
 */
import { Worker } from 'worker_threads';
import type { Arrival, DiskRegion } from './stored';

/** One tensor's bytes: its file region (checked unchanged: size and modification time) into `into`. */
export interface PendingRead extends DiskRegion {
  /** a view of a SharedArrayBuffer, end − begin bytes */
  readonly into: Uint8Array;
}

/** Int32 words of the progress buffer before the failure message: [reads done, 1 + index of a failed read]. */
const HEADER_WORDS = 2;
/** Bytes kept for the failure message (UTF-8, NUL-padded). */
const MESSAGE_BYTES = 1024;

/** The reader thread: plain JavaScript (it runs before and apart from any TypeScript hook). */
const READER = `
const { workerData } = require('worker_threads');
const fs = require('fs');
const { reads, progress, delayMs } = workerData;
const message = new Uint8Array(progress.buffer, ${4 * HEADER_WORDS}, ${MESSAGE_BYTES});
const CHUNK = 1 << 30;
const fds = new Map();
for (let i = 0; i < reads.length; i++) {
  const r = reads[i];
  try {
    if (delayMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs);
    let fd = fds.get(r.file);
    if (fd === undefined) fds.set(r.file, fd = fs.openSync(r.file, 'r'));
    const st = fs.fstatSync(fd);
    if (st.size !== r.fileSize || st.mtimeMs !== r.mtimeMs) {
      throw new Error('changed on disk while the weights were being read (size ' + r.fileSize + ' → ' + st.size + ' bytes, modified ' + new Date(st.mtimeMs).toISOString() + '); start the run again');
    }
    for (let off = 0, len = r.end - r.begin; off < len; off += CHUNK) {
      const n = Math.min(CHUNK, len - off);
      if (fs.readSync(fd, r.into, off, n, r.begin + off) !== n) throw new Error('short read of weights (the file was truncated while the run was using it?)');
    }
    Atomics.store(progress, 0, i + 1);
    Atomics.notify(progress, 0);
  } catch (e) {
    message.set(Buffer.from(String(e && e.message || e)).subarray(0, ${MESSAGE_BYTES} - 1));
    Atomics.store(progress, 1, i + 1);
    Atomics.notify(progress, 0);
    break;
  }
}
for (const fd of fds.values()) fs.closeSync(fd);
`;

/**
 * Starts the reads, in the order given, on a thread of their own (it never keeps the process alive), and
 * returns each read's Arrival (the same order). `delayMs` (tests): a pause before each read.
 */
export function startBackgroundReads(reads: readonly PendingRead[], opts: { delayMs?: number } = {}): Arrival[] {
  const progress = new Int32Array(new SharedArrayBuffer(4 * HEADER_WORDS + MESSAGE_BYTES));
  const w = new Worker(READER, { eval: true, workerData: { reads, progress, delayMs: opts.delayMs ?? 0 } });
  w.unref();
  w.on('error', (e) => {                                         // the thread itself died (out of memory, …): say so to the waiters
    const message = new Uint8Array(progress.buffer, 4 * HEADER_WORDS, MESSAGE_BYTES);
    message.set(Buffer.from(`the reading thread stopped: ${e.message}`).subarray(0, MESSAGE_BYTES - 1));
    Atomics.store(progress, 1, Atomics.load(progress, 0) + 1);
    Atomics.notify(progress, 0);
  });
  return reads.map((r, seq) => ({ progress, seq, file: r.file }));
}

/** The failure message a reader thread left in `progress` (empty when none). */
export function arrivalFailure(progress: Int32Array): string {
  const bytes = new Uint8Array(progress.buffer, 4 * HEADER_WORDS, MESSAGE_BYTES);
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? MESSAGE_BYTES : end)).toString('utf8');
}
