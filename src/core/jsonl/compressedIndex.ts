/**
 * {@link CompressedIndex}: the line index and row reads shared by the compressed JSONL readers
 * ({@link GzipJsonl}, {@link ZstdJsonl}), built while decompressing the file in a stream
 * (nothing is unpacked to disk). A subclass only says how to decode from a restart point and
 * where restart points are; the index, the waits, the cache and the row splitting live here.
 *
 * Rows are the lines of the DECOMPRESSED stream, with the same rules as {@link JsonlFile}: row `i`
 * is the i-th physical line, its bytes exclude the `\n` and keep a `\r` before it; a final line
 * without a newline is a row. `RawRow.start` is the row's offset in the decompressed stream, so
 * row bytes, and their content hashes, equal those of the plain file.
 *
 * Random access: decoding restarts at the last checkpoint before the wanted offset; checkpoints
 * are kept at most every {@link DEFAULT_CHECKPOINT_INTERVAL} of output. The last decoded span (at
 * least 1 MiB) is cached, so scrolling near one place decodes once.
 */
import { promises as fsp } from 'node:fs';
import type { RawRow } from './jsonlFile';
import { countLines, lineSpan, type RowSpan } from './lineSpans';
import { NewlineScanner } from './newlineScanner';
import { OffsetList } from './offsetList';

/** Where decoding can start exactly, in both streams. */
export interface Restart {
  /** Offset in the compressed file. */
  compressed: number;
  /** Offset of the first decompressed byte decoded from there. */
  decompressed: number;
}

/** A run of decompressed bytes and where it lies in the decompressed stream. */
export interface DecodedChunk {
  data: Buffer;
  /** Decompressed offset of `data[0]`. */
  offset: number;
  /** Compressed bytes read so far (for progress; the decoder may still hold some of them). */
  compressedRead: number;
}

/** Receives the restart points found while indexing, when it wants one. */
export interface RestartSink<R extends Restart> {
  /** Whether a restart point at or after decompressed offset `at` is wanted now. */
  wanted(at: number): boolean;
  found(at: R): void;
}

/** Indexing progress, reported while indexing (throttled) and once more when it is done. */
export interface CompressedIndexProgress {
  lines: number;
  /** Decompressed bytes indexed so far. */
  bytesIndexed: number;
  /** Compressed bytes read so far, of {@link totalCompressedBytes}. */
  compressedBytesRead: number;
  totalCompressedBytes: number;
  done: boolean;
}

export interface CompressedIndexOptions {
  onProgress?: (p: CompressedIndexProgress) => void;
  /** Least decompressed distance between two checkpoints. */
  checkpointInterval?: number;
}

/** Checkpoints are kept at most this often (decompressed bytes). */
export const DEFAULT_CHECKPOINT_INTERVAL = 4 << 20;
/** Bytes held per checkpoint besides any window (two float64 offsets). */
const CHECKPOINT_BYTES = 16;
/** A read decodes at least this much, so the next rows are usually cached. */
const CACHE_SPAN = 1 << 20;
const PROGRESS_INTERVAL_MS = 50;

interface Signal {
  promise: Promise<void>;
  resolve: () => void;
}

function signal(): Signal {
  let resolve!: () => void;
  const promise = new Promise<void>(r => (resolve = r));
  return { promise, resolve };
}

/** Opens `path` read-only as a regular file, with its size; closes it again on failure. */
export async function openRegularFile(path: string): Promise<{ fh: fsp.FileHandle; size: number }> {
  const fh = await fsp.open(path, 'r');
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`Not a regular file: ${path}`);
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** A compressed JSONL file with a line index built in the background. See the module comment. */
export abstract class CompressedIndex<R extends Restart> {
  readonly path: string;
  protected readonly fh: fsp.FileHandle;
  private readonly compressedSize: number;
  private readonly newlines = new OffsetList();
  protected readonly restarts: R[] = [];
  private readonly interval: number;
  private readonly onProgress: ((p: CompressedIndexProgress) => void) | undefined;
  private bytesIndexed = 0;
  private compressedRead = 0;
  private done = false;
  private closed = false;
  private failure: Error | undefined;
  private wake = signal();
  private lastProgressAt = 0;
  private indexer: Promise<void> | undefined;
  /** The last decoded span of the decompressed stream. */
  private cached: { start: number; data: Buffer } | undefined;

  protected constructor(
    path: string,
    fh: fsp.FileHandle,
    size: number,
    opts: CompressedIndexOptions,
  ) {
    this.path = path;
    this.fh = fh;
    this.compressedSize = size;
    this.interval = opts.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
    this.onProgress = opts.onProgress;
  }

  /**
   * Decompressed chunks from `start` (a checkpoint, or the file start) to the end of the file, in
   * order; with `restarts`, the restart points passed on the way are offered to it. Stops early
   * when the caller leaves the loop. Throws a format error that names the file and the byte.
   */
  protected abstract decodeFrom(start: R, restarts?: RestartSink<R>): AsyncGenerator<DecodedChunk>;

  /** The restart point at the start of the file. */
  protected abstract fileStart(): R;

  /** Bytes a checkpoint holds besides its offsets (a window, for gzip flush points). */
  protected restartExtraBytes(_r: R): number {
    return 0;
  }

  /** Starts indexing in the background (called once by the subclass's `open`). */
  protected startIndexing(): void {
    this.indexer = this.runIndexer();
  }

  /** Lines indexed so far; grows while indexing. */
  get lineCount(): number {
    return countLines(this.newlines, this.bytesIndexed, this.done);
  }

  /** True when the whole file is indexed. */
  get indexed(): boolean {
    return this.done;
  }

  /** Decompressed bytes indexed so far (the decompressed size once {@link indexed}). */
  get bytesIndexedSoFar(): number {
    return this.bytesIndexed;
  }

  /** Compressed bytes read by the indexer so far. */
  get compressedBytesRead(): number {
    return this.compressedRead;
  }

  /** Size of the compressed file. */
  get totalCompressedBytes(): number {
    return this.compressedSize;
  }

  /** Bytes held by the line index (about 4 per line). */
  get indexBytes(): number {
    return this.newlines.byteSize;
  }

  /** Checkpoints recorded so far (decompression restart points). */
  get checkpointCount(): number {
    return this.restarts.length;
  }

  /** Bytes held by the checkpoints (their offsets and any windows). */
  get checkpointBytes(): number {
    let total = 0;
    for (const r of this.restarts) total += CHECKPOINT_BYTES + this.restartExtraBytes(r);
    return total;
  }

  /** Resolves when indexing is done; rejects if it failed (a corrupt or truncated file). */
  async whenIndexed(): Promise<void> {
    await this.waitUntil(() => this.done);
  }

  /** Where row `index` lies in the decompressed stream; the row must be indexed. */
  rowSpan(index: number): RowSpan {
    return lineSpan(this.newlines, index, this.lineCount, this.bytesIndexed);
  }

  /** Rows `start .. start+count-1`, clipped at the end; waits until they are indexed. */
  async readRows(start: number, count: number): Promise<RawRow[]> {
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(count) || count < 0) {
      throw new RangeError(`Invalid row window ${start}+${count}`);
    }
    await this.waitUntil(() => this.lineCount >= start + count);
    const end = Math.min(start + count, this.lineCount);
    if (start >= end) return [];
    const spans: RowSpan[] = [];
    for (let i = start; i < end; i++) spans.push(this.rowSpan(i));
    const from = spans[0].start;
    const data = await this.readDecompressed(from, spans[spans.length - 1].end);
    return spans.map((s, k) => ({
      index: start + k,
      start: s.start,
      bytes: data.subarray(s.start - from, s.end - from),
    }));
  }

  /** The first decompressed bytes (up to `maxBytes`); waits until they are indexed. */
  async readHead(maxBytes: number): Promise<Buffer> {
    await this.waitUntil(() => this.bytesIndexed >= maxBytes);
    const end = Math.min(maxBytes, this.bytesIndexed);
    return end === 0 ? Buffer.alloc(0) : Buffer.from(await this.readDecompressed(0, end));
  }

  /**
   * Decompressed bytes `[from, to)` (indexed already), decoded from the nearest checkpoint or
   * taken from the cache. For scattered reads; a full pass uses {@link iterateRows}.
   */
  async readBytes(from: number, to: number): Promise<Buffer> {
    if (to > this.bytesIndexed) {
      throw new RangeError(`Bytes ${from}..${to} are not indexed yet (${this.bytesIndexed})`);
    }
    return from >= to ? Buffer.alloc(0) : this.readDecompressed(from, to);
  }

  /**
   * Rows from `start` to the end of the file, in batches of about `batchBytes`, decoded in one
   * sequential pass from the nearest checkpoint (for full passes: hashing, scoring).
   */
  async *iterateRows(start = 0, batchBytes = 4 << 20): AsyncGenerator<RawRow[]> {
    await this.waitUntil(() => this.lineCount > start);
    if (start >= this.lineCount) return;
    const from = this.rowSpan(start).start;
    const splitter = new RowSplitter(start, from);
    for await (const chunk of this.decodeFrom(this.restartBefore(from))) {
      this.throwIfClosed();
      const rows = splitter.push(chunk.data, chunk.offset, batchBytes);
      if (rows.length > 0) yield rows;
    }
    const last = splitter.finish();
    if (last.length > 0) yield last;
  }

  /** Stops indexing and closes the file. Pending and later reads reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pulse();
    await this.indexer?.catch(() => undefined);
    this.newlines.clear();
    this.cached = undefined;
    await this.fh.close().catch(() => undefined);
  }

  // ---- indexing ----

  private async runIndexer(): Promise<void> {
    const scanner = new NewlineScanner(256 << 10);
    const buf = scanner.buffer();
    const sink = (offsets: Float64Array) => this.newlines.pushAll(offsets);
    const restarts: RestartSink<R> = {
      wanted: at => {
        const last = this.restarts[this.restarts.length - 1];
        return !last || at - last.decompressed >= this.interval;
      },
      found: at => this.restarts.push(at),
    };
    try {
      await new Promise<void>(resolve => setImmediate(resolve));
      for await (const chunk of this.decodeFrom(this.fileStart(), restarts)) {
        if (this.closed) return;
        for (let p = 0; p < chunk.data.length; p += buf.length) {
          const piece = chunk.data.subarray(p, p + buf.length);
          buf.set(piece);
          scanner.scan(piece.length, chunk.offset + p, sink);
        }
        this.bytesIndexed = chunk.offset + chunk.data.length;
        this.compressedRead = chunk.compressedRead;
        this.reportProgress(false);
        this.pulse();
      }
      this.compressedRead = this.compressedSize;
      this.done = true;
      this.reportProgress(true);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
    } finally {
      this.pulse();
    }
  }

  private reportProgress(done: boolean): void {
    const now = Date.now();
    if (!this.onProgress || (!done && now - this.lastProgressAt < PROGRESS_INTERVAL_MS)) return;
    this.lastProgressAt = now;
    try {
      this.onProgress({
        lines: this.lineCount,
        bytesIndexed: this.bytesIndexed,
        compressedBytesRead: this.compressedRead,
        totalCompressedBytes: this.compressedSize,
        done,
      });
    } catch {
      // A listener's failure must not stop indexing.
    }
  }

  private pulse(): void {
    const w = this.wake;
    this.wake = signal();
    w.resolve();
  }

  /** Waits until `ready()` or indexing ends; throws if the file failed or was closed. */
  private async waitUntil(ready: () => boolean): Promise<void> {
    while (!ready() && !this.done) {
      this.throwIfUnusable();
      await this.wake.promise;
    }
    this.throwIfUnusable();
  }

  protected throwIfClosed(): void {
    if (this.closed) throw new Error(`${this.path} is closed`);
  }

  private throwIfUnusable(): void {
    this.throwIfClosed();
    if (this.failure) throw this.failure;
  }

  // ---- decoding ----

  /** The last checkpoint at or before decompressed offset `at`. */
  private restartBefore(at: number): R {
    let lo = 0;
    let hi = this.restarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.restarts[mid].decompressed <= at) lo = mid;
      else hi = mid - 1;
    }
    return this.restarts[lo] ?? this.fileStart();
  }

  /** Decompressed bytes `[from, to)`, decoded from the nearest checkpoint (or the cache). */
  private async readDecompressed(from: number, to: number): Promise<Buffer> {
    this.throwIfClosed();
    const c = this.cached;
    if (c && from >= c.start && to <= c.start + c.data.length) {
      return c.data.subarray(from - c.start, to - c.start);
    }
    const want = Math.max(to, from + CACHE_SPAN);
    const parts: Buffer[] = [];
    let have = from;
    for await (const chunk of this.decodeFrom(this.restartBefore(from))) {
      this.throwIfClosed();
      const end = chunk.offset + chunk.data.length;
      if (end > have) {
        parts.push(chunk.data.subarray(have - chunk.offset, Math.min(end, want) - chunk.offset));
        have = Math.min(end, want);
      }
      if (have >= want) break;
    }
    if (have < to) throw new Error(`${this.path} changed on disk while reading (it is shorter)`);
    const data = Buffer.concat(parts);
    this.cached = { start: from, data };
    return data.subarray(0, to - from);
  }
}

/** Cuts a stream of decompressed chunks into rows, in batches (for `iterateRows`). */
class RowSplitter {
  /** Bytes of the row being assembled, from earlier chunks. */
  private carry: Buffer[] = [];
  private batch: RawRow[] = [];
  private batchBytes = 0;

  constructor(
    private index: number,
    private rowStart: number,
  ) {}

  /** Takes the next chunk; returns a batch when one is full, otherwise an empty array. */
  push(data: Buffer, offset: number, maxBatchBytes: number): RawRow[] {
    let p = Math.max(0, this.rowStart - offset);
    if (p >= data.length && this.carry.length === 0) return [];
    for (let nl = data.indexOf(10, p); nl >= 0; nl = data.indexOf(10, p)) {
      const bytes =
        this.carry.length === 0
          ? data.subarray(p, nl)
          : Buffer.concat([...this.carry, data.subarray(p, nl)]);
      this.carry = [];
      this.batch.push({ index: this.index++, start: this.rowStart, bytes });
      this.batchBytes += bytes.length + 1;
      p = nl + 1;
      this.rowStart = offset + p;
    }
    if (p < data.length) this.carry.push(data.subarray(p));
    if (this.batchBytes < maxBatchBytes) return [];
    return this.take();
  }

  /** The rows left, with a final line that has no newline. */
  finish(): RawRow[] {
    if (this.carry.length > 0) {
      this.batch.push({
        index: this.index++,
        start: this.rowStart,
        bytes: Buffer.concat(this.carry),
      });
      this.carry = [];
    }
    return this.take();
  }

  private take(): RawRow[] {
    const out = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    return out;
  }
}
