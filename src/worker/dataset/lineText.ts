/**
 * Helpers that turn a line's raw bytes into editor positions. LSP positions count UTF-16 code
 * units, while the engine hands out UTF-8 bytes; lines longer than `decodeLimit` bytes are not
 * decoded (a 100 MB line would stall the worker), and their end position is an upper bound that
 * VS Code clamps to the real line end.
 */

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Lines up to this many bytes are decoded to compute exact positions. */
export const decodeLimit = 1024 * 1024;

/**
 * Decodes a line's bytes as the editor shows them: without a trailing `\r` (CRLF files) and,
 * on line 0, without the BOM (VS Code hides it; the engine's columns are counted after it).
 */
export function decodeLine(bytes: Uint8Array, firstLine = false): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  let start = 0;
  if (firstLine && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    start = 3;
  }
  return decoder.decode(bytes.subarray(start, end));
}

/** The line's length in UTF-16 code units (exact up to `decodeLimit`, else an upper bound). */
export function lineLengthUtf16(bytes: Uint8Array, firstLine = false): number {
  if (bytes.length > decodeLimit) return bytes.length;
  return decodeLine(bytes, firstLine).length;
}
