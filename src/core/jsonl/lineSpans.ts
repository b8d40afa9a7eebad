import type { OffsetList } from './offsetList';

/** Where a row lies in the file (or in a decompressed stream). */
export interface RowSpan {
  /** Offset of the first byte. */
  start: number;
  /** Offset just past the last byte before the `\n` (or the end of the file). */
  end: number;
  /** Offset just past the `\n`; equals `end` for a final line without a newline. */
  eolEnd: number;
}

/**
 * Lines known from the newline offsets found in the first `scannedBytes` bytes: one per
 * newline, plus a last line without one once the scan is `done` and bytes follow the last
 * newline.
 */
export function countLines(newlines: OffsetList, scannedBytes: number, done: boolean): number {
  const n = newlines.length;
  if (!done) return n;
  const lastStart = n === 0 ? 0 : newlines.get(n - 1) + 1;
  return scannedBytes > lastStart ? n + 1 : n;
}

/** The span of line `index` (`0 ≤ index < lineCount`, else a RangeError). */
export function lineSpan(
  newlines: OffsetList,
  index: number,
  lineCount: number,
  scannedBytes: number,
): RowSpan {
  if (!Number.isInteger(index) || index < 0 || index >= lineCount) {
    throw new RangeError(`Row ${index} is out of range (0..${lineCount - 1})`);
  }
  const start = index === 0 ? 0 : newlines.get(index - 1) + 1;
  if (index < newlines.length) {
    const nl = newlines.get(index);
    return { start, end: nl, eolEnd: nl + 1 };
  }
  return { start, end: scannedBytes, eolEnd: scannedBytes };
}
