/**
 * Parsing a batch of consecutive rows with one UTF-8 decode: the fast path of the full-file passes
 * (the host's row scan, the worker's validation). Each row gives what `parseLine` gives; rows that
 * are not JSON objects are left to `parseLine`, which says exactly why.
 */
import { isUtf8 } from 'node:buffer';
import type { RawRow } from './jsonlFile';

/**
 * The lines of a batch of consecutive rows decoded in one go, or undefined when the rows do not
 * lie back to back in one buffer or the bytes are not all valid UTF-8 (then each row is decoded on
 * its own, with the exact error). One decode and one split cost far less than a decoder call per
 * row; no line holds a `\n`, so the split gives exactly one string per row.
 */
export function decodeBatch(batch: readonly RawRow[]): string[] | undefined {
  const first = batch[0];
  const last = batch[batch.length - 1];
  const length = last.start - first.start + last.bytes.length;
  if (last.bytes.buffer !== first.bytes.buffer) return undefined;
  if (last.bytes.byteOffset - first.bytes.byteOffset !== last.start - first.start) return undefined;
  const span = Buffer.from(first.bytes.buffer, first.bytes.byteOffset, length);
  if (!isUtf8(span)) return undefined;
  const lines = span.toString('utf8').split('\n');
  return lines.length === batch.length ? lines : undefined;
}

/**
 * The row's value when the line is a JSON object, from its decoded text; undefined when it is
 * not, or when it may be too long (then `parseLine` decides, with the exact error). The result
 * equals `parseLine`'s: its only other steps (a trailing `\r`, which JSON.parse reads as
 * whitespace; a BOM on line 0, stripped here; empty lines, which JSON.parse rejects) agree.
 */
export function parseDecoded(
  text: string,
  byteLength: number,
  firstLine: boolean,
  maxLineBytes: number,
): Record<string, unknown> | undefined {
  if (byteLength > maxLineBytes) return undefined;
  const body = firstLine && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    const value: unknown = JSON.parse(body);
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // Not JSON: parseLine finds out why.
  }
  return undefined;
}
