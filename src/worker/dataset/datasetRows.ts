import { RowColumns } from '../../core/dataset/rowColumns';

/**
 * The facts of every scanned row of a dataset, for the worker and the dataset view: the JSONL
 * engine's {@link RowColumns} of the current version of the file (content hash, parse status,
 * text length, top-level fields), filled in order by the dataset's one scan. Scores are looked
 * up by the hashes, so they follow a row when lines move, and a column of scores for a 1M-row
 * file costs one map lookup per row, never a second read of the file.
 *
 * When the file changes on disk the scan starts again from some row and the facts from there on
 * are dropped ({@link truncate}); every truncation gets a generation number, so that consumers
 * which copied values derived from the rows (score columns, the dataset view's facts) know from
 * which row to recompute. A rewrite starts a new set of columns ({@link restart}); the columns
 * of the version before are kept until the one after, so that decisions made on its rows can
 * still be saved by their hashes.
 */
export class DatasetRows {
  private cols = new RowColumns();
  private gen = 0;
  /** Truncation generation → the row count it truncated to. */
  private readonly truncatedTo = new Map<number, number>();
  private previousCols: RowColumns | undefined;

  /** The columns of the current version. */
  get columns(): RowColumns {
    return this.cols;
  }

  /** The columns of the version before the last rewrite, until they are let go. */
  get previous(): RowColumns | undefined {
    return this.previousCols;
  }

  /** Rows scanned so far. */
  get count(): number {
    return this.cols.scanned;
  }

  /** Bytes held by the columns (capacity), the previous version's included. */
  get memoryBytes(): number {
    return this.cols.memoryBytes + (this.previousCols?.memoryBytes ?? 0);
  }

  /** Bumped by every truncation. */
  get generation(): number {
    return this.gen;
  }

  /** Forgets rows from `n` on. */
  truncate(n: number): void {
    if (n >= this.cols.scanned) return;
    this.cols.truncate(n);
    this.gen++;
    this.truncatedTo.set(this.gen, this.cols.scanned);
  }

  /** Starts the columns of a new version of the file (rewritten): every row is forgotten. */
  restart(): void {
    this.previousCols = this.cols;
    this.cols = new RowColumns();
    this.gen++;
    this.truncatedTo.set(this.gen, 0);
  }

  /** Lets go of the previous version's columns. */
  releasePrevious(): void {
    this.previousCols = undefined;
  }

  /**
   * The lowest row count any truncation after generation `since` left, or `Infinity` when there
   * was none: rows below it are unchanged since then.
   */
  unchangedBelow(since: number): number {
    let low = Infinity;
    for (let g = since + 1; g <= this.gen; g++) low = Math.min(low, this.truncatedTo.get(g) ?? 0);
    return low;
  }

  /** The content hash of row `i` (32 hex digits). */
  hash(i: number): string {
    if (!Number.isInteger(i) || i < 0 || i >= this.cols.scanned)
      throw new RangeError(`Row ${i} is not hashed`);
    return this.cols.hashHex(i);
  }

  /** Whether row `i` parses as a JSON object (so it has text to score). */
  ok(i: number): boolean {
    return i >= 0 && i < this.cols.scanned && this.cols.errors[i] === 0;
  }
}
