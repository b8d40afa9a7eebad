/**
 * One way to open any dataset file: {@link RowSource} is what the worker, the dataset view and
 * export read rows through, and {@link openRowSource} picks the reader from the file's magic bytes
 * (not its name): {@link JsonlFile} for plain JSON Lines, {@link CompressedFile} over
 * {@link GzipJsonl} or {@link ZstdJsonl} for gzip and zstd. An xz file (not supported) opens as a
 * plain file, whose first bytes `fileHeadFacts` reports as compressed, with one clear message.
 *
 * Row indices, `RawRow.start` and every byte offset are those of the DECOMPRESSED stream, so row
 * bytes and content hashes of a compressed file equal those of its plain copy. Progress
 * (`totalBytes`, `bytesIndexedSoFar`, {@link IndexProgress}) counts bytes of the file on disk:
 * compressed bytes for a compressed file.
 */
import { sniffFileCompression } from './compression';
import { CompressedFile, type CompressedFileOptions } from './compressedFile';
import {
  JsonlFile,
  type ChangeKind,
  type IndexProgress,
  type FileStamp,
  type JsonlFileOptions,
  type LineBatch,
  type RawRow,
} from './jsonlFile';
import type { RowSpan } from './lineSpans';

/** A compression format Winnow decodes. */
export type ReadableCompression = 'gzip' | 'zstd';

/** The rows of one dataset file, indexed in the background. */
export interface RowSource {
  readonly path: string;
  /** Line cap passed at open, for consumers that parse rows. */
  readonly maxLineBytes: number;
  /** How the file is compressed, when it is read through a decoder; undefined for plain files. */
  readonly compression: ReadableCompression | undefined;
  /** Rows indexed so far; grows while indexing. */
  readonly lineCount: number;
  readonly indexed: boolean;
  /** Size of the file on disk (compressed bytes for a compressed file), for progress. */
  readonly totalBytes: number;
  /** Bytes of the file on disk indexed so far, of {@link totalBytes}. */
  readonly bytesIndexedSoFar: number;
  /** Bytes held by the line index. */
  readonly indexBytes: number;
  /** Why the file on disk cannot be read now, or undefined while it can. */
  readonly unavailable: string | undefined;
  whenIndexed(): Promise<void>;
  /** What the index describes: the file on disk (size, modification time, inode) it was built on. */
  readonly stamp: FileStamp;
  /**
   * Where row `index` lies (decompressed offsets); the row must be indexed. Not available on a
   * plain file opened with the sparse line index: use {@link spanOf} there.
   */
  rowSpan(index: number): RowSpan;
  /** Where row `index` lies, with either line index. */
  spanOf(index: number): Promise<RowSpan>;
  readRow(index: number): Promise<RawRow>;
  readRows(start: number, count: number): Promise<RawRow[]>;
  /** Rows from `start` to the end in batches, in one sequential pass (full passes use this). */
  iterateRows(start?: number, batchBytes?: number): AsyncGenerator<RawRow[]>;
  /**
   * {@link iterateRows} as batches of one buffer each and the rows' offsets in it (the row scan
   * reads rows where they lie); `readAhead` batches are read while one is processed.
   */
  iterateLineBatches(
    start?: number,
    batchBytes?: number,
    readAhead?: number,
  ): AsyncGenerator<LineBatch>;
  /** The first bytes of the (decompressed) content. */
  readHead(maxBytes?: number): Promise<Uint8Array>;
  /** Bytes `[start, end)` of the (decompressed) content; for scattered reads, not full passes. */
  readBytes(start: number, end: number): Promise<Buffer>;
  /**
   * Bytes of the file on disk read to reach decompressed offset `offset`: `offset` itself for a
   * plain file, an estimate from the compression ratio so far for a compressed one (progress).
   */
  fileBytesAt(offset: number): number;
  onProgress(fn: (p: IndexProgress) => void): () => void;
  onDidChange(fn: (kind: ChangeKind) => void): () => void;
  onDidChangeAvailability(fn: () => void): () => void;
  watch(): void;
  checkForChanges(): Promise<'unchanged' | ChangeKind>;
  close(): Promise<void>;
}

export type RowSourceOptions = JsonlFileOptions & CompressedFileOptions;

/**
 * Opens a dataset file with the reader its magic bytes call for and starts indexing. Rejects
 * like {@link JsonlFile.open} when the file cannot be opened.
 */
export async function openRowSource(path: string, opts: RowSourceOptions = {}): Promise<RowSource> {
  const format = await sniffFileCompression(path);
  if (format === 'gzip' || format === 'zstd') return CompressedFile.open(path, format, opts);
  return JsonlFile.open(path, opts);
}
