/**
 * Streams the decompressed bytes of a Zstandard file (RFC 8878), frame by frame, and says where
 * each frame starts in both the compressed and the decompressed stream.
 *
 * Frame boundaries are found here by reading the frame and block headers (a 3-byte header per
 * block gives its compressed size), with no decoding: a frame start is the one place where
 * decoding can restart exactly (each frame is independently decompressible). Skippable frames
 * (the seekable format's seek table, pzstd's headers) produce no output and are stepped over.
 *
 * Decoding: Node's own `zlib` zstd (`createZstdDecompress`, Node 22.15 / 23.8 and newer, as in
 * current VS Code) where the runtime has it, else {@link https://github.com/101arrowz/fzstd fzstd},
 * a maintained pure-JavaScript decoder (MIT, 8 kB) that streams and needs no WebAssembly. fzstd
 * does not check the frame's content checksum (the native decoder does); both reject corrupt
 * block data.
 */
import { promises as fsp } from 'node:fs';
import { Decompress as FzstdDecompress, decompress as fzstdDecompress } from 'fzstd';
import {
  nativeZstdAvailable,
  nativeZstdDecompressSync,
  nativeZstdDecompressor,
  streamTransform,
  type ByteTransform,
} from './byteTransform';
import type { DecodedChunk, Restart } from './compressedIndex';

/** A zstd file that is truncated or corrupt; the message names the file and the byte offset. */
export class ZstdFormatError extends Error {
  override name = 'ZstdFormatError';
}

/** Which decoder decompresses frames: Node's zlib (where it has zstd) or fzstd (pure JS). */
export type ZstdDecoderKind = 'native' | 'fzstd';

export interface DecodeFramesOptions {
  /** Called at the start of every frame (skippable ones too), before its bytes are yielded. */
  onFrame?: (at: Restart) => void;
  /** Default: native where available, else fzstd. */
  decoder?: ZstdDecoderKind;
}

const READ_BYTES = 256 << 10;
const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames have magics 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Longest frame header: magic, descriptor, window, dictionary id (4), content size (8). */
const MAX_FRAME_HEADER = 18;

/** What the scanner is reading. */
type Part = 'frameHeader' | 'blockHeader' | 'blockBody' | 'checksum' | 'skipSize' | 'skipBody';

/**
 * Follows the frame structure of a zstd stream from a frame start, byte by byte where headers
 * are and in jumps over block data, so that the input can be cut exactly at frame ends.
 */
class FrameScanner {
  private part: Part = 'frameHeader';
  /** Header bytes gathered so far (headers may be split between reads). */
  private header = Buffer.alloc(MAX_FRAME_HEADER);
  private have = 0;
  /** Bytes left in a block body, checksum or skippable frame. */
  private left = 0;
  private checksum = false;
  private lastBlock = false;
  /** Whether the frame being read is a skippable frame. */
  skippable = false;

  constructor(
    private readonly path: string,
    /** Compressed offset of the current frame's first byte. */
    public frameAt: number,
  ) {}

  /** True when nothing of the current frame has been read yet. */
  get atFrameStart(): boolean {
    return this.part === 'frameHeader' && this.have === 0;
  }

  /**
   * Reads `buf` (compressed bytes at file offset `at`); returns how many of them belong to the
   * current frame, and whether that frame ends there. Call again with the rest after a frame end.
   */
  advance(buf: Buffer, at: number): { used: number; frameEnd: boolean } {
    let p = 0;
    while (p < buf.length) {
      if (this.left > 0) {
        const n = Math.min(this.left, buf.length - p);
        this.left -= n;
        p += n;
        if (this.left > 0) break;
        if (this.endOfPart()) return { used: p, frameEnd: true };
        continue;
      }
      const need = this.headerNeed();
      const n = Math.min(need - this.have, buf.length - p);
      buf.copy(this.header, this.have, p, p + n);
      this.have += n;
      p += n;
      if (this.part === 'frameHeader' && this.have >= 4) this.checkMagic();
      if (this.have < this.headerNeed()) continue;
      if (this.headerDone(at + p)) return { used: p, frameEnd: true };
    }
    return { used: p, frameEnd: false };
  }

  /** Bytes of the header being read that are needed now (a frame header's length grows). */
  private headerNeed(): number {
    switch (this.part) {
      case 'frameHeader':
        return this.have < 5 ? 5 : frameHeaderLength(this.header);
      case 'skipSize':
        return 4;
      default:
        return 3;
    }
  }

  /** A header is complete (its last byte is just before file offset `end`). */
  private headerDone(end: number): boolean {
    const h = this.header;
    this.have = 0;
    if (this.part === 'frameHeader') {
      const magic = h.readUInt32LE(0);
      if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
        // The first 5 bytes were read: magic plus the first byte of the size.
        this.skippable = true;
        this.part = 'skipSize';
        this.have = 1;
        h.copyWithin(0, 4, 5);
        return false;
      }
      this.checkFrameHeader(h, end);
      this.checksum = (h[4] & 4) !== 0;
      this.part = 'blockHeader';
      return false;
    }
    if (this.part === 'skipSize') {
      this.left = h.readUInt32LE(0);
      this.part = 'skipBody';
      return this.left === 0 ? this.finishFrame() : false;
    }
    const block = h[0] | (h[1] << 8) | (h[2] << 16);
    this.lastBlock = (block & 1) === 1;
    const type = (block >> 1) & 3;
    const size = block >>> 3;
    if (type === 3) {
      throw new ZstdFormatError(
        `${this.path}: corrupt zstd data at byte ${end - 3} (reserved block type in the frame at byte ${this.frameAt})`,
      );
    }
    this.left = type === 1 ? 1 : size; // an RLE block holds one byte
    this.part = 'blockBody';
    return this.left === 0 ? this.endOfPart() : false;
  }

  /** The first 4 bytes of a frame are a zstd or skippable-frame magic number. */
  private checkMagic(): void {
    const magic = this.header.readUInt32LE(0);
    if (magic === ZSTD_MAGIC || (magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) return;
    throw new ZstdFormatError(
      `${this.path}: not zstd data at byte ${this.frameAt} (no zstd frame starts there)`,
    );
  }

  private checkFrameHeader(h: Buffer, end: number): void {
    const at = end - frameHeaderLength(h);
    if (h[4] & 8) {
      throw new ZstdFormatError(`${this.path}: corrupt zstd frame header at byte ${at}`);
    }
    const dictBytes = [0, 1, 2, 4][h[4] & 3];
    const windowBytes = h[4] & 0x20 ? 0 : 1;
    const dictId = dictBytes ? h.readUIntLE(5 + windowBytes, dictBytes) : 0;
    if (dictId !== 0) {
      throw new ZstdFormatError(
        `${this.path}: the zstd frame at byte ${at} needs dictionary ${dictId}, which Winnow does not have (decompress it with: zstd -d -D DICT)`,
      );
    }
  }

  /** A block body, checksum or skippable frame ended; true when the frame ends with it. */
  private endOfPart(): boolean {
    if (this.part === 'blockBody') {
      if (!this.lastBlock) {
        this.part = 'blockHeader';
        return false;
      }
      if (this.checksum) {
        this.part = 'checksum';
        this.left = 4;
        return false;
      }
    }
    return this.finishFrame();
  }

  private finishFrame(): boolean {
    this.part = 'frameHeader';
    this.have = 0;
    this.left = 0;
    return true;
  }

  /** Starts the next frame at compressed offset `at`. */
  nextFrame(at: number): void {
    this.frameAt = at;
    this.skippable = false;
  }
}

/** Length of a zstd frame header from its first 5 bytes (magic and descriptor). */
function frameHeaderLength(h: Buffer): number {
  if ((h.readUInt32LE(0) & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) return 5;
  const d = h[4];
  const singleSegment = (d & 0x20) !== 0;
  const fcsFlag = d >> 6;
  const fcsBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag;
  return 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][d & 3] + fcsBytes;
}

/** One frame's decoder: bytes in, decompressed bytes out. */
type FrameDecoder = ByteTransform;

/** fzstd's streaming decoder (synchronous). It keeps references to its input: never reuse it. */
function fzstdDecoder(): FrameDecoder {
  let out: Buffer[] = [];
  const d = new FzstdDecompress(chunk => {
    if (chunk.length > 0) out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  });
  const take = () => {
    const got = out;
    out = [];
    return got;
  };
  return {
    push: data => {
      d.push(data);
      return Promise.resolve(take());
    },
    end: () => {
      d.push(new Uint8Array(0), true);
      return Promise.resolve(take());
    },
    destroy: () => undefined,
  };
}

/** Node's zlib zstd decoder (a stream). */
function nativeDecoder(): FrameDecoder {
  return streamTransform(nativeZstdDecompressor());
}

/** A whole frame at once (it lies within one read): one synchronous call. */
function decodeWholeFrame(frame: Buffer, kind: ZstdDecoderKind): Buffer {
  if (kind === 'native') return nativeZstdDecompressSync(frame);
  const out = fzstdDecompress(frame);
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}

async function readAt(fh: fsp.FileHandle, position: number, length: number): Promise<Buffer> {
  // A new buffer each time: fzstd holds on to the input it was given.
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

function decodeError(path: string, frameAt: number, from: number, to: number, err: unknown) {
  const why = err instanceof Error ? err.message : String(err);
  return new ZstdFormatError(
    `${path}: corrupt zstd data in compressed bytes ${from}..${to} (frame at byte ${frameAt}): ${why}`,
  );
}

/**
 * Decompressed bytes from `start` (a frame start) to the end of the file, in order. Stop early by
 * leaving the loop. Throws a {@link ZstdFormatError} for a truncated or corrupt file.
 */
export async function* decodeFrames(
  fh: fsp.FileHandle,
  path: string,
  start: Restart,
  opts: DecodeFramesOptions = {},
): AsyncGenerator<DecodedChunk> {
  const kind = opts.decoder ?? (nativeZstdAvailable() ? 'native' : 'fzstd');
  if (kind === 'native' && !nativeZstdAvailable()) {
    throw new Error(`This runtime's zlib has no zstd (Node ${process.versions.node})`);
  }
  const scanner = new FrameScanner(path, start.compressed);
  let decoder: FrameDecoder | undefined;
  let pos = start.compressed;
  let decompressed = start.decompressed;
  const emit = (bufs: Buffer[]): DecodedChunk[] =>
    bufs.map(data => {
      const chunk = { data, offset: decompressed, compressedRead: pos };
      decompressed += data.length;
      return chunk;
    });
  try {
    for (;;) {
      const buf = await readAt(fh, pos, READ_BYTES);
      if (buf.length === 0) break;
      let rest = buf;
      let restAt = pos;
      while (rest.length > 0) {
        if (scanner.atFrameStart) opts.onFrame?.({ compressed: restAt, decompressed });
        const frameStartsHere = scanner.atFrameStart;
        const { used, frameEnd } = scanner.advance(rest, restAt);
        const part = rest.subarray(0, used);
        if (!scanner.skippable) {
          try {
            if (frameStartsHere && frameEnd) {
              yield* emit([decodeWholeFrame(part, kind)]);
            } else {
              decoder ??= kind === 'native' ? nativeDecoder() : fzstdDecoder();
              yield* emit(await decoder.push(part));
              if (frameEnd) {
                yield* emit(await decoder.end());
                decoder.destroy();
                decoder = undefined;
              }
            }
          } catch (err) {
            if (err instanceof ZstdFormatError) throw err;
            throw decodeError(path, scanner.frameAt, restAt, restAt + used, err);
          }
        }
        rest = rest.subarray(used);
        restAt += used;
        if (frameEnd) scanner.nextFrame(restAt);
      }
      pos += buf.length;
    }
    if (!scanner.atFrameStart) {
      throw new ZstdFormatError(
        `${path}: zstd data ends early at byte ${pos} (inside the frame at byte ${scanner.frameAt}; truncated file?)`,
      );
    }
  } finally {
    decoder?.destroy();
  }
}
