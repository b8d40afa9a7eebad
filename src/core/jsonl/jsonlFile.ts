/**
 * {@link JsonlFile}: a line index over a JSONL file of any size, with random row reads.
 *
 * Indexing streams the file in cache-sized reads scanned by the SIMD {@link NewlineScanner} (see
 * `runIndexer` for why the reads are small and synchronous, in time slices) and stores the
 * offset of every `\n` in an {@link OffsetList} (about 4 bytes per line). Nothing else is kept
 * per line, so 100M lines take about 400 MB and a 10 GB file is fine. Rows can be read while indexing
 * is still running: readers wait only until the rows they ask for are indexed.
 *
 * Row `i` is the i-th physical line (0-based). Its bytes exclude the `\n` but keep a `\r` before
 * it (and the BOM on line 0): {@link parseLine} strips those, and exports stay byte-exact. A final
 * line without a newline is a row; a final `\n` does not start another (empty) row.
 *
 * Changes on disk: {@link JsonlFile.checkForChanges} compares `stat` (size, mtime, inode) with the
 * snapshot taken when indexing started. A larger file whose first and last 4 KiB before the old
 * end are unchanged counts as an append: indexing continues from the old end. Anything else
 * (shrunk, rewritten, replaced by another inode) rebuilds the index and empties the page cache.
 * A file that is gone from disk, or is no longer a readable regular file, is reported as
 * unavailable ({@link JsonlFile.unavailable}); the watch then follows its folder and the file is
 * re-indexed when it comes back.
 */
import {
  constants as fsConstants,
  promises as fsp,
  readSync,
  watch as fsWatch,
  type FSWatcher,
  type Stats,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import { NewlineScanner } from './newlineScanner';
import { OffsetList } from './offsetList';
import { countLines, lineSpan, type RowSpan } from './lineSpans';
import { PageCache } from './pageCache';
import type { RowSource } from './rowSource';
import { SparseLineIndex } from './sparseLineIndex';

/** One physical line of the file. */
export interface RawRow {
  /** 0-based line number. */
  index: number;
  /** Byte offset of the line start. */
  start: number;
  /** The line's bytes without the `\n` (a `\r` before it, and a BOM on line 0, are kept). */
  bytes: Uint8Array;
}

/**
 * Consecutive rows read in one go ({@link JsonlFile.iterateLineBatches}): row `first + k` is
 * `data[starts[k], ends[k])`, the same bytes as its {@link RawRow}.
 */
export interface LineBatch {
  /** Index of the first row. */
  readonly first: number;
  /** Rows in the batch. */
  readonly count: number;
  /** File offset of `data[0]` (the first row's start). */
  readonly start: number;
  readonly data: Uint8Array;
  readonly starts: Float64Array;
  readonly ends: Float64Array;
}

/** A batch being read: its rows' file offsets and the read. */
interface PendingBatch {
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  readonly data: Promise<Buffer>;
  /** The row after the batch. */
  readonly next: number;
}

/** Indexing progress, reported while indexing and once more when it is done. */
export interface IndexProgress {
  lines: number;
  bytesIndexed: number;
  totalBytes: number;
  done: boolean;
}

export interface JsonlFileOptions {
  /** Line length cap used by consumers that parse rows (not enforced by the index). */
  maxLineBytes?: number;
  /** Bound on the page cache for random reads. Default 32 MiB. */
  pageCacheBytes?: number;
  /** Size of the indexing read buffer. Default 128 KiB. */
  readBufferBytes?: number;
  /** Use the `Buffer.indexOf` scanner instead of WebAssembly SIMD (for tests). */
  scalarScan?: boolean;
  /** At most this many bytes are indexed between two turns of the event loop. Default: no
   * limit beyond the time slice. */
  sliceBytes?: number;
  /**
   * `full` (default): every newline offset, about 4 bytes per line, spans known at once.
   * `sparse`: a checkpoint every 64 lines or 64 KiB ({@link SparseLineIndex}), about 0.25 bytes
   * per line; a row's span is found by reading its block (at most 64 KiB, cached), so
   * {@link JsonlFile.rowSpan} is not available and {@link JsonlFile.spanOf} is used instead.
   */
  lineIndex?: 'full' | 'sparse';
}

export type { RowSpan } from './lineSpans';

export type ChangeKind = 'appended' | 'rebuilt';

/** What a line index was built against (see {@link JsonlFile.stamp}). */
export interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/** The file on disk is gone or cannot be read; the message says which and why. */
export class FileUnavailableError extends Error {
  override name = 'FileUnavailableError';
}

/** Why a path cannot be read as a regular file, from the error of `stat` or `open`. */
function unavailableReason(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `${path} is no longer on disk`;
  if (code === 'EACCES' || code === 'EPERM') return `${path} cannot be read: permission denied`;
  return `${path} cannot be read: ${err instanceof Error ? err.message : String(err)}`;
}

/** What a path that is not a regular file is instead, for messages. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** Default line length cap, the same as the `winnow.dataset.maxLineBytes` setting (100 MiB). */
export const DEFAULT_MAX_LINE_BYTES = 100 * 1024 * 1024;
const DEFAULT_PAGE_CACHE_BYTES = 32 << 20;
const PAGE_SIZE = 64 << 10;
const DEFAULT_READ_BUFFER_BYTES = 128 << 10;
/** Longest stretch of synchronous indexing work between two turns of the event loop. */
const SLICE_MS = 8;
/** The first slice is short, so that the first screen of rows arrives at once. */
const FIRST_SLICE_BYTES = 1 << 20;
const FINGERPRINT_BYTES = 4096;
const PROGRESS_INTERVAL_MS = 50;
const WATCH_DEBOUNCE_MS = 100;

/** What the index was built against. */
interface Snapshot {
  size: number;
  mtimeMs: number;
  ino: number;
  /** First bytes of the file (up to 4 KiB). */
  head: Buffer;
  /** Last bytes before `size` (up to 4 KiB). */
  tail: Buffer;
}

interface Signal {
  promise: Promise<void>;
  resolve: () => void;
}

function signal(): Signal {
  let resolve!: () => void;
  const promise = new Promise<void>(r => (resolve = r));
  return { promise, resolve };
}

/**
 * The rows in `data` (read from offset `pos`, starting with row `index`): one per newline, up to
 * row `available`, plus the bytes after the last newline when they are the file's final row
 * without a newline (`finalRow`).
 */
function splitRows(
  data: Buffer,
  pos: number,
  index: number,
  available: number,
  finalRow: boolean,
): RawRow[] {
  const rows: RawRow[] = [];
  let at = 0;
  while (index < available) {
    const nl = data.indexOf(10, at);
    if (nl < 0) {
      if (finalRow && at < data.length)
        rows.push({ index: index++, start: pos + at, bytes: data.subarray(at) });
      break;
    }
    rows.push({ index: index++, start: pos + at, bytes: data.subarray(at, nl) });
    at = nl + 1;
  }
  return rows;
}

/** Reads exactly `length` bytes at `position` unless the file ends first; returns bytes read. */
async function readFully(
  fh: fsp.FileHandle,
  target: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(target, offset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function takeSnapshot(fh: fsp.FileHandle, stats?: Stats): Promise<Snapshot> {
  const st = stats ?? (await fh.stat());
  const head = Buffer.alloc(Math.min(FINGERPRINT_BYTES, st.size));
  const tail = Buffer.alloc(Math.min(FINGERPRINT_BYTES, st.size));
  await Promise.all([
    readFully(fh, head, 0, head.length, 0),
    readFully(fh, tail, 0, tail.length, st.size - tail.length),
  ]);
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, head, tail };
}

/** A JSONL file with a line index built in the background. See the module comment. */
export class JsonlFile implements RowSource {
  readonly path: string;
  /** Line cap passed at open, for consumers that parse rows. */
  readonly maxLineBytes: number;
  /** A plain file: read as it is on disk. */
  readonly compression = undefined;

  private fh: fsp.FileHandle;
  /** Handles replaced after the path got a new inode; closed by {@link close}. */
  private readonly retired: fsp.FileHandle[] = [];
  private snapshot: Snapshot;
  /** Offsets of every `\n` found so far (full index). */
  private readonly newlines = new OffsetList();
  /** Checkpoints instead of every offset (`lineIndex: 'sparse'`). */
  private readonly sparse: SparseLineIndex | undefined;
  private bytesIndexed = 0;
  private targetBytes: number;
  private done = false;
  private failure: Error | undefined;
  private closed = false;
  /** Bumped whenever the index is thrown away; an indexer run stops when it no longer matches. */
  private generation = 0;
  private indexer: Promise<void> | null = null;
  private wake = signal();
  private lastProgressAt = 0;
  private readonly cache: PageCache;
  private readonly readBufferBytes: number;
  private readonly scalarScan: boolean;
  private readonly sliceBytes: number;
  private readonly progressListeners = new Set<(p: IndexProgress) => void>();
  private readonly changeListeners = new Set<(kind: ChangeKind) => void>();
  private changeCheck: Promise<'unchanged' | ChangeKind> | null = null;
  private watcher: FSWatcher | undefined;
  /** Whether {@link watcher} watches the file itself (otherwise its folder). */
  private watchingFile = false;
  private watchTimer: NodeJS.Timeout | undefined;
  private unavailableReason: string | undefined;
  private readonly availabilityListeners = new Set<() => void>();

  private constructor(
    path: string,
    fh: fsp.FileHandle,
    snapshot: Snapshot,
    opts: JsonlFileOptions,
  ) {
    this.path = path;
    this.fh = fh;
    this.snapshot = snapshot;
    this.targetBytes = snapshot.size;
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.readBufferBytes = opts.readBufferBytes ?? DEFAULT_READ_BUFFER_BYTES;
    this.scalarScan = opts.scalarScan ?? false;
    this.sliceBytes = opts.sliceBytes ?? Infinity;
    this.sparse = opts.lineIndex === 'sparse' ? new SparseLineIndex() : undefined;
    this.cache = new PageCache(PAGE_SIZE, opts.pageCacheBytes ?? DEFAULT_PAGE_CACHE_BYTES, no =>
      this.readPage(no),
    );
  }

  /** Opens the file and starts indexing in the background. Rejects if it cannot be opened. */
  static async open(path: string, opts: JsonlFileOptions = {}): Promise<JsonlFile> {
    const fh = await fsp.open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error(`Not a regular file: ${path}`);
      const file = new JsonlFile(path, fh, await takeSnapshot(fh, st), opts);
      file.startIndexer();
      return file;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Lines indexed so far; grows while indexing. */
  get lineCount(): number {
    if (this.sparse) return this.sparse.lineCount(this.bytesIndexed, this.done);
    return countLines(this.newlines, this.bytesIndexed, this.done);
  }

  /** True when the whole file (as of the last snapshot) is indexed. */
  get indexed(): boolean {
    return this.done;
  }

  /** File size the index is being built for. */
  get totalBytes(): number {
    return this.targetBytes;
  }

  /** Bytes scanned so far. */
  get bytesIndexedSoFar(): number {
    return this.bytesIndexed;
  }

  /** Bytes held by the page cache (at most `pageCacheBytes`). */
  get pageCacheSize(): number {
    return this.cache.size;
  }

  /** Bytes held by the line index (about 4 per line; about 0.25 for a sparse index). */
  get indexBytes(): number {
    return this.sparse ? this.sparse.byteSize : this.newlines.byteSize;
  }

  /**
   * What the index describes: the file's size, modification time and inode when indexing
   * started or last followed an append. Two readers of one file agree on it when they have
   * indexed the same content.
   */
  get stamp(): FileStamp {
    const { size, mtimeMs, ino } = this.snapshot;
    return { size, mtimeMs, ino };
  }

  /** Resolves when indexing is done; rejects if it failed or the file was closed. */
  async whenIndexed(): Promise<void> {
    while (!this.done) {
      this.throwIfUnusable();
      await this.wake.promise;
    }
    this.throwIfUnusable();
  }

  /** Calls `fn` with indexing progress (throttled). Returns a function that unsubscribes. */
  onProgress(fn: (p: IndexProgress) => void): () => void {
    this.progressListeners.add(fn);
    return () => this.progressListeners.delete(fn);
  }

  /** Calls `fn` after an append was indexed or a rebuild started. Returns an unsubscriber. */
  onDidChange(fn: (kind: ChangeKind) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  /**
   * Why the file on disk cannot be read now (it is gone, or is no longer a readable regular
   * file), or undefined while it can. Rows indexed before stay readable from the open handle,
   * but they are no longer what is on disk. Set by {@link checkForChanges}.
   */
  get unavailable(): string | undefined {
    return this.unavailableReason;
  }

  /** Calls `fn` when {@link unavailable} changes. Returns a function that unsubscribes. */
  onDidChangeAvailability(fn: () => void): () => void {
    this.availabilityListeners.add(fn);
    return () => this.availabilityListeners.delete(fn);
  }

  /**
   * Where row `index` lies; the row must be indexed (`index < lineCount`). Needs the full line
   * index: with a sparse one, use {@link spanOf}.
   */
  rowSpan(index: number): RowSpan {
    if (this.sparse) throw new Error('rowSpan needs the full line index; use spanOf');
    return lineSpan(this.newlines, index, this.lineCount, this.bytesIndexed);
  }

  /** Where row `index` lies (any line index); the row must be indexed (`index < lineCount`). */
  async spanOf(index: number): Promise<RowSpan> {
    if (!this.sparse) return this.rowSpan(index);
    const n = this.lineCount;
    if (!Number.isInteger(index) || index < 0 || index >= n)
      throw new RangeError(`Row ${index} is out of range (0..${n - 1})`);
    return this.sparse.span(index, this.bytesIndexed, this.done, (s, e) => this.readCached(s, e));
  }

  /** Spans of rows `start .. end-1`, all indexed; taken synchronously with a full index. */
  private async spansOf(start: number, end: number): Promise<RowSpan[]> {
    if (this.sparse)
      return this.sparse.spans(start, end, this.bytesIndexed, this.done, (s, e) =>
        this.readCached(s, e),
      );
    const spans: RowSpan[] = [];
    for (let i = start; i < end; i++) spans.push(this.rowSpan(i));
    return spans;
  }

  /** Row `index`; waits until it is indexed. Rejects with a RangeError past the last row. */
  async readRow(index: number): Promise<RawRow> {
    const rows = await this.readRows(index, 1);
    if (rows.length === 0) {
      throw new RangeError(`Row ${index} is out of range (file has ${this.lineCount} rows)`);
    }
    return rows[0];
  }

  /**
   * Rows `start .. start+count-1`, clipped at the end of the file; waits until they are indexed.
   * Reads go through the bounded page cache; a window larger than a quarter of the cache is read
   * directly.
   */
  async readRows(start: number, count: number): Promise<RawRow[]> {
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(count) || count < 0) {
      throw new RangeError(`Invalid row window ${start}+${count}`);
    }
    for (;;) {
      await this.waitForLines(start + count);
      const generation = this.generation;
      const end = Math.min(start + count, this.lineCount);
      if (start >= end) return [];
      // Spans of one index generation (a full index gives them synchronously, before any await).
      let spans: RowSpan[];
      let data: Uint8Array;
      try {
        spans = await this.spansOf(start, end);
        if (generation !== this.generation) continue;
        data = await this.readCached(spans[0].start, spans[spans.length - 1].end);
      } catch (err) {
        // The file was rewritten while reading: read again from the new index.
        if (generation !== this.generation) continue;
        throw err;
      }
      if (generation !== this.generation) continue;
      const from = spans[0].start;
      return spans.map((s, k) => ({
        index: start + k,
        start: s.start,
        bytes: data.subarray(s.start - from, s.end - from),
      }));
    }
  }

  /**
   * Rows from `start` to the end, in batches of about `batchBytes`, read sequentially without the
   * page cache (for full passes: diagnostics, hashing, scoring). Follows indexing as it runs, and
   * appends. Throws if the file is rewritten during the pass (the rows would mix two versions):
   * start a new pass after the 'rebuilt' change event.
   */
  async *iterateRows(start = 0, batchBytes = 4 << 20): AsyncGenerator<RawRow[]> {
    if (this.sparse) {
      yield* this.iterateSparse(start, batchBytes);
      return;
    }
    for await (const batch of this.iterateLineBatches(start, batchBytes)) {
      const rows: RawRow[] = [];
      for (let k = 0; k < batch.count; k++) {
        const from = batch.starts[k];
        rows.push({
          index: batch.first + k,
          start: batch.start + from,
          bytes: batch.data.subarray(from, batch.ends[k]),
        });
      }
      yield rows;
    }
  }

  /**
   * {@link iterateRows} without an object per row: each batch is one buffer and the rows' offsets
   * in it (for the row scan, which reads the rows where they lie). The next `readAhead` batches
   * are read (off the main thread) while one is processed.
   */
  async *iterateLineBatches(
    start = 0,
    batchBytes = 4 << 20,
    readAhead = 1,
  ): AsyncGenerator<LineBatch> {
    if (this.sparse) throw new Error('iterateLineBatches needs the full line index');
    const generation = this.generation;
    const check = () => {
      if (generation !== this.generation && !this.closed) throw this.rewrittenError();
    };
    let i = start;
    /** Batches being read, in order; the first starts at row `i`. */
    const ahead: PendingBatch[] = [];
    for (;;) {
      let pending = ahead.shift();
      if (pending) this.throwIfUnusable();
      else {
        await this.waitForLines(i + 1);
        check();
        if (i >= this.lineCount) return;
        pending = this.readBatch(i, batchBytes);
      }
      let data: Uint8Array;
      try {
        data = await pending.data;
      } catch (err) {
        check();
        throw err;
      }
      check();
      const { starts, ends } = pending;
      const next = i + starts.length;
      let after = ahead.length > 0 ? ahead[ahead.length - 1].next : next;
      while (ahead.length < readAhead && after < this.lineCount) {
        const more = this.readBatch(after, batchBytes);
        ahead.push(more);
        after = more.next;
      }
      const from = starts[0];
      for (let k = 0; k < starts.length; k++) {
        starts[k] -= from;
        ends[k] -= from;
      }
      yield { first: i, count: starts.length, start: from, data, starts, ends };
      i = next;
    }
  }

  /** Starts reading the batch of rows from `i` (indexed); see {@link batchSpans}. */
  private readBatch(i: number, batchBytes: number): PendingBatch {
    const { starts, ends } = this.batchSpans(i, batchBytes);
    const data = this.readBytes(starts[0], ends[ends.length - 1]);
    // Awaited when the batch is taken; a batch read ahead and never taken may fail unseen.
    data.catch(() => undefined);
    return { starts, ends, data, next: i + starts.length };
  }

  /**
   * File offsets of the rows from `i` (indexed) that fit in `batchBytes` from row i's start (at
   * least row i): the same spans as {@link rowSpan}, without an object per row.
   */
  private batchSpans(i: number, batchBytes: number): { starts: Float64Array; ends: Float64Array } {
    const available = this.lineCount;
    const newlines = this.newlines;
    const withNewline = newlines.length;
    const lineEnd = (j: number) => (j < withNewline ? newlines.get(j) : this.bytesIndexed);
    const first = i === 0 ? 0 : newlines.get(i - 1) + 1;
    let j = i + 1;
    while (j < available && lineEnd(j) - first <= batchBytes) j++;
    const starts = new Float64Array(j - i);
    const ends = new Float64Array(j - i);
    let start = first;
    for (let k = 0; k < starts.length; k++) {
      starts[k] = start;
      ends[k] = lineEnd(i + k);
      start = ends[k] + 1;
    }
    return { starts, ends };
  }

  /**
   * {@link iterateRows} over a sparse index: reads about `batchBytes` from the start of the next
   * row and splits the bytes on `\n` (the checkpoints are only needed to find the first row, and
   * the end of a row longer than the batch).
   */
  private async *iterateSparse(start: number, batchBytes: number): AsyncGenerator<RawRow[]> {
    const generation = this.generation;
    const check = () => {
      if (generation !== this.generation && !this.closed) throw this.rewrittenError();
    };
    const read = async (from: number, to: number) => {
      try {
        const data = await this.readBytes(from, to);
        check();
        return data;
      } catch (err) {
        check();
        throw err;
      }
    };
    let i = start;
    let pos = -1;
    for (;;) {
      await this.waitForLines(i + 1);
      check();
      const available = this.lineCount;
      if (i >= available) return;
      if (pos < 0) pos = (await this.spanOf(i)).start;
      check();
      // Bytes of the rows indexed so far: to the last newline, or to the end of the final row.
      const known = available > this.sparse!.newlineCount ? this.bytesIndexed : this.lastEol();
      const end = Math.min(known, pos + Math.max(1, batchBytes));
      const data = await read(pos, end);
      const finalRow = end === known && available > this.sparse!.newlineCount;
      const rows = splitRows(data, pos, i, available, finalRow);
      if (rows.length === 0) {
        // One row longer than the batch: read it whole.
        const span = await this.spanOf(i);
        check();
        rows.push({ index: i, start: span.start, bytes: await read(span.start, span.end) });
        pos = span.eolEnd;
      } else {
        const last = rows[rows.length - 1];
        pos = last.start + last.bytes.length + 1;
      }
      i += rows.length;
      yield rows;
    }
  }

  /** Just past the last newline indexed (sparse index), 0 when there is none. */
  private lastEol(): number {
    return this.sparse!.lastNewline + 1;
  }

  /** First bytes of the file (for {@link detectJsonArrayFile}). */
  async readHead(maxBytes = 64 << 10): Promise<Uint8Array> {
    return this.readBytes(0, Math.min(maxBytes, this.snapshot.size));
  }

  /** The offset itself: a plain file's offsets are bytes of the file. */
  fileBytesAt(offset: number): number {
    return offset;
  }

  /** Bytes `[start, end)` read directly from the file. Rejects if the file is now shorter. */
  async readBytes(start: number, end: number): Promise<Buffer> {
    this.throwIfClosed();
    const buf = Buffer.allocUnsafe(end - start);
    const n = await readFully(this.fh, buf, 0, buf.length, start);
    if (n < buf.length)
      throw new Error(`${this.path} changed on disk while reading (it is shorter)`);
    return buf;
  }

  /**
   * Compares the file on disk with the indexed snapshot: returns 'unchanged', 'appended' (after
   * the new lines are indexed) or 'rebuilt' (after the rebuild started). Listeners registered with
   * {@link onDidChange} hear about the last two. Concurrent calls share one check. Rejects with a
   * {@link FileUnavailableError} when the file is gone or cannot be read (see {@link unavailable}).
   */
  checkForChanges(): Promise<'unchanged' | ChangeKind> {
    this.changeCheck ??= this.detectChange().finally(() => (this.changeCheck = null));
    return this.changeCheck;
  }

  /**
   * Watches the file and runs {@link checkForChanges} (debounced) when it changes. While the file
   * is gone or unreadable its folder is watched instead, so the file is seen when it comes back.
   */
  watch(): void {
    if (this.watcher || this.closed) return;
    this.armWatcher();
  }

  /** Watches the file if it can be watched, otherwise its folder (for the file's name). */
  private armWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.closed) return;
    const onEvent = (rename: boolean) => {
      clearTimeout(this.watchTimer);
      this.watchTimer = setTimeout(() => this.watchEvent(rename), WATCH_DEBOUNCE_MS);
    };
    if (this.unavailableReason === undefined) {
      try {
        this.watcher = fsWatch(this.path, { persistent: false }, e => onEvent(e === 'rename'));
        this.watchingFile = true;
      } catch {
        // Gone (ENOENT) or not watchable: fall back to the folder below.
      }
    }
    if (!this.watcher) {
      const name = basename(this.path);
      try {
        this.watcher = fsWatch(dirname(this.path), { persistent: false }, (_e, file) => {
          if (file === null || file.toString() === name) onEvent(true);
        });
        this.watchingFile = false;
      } catch {
        // The folder is gone too: nothing can be watched until the file is opened again.
        this.watchingFile = false;
        return;
      }
    }
    this.watcher.on('error', () => {
      this.watcher?.close();
      this.watcher = undefined;
    });
  }

  /**
   * A debounced watch event: after a rename (an editor's atomic save, a delete) the file watch
   * follows the old inode, so it is armed again before the check; after the check, a file that
   * went away is watched through its folder, and one that came back directly again.
   */
  private watchEvent(rename: boolean): void {
    if (this.closed) return;
    if (rename && this.watchingFile) this.armWatcher();
    void this.checkForChanges()
      .catch(() => undefined)
      .then(() => {
        const wantFile = this.unavailableReason === undefined;
        if (this.closed || wantFile === this.watchingFile) return;
        this.armWatcher();
        // Anything that happened between the check and the new watch is seen by one more check
        // (only when the watch changed as wanted, so a watch that cannot be armed cannot loop).
        if (this.watchingFile === wantFile) this.watchEvent(false);
      });
  }

  /** Stops indexing and watching and closes the file. Pending and later reads reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    clearTimeout(this.watchTimer);
    this.watcher?.close();
    this.watcher = undefined;
    this.pulse();
    await this.indexer?.catch(() => undefined);
    this.cache.clear();
    this.newlines.clear();
    this.sparse?.clear();
    for (const fh of [this.fh, ...this.retired]) await fh.close().catch(() => undefined);
  }

  // ---- indexing ----

  private startIndexer(): void {
    if (this.indexer || this.closed) return;
    const run = this.runIndexer(this.generation).finally(() => {
      if (this.indexer === run) this.indexer = null;
    });
    this.indexer = run;
  }

  /**
   * Indexes from `bytesIndexed` to `targetBytes`. Reads are synchronous and small (128 KiB, so
   * that each buffer is scanned while it is still in the CPU cache, as `wc -l` does), grouped in
   * time slices of about 8 ms between which the event loop runs: readers, progress listeners and
   * other work are never blocked for longer than a slice. Thread-pool (async) reads of this size
   * would cost more in overhead than the scan itself. The first slice stops after 1 MiB, so the
   * first screen of rows is available at once.
   */
  private async runIndexer(generation: number): Promise<void> {
    const fd = this.fh.fd;
    const scanner = new NewlineScanner(this.readBufferBytes, this.scalarScan);
    const buf = scanner.buffer();
    const index = this.sparse ?? this.newlines;
    const sink = (offsets: Float64Array) => index.pushAll(offsets);
    let firstSlice = true;
    const yieldToEventLoop = () => new Promise<void>(resolve => setImmediate(resolve));
    try {
      // Start after open() has returned, so that listeners added right away see all progress.
      await yieldToEventLoop();
      while (generation === this.generation && this.bytesIndexed < this.targetBytes) {
        const sliceEnd = performance.now() + SLICE_MS;
        const sliceStop =
          this.bytesIndexed +
          (firstSlice ? Math.min(FIRST_SLICE_BYTES, this.sliceBytes) : this.sliceBytes);
        let pos = this.bytesIndexed;
        let eof = false;
        do {
          const want = Math.min(buf.length, this.targetBytes - pos, sliceStop - pos);
          const n = readSync(fd, buf, 0, want, pos);
          if (n === 0) {
            eof = true;
            break;
          }
          scanner.scan(n, pos, sink);
          pos += n;
        } while (pos < this.targetBytes && pos < sliceStop && performance.now() < sliceEnd);
        firstSlice = false;
        this.bytesIndexed = pos;
        this.reportProgress(false);
        this.pulse();
        if (eof) break;
        await yieldToEventLoop();
      }
      if (generation !== this.generation) return;
      // A file that shrank during indexing is indexed up to where it ended; the next change
      // check sees the new size and rebuilds.
      this.targetBytes = this.bytesIndexed;
      this.done = true;
      this.sparse?.trim();
      this.reportProgress(true);
      this.pulse();
    } catch (err) {
      if (generation !== this.generation) return;
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.pulse();
    }
  }

  private reportProgress(done: boolean): void {
    const now = Date.now();
    if (!done && now - this.lastProgressAt < PROGRESS_INTERVAL_MS) return;
    this.lastProgressAt = now;
    const p: IndexProgress = {
      lines: this.lineCount,
      bytesIndexed: this.bytesIndexed,
      totalBytes: this.targetBytes,
      done,
    };
    for (const fn of this.progressListeners) {
      try {
        fn(p);
      } catch {
        // A listener's failure must not stop indexing.
      }
    }
  }

  /** Wakes everything waiting for indexing progress. */
  private pulse(): void {
    const w = this.wake;
    this.wake = signal();
    w.resolve();
  }

  private async waitForLines(n: number): Promise<void> {
    while (this.lineCount < n && !this.done) {
      this.throwIfUnusable();
      await this.wake.promise;
    }
    this.throwIfUnusable();
  }

  private rewrittenError(): Error {
    return new Error(`${this.path} was rewritten on disk during a full pass; it is re-indexed`);
  }

  private throwIfClosed(): void {
    if (this.closed) throw new Error(`${this.path} is closed`);
  }

  private throwIfUnusable(): void {
    this.throwIfClosed();
    if (this.failure) throw this.failure;
  }

  // ---- change detection ----

  private async detectChange(): Promise<'unchanged' | ChangeKind> {
    this.throwIfClosed();
    const st = await this.statOnDisk();
    const old = this.snapshot;
    if (st.ino === old.ino && st.size === old.size && st.mtimeMs === old.mtimeMs) {
      // Same file and content; its permissions may have changed in place (chmod).
      await this.checkReadable();
      return 'unchanged';
    }
    if (st.ino === old.ino && st.size > old.size && (await this.prefixUnchanged(old))) {
      this.setUnavailable(undefined);
      this.snapshot = await takeSnapshot(this.fh);
      this.targetBytes = this.snapshot.size;
      this.done = false;
      // The page holding the old end of the file may have been cached short.
      this.cache.dropFrom(Math.floor(old.size / PAGE_SIZE));
      this.startIndexer();
      await this.whenIndexed();
      this.emitChange('appended');
      return 'appended';
    }
    await this.rebuild(st.ino !== old.ino);
    return 'rebuilt';
  }

  /** `stat` of the path, which must be a regular file; otherwise the file is unavailable. */
  private async statOnDisk(): Promise<Stats> {
    let st: Stats;
    try {
      st = await fsp.stat(this.path);
    } catch (err) {
      throw this.markUnavailable(unavailableReason(this.path, err));
    }
    if (!st.isFile()) throw this.markUnavailable(`${this.path} is now ${kindOf(st)}, not a file`);
    return st;
  }

  /**
   * Whether the path can still be opened for reading, e.g. after a chmod in place: the open
   * handle would go on reading it, but nothing could open it again, so it is said to be unreadable.
   */
  private async checkReadable(): Promise<void> {
    try {
      await fsp.access(this.path, fsConstants.R_OK);
    } catch (err) {
      throw this.markUnavailable(unavailableReason(this.path, err));
    }
    this.setUnavailable(undefined);
  }

  /** Records why the file cannot be read and returns the error to throw. */
  private markUnavailable(reason: string): FileUnavailableError {
    this.setUnavailable(reason);
    return new FileUnavailableError(reason);
  }

  private setUnavailable(reason: string | undefined): void {
    if (reason === this.unavailableReason) return;
    this.unavailableReason = reason;
    for (const fn of this.availabilityListeners) {
      try {
        fn();
      } catch {
        // A listener's failure must not affect the file.
      }
    }
  }

  /** True when the first and last fingerprint bytes of the old snapshot still match. */
  private async prefixUnchanged(old: Snapshot): Promise<boolean> {
    const head = Buffer.alloc(old.head.length);
    const tail = Buffer.alloc(old.tail.length);
    await readFully(this.fh, head, 0, head.length, 0);
    await readFully(this.fh, tail, 0, tail.length, old.size - tail.length);
    return head.equals(old.head) && tail.equals(old.tail);
  }

  private async rebuild(reopen: boolean): Promise<void> {
    if (reopen) {
      let fh: fsp.FileHandle;
      try {
        fh = await fsp.open(this.path, 'r');
      } catch (err) {
        throw this.markUnavailable(unavailableReason(this.path, err));
      }
      this.retired.push(this.fh);
      this.fh = fh;
    }
    this.setUnavailable(undefined);
    this.generation++;
    this.indexer = null;
    this.newlines.clear();
    this.sparse?.clear();
    this.bytesIndexed = 0;
    this.done = false;
    this.failure = undefined;
    this.cache.clear();
    this.snapshot = await takeSnapshot(this.fh);
    this.targetBytes = this.snapshot.size;
    this.startIndexer();
    this.pulse();
    this.emitChange('rebuilt');
  }

  private emitChange(kind: ChangeKind): void {
    for (const fn of this.changeListeners) {
      try {
        fn(kind);
      } catch {
        // A listener's failure must not affect the file.
      }
    }
  }

  // ---- cached reads ----

  private async readPage(pageNo: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(PAGE_SIZE);
    const n = await readFully(this.fh, buf, 0, PAGE_SIZE, pageNo * PAGE_SIZE);
    return n === PAGE_SIZE ? buf : buf.subarray(0, n);
  }

  private async readCached(start: number, end: number): Promise<Uint8Array> {
    this.throwIfClosed();
    if (end <= start) return new Uint8Array(0);
    if (end - start > this.cache.maxBytes / 4) return this.readBytes(start, end);
    const p0 = Math.floor(start / PAGE_SIZE);
    const p1 = Math.floor((end - 1) / PAGE_SIZE);
    const pages: Promise<Buffer>[] = [];
    for (let p = p0; p <= p1; p++) pages.push(this.cache.get(p));
    const got = await Promise.all(pages);
    const last = got[got.length - 1];
    if (p1 * PAGE_SIZE + last.length < end) {
      throw new Error(`${this.path} changed on disk while reading (it is shorter)`);
    }
    if (p0 === p1) return got[0].subarray(start - p0 * PAGE_SIZE, end - p0 * PAGE_SIZE);
    const out = Buffer.allocUnsafe(end - start);
    let at = 0;
    for (let k = 0; k < got.length; k++) {
      const pageStart = (p0 + k) * PAGE_SIZE;
      const from = Math.max(start, pageStart) - pageStart;
      const to = Math.min(end, pageStart + got[k].length) - pageStart;
      got[k].copy(out, at, from, to);
      at += to - from;
    }
    return out;
  }
}
