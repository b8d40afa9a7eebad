/**
 * {@link GzipJsonl}: a line index over a gzip-compressed JSONL file (`.jsonl.gz`), with random row
 * reads, built while decompressing the file in a stream (nothing is unpacked to disk).
 *
 * Rows, reads and the cache are those of {@link CompressedIndex}: row bytes, and their content
 * hashes, equal those of the plain file.
 *
 * Random access: decompression restarts at a checkpoint, recorded at most every
 * {@link DEFAULT_CHECKPOINT_INTERVAL} of output, at the first of these found after that distance:
 * - the start of a gzip member (exact: each member is independently decompressible). Multi-member
 *   files (bgzip's 64 KiB members, Python's pgzip/mgzip, concatenated shards) get one every few MB;
 * - a flush point inside a member: the empty stored block (`00 00 ff ff`) after a sync or full
 *   flush, where a block starts on a byte boundary, so a raw inflater with the 32 KiB window as its
 *   `dictionary` resumes there exactly. pigz writes one every 128 KiB. The four bytes can also occur
 *   by chance, so each candidate is kept only if decoding from it reproduces the output.
 * A single-member file without flush points (gzip, Python's gzip) has one checkpoint, its start,
 * and a read far into it decompresses everything before it: about 1.5 to 1.8 s per GB of output
 * here.
 * Why not zran-style checkpoints at any block boundary: a resume at a bit offset needs
 * `inflatePrime` and the boundary's bit position (`data_type` after `Z_BLOCK`), and Node's `zlib`
 * exposes neither; byte-aligned boundaries are the ones Node can resume at.
 */
import {
  CompressedIndex,
  openRegularFile,
  type CompressedIndexOptions,
  type CompressedIndexProgress,
  type DecodedChunk,
  type RestartSink,
} from './compressedIndex';
import { inflateMembers, type GzipRestart } from './gzipMembers';

export { DEFAULT_CHECKPOINT_INTERVAL } from './compressedIndex';

/** Indexing progress, reported while indexing (throttled) and once more when it is done. */
export type GzipIndexProgress = CompressedIndexProgress;

export type GzipJsonlOptions = CompressedIndexOptions;

/** A `.jsonl.gz` file with a line index built in the background. See the module comment. */
export class GzipJsonl extends CompressedIndex<GzipRestart> {
  /** Opens the file and starts indexing in the background. Rejects if it cannot be opened. */
  static async open(path: string, opts: GzipJsonlOptions = {}): Promise<GzipJsonl> {
    const { fh, size } = await openRegularFile(path);
    const file = new GzipJsonl(path, fh, size, opts);
    file.startIndexing();
    return file;
  }

  /** Checkpoints inside a member (at flush points, each with a 32 KiB window). */
  get flushPointCount(): number {
    return this.restarts.filter(r => r.window).length;
  }

  protected fileStart(): GzipRestart {
    return { compressed: 0, decompressed: 0 };
  }

  protected override restartExtraBytes(r: GzipRestart): number {
    return r.window?.length ?? 0;
  }

  protected decodeFrom(
    start: GzipRestart,
    restarts?: RestartSink<GzipRestart>,
  ): AsyncGenerator<DecodedChunk> {
    if (!restarts) return inflateMembers(this.fh, this.path, start, { verifyCrc: false });
    return inflateMembers(this.fh, this.path, start, {
      onMember: at => {
        if (restarts.wanted(at.decompressed)) restarts.found(at);
      },
      flushPoints: restarts,
    });
  }
}
