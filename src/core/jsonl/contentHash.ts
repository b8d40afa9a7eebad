/**
 * Stable content identity for rows: scores and keep/drop decisions are keyed by this hash, so they
 * survive reordering, insertions and edits elsewhere in the file, and identical lines collide on
 * purpose (exact duplicates).
 */
import { createHash } from 'node:crypto';
import type { RowSource } from './rowSource';
import { murmur3x86128 } from './murmur3';

/**
 * Version of {@link contentHash}, stored in every cache keyed by it: 1 was SHA-256 (see
 * {@link legacyContentHash}), 2 is MurmurHash3 x86_128, about 15 times faster per row.
 */
export const CONTENT_HASH_VERSION = 2;
/** What {@link contentHash} is, in words, for files that store it. */
export const CONTENT_HASH_DEFINITION =
  'contentHash v2: MurmurHash3 x86_128 (seed 0) of the line bytes (no CR, no BOM), 16 bytes as hex';
/** Bytes of one content digest. */
export const CONTENT_DIGEST_BYTES = 16;

/**
 * The content hash of a line's raw bytes (32 hex digits). A trailing `\r` and a leading UTF-8 BOM
 * are not content and are left out, so the same record hashes the same with LF or CRLF endings
 * and on line 0 of a file with a BOM. Everything else (key order, spacing, escapes) counts: the
 * hash identifies bytes, not meaning.
 */
export function contentHash(bytes: Uint8Array): string {
  const out = new Uint8Array(CONTENT_DIGEST_BYTES);
  contentDigest(bytes, out, 0);
  return Buffer.from(out.buffer, 0, CONTENT_DIGEST_BYTES).toString('hex');
}

/** Writes the 16 bytes of {@link contentHash} (binary, not hex) to `out[at, at+16)`. */
export function contentDigest(bytes: Uint8Array, out: Uint8Array, at: number): void {
  contentDigestOf(bytes, 0, bytes.length, out, at);
}

/**
 * {@link contentDigest} of the line `buf[start, end)`, read where it lies (no subarray): the row
 * scan hashes its rows straight from the batch buffer.
 */
export function contentDigestOf(
  buf: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
): void {
  if (end > start && buf[end - 1] === 0x0d) end--;
  if (end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf)
    start += 3;
  murmur3x86128(buf, start, end, out, at);
}

/**
 * Version 1 of the content hash: the first 128 bits of SHA-256 of the same bytes, hex. Caches
 * written before version 2 are keyed by it; they are re-keyed when their rows are seen again.
 */
export function legacyContentHash(bytes: Uint8Array): string {
  const { start, end } = contentRange(bytes);
  return createHash('sha256').update(bytes.subarray(start, end)).digest('hex').slice(0, 32);
}

function contentRange(bytes: Uint8Array): { start: number; end: number } {
  let start = 0;
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  if (end - start >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  return { start, end };
}

export interface DuplicateReport {
  /** Rows in the file. */
  rows: number;
  /** Distinct contents. */
  distinct: number;
  /** Rows whose content already appeared earlier in the file (`rows - distinct`). */
  duplicates: number;
}

/**
 * Counts exact duplicate rows (same {@link contentHash} content) in one sequential pass. Memory is
 * 8 bytes per row (a 64-bit prefix of each hash, sorted at the end): 100M rows take 800 MB. With
 * 64 bits, an accidental collision among 100M distinct rows has a probability below 0.03%.
 */
export async function countDuplicates(file: RowSource): Promise<DuplicateReport> {
  await file.whenIndexed();
  const keys = new BigUint64Array(file.lineCount);
  let n = 0;
  const digest = Buffer.alloc(CONTENT_DIGEST_BYTES);
  for await (const batch of file.iterateRows(0)) {
    for (const row of batch) {
      contentDigest(row.bytes, digest, 0);
      if (n < keys.length) keys[n++] = digest.readBigUInt64BE(0);
    }
  }
  const sorted = keys.subarray(0, n).sort();
  let distinct = n > 0 ? 1 : 0;
  for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  return { rows: n, distinct, duplicates: n - distinct };
}
