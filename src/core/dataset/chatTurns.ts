/**
 * Chat turns of a row: OpenAI `messages` (with a top-level `system`) and ShareGPT
 * `conversations`, by role. Used by the detail panel and by the grid's preview, which leaves out
 * the system prompt (often the same in every row). Free of `vscode`.
 */

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
