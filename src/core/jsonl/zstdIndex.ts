/**
 * {@link ZstdJsonl}: a line index over a Zstandard-compressed JSONL file (`.jsonl.zst`), with
 * random row reads, built while decompressing the file in a stream (nothing is unpacked to disk).
 * The same interface as {@link GzipJsonl}; rows, reads and the cache are those of
 * {@link CompressedIndex}, so row bytes and content hashes equal those of the plain file.
 *
 * Random access: decoding restarts at a checkpoint, recorded at most every
 * {@link DEFAULT_CHECKPOINT_INTERVAL} of output, at the start of a frame (exact: each frame is
 * independently decompressible). Multi-frame files get one every few MB: pzstd output, the
 * seekable format (t2sz, zstd's contrib `seekable_format`), files written in parts and
 * concatenated (`cat a.zst b.zst`). A single-frame file (what `zstd`, `zstd -T0` and Python's zstandard streaming
 * writer produce) has one checkpoint, its start, and a read far into it decodes everything
 * before it. Checkpoints inside a frame would need the decoder's whole state (window of up to
 * the frame's window size, entropy tables, repeat offsets), which neither decoder exposes.
 */
import type { promises as fsp } from 'node:fs';
import {
  CompressedIndex,
  openRegularFile,
  type CompressedIndexOptions,
  type DecodedChunk,
  type Restart,
  type RestartSink,
} from './compressedIndex';
import { decodeFrames, type ZstdDecoderKind } from './zstdFrames';

export interface ZstdJsonlOptions extends CompressedIndexOptions {
  /** Default: Node's zlib zstd where the runtime has it, else fzstd. */
  decoder?: ZstdDecoderKind;
}

/** A `.jsonl.zst` file with a line index built in the background. See the module comment. */
export class ZstdJsonl extends CompressedIndex<Restart> {
  private readonly decoder: ZstdDecoderKind | undefined;

  private constructor(path: string, fh: fsp.FileHandle, size: number, opts: ZstdJsonlOptions) {
    super(path, fh, size, opts);
    this.decoder = opts.decoder;
  }

  /** Opens the file and starts indexing in the background. Rejects if it cannot be opened. */
  static async open(path: string, opts: ZstdJsonlOptions = {}): Promise<ZstdJsonl> {
    const { fh, size } = await openRegularFile(path);
    const file = new ZstdJsonl(path, fh, size, opts);
    file.startIndexing();
    return file;
  }

  protected fileStart(): Restart {
    return { compressed: 0, decompressed: 0 };
  }

  protected decodeFrom(
    start: Restart,
    restarts?: RestartSink<Restart>,
  ): AsyncGenerator<DecodedChunk> {
    return decodeFrames(this.fh, this.path, start, {
      ...(this.decoder ? { decoder: this.decoder } : {}),
      ...(restarts
        ? {
            onFrame: (at: Restart) => {
              if (restarts.wanted(at.decompressed)) restarts.found(at);
            },
          }
        : {}),
    });
  }
}
