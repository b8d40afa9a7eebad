/**
 * Markdown helpers for hovers. Dataset text is data: everything that comes from a file goes
 * through `escapeMarkdown` or `codeSpan`, so a row can never inject links, images or HTML.
 */

/** Shows control characters (newlines, tabs, NUL...) as visible escapes. */
function showControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, c => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Escapes text for a Markdown paragraph: every ASCII punctuation mark that Markdown reads. */
export function escapeMarkdown(text: string): string {
  return showControls(text).replace(/[\\`*_{}[\]()#+\-.!|<>&~:]/g, c => `\\${c}`);
}

/**
 * Wraps text in an inline code span whose fence is longer than any backtick run inside it, so
 * backticks in field names cannot end the span early. Code spans render their content verbatim.
 */
export function codeSpan(text: string): string {
  const body = showControls(text);
  let longest = 0;
  for (const run of body.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  const pad = body.startsWith('`') || body.endsWith('`') || body === '' ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** Cuts text to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Formats an integer with thousands separators (fixed locale, so tests are stable). */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
