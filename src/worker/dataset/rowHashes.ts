import { contentDigest } from '../../core/jsonl';

/**
 * The identity of every validated row of a dataset: the JSONL engine's content hash of the raw
 * line (16 bytes per row, kept as binary) and whether the line parses as a JSON object. Scores
 * are looked up by these hashes, so they follow a row when lines move, and a column of scores
 * for a 1M-row file costs one map lookup per row, never a second read of the file.
 *
 * Rows are filled in order by the validation pass. When the file changes on disk, validation
 * starts again from some row and the hashes from there on are dropped (`truncate`); every
 * truncation gets a generation number, so that consumers which copied values derived from the
 * hashes (score columns) know from which row to recompute.
 */
export class RowHashes {
  private digests = new Uint8Array(16 * 1024);
  private valid = new Uint8Array(1024);
  private length = 0;
  private gen = 0;
  /** Truncation generation → the row count it truncated to. */
  private readonly truncatedTo = new Map<number, number>();

  /** Rows hashed so far. */
  get count(): number {
    return this.length;
  }

  /** Bytes held by the digests and flags (capacity). */
  get memoryBytes(): number {
    return this.digests.byteLength + this.valid.byteLength;
  }

  /** Bumped by every truncation. */
  get generation(): number {
    return this.gen;
  }

  /** Sets row `index` (at most `count`: rows are filled in order). `hash` is 32 hex digits. */
  set(index: number, hash: string, ok: boolean): void {
    if (index > this.length) throw new Error(`Row ${index} hashed before row ${this.length}`);
    if (index >= this.valid.length) this.grow(index + 1);
    this.digests.set(Buffer.from(hash, 'hex').subarray(0, 16), index * 16);
    this.valid[index] = ok ? 1 : 0;
    if (index === this.length) this.length++;
  }

  /** Sets row `index` from its line's bytes (the engine's `contentDigest`, no hex round trip). */
  setLine(index: number, line: Uint8Array, ok: boolean): void {
    if (index > this.length) throw new Error(`Row ${index} hashed before row ${this.length}`);
    if (index >= this.valid.length) this.grow(index + 1);
    contentDigest(line, this.digests, index * 16);
    this.valid[index] = ok ? 1 : 0;
    if (index === this.length) this.length++;
  }

  /** Forgets rows from `n` on. */
  truncate(n: number): void {
    if (n >= this.length) return;
    this.length = Math.max(0, n);
    this.gen++;
    this.truncatedTo.set(this.gen, this.length);
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
    if (i < 0 || i >= this.length) throw new RangeError(`Row ${i} is not hashed`);
    return Buffer.from(this.digests.buffer, this.digests.byteOffset + i * 16, 16).toString('hex');
  }

  /** Whether row `i` parses as a JSON object (so it has text to score). */
  ok(i: number): boolean {
    return i >= 0 && i < this.length && this.valid[i] === 1;
  }

  /** Makes room for exactly `n` rows (once the row count is known), so none is wasted. */
  reserve(n: number): void {
    if (n > this.valid.length) this.resize(n);
  }

  private grow(min: number): void {
    let cap = this.valid.length;
    while (cap < min) cap *= 2;
    this.resize(cap);
  }

  private resize(cap: number): void {
    const digests = new Uint8Array(cap * 16);
    digests.set(this.digests.subarray(0, this.length * 16));
    const valid = new Uint8Array(cap);
    valid.set(this.valid.subarray(0, this.length));
    this.digests = digests;
    this.valid = valid;
  }
}
