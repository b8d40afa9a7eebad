/**
 * {@link CompressedFile}: a gzip or zstd JSONL file as a {@link RowSource}: the rows of its
 * decompressed stream ({@link GzipJsonl} or {@link ZstdJsonl}), followed on disk like a
 * {@link JsonlFile}. A compressed file cannot grow by an append that keeps its index valid, so
 * any change on disk (size, modification time or inode) re-indexes it from the start ('rebuilt');
 * a file that is gone or unreadable is reported as unavailable and read again when it is back.
 * Its folder is watched (not the file), which sees edits, replacements and deletions alike.
 * The file is only ever read.
 */
import { promises as fsp, watch as fsWatch, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { sniffFileCompression } from './compression';
import type { CompressedIndex, CompressedIndexProgress, Restart } from './compressedIndex';
import { GzipJsonl } from './gzipIndex';
import {
  DEFAULT_MAX_LINE_BYTES,
  FileUnavailableError,
  type ChangeKind,
  type FileStamp,
  type IndexProgress,
  type LineBatch,
  type RawRow,
} from './jsonlFile';
import type { RowSpan } from './lineSpans';
import type { ReadableCompression, RowSource } from './rowSource';
import type { ZstdDecoderKind } from './zstdFrames';
import { ZstdJsonl } from './zstdIndex';

export interface CompressedFileOptions {
  maxLineBytes?: number;
  /** Least decompressed distance between two checkpoints (tests). */
  checkpointInterval?: number;
  /** The zstd decoder (tests); default: Node's zlib where it has zstd, else fzstd. */
  zstdDecoder?: ZstdDecoderKind;
}

const WATCH_DEBOUNCE_MS = 100;

function stampOf(st: Stats): FileStamp {
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
}

/** Why a path cannot be read as a regular file, from the error of `stat` or `open`. */
function unavailableReason(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `${path} is no longer on disk`;
  if (code === 'EACCES' || code === 'EPERM') return `${path} cannot be read: permission denied`;
  return `${path} cannot be read: ${err instanceof Error ? err.message : String(err)}`;
}

type AnyIndex = CompressedIndex<Restart>;

/** Consecutive rows (as iterateRows yields them) copied into one buffer, newlines between. */
function lineBatchOf(rows: readonly RawRow[]): LineBatch {
  const from = rows[0].start;
  const last = rows[rows.length - 1];
  const data = Buffer.alloc(last.start + last.bytes.length - from, 10);
  const starts = new Float64Array(rows.length);
  const ends = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const at = rows[k].start - from;
    data.set(rows[k].bytes, at);
    starts[k] = at;
    ends[k] = at + rows[k].bytes.length;
  }
  return { first: rows[0].index, count: rows.length, start: from, data, starts, ends };
}

/** A compressed JSONL file, read-only. See the module comment. */
export class CompressedFile implements RowSource {
  readonly path: string;
  readonly maxLineBytes: number;
  readonly compression: ReadableCompression;
  private index!: AnyIndex;
  private stamp_!: FileStamp;
  /** Bumped when the index is replaced; reads of an older one start again on the new one. */
  private generation = 0;
  private closed = false;
  private unavailableReason: string | undefined;
  private readonly progressListeners = new Set<(p: IndexProgress) => void>();
  private readonly changeListeners = new Set<(kind: ChangeKind) => void>();
  private readonly availabilityListeners = new Set<() => void>();
  private changeCheck: Promise<'unchanged' | ChangeKind> | null = null;
  private watcher: FSWatcher | undefined;
  private watchTimer: NodeJS.Timeout | undefined;

  private constructor(
    path: string,
    compression: ReadableCompression,
    private readonly opts: CompressedFileOptions,
  ) {
    this.path = path;
    this.compression = compression;
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Opens `path` (compressed as `compression`) and starts indexing in the background. */
  static async open(
    path: string,
    compression: ReadableCompression,
    opts: CompressedFileOptions = {},
  ): Promise<CompressedFile> {
    const file = new CompressedFile(path, compression, opts);
    await file.openIndex();
    return file;
  }

  get lineCount(): number {
    return this.index.lineCount;
  }

  get indexed(): boolean {
    return this.index.indexed;
  }

  get totalBytes(): number {
    return this.index.totalCompressedBytes;
  }

  get bytesIndexedSoFar(): number {
    return this.index.indexed ? this.index.totalCompressedBytes : this.index.compressedBytesRead;
  }

  /** Decompressed bytes indexed so far (the decompressed size once indexed). */
  get decompressedBytes(): number {
    return this.index.bytesIndexedSoFar;
  }

  get indexBytes(): number {
    return this.index.indexBytes;
  }

  /** Checkpoints of the current index and the bytes they hold. */
  get checkpoints(): { count: number; bytes: number } {
    return { count: this.index.checkpointCount, bytes: this.index.checkpointBytes };
  }

  get unavailable(): string | undefined {
    return this.unavailableReason;
  }

  fileBytesAt(offset: number): number {
    const decompressed = this.index.bytesIndexedSoFar;
    if (decompressed <= 0) return 0;
    return Math.min(this.totalBytes, Math.round((offset / decompressed) * this.bytesIndexedSoFar));
  }

  async whenIndexed(): Promise<void> {
    await this.onCurrentIndex(index => index.whenIndexed());
  }

  rowSpan(index: number): RowSpan {
    return this.index.rowSpan(index);
  }

  async readRow(index: number): Promise<RawRow> {
    const rows = await this.readRows(index, 1);
    if (rows.length === 0) {
      throw new RangeError(`Row ${index} is out of range (file has ${this.lineCount} rows)`);
    }
    return rows[0];
  }

  readRows(start: number, count: number): Promise<RawRow[]> {
    return this.onCurrentIndex(index => index.readRows(start, count));
  }

  async readHead(maxBytes = 64 << 10): Promise<Uint8Array> {
    return this.onCurrentIndex(index => index.readHead(maxBytes));
  }

  readBytes(start: number, end: number): Promise<Buffer> {
    return this.onCurrentIndex(index => index.readBytes(start, end));
  }

  /**
   * Rows from `start` to the end, in batches, decoded in one pass from the nearest checkpoint.
   * Throws if the file is rewritten during the pass (start a new one after 'rebuilt').
   */
  async *iterateRows(start = 0, batchBytes = 4 << 20): AsyncGenerator<RawRow[]> {
    const generation = this.generation;
    const check = () => {
      if (generation !== this.generation && !this.closed) {
        throw new Error(`${this.path} was rewritten on disk during a full pass; it is re-indexed`);
      }
    };
    try {
      for await (const batch of this.index.iterateRows(start, batchBytes)) {
        check();
        yield batch;
      }
    } catch (err) {
      check();
      throw err;
    }
    check();
  }

  /**
   * Rows from `start` to the end as batches of one buffer each and the rows' offsets in it (the
   * shape of `JsonlFile.iterateLineBatches`, for the worker's row scan). `readAhead` is accepted
   * for that signature; decoding is sequential, so there is nothing to read ahead.
   */
  async *iterateLineBatches(
    start = 0,
    batchBytes = 4 << 20,
    _readAhead = 1,
  ): AsyncGenerator<LineBatch> {
    for await (const rows of this.iterateRows(start, batchBytes)) yield lineBatchOf(rows);
  }

  /** Where row `index` lies (the index is always full): {@link rowSpan}, as a promise. */
  spanOf(index: number): Promise<RowSpan> {
    return Promise.resolve(this.rowSpan(index));
  }

  /** What the index describes: the file's size, modification time and inode when it was opened. */
  get stamp(): FileStamp {
    return { ...this.stamp_ };
  }

  onProgress(fn: (p: IndexProgress) => void): () => void {
    this.progressListeners.add(fn);
    return () => this.progressListeners.delete(fn);
  }

  onDidChange(fn: (kind: ChangeKind) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  onDidChangeAvailability(fn: () => void): () => void {
    this.availabilityListeners.add(fn);
    return () => this.availabilityListeners.delete(fn);
  }

  /**
   * Compares the file on disk with what was indexed: 'unchanged', or 'rebuilt' after re-indexing
   * started. Rejects with a {@link FileUnavailableError} when the file is gone or unreadable, or
   * is no longer compressed the same way (see {@link unavailable}).
   */
  checkForChanges(): Promise<'unchanged' | ChangeKind> {
    this.changeCheck ??= this.detectChange().finally(() => (this.changeCheck = null));
    return this.changeCheck;
  }

  /** Watches the file's folder and checks for changes (debounced) when the file's entry changes. */
  watch(): void {
    if (this.watcher || this.closed) return;
    const name = basename(this.path);
    try {
      this.watcher = fsWatch(dirname(this.path), { persistent: false }, (_e, file) => {
        if (file !== null && file.toString() !== name) return;
        clearTimeout(this.watchTimer);
        this.watchTimer = setTimeout(() => {
          if (!this.closed) void this.checkForChanges().catch(() => undefined);
        }, WATCH_DEBOUNCE_MS);
      });
    } catch {
      return; // The folder cannot be watched: changes are seen by checkForChanges only.
    }
    this.watcher.on('error', () => {
      this.watcher?.close();
      this.watcher = undefined;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    clearTimeout(this.watchTimer);
    this.watcher?.close();
    this.watcher = undefined;
    await this.index.close();
  }

  // ---- internals ----

  /** Runs `read` on the current index; again on the new one when the index was replaced meanwhile. */
  private async onCurrentIndex<T>(read: (index: AnyIndex) => Promise<T>): Promise<T> {
    for (;;) {
      const generation = this.generation;
      try {
        const result = await read(this.index);
        if (generation === this.generation || this.closed) return result;
      } catch (err) {
        if (generation === this.generation || this.closed) throw err;
      }
    }
  }

  /** Opens a new index of the file; the previous one (if any) is closed. */
  private async openIndex(): Promise<void> {
    const generation = ++this.generation;
    const onProgress = (p: CompressedIndexProgress) => {
      if (generation === this.generation) this.emitProgress(p);
    };
    const common = {
      onProgress,
      ...(this.opts.checkpointInterval ? { checkpointInterval: this.opts.checkpointInterval } : {}),
    };
    const index: AnyIndex =
      this.compression === 'gzip'
        ? await GzipJsonl.open(this.path, common)
        : await ZstdJsonl.open(this.path, {
            ...common,
            ...(this.opts.zstdDecoder ? { decoder: this.opts.zstdDecoder } : {}),
          });
    const previous = this.index as AnyIndex | undefined;
    this.index = index;
    this.stamp_ = stampOf(await fsp.stat(this.path));
    await previous?.close();
  }

  private emitProgress(p: CompressedIndexProgress): void {
    const progress: IndexProgress = {
      lines: p.lines,
      bytesIndexed: p.done ? p.totalCompressedBytes : p.compressedBytesRead,
      totalBytes: p.totalCompressedBytes,
      done: p.done,
    };
    for (const fn of this.progressListeners) {
      try {
        fn(progress);
      } catch {
        // A listener's failure must not stop indexing.
      }
    }
  }

  private async detectChange(): Promise<'unchanged' | ChangeKind> {
    if (this.closed) throw new Error(`${this.path} is closed`);
    let st: Stats;
    try {
      st = await fsp.stat(this.path);
    } catch (err) {
      throw this.markUnavailable(unavailableReason(this.path, err));
    }
    if (!st.isFile()) throw this.markUnavailable(`${this.path} is no longer a regular file`);
    const old = this.stamp_;
    if (st.ino === old.ino && st.size === old.size && st.mtimeMs === old.mtimeMs) {
      this.setUnavailable(undefined);
      return 'unchanged';
    }
    const format = await this.formatOnDisk();
    if (format !== this.compression) {
      throw this.markUnavailable(
        `${this.path} is no longer ${this.compression}-compressed on disk (now ${format ?? 'plain'}); close it and open it again`,
      );
    }
    try {
      await this.openIndex();
    } catch (err) {
      throw this.markUnavailable(unavailableReason(this.path, err));
    }
    this.setUnavailable(undefined);
    this.emitChange('rebuilt');
    return 'rebuilt';
  }

  private async formatOnDisk(): Promise<string | undefined> {
    try {
      return await sniffFileCompression(this.path);
    } catch (err) {
      throw this.markUnavailable(unavailableReason(this.path, err));
    }
  }

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

  private emitChange(kind: ChangeKind): void {
    for (const fn of this.changeListeners) {
      try {
        fn(kind);
      } catch {
        // A listener's failure must not affect the file.
      }
    }
  }
}
