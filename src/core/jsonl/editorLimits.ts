/**
 * What VS Code does with a file before any extension sees it, restated from its source so that
 * Winnow can say why a text editor shows nothing of Winnow's:
 *
 * - **Binary.** VS Code's `detectEncodingFromBuffer` (workbench/services/textfile/common/
 *   encoding.ts) looks at the first 512 bytes. Unless a UTF-16 BOM leads, a NUL byte there makes
 *   the file binary, except when the NULs fall on one side of every 16-bit unit (UTF-16 without a
 *   BOM). The text editor then refuses the file and no TextDocument exists. A NUL further on
 *   does not make the file binary.
 * - **Too large.** A text model longer than 50 × 1024 × 1024 UTF-16 code units
 *   (`TextModel._MODEL_SYNC_LIMIT`) is never synced to extensions: no TextDocument, so no hover,
 *   inlay hints or code actions from any extension.
 *
 * Pure: no vscode, no file access.
 */

/** Bytes VS Code reads from the start of a file to decide whether it is binary. */
export const BINARY_PROBE_BYTES = 512;

/** The largest text model (UTF-16 code units) that VS Code syncs to extensions. */
export const SYNC_LIMIT_UTF16 = 50 * 1024 * 1024;

/**
 * The 0-based line of the NUL byte that makes VS Code open the file as binary, or undefined
 * when VS Code opens it as text. `head` is the start of the file (at least 512 bytes, or all).
 */
export function binaryNulLine(head: Uint8Array): number | undefined {
  const at = binaryNulOffset(head);
  if (at === undefined) return undefined;
  let line = 0;
  for (let i = 0; i < at; i++) if (head[i] === 0x0a) line++;
  return line;
}

/** Byte offset of the first NUL when VS Code's check calls the file binary (same loop as VS Code). */
function binaryNulOffset(head: Uint8Array): number | undefined {
  if (head.length >= 2) {
    const [b0, b1] = head;
    if ((b0 === 0xfe && b1 === 0xff) || (b0 === 0xff && b1 === 0xfe)) return undefined;
  }
  let couldBeUtf16le = true;
  let couldBeUtf16be = true;
  let firstZero = -1;
  const n = Math.min(head.length, BINARY_PROBE_BYTES);
  for (let i = 0; i < n; i++) {
    const odd = i % 2 === 1;
    const zero = head[i] === 0;
    if (zero && firstZero < 0) firstZero = i;
    if (couldBeUtf16le && ((odd && !zero) || (!odd && zero))) couldBeUtf16le = false;
    if (couldBeUtf16be && ((odd && zero) || (!odd && !zero))) couldBeUtf16be = false;
    if (zero && !couldBeUtf16le && !couldBeUtf16be) break;
  }
  if (firstZero < 0 || couldBeUtf16le || couldBeUtf16be) return undefined;
  return firstZero;
}

/**
 * Whether a UTF-8 file of `bytes` bytes is over VS Code's sync limit: `'yes'` or `'no'` when the
 * size alone decides (a UTF-16 code unit takes 1 to 3 bytes of UTF-8, two units take 4), or
 * `'count'` when the UTF-16 length must be counted ({@link Utf16Counter}).
 */
export function overSyncLimitBySize(bytes: number): 'yes' | 'no' | 'count' {
  if (bytes <= SYNC_LIMIT_UTF16) return 'no';
  if (bytes > 3 * SYNC_LIMIT_UTF16 + 3) return 'yes';
  return 'count';
}

/**
 * Counts the UTF-16 code units of UTF-8 text fed in chunks of any size: one per byte that is not
 * a continuation byte, two for a 4-byte sequence. A leading BOM is not counted (VS Code hides
 * it). Invalid bytes count as one unit per lead byte, close to VS Code's replacement characters.
 */
export class Utf16Counter {
  private count = 0;
  private started = false;

  add(chunk: Uint8Array): void {
    let i = 0;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
    }
    let units = 0;
    for (; i < chunk.length; i++) {
      const b = chunk[i]!;
      if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1;
    }
    this.count += units;
  }

  /** UTF-16 code units counted so far. */
  get units(): number {
    return this.count;
  }
}

/** "66.0 MB": a byte count in MiB with one decimal, as VS Code's 50 MB limit is meant. */
export function formatMegabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * The file-level message for a file VS Code opens as binary: how many lines are invalid (when
 * known), which line holds the NUL byte, and where to look at the file instead. `inDatasetView`:
 * the message is shown in the dataset view itself, which already reads every line.
 */
export function binaryFileMessage(
  nulLine: number,
  opts: { invalidLines?: number; inDatasetView?: boolean } = {},
): string {
  const n = opts.invalidLines;
  const counted =
    n === undefined ? '' : `${n.toLocaleString('en-US')} invalid ${n === 1 ? 'line' : 'lines'}; `;
  const line = `line ${(nulLine + 1).toLocaleString('en-US')}`;
  const where = opts.inDatasetView
    ? 'This view reads every line.'
    : 'Use the Winnow Dataset View (Winnow: Open in Dataset View), which reads every line.';
  const text =
    `${counted}${line} contains a NUL byte, so VS Code opens this file as binary and its ` +
    `text editor shows nothing of it. ${where}`;
  return text.charAt(0).toUpperCase() + text.slice(1);
}
