/**
 * Streams the decompressed bytes of a gzip file (RFC 1952), member by member, with Node's `zlib`,
 * and says where each member starts in both the compressed and the decompressed stream.
 *
 * Each member is inflated by its own raw inflater (`createInflateRaw`): Node's `Gunzip` joins
 * members silently, so it cannot report their boundaries, and a member boundary is the one place
 * where decompression can restart exactly (each member is independently decompressible). The
 * gzip header and trailer are parsed here; the trailer's CRC-32 and length are checked.
 */
import { promises as fsp } from 'node:fs';
import { crc32, createInflateRaw, type InflateRaw } from 'node:zlib';

/** Where decompression can start: the first byte of a gzip member, in both streams. */
export interface GzipRestart {
  /** Offset of the member's first byte (its `1f 8b`) in the compressed file. */
  compressed: number;
  /** Offset of the member's first decompressed byte. */
  decompressed: number;
}

/** A run of decompressed bytes and where it lies in the decompressed stream. */
export interface InflatedChunk {
  data: Buffer;
  /** Decompressed offset of `data[0]`. */
  offset: number;
  /** Compressed bytes read so far (for progress; the inflater may still hold some of them). */
  compressedRead: number;
}

/** A gzip file that is truncated or corrupt; the message names the file and the byte offset. */
export class GzipFormatError extends Error {
  override name = 'GzipFormatError';
}

export interface InflateOptions {
  /** Called at the start of every member, before its bytes are yielded. */
  onMember?: (at: GzipRestart) => void;
  /** Check each member's CRC-32 (the length is always checked). Default true. */
  verifyCrc?: boolean;
}

const READ_BYTES = 256 << 10;
const INFLATE_CHUNK_BYTES = 256 << 10;
const FLAG_HCRC = 2;
const FLAG_EXTRA = 4;
const FLAG_NAME = 8;
const FLAG_COMMENT = 16;
/** The longest header accepted (FEXTRA holds at most 64 KiB; names and comments are short). */
const MAX_HEADER_BYTES = 1 << 20;

async function readAt(fh: fsp.FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/** End of a zero-terminated field from `at`, or -1 when `buf` has no terminator. */
function zeroTerminated(buf: Buffer, at: number): number {
  const z = buf.indexOf(0, at);
  return z < 0 ? -1 : z + 1;
}

/** Length of the member header at `buf[0]`, or -1 when `buf` is too short to hold it. */
function headerLength(buf: Buffer, path: string, at: number): number {
  if ((buf.length >= 1 && buf[0] !== 0x1f) || (buf.length >= 2 && buf[1] !== 0x8b)) {
    throw new GzipFormatError(`${path}: not gzip data at byte ${at} (no gzip member starts there)`);
  }
  if (buf.length < 10) return -1;
  if (buf[2] !== 8) {
    throw new GzipFormatError(`${path}: unknown gzip compression method ${buf[2]} at byte ${at}`);
  }
  const flags = buf[3];
  let p = 10;
  if (flags & FLAG_EXTRA) {
    if (buf.length < p + 2) return -1;
    p += 2 + buf.readUInt16LE(p);
  }
  if (flags & FLAG_NAME) p = p <= buf.length ? zeroTerminated(buf, p) : -1;
  if (p >= 0 && flags & FLAG_COMMENT) p = zeroTerminated(buf, p);
  if (p >= 0 && flags & FLAG_HCRC) p += 2;
  return p < 0 || p > buf.length ? -1 : p;
}

/** Parses the member header at `at`; returns its length. */
async function readHeader(fh: fsp.FileHandle, path: string, at: number): Promise<number> {
  for (let want = 4096; ; want *= 4) {
    const buf = await readAt(fh, at, want);
    const len = headerLength(buf, path, at);
    if (len >= 0) return len;
    if (buf.length < want || want >= MAX_HEADER_BYTES) {
      throw new GzipFormatError(`${path}: gzip header at byte ${at} is cut off (truncated file?)`);
    }
  }
}

/** True when the file holds only zero bytes from `at` (padding some tools leave at the end). */
async function onlyZerosFrom(fh: fsp.FileHandle, at: number, size: number): Promise<boolean> {
  for (let p = at; p < size; p += READ_BYTES) {
    const buf = await readAt(fh, p, Math.min(READ_BYTES, size - p));
    if (buf.some(b => b !== 0)) return false;
  }
  return true;
}

/**
 * Decompressed bytes from `start` (a member start) to the end of the file, in order. Stop early by
 * leaving the loop. Throws a {@link GzipFormatError} for a truncated or corrupt file.
 */
export async function* inflateMembers(
  fh: fsp.FileHandle,
  path: string,
  start: GzipRestart,
  opts: InflateOptions = {},
): AsyncGenerator<InflatedChunk> {
  const size = (await fh.stat()).size;
  let { compressed, decompressed } = start;
  let first = true;
  while (compressed < size) {
    if (!first && (await onlyZerosFrom(fh, compressed, size))) return;
    first = false;
    const header = await readHeader(fh, path, compressed);
    opts.onMember?.({ compressed, decompressed });
    const member = inflateMember(fh, path, compressed, compressed + header, decompressed);
    let r = await member.next();
    let crc = 0;
    while (!r.done) {
      if (opts.verifyCrc !== false) crc = crc32(r.value.data, crc);
      yield r.value;
      r = await member.next();
    }
    const { deflateBytes, produced } = r.value;
    const trailerAt = compressed + header + deflateBytes;
    const trailer = await readAt(fh, trailerAt, 8);
    if (trailer.length < 8) {
      throw new GzipFormatError(
        `${path}: gzip data ends early at byte ${size} (the member at byte ${compressed} has no trailer; truncated file?)`,
      );
    }
    if (opts.verifyCrc !== false && trailer.readUInt32LE(0) !== crc >>> 0) {
      throw new GzipFormatError(
        `${path}: CRC-32 mismatch in the gzip member at byte ${compressed} (trailer at byte ${trailerAt}): the data is corrupt`,
      );
    }
    if (trailer.readUInt32LE(4) !== produced % 2 ** 32) {
      throw new GzipFormatError(
        `${path}: length mismatch in the gzip member at byte ${compressed} (trailer at byte ${trailerAt}): the data is corrupt`,
      );
    }
    compressed = trailerAt + 8;
    decompressed += produced;
  }
}

/** Writes one chunk and waits until the inflater has consumed what it wants of it. */
function writeChunk(inflater: InflateRaw, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    inflater.once('error', onError);
    inflater.write(chunk, err => {
      inflater.off('error', onError);
      if (err) reject(err);
      else resolve();
    });
  });
}

/**
 * Inflates the deflate data of one member from `deflateAt`. Yields its bytes; returns how many
 * compressed bytes the deflate data took and how many bytes it produced.
 */
async function* inflateMember(
  fh: fsp.FileHandle,
  path: string,
  memberAt: number,
  deflateAt: number,
  decompressedAt: number,
): AsyncGenerator<InflatedChunk, { deflateBytes: number; produced: number }> {
  const inflater = createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES });
  let pending: InflatedChunk[] = [];
  let produced = 0;
  let fed = 0;
  inflater.on('data', (data: Buffer) => {
    pending.push({ data, offset: decompressedAt + produced, compressedRead: deflateAt + fed });
    produced += data.length;
  });
  inflater.on('error', () => undefined); // reported through writeChunk
  try {
    // The inflater takes less than it was given once its deflate data has ended.
    while (inflater.bytesWritten === fed) {
      const chunk = await readAt(fh, deflateAt + fed, READ_BYTES);
      if (chunk.length === 0) {
        throw new GzipFormatError(
          `${path}: gzip data ends early at byte ${deflateAt + fed} (inside the member at byte ${memberAt}; truncated file?)`,
        );
      }
      try {
        await writeChunk(inflater, chunk);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new GzipFormatError(
          `${path}: corrupt gzip data in compressed bytes ${deflateAt + fed}..${deflateAt + fed + chunk.length} (member at byte ${memberAt}): ${why}`,
        );
      }
      fed += chunk.length;
      const out = pending;
      pending = [];
      yield* out;
    }
    return { deflateBytes: inflater.bytesWritten, produced };
  } finally {
    inflater.destroy();
  }
}
