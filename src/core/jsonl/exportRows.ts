/**
 * Safe export of a subset of rows with their original bytes.
 *
 * Rows are copied byte for byte, each with its own line ending (`\n` or `\r\n`), so key order,
 * number formatting and escapes are preserved. Two adjustments keep the output valid JSONL:
 * the source's final line, when it has no newline, gets `\n` unless it is the last row written;
 * and the BOM of line 0 is kept only when line 0 is written first. Exporting every row in order
 * therefore reproduces the file exactly.
 *
 * A compressed source (gzip, zstd) is read in one sequential pass when the rows come in file
 * order (random reads would decode from a checkpoint each time). The output is plain JSONL, or
 * compressed with `compression` (gzip through zlib; zstd through zlib where Node has it).
 *
 * The output goes to a temporary file in the target folder, is flushed to disk, and is renamed
 * over the target only when everything succeeded: a failure midway leaves the target untouched
 * and removes the temporary file. If the source was rewritten on disk while it was being read,
 * the export fails rather than write a mix of two versions.
 */
import { promises as fsp } from 'node:fs';
import { compressorFor, type ByteTransform, type OutputCompression } from './byteTransform';
import type { RowSource } from './rowSource';
import { tempPathFor } from './tempFiles';

const WINDOW_BYTES = 4 << 20;
const SMALL_READ_BYTES = 64 << 10;
const NEWLINE = Buffer.from('\n');

export interface ExportRowsOptions {
  /** Compress the output (default: plain JSONL). */
  readonly compression?: OutputCompression;
}

/** What an export wrote. */
export interface ExportRowsResult {
  rows: number;
  /** Size of the file written (compressed, when it is). */
  bytes: number;
  /** Bytes of JSONL written (before compression). */
  contentBytes: number;
}

/**
 * Writes rows `indices` (in the order given; repeats allowed) of `file` to `targetPath`,
 * atomically. Waits for indexing to finish. Rejects with a RangeError for an invalid index.
 */
export async function exportRows(
  file: RowSource,
  indices: Iterable<number>,
  targetPath: string,
  opts: ExportRowsOptions = {},
): Promise<ExportRowsResult> {
  await file.whenIndexed();
  // Made first, so that a compression the runtime lacks fails before anything is written.
  const compressor = opts.compression ? compressorFor(opts.compression) : undefined;
  const tmp = tempPathFor(targetPath);
  const out = await fsp.open(tmp, 'wx');
  let ok = false;
  try {
    const writer = new BufferedWriter(out, compressor);
    const rows = file.compression
      ? await copyInPasses(file, [...indices], writer)
      : await copyByWindow(file, indices, writer);
    await writer.finish();
    // A rewrite of the source during the export would have mixed two versions into the output
    // (an append is harmless: only bytes before the old end were read).
    if ((await file.checkForChanges()) === 'rebuilt') {
      throw new Error(`${file.path} changed on disk during the export; nothing was written`);
    }
    await out.sync();
    await out.close();
    await fsp.rename(tmp, targetPath);
    ok = true;
    return { rows, bytes: writer.fileBytes, contentBytes: writer.written };
  } finally {
    compressor?.destroy();
    if (!ok) {
      await out.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

function checkIndex(index: number, lineCount: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= lineCount) {
    throw new RangeError(`Cannot export row ${index}: the file has ${lineCount} rows`);
  }
}

/** A plain source: each row's bytes with its line ending, read through a window. */
async function copyByWindow(
  file: RowSource,
  indices: Iterable<number>,
  writer: BufferedWriter,
): Promise<number> {
  const reader = new WindowReader(file);
  const lineCount = file.lineCount;
  let rows = 0;
  let needNewline = false;
  for (const index of indices) {
    checkIndex(index, lineCount);
    // spanOf: the source may have the sparse line index.
    const span = await file.spanOf(index);
    // The previous row was the source's last line, written without its missing newline.
    if (needNewline) await writer.write(NEWLINE);
    let start = span.start;
    if (index === 0 && rows > 0 && (await startsWithBom(reader, span.start, span.end))) {
      start += 3;
    }
    await reader.copy(start, span.eolEnd, writer);
    needNewline = span.eolEnd === span.end;
    rows++;
  }
  return rows;
}

/**
 * A compressed source: rows in file order (repeats included) come from sequential passes, each
 * from the nearest checkpoint; a row before the previous one starts a new pass.
 */
async function copyInPasses(
  file: RowSource,
  indices: number[],
  writer: BufferedWriter,
): Promise<number> {
  const lineCount = file.lineCount;
  for (const index of indices) checkIndex(index, lineCount);
  let k = 0;
  let needNewline = false;
  while (k < indices.length) {
    const before = k;
    pass: for await (const batch of file.iterateRows(indices[k])) {
      for (const r of batch) {
        while (k < indices.length && indices[k] === r.index) {
          if (needNewline) await writer.write(NEWLINE);
          const span = file.rowSpan(r.index);
          const bom = r.index === 0 && k > 0 && hasBom(r.bytes);
          await writer.write(bom ? r.bytes.subarray(3) : r.bytes);
          if (span.eolEnd > span.end) await writer.write(NEWLINE);
          needNewline = span.eolEnd === span.end;
          k++;
        }
        if (k === indices.length || indices[k] < r.index) break pass;
      }
    }
    if (k === before) throw new Error(`${file.path} changed on disk during the export`);
  }
  return indices.length;
}

function hasBom(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
}

async function startsWithBom(reader: WindowReader, start: number, end: number): Promise<boolean> {
  if (end - start < 3) return false;
  const b = await reader.slice(start, start + 3);
  return b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
}

/** Collects small writes into large ones; compresses them on the way when asked to. */
class BufferedWriter {
  /** Bytes given to {@link write}. */
  written = 0;
  /** Bytes written to the file. */
  fileBytes = 0;
  private readonly buf = Buffer.allocUnsafe(WINDOW_BYTES);
  private used = 0;

  constructor(
    private readonly fh: fsp.FileHandle,
    private readonly compressor?: ByteTransform,
  ) {}

  async write(data: Uint8Array): Promise<void> {
    this.written += data.length;
    if (data.length > this.buf.length - this.used) await this.flush();
    if (data.length >= this.buf.length) {
      await this.out(data);
      return;
    }
    this.buf.set(data, this.used);
    this.used += data.length;
  }

  async flush(): Promise<void> {
    if (this.used > 0) await this.out(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  /** Flushes, and ends the compressed stream. */
  async finish(): Promise<void> {
    await this.flush();
    if (this.compressor) for (const b of await this.compressor.end()) await this.raw(b);
  }

  private async out(data: Uint8Array): Promise<void> {
    if (!this.compressor) return this.raw(data);
    // The compressor may hold on to its input until it is processed: give it a copy.
    for (const b of await this.compressor.push(Buffer.from(data))) await this.raw(b);
  }

  private async raw(data: Uint8Array): Promise<void> {
    await writeAll(this.fh, data);
    this.fileBytes += data.length;
  }
}

async function writeAll(fh: fsp.FileHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    off += bytesWritten;
  }
}

/**
 * Reads the source through a window, so that rows exported in file order cost one large read per
 * window. Read-ahead is only large while access is sequential (the next range starts at or just
 * after the previous one): scattered rows read little more than themselves. Ranges larger than
 * the window are streamed through in pieces.
 */
class WindowReader {
  private start = 0;
  private data: Buffer = Buffer.alloc(0);
  private lastEnd = -1;

  constructor(private readonly file: RowSource) {}

  async slice(from: number, to: number): Promise<Buffer> {
    if (from < this.start || to > this.start + this.data.length) {
      const sequential = from >= this.lastEnd && from - this.lastEnd <= SMALL_READ_BYTES;
      const ahead = sequential ? WINDOW_BYTES : SMALL_READ_BYTES;
      const end = Math.min(Math.max(to, from + ahead), this.file.totalBytes);
      this.data = await this.file.readBytes(from, Math.max(end, to));
      this.start = from;
    }
    this.lastEnd = to;
    return this.data.subarray(from - this.start, to - this.start);
  }

  async copy(from: number, to: number, writer: BufferedWriter): Promise<void> {
    for (let at = from; at < to; at += WINDOW_BYTES) {
      await writer.write(await this.slice(at, Math.min(to, at + WINDOW_BYTES)));
    }
  }
}
