import { BLANK_CODE, type RowColumns } from '../../core/dataset/rowColumns';
import { parseLine, type RawRow } from '../../core/jsonl';
import { errorRange, type InvalidRow } from '../editor/diagnostics';
import { lineLengthUtf16 } from './lineText';

/**
 * The invalid and blank lines of a dataset that the diagnostics name, at most `cap` of each (the
 * rest are only counted, by the scan's columns). The scan records the parse status of each row;
 * the parse error of an invalid line (message and column) is read again from the line itself,
 * after the scan passed it: invalid lines are rare, and the scan keeps only its kind.
 */
export class ProblemRows {
  /** Invalid rows with detail, by index. */
  invalid: InvalidRow[] = [];
  /** 0-based indices of blank lines. */
  blank: number[] = [];
  /** Invalid rows whose detail is still to be read, by index. */
  private pending: number[] = [];

  /** Whether invalid rows wait for their detail. */
  get waiting(): boolean {
    return this.pending.length > 0;
  }

  /** Notes the problems of rows `from .. to-1` of `columns`. */
  noteRows(columns: RowColumns, from: number, to: number, cap: number): void {
    const errors = columns.errors;
    for (let i = from; i < to; i++) {
      const e = errors[i];
      if (e === 0) continue;
      if (e === BLANK_CODE) {
        if (this.blank.length < cap) this.blank.push(i);
      } else if (this.invalid.length + this.pending.length < cap) this.pending.push(i);
    }
  }

  /** Gives up the detail of the waiting rows (their line could not be read). */
  dropWaiting(): void {
    this.pending = [];
  }

  /** Forgets the rows from `n` on. */
  truncate(n: number): void {
    if (n <= 0) {
      this.invalid = [];
      this.blank = [];
      this.pending = [];
      return;
    }
    this.invalid = this.invalid.filter(r => r.index < n);
    this.blank = this.blank.filter(i => i < n);
    this.pending = this.pending.filter(i => i < n);
  }

  /**
   * Reads the detail of the waiting rows, in order. `current()` false: the file changed, stop
   * (the rows are noted again by the next scan).
   */
  async readDetails(
    readRow: (index: number) => Promise<RawRow>,
    maxLineBytes: number,
    current: () => boolean,
  ): Promise<void> {
    while (this.pending.length > 0 && current()) {
      const index = this.pending[0];
      const row = await readRow(index);
      if (!current() || this.pending[0] !== index) continue;
      this.pending.shift();
      const firstLine = index === 0;
      const parsed = parseLine(row.bytes, { maxLineBytes, firstLine });
      if (parsed.ok) continue;
      const { start, end } = errorRange(parsed.error, lineLengthUtf16(row.bytes, firstLine));
      this.invalid.push({ index, error: parsed.error, startChar: start, endChar: end });
    }
  }
}
