/**
 * One example in full for the detail panel: the schema's text, chat turns by role (OpenAI
 * `messages`, ShareGPT `conversations`) and the row pretty-printed as JSON, each capped so that a
 * 100 MB line cannot flood the webview. Free of `vscode`.
 */
import { extractText, parseLine, type RawRow, type SchemaInfo } from '../jsonl';
import type { RowDetail, ScoreSourceView } from '../../shared/protocol/webview';
import { chatTurns } from './chatTurns';
import { countChars, countUtf8Chars } from './rowViews';

/** Most characters of text or JSON sent for one row. */
export const DETAIL_CHARS = 200_000;

function cap(text: string, limit: number): { text: string; truncated: boolean } {
  if (text.length <= limit) return { text, truncated: false };
  let cut = limit;
  const c = text.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  return { text: text.slice(0, cut), truncated: true };
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** The detail of one raw row (scores, decision and sources are added by the caller). */
export function rowDetail(
  row: RawRow,
  schema: SchemaInfo,
  maxLineBytes: number,
  sources: ScoreSourceView,
  limit = DETAIL_CHARS,
): RowDetail {
  const parsed = parseLine(row.bytes, { maxLineBytes, firstLine: row.index === 0 });
  if (!parsed.ok) {
    const head = row.bytes.subarray(0, limit * 4);
    const raw = cap(decoder.decode(head), limit);
    return {
      index: row.index,
      text: raw.text,
      textTruncated: raw.truncated || head.length < row.bytes.length,
      raw: raw.text,
      rawTruncated: raw.truncated || head.length < row.bytes.length,
      chars: countUtf8Chars(row.bytes),
      bytes: row.bytes.length,
      fields: [],
      error: {
        kind: parsed.error.kind,
        message: parsed.error.message,
        ...(parsed.error.column !== undefined ? { column: parsed.error.column } : {}),
      },
      sources,
    };
  }
  const full = extractText(parsed.value, schema);
  const text = cap(full, limit);
  const raw = cap(JSON.stringify(parsed.value, null, 2), limit);
  const turns = chatTurns(parsed.value)?.map(t => ({
    role: t.role,
    content: cap(t.content, limit).text,
  }));
  return {
    index: row.index,
    text: text.text,
    textTruncated: text.truncated,
    ...(turns && turns.length ? { turns } : {}),
    raw: raw.text,
    rawTruncated: raw.truncated,
    chars: countChars(full),
    bytes: row.bytes.length,
    fields: Object.keys(parsed.value),
    sources,
  };
}
