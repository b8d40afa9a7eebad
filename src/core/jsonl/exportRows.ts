/**
 * Safe export of a subset of rows with their original bytes.
 *
 * Rows are copied byte for byte, each with its own line ending (`\n` or `\r\n`), so key order,
 * number formatting and escapes are preserved. Two adjustments keep the output valid JSONL:
 * the source's final line, when it has no newline, gets `\n` unless it is the last row written;
 * and the BOM of line 0 is kept only when line 0 is written first. Exporting every row in order
 * therefore reproduces the file exactly.
 *
 * The output goes to a temporary file in the target folder, is flushed to disk, and is renamed
 * over the target only when everything succeeded: a failure midway leaves the target untouched
 * and removes the temporary file. If the source was rewritten on disk while it was being read,
 * the export fails rather than write a mix of two versions.
 */
import { promises as fsp } from 'node:fs';
import type { JsonlFile } from './jsonlFile';
import { tempPathFor } from './tempFiles';

const WINDOW_BYTES = 4 << 20;
const SMALL_READ_BYTES = 64 << 10;
const NEWLINE = Buffer.from('\n');

/**
 * Writes rows `indices` (in the order given; repeats allowed) of `file` to `targetPath`,
 * atomically. Waits for indexing to finish. Rejects with a RangeError for an invalid index.
 */
export async function exportRows(
  file: JsonlFile,
  indices: Iterable<number>,
  targetPath: string,
): Promise<{ rows: number; bytes: number }> {
  await file.whenIndexed();
  const tmp = tempPathFor(targetPath);
  const out = await fsp.open(tmp, 'wx');
  let ok = false;
  try {
    const writer = new BufferedWriter(out);
    const reader = new WindowReader(file);
    const lineCount = file.lineCount;
    let rows = 0;
    let needNewline = false;
    for (const index of indices) {
      if (!Number.isInteger(index) || index < 0 || index >= lineCount) {
        throw new RangeError(`Cannot export row ${index}: the file has ${lineCount} rows`);
      }
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
    await writer.flush();
    // A rewrite of the source during the export would have mixed two versions into the output
    // (an append is harmless: only bytes before the old end were read).
    if ((await file.checkForChanges()) === 'rebuilt') {
      throw new Error(`${file.path} changed on disk during the export; nothing was written`);
    }
    await out.sync();
    await out.close();
    await fsp.rename(tmp, targetPath);
    ok = true;
    return { rows, bytes: writer.written };
  } finally {
    if (!ok) {
      await out.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

async function startsWithBom(reader: WindowReader, start: number, end: number): Promise<boolean> {
  if (end - start < 3) return false;
  const b = await reader.slice(start, start + 3);
  return b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
}

/** Collects small writes into large ones. */
class BufferedWriter {
  written = 0;
  private readonly buf = Buffer.allocUnsafe(WINDOW_BYTES);
  private used = 0;

  constructor(private readonly fh: fsp.FileHandle) {}

  async write(data: Uint8Array): Promise<void> {
    this.written += data.length;
    if (data.length > this.buf.length - this.used) await this.flush();
    if (data.length >= this.buf.length) {
      await writeAll(this.fh, data);
      return;
    }
    this.buf.set(data, this.used);
    this.used += data.length;
  }

  async flush(): Promise<void> {
    if (this.used > 0) await writeAll(this.fh, this.buf.subarray(0, this.used));
    this.used = 0;
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

  constructor(private readonly file: JsonlFile) {}

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
