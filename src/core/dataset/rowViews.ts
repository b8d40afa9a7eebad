/**
 * Turns raw rows from the JSONL engine into what the grid shows: a short single-line preview of
 * the schema's text, lengths and the parse-error badge. Runs in the extension host, one page at a
 * time, so the webview never parses or holds the file.
 */
import { extractText, parseLine, type RawRow, type SchemaInfo } from '../jsonl';
import type { RowView } from '../../shared/protocol/webview';
import { chatTurns } from './chatTurns';

/** Default preview length in characters. */
export const PREVIEW_CHARS = 300;

export interface RowViewOptions {
  readonly maxLineBytes: number;
  readonly previewChars: number;
}

// Line breaks become a visible mark so one grid row shows where the text had several lines; a
// run of breaks (a paragraph break, an empty field between two others) becomes one mark.
const LINE_BREAKS = /[ \t]*(?:(?:\r\n|\r|\n)[ \t]*)+/g;
// Other C0/C1 controls and bidi overrides (which could reorder what the user reads, as in
// "Trojan Source") are shown as U+FFFD.
const UNSAFE_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** A single-line preview of `text`, at most `maxChars` UTF-16 units, not splitting a surrogate pair. */
export function previewText(
  text: string,
  maxChars: number,
): { preview: string; truncated: boolean } {
  // Normalise a bounded slice only: the text may be megabytes long.
  const slice = text.length > maxChars * 2 ? text.slice(0, maxChars * 2) : text;
  let preview = slice
    .replace(LINE_BREAKS, ' ⏎ ')
    .replace(/\t/g, ' ')
    .replace(UNSAFE_CHARS, '\ufffd');
  let truncated = slice.length < text.length;
  if (preview.length > maxChars) {
    let cut = maxChars;
    const code = preview.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--;
    preview = preview.slice(0, cut);
    truncated = true;
  }
  return { preview, truncated };
}

/** Characters (code points) in a string. */
export function countChars(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A low surrogate continues the code point started by the high surrogate before it.
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

/** Code points in UTF-8 bytes without decoding them: every byte that is not a continuation byte. */
export function countUtf8Chars(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] & 0xc0) !== 0x80) n++;
  return n;
}

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

/**
 * What the preview shows: the schema's text, except that a chat leaves out its system turns,
 * which are often the same in every row and would fill every preview with the same words.
 */
function previewSource(value: Record<string, unknown>, schema: SchemaInfo, text: string): string {
  if (schema.kind !== 'openai' && schema.kind !== 'sharegpt') return text;
  const turns = chatTurns(value)?.filter(t => t.role !== 'system');
  if (!turns || turns.length === 0) return text;
  return turns.map(t => `${t.role}: ${t.content}`).join('\n\n');
}

/** The grid's view of one row. */
export function toRowView(row: RawRow, schema: SchemaInfo, opts: RowViewOptions): RowView {
  const parsed = parseLine(row.bytes, {
    maxLineBytes: opts.maxLineBytes,
    firstLine: row.index === 0,
  });
  if (parsed.ok) {
    const text = extractText(parsed.value, schema);
    return {
      index: row.index,
      ...previewText(previewSource(parsed.value, schema, text), opts.previewChars),
      chars: countChars(text),
      bytes: row.bytes.length,
      fields: Object.keys(parsed.value),
    };
  }
  // An invalid row previews its raw text; only the start is decoded (it may be huge).
  const head = row.bytes.subarray(0, opts.previewChars * 4);
  const { preview, truncated } = previewText(decoder.decode(head), opts.previewChars);
  return {
    index: row.index,
    preview,
    truncated: truncated || head.length < row.bytes.length,
    chars: countUtf8Chars(row.bytes),
    bytes: row.bytes.length,
    fields: [],
    error: {
      kind: parsed.error.kind,
      message: parsed.error.message,
      ...(parsed.error.column !== undefined ? { column: parsed.error.column } : {}),
    },
  };
}
