/**
 * The RUN directory on disk (format in run.ts): settings written once (temp name + rename), prediction
 * lines appended with one write each and flushed (fsync), so a killed run leaves whole lines plus at most
 * one half line, which the next open cuts off before anything is appended.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeroError } from '../core/errors';
import { formatLine, settingsDiff, type PredictionLine, type RunSettings } from './run';

export const SETTINGS_FILE = 'settings.json';
export const PREDICTIONS_FILE = 'predictions.jsonl';

export interface OpenRun {
  readonly dir: string;
  /** Ids already answered (a resumed run skips them), in file order. */
  readonly done: readonly string[];
  /** Bytes of a half-written last line that were cut off (0 if the file ended cleanly). */
  readonly droppedBytes: number;
  append(line: PredictionLine): void;
  close(): void;
}

/** Writes `file` whole or not at all. */
function writeWhole(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Refuses RUN `dir` when it was made with other settings (or is not a RUN); true when it exists with these
 * settings, false when it is new. Reads only: predict checks every RUN before the model loads.
 */
export function checkRun(dir: string, settings: RunSettings): boolean {
  const sfile = path.join(dir, SETTINGS_FILE);
  const pfile = path.join(dir, PREDICTIONS_FILE);
  if (fs.existsSync(sfile)) {
    let old: unknown;
    try {
      old = JSON.parse(fs.readFileSync(sfile, 'utf8'));
    } catch {
      throw new HeroError(`${sfile}: not valid JSON (not a RUN directory?)`);
    }
    const diff = settingsDiff(old, settings);
    if (diff.length) throw new HeroError(`${dir}: this RUN was made with other settings (${diff.slice(0, 4).join(', ')}${diff.length > 4 ? ', …' : ''}); use another --out`);
    return true;
  }
  if (fs.existsSync(pfile)) throw new HeroError(`${dir}: has ${PREDICTIONS_FILE} but no ${SETTINGS_FILE}; use another --out`);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new HeroError(`${dir}: exists and is not a directory`);
  return false;
}

/** The ids RUN `dir` has answered, in file order (none when it has no predictions yet); reads only. */
export function answeredIds(dir: string): string[] {
  const pfile = path.join(dir, PREDICTIONS_FILE);
  if (!fs.existsSync(pfile)) return [];
  const text = fs.readFileSync(pfile, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((x) => x !== '').flatMap((x) => {
    try {
      return [String((JSON.parse(x) as PredictionLine).question_id)];
    } catch {
      return [];                                                             // (openRun names a bad line)
    }
  });
}

/** Writes `file` whole or not at all (score.json, sweep.json), making its folder. */
export function writeFileWhole(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeWhole(file, text);
}

/**
 * Opens (or creates) RUN `dir` for `settings`: refuses a RUN made with other settings, cuts a half line
 * off predictions.jsonl, and returns the ids answered so far with an appender.
 */
export function openRun(dir: string, settings: RunSettings): OpenRun {
  const sfile = path.join(dir, SETTINGS_FILE);
  const pfile = path.join(dir, PREDICTIONS_FILE);
  if (!checkRun(dir, settings)) {
    fs.mkdirSync(dir, { recursive: true });
    writeWhole(sfile, JSON.stringify(settings, null, 2) + '\n');
  }
  let droppedBytes = 0;
  const done: string[] = [];
  if (fs.existsSync(pfile)) {
    const buf = fs.readFileSync(pfile);
    const end = buf.lastIndexOf(0x0a) + 1;                                   // bytes up to the last newline
    droppedBytes = buf.length - end;
    if (droppedBytes > 0) fs.truncateSync(pfile, end);
    for (const [i, text] of buf.subarray(0, end).toString('utf8').split('\n').entries()) {
      if (text === '') continue;
      try {
        done.push(String((JSON.parse(text) as PredictionLine).question_id));
      } catch {
        throw new HeroError(`${pfile}:${i + 1}: not a JSON line`);
      }
    }
  }
  const fd = fs.openSync(pfile, 'a');
  return {
    dir, done, droppedBytes,
    append(line: PredictionLine): void {
      fs.writeSync(fd, formatLine(line));                                    // one write per line …
      fs.fsyncSync(fd);                                                      // … on disk before the next question
    },
    close(): void {
      fs.closeSync(fd);
    },
  };
}

/** Writes merged prediction lines as RUN `dir` (settings of the unsharded run), whole or not at all. */
export function writeRun(dir: string, settings: RunSettings, lines: readonly PredictionLine[]): void {
  if (fs.existsSync(path.join(dir, PREDICTIONS_FILE))) throw new HeroError(`${dir}: already holds ${PREDICTIONS_FILE}; merge into a new directory`);
  fs.mkdirSync(dir, { recursive: true });
  writeWhole(path.join(dir, PREDICTIONS_FILE), lines.map(formatLine).join(''));
  writeWhole(path.join(dir, SETTINGS_FILE), JSON.stringify(settings, null, 2) + '\n');
}

/** A RUN's settings and lines (for merge and report). */
export function readRun(dir: string): { settings: RunSettings; lines: PredictionLine[] } {
  const sfile = path.join(dir, SETTINGS_FILE);
  if (!fs.existsSync(sfile)) throw new HeroError(`${dir}: not a RUN directory (no ${SETTINGS_FILE})`);
  const settings = JSON.parse(fs.readFileSync(sfile, 'utf8')) as RunSettings;
  const pfile = path.join(dir, PREDICTIONS_FILE);
  const text = fs.existsSync(pfile) ? fs.readFileSync(pfile, 'utf8') : '';
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  const lines = whole.split('\n').filter((x) => x !== '').map((x, i) => {
    try {
      return JSON.parse(x) as PredictionLine;
    } catch {
      throw new HeroError(`${pfile}:${i + 1}: not a JSON line`);
    }
  });
  return { settings, lines };
}
