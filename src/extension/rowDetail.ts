/**
 * One example in full for the detail panel: the schema's text, chat turns by role (OpenAI
 * `messages`, ShareGPT `conversations`) and the row pretty-printed as JSON, each capped so that a
 * 100 MB line cannot flood the webview. Free of `vscode`.
 */
import { extractText, parseLine, type RawRow, type SchemaInfo } from '../core/jsonl';
import type { RowDetail, ScoreSourceView } from '../shared/webviewProtocol';
import { countChars, countUtf8Chars } from './rowViews';

/** Most characters of text or JSON sent for one row. */
export const DETAIL_CHARS = 200_000;

/** ShareGPT speaker names mapped to chat roles (as the JSONL engine's extraction does). */
const SHAREGPT_ROLES: Record<string, string> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  chatgpt: 'assistant',
  bard: 'assistant',
  bing: 'assistant',
  assistant: 'assistant',
};

function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const parts = content
      .map(p =>
        typeof p === 'string'
          ? p
          : p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string'
            ? (p as { text: string }).text
            : undefined,
      )
      .filter((p): p is string => p !== undefined);
    return parts.length ? parts.join('\n') : undefined;
  }
  if (content === null || content === undefined) return undefined;
  return JSON.stringify(content);
}

/** Chat turns of a row, if it holds a conversation; undefined otherwise. */
export function chatTurns(
  value: Record<string, unknown>,
): { role: string; content: string }[] | undefined {
  const turns: { role: string; content: string }[] = [];
  if (Array.isArray(value.messages)) {
    if (typeof value.system === 'string') turns.push({ role: 'system', content: value.system });
    for (const m of value.messages) {
      if (!m || typeof m !== 'object') continue;
      const msg = m as Record<string, unknown>;
      const role = typeof msg.role === 'string' ? msg.role : 'unknown';
      const text = contentText(msg.content);
      if (text !== undefined) turns.push({ role, content: text });
      else if (msg.tool_calls !== undefined)
        turns.push({ role, content: JSON.stringify(msg.tool_calls, null, 2) });
    }
    return turns;
  }
  if (Array.isArray(value.conversations)) {
    for (const m of value.conversations) {
      if (!m || typeof m !== 'object') continue;
      const msg = m as Record<string, unknown>;
      const speaker =
        typeof msg.from === 'string'
          ? msg.from
          : typeof msg.role === 'string'
            ? msg.role
            : 'unknown';
      const role = SHAREGPT_ROLES[speaker.toLowerCase()] ?? speaker;
      const text = contentText(msg.value ?? msg.content);
      if (text !== undefined) turns.push({ role, content: text });
    }
    return turns;
  }
  return undefined;
}

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
