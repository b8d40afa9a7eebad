/**
 * A sparse line index: instead of every newline offset (about 4 bytes per line, `OffsetList`)
 * it keeps one checkpoint (line number and start offset) every {@link CHECKPOINT_LINES} lines,
 * or sooner, at the first line that starts more than {@link CHECKPOINT_BYTES} after the last
 * checkpoint. 10M lines take about 2.5 MB instead of 42 MB. The lines of one block (from a
 * checkpoint to the next) are found by reading the block's first 64 KiB and splitting it on
 * `\n`: every line of a block but its last starts within 64 KiB of the checkpoint, and the last
 * one ends just before the next checkpoint, so a block is resolved by one read of at most
 * 64 KiB however long its lines are. Resolved blocks are kept in a small LRU, so reading rows in
 * file order resolves each block once.
 *
 * Used by the dataset view's host (JsonlFile option `lineIndex: 'sparse'`), whose memory budget
 * per row is small; the worker keeps the full index for its hovers and scoring passes.
 */
import type { RowSpan } from './lineSpans';

/** Lines per block at most. */
export const CHECKPOINT_LINES = 64;
/** A line that starts more than this many bytes after its block's checkpoint starts a block. */
export const CHECKPOINT_BYTES = 64 << 10;
/** Resolved blocks kept (each holds at most 65 offsets). */
const BLOCK_CACHE = 64;

/** Reads bytes `[start, end)` of the file (through the page cache). */
export type ByteReader = (start: number, end: number) => Promise<Uint8Array>;

/** The line starts of one block, and where its last line ends. */
interface Block {
  readonly firstLine: number;
  /** Start offset of each line of the block. */
  readonly starts: Float64Array;
  /** End (before `\n`) and end of line (after it) of the block's last line. */
  readonly lastEnd: number;
  readonly lastEolEnd: number;
}

export class SparseLineIndex {
  private cpLines = new Float64Array(256);
  private cpStarts = new Float64Array(256);
  private cpCount = 1;
  private newlines = 0;
  private lastNl = -1;
  private readonly blocks = new Map<number, Block>();
  /** Bumped by {@link clear}: a block resolved before must not be cached after. */
  private epoch = 0;

  /** Newlines indexed so far. */
  get newlineCount(): number {
    return this.newlines;
  }

  /** Offset of the last newline, or -1 when there is none yet. */
  get lastNewline(): number {
    return this.lastNl;
  }

  /** Bytes held by the checkpoints (capacity). */
  get byteSize(): number {
    return this.cpLines.byteLength + this.cpStarts.byteLength;
  }

  /** Checkpoints so far (line 0 is always one). */
  get checkpoints(): number {
    return this.cpCount;
  }

  /** Lines known after scanning `scannedBytes` bytes (as `countLines` counts them). */
  lineCount(scannedBytes: number, done: boolean): number {
    if (!done) return this.newlines;
    return scannedBytes > this.lastNl + 1 ? this.newlines + 1 : this.newlines;
  }

  /** Takes the offsets of newlines found next, ascending. */
  pushAll(offsets: Float64Array): void {
    let line = this.newlines;
    let cpLine = this.cpLines[this.cpCount - 1];
    let cpStart = this.cpStarts[this.cpCount - 1];
    for (let k = 0; k < offsets.length; k++) {
      const next = offsets[k] + 1;
      line++;
      if (line - cpLine >= CHECKPOINT_LINES || next - cpStart > CHECKPOINT_BYTES) {
        this.addCheckpoint(line, next);
        cpLine = line;
        cpStart = next;
      }
    }
    if (offsets.length > 0) {
      this.newlines = line;
      this.lastNl = offsets[offsets.length - 1];
    }
  }

  /** Lets go of the room beyond the checkpoints (indexing reached the end of the file). */
  trim(): void {
    if (this.cpLines.length === this.cpCount) return;
    this.cpLines = this.cpLines.slice(0, this.cpCount);
    this.cpStarts = this.cpStarts.slice(0, this.cpCount);
  }

  /** Forgets every line (the file is indexed again). */
  clear(): void {
    this.cpLines = new Float64Array(256);
    this.cpStarts = new Float64Array(256);
    this.cpCount = 1;
    this.newlines = 0;
    this.lastNl = -1;
    this.blocks.clear();
    this.epoch++;
  }

  /**
   * The span of line `index`, which must be indexed (`index < lineCount`). `scannedBytes` and
   * `done` are the indexer's state, for the final line without a newline.
   */
  async span(
    index: number,
    scannedBytes: number,
    done: boolean,
    read: ByteReader,
  ): Promise<RowSpan> {
    return spanIn(await this.block(this.blockOf(index), scannedBytes, done, read), index);
  }

  /** The spans of lines `start .. end-1` (all indexed), each block resolved once. */
  async spans(
    start: number,
    end: number,
    scannedBytes: number,
    done: boolean,
    read: ByteReader,
  ): Promise<RowSpan[]> {
    const out: RowSpan[] = [];
    let b = this.blockOf(start);
    for (let i = start; i < end; b++) {
      if (b >= this.cpCount) throw new RangeError(`Line ${i} is not indexed`);
      const block = await this.block(b, scannedBytes, done, read);
      const stop = Math.min(end, block.firstLine + block.starts.length);
      for (; i < stop; i++) out.push(spanIn(block, i));
    }
    return out;
  }

  /** Index of the block holding line `index`. */
  private blockOf(index: number): number {
    let lo = 0;
    let hi = this.cpCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.cpLines[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private async block(
    b: number,
    scannedBytes: number,
    done: boolean,
    read: ByteReader,
  ): Promise<Block> {
    const hit = this.blocks.get(b);
    if (hit) {
      this.blocks.delete(b);
      this.blocks.set(b, hit);
      return hit;
    }
    const last = b === this.cpCount - 1;
    const firstLine = this.cpLines[b];
    const start = this.cpStarts[b];
    // Where the block's last line ends: before the next checkpoint, at the last newline, or
    // (the final line without a newline) at the end of the scanned bytes.
    let lastEolEnd: number;
    let lines: number;
    if (!last) {
      lastEolEnd = this.cpStarts[b + 1];
      lines = this.cpLines[b + 1] - firstLine;
    } else {
      lines = this.lineCount(scannedBytes, done) - firstLine;
      const unterminated = done && scannedBytes > this.lastNl + 1;
      lastEolEnd = unterminated ? scannedBytes : this.lastNl + 1;
    }
    const scanEnd = Math.min(start + CHECKPOINT_BYTES, lastEolEnd);
    const epoch = this.epoch;
    const bytes = scanEnd > start ? await read(start, scanEnd) : new Uint8Array(0);
    const starts = new Float64Array(Math.max(0, lines));
    if (lines > 0) starts[0] = start;
    let at = 0;
    for (let k = 1; k < lines; k++) {
      const nl = bytes.indexOf(10, at);
      if (nl < 0) throw new Error(`Line index out of step with the file at byte ${start + at}`);
      starts[k] = start + nl + 1;
      at = nl + 1;
    }
    const unterminatedLast = last && done && scannedBytes > this.lastNl + 1;
    const block: Block = {
      firstLine,
      starts,
      lastEnd: unterminatedLast ? lastEolEnd : lastEolEnd - 1,
      lastEolEnd,
    };
    // The last block still grows while the file is indexed or appended to.
    if (!last && epoch === this.epoch) {
      this.blocks.set(b, block);
      if (this.blocks.size > BLOCK_CACHE) this.blocks.delete(this.blocks.keys().next().value!);
    }
    return block;
  }

  private addCheckpoint(line: number, start: number): void {
    if (this.cpCount === this.cpLines.length) {
      const lines = new Float64Array(Math.max(256, this.cpLines.length * 2));
      const starts = new Float64Array(Math.max(256, this.cpStarts.length * 2));
      lines.set(this.cpLines);
      starts.set(this.cpStarts);
      this.cpLines = lines;
      this.cpStarts = starts;
    }
    this.cpLines[this.cpCount] = line;
    this.cpStarts[this.cpCount] = start;
    this.cpCount++;
  }
}

/** The span of line `index` of `block`. */
function spanIn(block: Block, index: number): RowSpan {
  const k = index - block.firstLine;
  const start = block.starts[k];
  if (k + 1 < block.starts.length) {
    const eolEnd = block.starts[k + 1];
    return { start, end: eolEnd - 1, eolEnd };
  }
  return { start, end: block.lastEnd, eolEnd: block.lastEolEnd };
}
