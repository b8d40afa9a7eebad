/**
 * Recognises a compressed file by its magic bytes. Public datasets usually ship as `.jsonl.gz` or
 * `.jsonl.zst`, and one renamed to `.jsonl` (or opened by mistake) would otherwise be reported as
 * thousands of "Invalid UTF-8" lines. The worker and the dataset view say once, plainly, that the
 * file is compressed; a compressed-dataset reader can use the same detection to pick a decoder.
 */

/** A compression format recognised at the start of a file. */
export type CompressionFormat = 'gzip' | 'zstd' | 'xz';

/** Magic bytes of each format (RFC 1952, RFC 8878, the xz file format 1.1.0). */
const MAGIC: readonly (readonly [CompressionFormat, readonly number[]])[] = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
];

/** The longest magic: read at least this many bytes from the start of the file. */
export const COMPRESSION_PROBE_BYTES = 6;

/** The compression format the file starting with `head` is in, if any. */
export function detectCompression(head: Uint8Array): CompressionFormat | undefined {
  for (const [format, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return format;
  }
  return undefined;
}

/** The command that decompresses each format, keeping the original. */
const DECOMPRESS: Record<CompressionFormat, string> = {
  gzip: 'gunzip -k',
  zstd: 'zstd -d',
  xz: 'unxz -k',
};

/** One plain sentence for a compressed file, with the command that unpacks it. */
export function compressedFileMessage(format: CompressionFormat, fileName: string): string {
  return (
    `This file is compressed (${format}), not plain JSON Lines, so its lines cannot be read. ` +
    `Decompress it first, for example with: ${DECOMPRESS[format]} ${fileName}`
  );
}
