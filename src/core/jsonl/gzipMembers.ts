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
import {
  constants as zlibConstants,
  crc32,
  createInflateRaw,
  inflateRawSync,
  type InflateRaw,
} from 'node:zlib';

/**
 * Where decompression can start exactly, in both streams: the first byte of a gzip member, or a
 * flush point inside one (a byte-aligned deflate block boundary after a sync or full flush), with
 * the window of output before it.
 */
export interface GzipRestart {
  /** Offset in the compressed file: a member's first byte (`1f 8b`), or the flush point. */
  compressed: number;
  /** Offset of the first decompressed byte from there. */
  decompressed: number;
  /** At a flush point: the last 32 KiB of output before it (the inflater's dictionary). */
  window?: Buffer;
  /** At a flush point: where its member starts. */
  member?: { compressed: number; decompressed: number };
}

/** Receives flush points found while inflating, when it wants one. */
export interface FlushPointSink {
  /** Whether a flush point at or after decompressed offset `at` is wanted now. */
  wanted(at: number): boolean;
  found(at: GzipRestart): void;
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
  /** Look for flush points inside members (each is checked by decoding from it). */
  flushPoints?: FlushPointSink;
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

/** Where one member's deflate data is inflated from. */
interface MemberStart {
  /** Offset of the member's header in the file. */
  memberAt: number;
  /** Decompressed offset of the member's first byte. */
  memberDecompressed: number;
  /** Offset in the file where inflating starts (after the header, or at a flush point). */
  deflateAt: number;
  /** Decompressed offset of the first byte inflated from `deflateAt`. */
  decompressedAt: number;
  /** The output before a flush point (up to 32 KiB), when starting at one. */
  dictionary?: Buffer;
}

/**
 * Decompressed bytes from `start` (a member start, or a flush point with its window) to the end of
 * the file, in order. Stop early by leaving the loop. Throws a {@link GzipFormatError} for a
 * truncated or corrupt file.
 */
export async function* inflateMembers(
  fh: fsp.FileHandle,
  path: string,
  start: GzipRestart,
  opts: InflateOptions = {},
): AsyncGenerator<InflatedChunk> {
  const size = (await fh.stat()).size;
  let member: MemberStart | undefined =
    start.window && start.member
      ? {
          memberAt: start.member.compressed,
          memberDecompressed: start.member.decompressed,
          deflateAt: start.compressed,
          decompressedAt: start.decompressed,
          dictionary: start.window,
        }
      : undefined;
  let { compressed, decompressed } = start;
  for (let first = true; ; first = false) {
    if (!member) {
      if (compressed >= size || (!first && (await onlyZerosFrom(fh, compressed, size)))) return;
      const header = await readHeader(fh, path, compressed);
      opts.onMember?.({ compressed, decompressed });
      member = {
        memberAt: compressed,
        memberDecompressed: decompressed,
        deflateAt: compressed + header,
        decompressedAt: decompressed,
      };
    }
    // A CRC can only be checked over a whole member.
    const verifyCrc = opts.verifyCrc !== false && !member.dictionary;
    const inflating = inflateMember(fh, path, member, opts.flushPoints);
    let r = await inflating.next();
    let crc = 0;
    while (!r.done) {
      if (verifyCrc) crc = crc32(r.value.data, crc);
      yield r.value;
      r = await inflating.next();
    }
    const trailerAt = member.deflateAt + r.value.deflateBytes;
    const memberBytes = member.decompressedAt + r.value.produced - member.memberDecompressed;
    await checkTrailer(
      fh,
      path,
      member.memberAt,
      trailerAt,
      verifyCrc ? crc : undefined,
      memberBytes,
    );
    compressed = trailerAt + 8;
    decompressed = member.decompressedAt + r.value.produced;
    member = undefined;
  }
}

/** Checks a member's trailer: its CRC-32 (unless `crc` is undefined) and its length. */
async function checkTrailer(
  fh: fsp.FileHandle,
  path: string,
  memberAt: number,
  trailerAt: number,
  crc: number | undefined,
  memberBytes: number,
): Promise<void> {
  const trailer = await readAt(fh, trailerAt, 8);
  if (trailer.length < 8) {
    throw new GzipFormatError(
      `${path}: gzip data ends early at byte ${trailerAt + trailer.length} (the member at byte ${memberAt} has no trailer; truncated file?)`,
    );
  }
  if (crc !== undefined && trailer.readUInt32LE(0) !== crc >>> 0) {
    throw new GzipFormatError(
      `${path}: CRC-32 mismatch in the gzip member at byte ${memberAt} (trailer at byte ${trailerAt}): the data is corrupt`,
    );
  }
  if (trailer.readUInt32LE(4) !== memberBytes % 2 ** 32) {
    throw new GzipFormatError(
      `${path}: length mismatch in the gzip member at byte ${memberAt} (trailer at byte ${trailerAt}): the data is corrupt`,
    );
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
 * Inflates the deflate data of one member from `m.deflateAt`. Yields its bytes; returns how many
 * compressed bytes it took from there and how many bytes it produced.
 */
async function* inflateMember(
  fh: fsp.FileHandle,
  path: string,
  m: MemberStart,
  flushPoints: FlushPointSink | undefined,
): AsyncGenerator<InflatedChunk, { deflateBytes: number; produced: number }> {
  const inflater = createInflateRaw({
    chunkSize: INFLATE_CHUNK_BYTES,
    ...(m.dictionary ? { dictionary: m.dictionary } : {}),
  });
  let pending: InflatedChunk[] = [];
  let produced = 0;
  let fed = 0;
  const recent = flushPoints ? new RecentOutput() : undefined;
  inflater.on('data', (data: Buffer) => {
    pending.push({ data, offset: m.decompressedAt + produced, compressedRead: m.deflateAt + fed });
    produced += data.length;
    recent?.push(data);
  });
  inflater.on('error', () => undefined); // reported through writeChunk
  const write = async (chunk: Buffer) => {
    try {
      await writeChunk(inflater, chunk);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new GzipFormatError(
        `${path}: corrupt gzip data in compressed bytes ${m.deflateAt + fed}..${m.deflateAt + fed + chunk.length} (member at byte ${m.memberAt}): ${why}`,
      );
    }
    fed += chunk.length;
  };
  try {
    // The inflater takes less than it was given once its deflate data has ended.
    while (inflater.bytesWritten === fed) {
      const chunk = await readAt(fh, m.deflateAt + fed, READ_BYTES);
      if (chunk.length === 0) {
        throw new GzipFormatError(
          `${path}: gzip data ends early at byte ${m.deflateAt + fed} (inside the member at byte ${m.memberAt}; truncated file?)`,
        );
      }
      // Written in parts where a wanted flush point may start, so that the output up to it is
      // known; the part after each candidate is the output that checks it.
      let rest = chunk;
      while (rest.length > 0 && inflater.bytesWritten === fed) {
        const cut =
          recent && flushPoints ? wantedFlushMarker(rest, flushPoints, m, fed, produced) : -1;
        if (cut < 0) {
          await write(rest);
          break;
        }
        await write(rest.subarray(0, cut));
        rest = rest.subarray(cut);
        if (inflater.bytesWritten !== fed) break;
        const at = { compressed: m.deflateAt + fed, decompressed: m.decompressedAt + produced };
        const window = (recent as RecentOutput).window();
        const before = pending.length;
        const checked = rest.subarray(0, VERIFY_INPUT_BYTES);
        await write(checked);
        rest = rest.subarray(checked.length);
        const expected = Buffer.concat(pending.slice(before).map(c => c.data));
        if (isFlushPoint(checked, window, expected)) {
          flushPoints?.found({
            ...at,
            window,
            member: { compressed: m.memberAt, decompressed: m.memberDecompressed },
          });
        }
      }
      const out = pending;
      pending = [];
      yield* out;
    }
    return { deflateBytes: inflater.bytesWritten, produced };
  } finally {
    inflater.destroy();
  }
}

/** The empty stored block that a sync or full flush writes (pigz writes one every 128 KiB). */
const FLUSH_MARKER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Compressed bytes decoded to check a flush point: enough for tens of KiB of output. */
const VERIFY_INPUT_BYTES = 16 << 10;
/** Output that a checked flush point must reproduce exactly. */
const VERIFY_MIN_OUTPUT = 4 << 10;
const WINDOW_BYTES = 32 << 10;

/**
 * End of the first flush marker in `rest` (the input after `fed` bytes of `m`, which produced
 * `produced` bytes) whose output offset, estimated from the compression ratio so far, is wanted,
 * and which leaves enough compressed bytes after it to check it; or -1.
 */
function wantedFlushMarker(
  rest: Buffer,
  flushPoints: FlushPointSink,
  m: MemberStart,
  fed: number,
  produced: number,
): number {
  const ratio = fed > 0 ? produced / fed : 4; // typical of text until the member says otherwise
  for (let at = rest.indexOf(FLUSH_MARKER); at >= 0; at = rest.indexOf(FLUSH_MARKER, at + 1)) {
    const end = at + FLUSH_MARKER.length;
    if (rest.length - end < VERIFY_INPUT_BYTES) return -1;
    if (flushPoints.wanted(m.decompressedAt + produced + end * ratio)) return end;
  }
  return -1;
}

/**
 * True when inflating `rest` with `window` as the dictionary reproduces `expected` (what the
 * main inflater produced from there). Four such bytes can occur anywhere in compressed data;
 * only a real flush point, a byte-aligned block boundary, decodes to the same output.
 */
function isFlushPoint(rest: Buffer, window: Buffer, expected: Buffer): boolean {
  let out: Buffer;
  try {
    out = inflateRawSync(rest, {
      dictionary: window,
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
    });
  } catch {
    return false;
  }
  const n = Math.min(out.length, expected.length);
  return n >= VERIFY_MIN_OUTPUT && out.subarray(0, n).equals(expected.subarray(0, n));
}

/** The last 32 KiB of a member's output (the window a restart inside the member needs). */
class RecentOutput {
  private chunks: Buffer[] = [];
  private bytes = 0;

  push(data: Buffer): void {
    this.chunks.push(data);
    this.bytes += data.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0].length >= WINDOW_BYTES) {
      this.bytes -= this.chunks[0].length;
      this.chunks.shift();
    }
  }

  /** A copy of the last (up to) 32 KiB. */
  window(): Buffer {
    const all = Buffer.concat(this.chunks);
    return Buffer.from(all.subarray(Math.max(0, all.length - WINDOW_BYTES)));
  }
}
