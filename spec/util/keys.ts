/** The tensor names and shapes stored in a checkpoint file (what HF wrote), for comparing with a key spec. */
import { SafetensorsFile } from '../../src/io/safetensors';

export function storedShapes(file: string): Map<string, readonly number[]> {
  const f = SafetensorsFile.open(file);
  try {
    return new Map(f.names().filter((n) => !/\.position_ids$/.test(n)).map((n) => [n, f.info(n).shape]));
  } finally {
    f.close();
  }
}

export const sortedEntries = (m: ReadonlyMap<string, readonly number[]>): [string, readonly number[]][] =>
  [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
