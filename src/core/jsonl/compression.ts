/**
 * Recognises a compressed file by its magic bytes. Public datasets usually ship as `.jsonl.gz` or
 * `.jsonl.zst`, and one renamed to `.jsonl` (or opened by mistake) would otherwise be reported as
 * thousands of "Invalid UTF-8" lines. `openRowSource` picks the decoder by these bytes (gzip,
 * zstd); for xz, which is not supported, the worker and the dataset view say once, plainly, that
 * the file is compressed and how to unpack it.
 */

import { promises as fsp } from 'node:fs';

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

/** The compression format named by the first bytes of the file at `path`, if any. */
export async function sniffFileCompression(path: string): Promise<CompressionFormat | undefined> {
  const fh = await fsp.open(path, 'r');
  try {
    const head = Buffer.alloc(COMPRESSION_PROBE_BYTES);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** The command that decompresses each format, keeping the original. */
const DECOMPRESS: Record<CompressionFormat, string> = {
  gzip: 'gunzip -k',
  zstd: 'zstd -d',
  xz: 'unxz -k',
};

/** Formats Winnow decodes itself (the dataset view opens them read-only). */
export function isReadableCompression(format: CompressionFormat): format is 'gzip' | 'zstd' {
  return format === 'gzip' || format === 'zstd';
}

/**
 * One plain sentence for a compressed file where its lines cannot be shown as text: for gzip and
 * zstd, that the dataset view reads it; for xz (not supported), the command that unpacks it.
 */
export function compressedFileMessage(format: CompressionFormat, fileName: string): string {
  if (isReadableCompression(format)) {
    return (
      `This file is compressed (${format}), so the text editor cannot show its lines. ` +
      'Open it in the Winnow Dataset View, which reads it directly (read-only).'
    );
  }
  return (
    `This file is compressed (${format}), not plain JSON Lines, so its lines cannot be read: ` +
    `Winnow reads gzip and zstd files directly, but not ${format}. ` +
    `Decompress it first, for example with: ${DECOMPRESS[format]} ${fileName}`
  );
}
