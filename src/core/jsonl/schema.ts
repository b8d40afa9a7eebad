/**
 * Training-data shapes: detect the schema of a dataset from a sample of rows, and extract the
 * text that scoring and embedding see.
 *
 * ## Detection
 * Each sample row is classified by the first rule that matches; the most frequent class wins
 * (ties go to the earlier rule). Rows no rule matches do not vote; if none matches, the schema
 * is `unknown`.
 * 1. `openai`:   `messages` is an array (OpenAI chat: `[{role, content}]`, optional top-level
 *                `system` as in Anthropic/Bedrock fine-tuning files);
 * 2. `sharegpt`: `conversations` is an array (`[{from, value}]`);
 * 3. `dolly`:    `instruction` is a string and there is a `response` or `context` field;
 * 4. `alpaca`:   `instruction` is a string and there is an `output` or `input` field;
 * 5. `text`:     `text` is a string (else `content` is a string): pre-training data.
 *
 * ## Override
 * `detectSchema(sample, override)` with a non-empty override gives a `custom` schema:
 * - a template when it contains `{`: `{instruction}\n{input}` replaces each `{path}` with the
 *   value at that field path (missing: empty), `{{` and `}}` are literal braces, and the two-
 *   character sequences `\n` and `\t` become a newline and a tab (so they can be typed in a
 *   one-line settings box);
 * - otherwise a field path such as `data.text` or `messages.0.content` (`messages[0].content`
 *   also works).
 * Values that are not strings are written as JSON (numbers and booleans as themselves).
 *
 * ## Extraction ({@link extractText}), deterministic:
 * - `text`:     the `text` (or `content`) field as is;
 * - `alpaca`:   `instruction`, `input`, `output`, each non-empty one, joined by a blank line;
 * - `dolly`:    `instruction`, `context`, `response`, likewise;
 * - `openai`:   one turn per message, `role: content`, turns joined by a blank line, in file
 *               order. Every role is included (system, user, assistant, tool, ...). A top-level
 *               string `system` comes first as `system: ...`. Content that is an array of parts
 *               contributes its text parts joined by newlines; messages without text (for
 *               example only tool calls) are skipped;
 * - `sharegpt`: as `openai` over `conversations`, with `from` names mapped to chat roles:
 *               `human` -> `user`, `gpt`/`chatgpt`/`bard`/`bing` -> `assistant`; other names
 *               (`system`, `tool`, ...) are kept. `{role, content}` entries are accepted too;
 * - `unknown`, and any row that lacks every field its schema reads: all top-level string
 *   values in key order, joined by a blank line.
 */

export type SchemaKind = 'text' | 'alpaca' | 'dolly' | 'openai' | 'sharegpt' | 'custom' | 'unknown';

export interface SchemaInfo {
  kind: SchemaKind;
  /** Human-readable name, shown to users (for example "Alpaca (instruction/input/output)"). */
  label: string;
  /** Detected top-level fields, in order of first appearance in the sample. */
  fields: string[];
  /** `text`: the field holding the text; `custom` field path: the path. */
  field?: string;
  /** `custom` template: the template as given. */
  template?: string;
}

type Row = Record<string, unknown>;

const RULES: { kind: Exclude<SchemaKind, 'custom' | 'unknown'>; test: (r: Row) => boolean }[] = [
  { kind: 'openai', test: r => Array.isArray(r.messages) },
  { kind: 'sharegpt', test: r => Array.isArray(r.conversations) },
  {
    kind: 'dolly',
    test: r => typeof r.instruction === 'string' && ('response' in r || 'context' in r),
  },
  {
    kind: 'alpaca',
    test: r => typeof r.instruction === 'string' && ('output' in r || 'input' in r),
  },
  { kind: 'text', test: r => typeof r.text === 'string' || typeof r.content === 'string' },
];

const LABELS: Record<Exclude<SchemaKind, 'custom'>, string> = {
  text: 'Text',
  alpaca: 'Alpaca (instruction/input/output)',
  dolly: 'Dolly (instruction/context/response)',
  openai: 'OpenAI chat (messages)',
  sharegpt: 'ShareGPT (conversations)',
  unknown: 'Unknown (all string fields)',
};

/** Detects the schema of `sample` (parsed rows); a non-empty `override` makes it `custom`. */
export function detectSchema(sample: Record<string, unknown>[], override?: string): SchemaInfo {
  const fields = collectFields(sample);
  const o = override?.trim();
  if (o) {
    if (o.includes('{')) return { kind: 'custom', label: `Template: ${o}`, fields, template: o };
    return { kind: 'custom', label: `Field: ${o}`, fields, field: o };
  }
  const votes = new Map<SchemaKind, number>();
  for (const row of sample) {
    const rule = RULES.find(r => r.test(row));
    if (rule) votes.set(rule.kind, (votes.get(rule.kind) ?? 0) + 1);
  }
  let best: SchemaKind = 'unknown';
  let bestVotes = 0;
  for (const { kind } of RULES) {
    const v = votes.get(kind) ?? 0;
    if (v > bestVotes) {
      best = kind;
      bestVotes = v;
    }
  }
  if (best === 'text') {
    const textVotes = sample.filter(r => typeof r.text === 'string').length;
    const field = textVotes > 0 ? 'text' : 'content';
    return { kind: 'text', label: `Text (${field})`, fields, field };
  }
  let label = LABELS[best];
  if (best === 'openai' && sample.some(r => typeof r.system === 'string')) {
    label = 'OpenAI chat (messages, top-level system)';
  }
  return { kind: best, label, fields };
}

/** The text of one row under `schema` (see the module comment for the exact rules). */
export function extractText(value: Record<string, unknown>, schema: SchemaInfo): string {
  switch (schema.kind) {
    case 'text': {
      const v = value[schema.field ?? 'text'];
      return typeof v === 'string' ? v : allStrings(value);
    }
    case 'alpaca':
      return joinFields(value, ['instruction', 'input', 'output']);
    case 'dolly':
      return joinFields(value, ['instruction', 'context', 'response']);
    case 'openai':
      return Array.isArray(value.messages) ? chat(value, value.messages) : allStrings(value);
    case 'sharegpt':
      return Array.isArray(value.conversations)
        ? chat(value, value.conversations)
        : allStrings(value);
    case 'custom':
      if (schema.template !== undefined) return applyTemplate(value, schema.template);
      return stringify(getPath(value, schema.field ?? ''));
    case 'unknown':
      return allStrings(value);
  }
}

/** The value at a dotted field path (`a.b.0.c` or `a.b[0].c`), or undefined. */
export function getPath(value: unknown, path: string): unknown {
  const parts = path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .map(p => p.trim())
    .filter(p => p !== '');
  let cur: unknown = value;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return parts.length === 0 ? undefined : cur;
}

function collectFields(sample: Row[]): string[] {
  const seen = new Set<string>();
  for (const row of sample) for (const k of Object.keys(row)) seen.add(k);
  return [...seen];
}

function stringify(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? '';
}

function joinFields(value: Row, keys: string[]): string {
  if (!keys.some(k => k in value)) return allStrings(value);
  return keys
    .map(k => stringify(value[k]))
    .filter(s => s !== '')
    .join('\n\n');
}

function allStrings(value: Row): string {
  return Object.values(value)
    .filter((v): v is string => typeof v === 'string' && v !== '')
    .join('\n\n');
}

const SHAREGPT_ROLES: Record<string, string> = {
  human: 'user',
  gpt: 'assistant',
  chatgpt: 'assistant',
  bard: 'assistant',
  bing: 'assistant',
};

function chat(value: Row, turns: unknown[]): string {
  const out: string[] = [];
  if (typeof value.system === 'string' && value.system !== '') out.push(`system: ${value.system}`);
  for (const t of turns) {
    if (t === null || typeof t !== 'object') continue;
    const turn = t as Row;
    const rawRole = turn.role ?? turn.from;
    const role =
      typeof rawRole === 'string' ? (SHAREGPT_ROLES[rawRole] ?? rawRole) : stringify(rawRole);
    const text = contentText('content' in turn ? turn.content : turn.value);
    if (text !== '') out.push(`${role || 'unknown'}: ${text}`);
  }
  return out.join('\n\n');
}

/** Text of a message's content: a string, or the text parts of an array of content parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content == null ? '' : stringify(content);
  const parts: string[] = [];
  for (const p of content) {
    if (typeof p === 'string') parts.push(p);
    else if (p !== null && typeof p === 'object' && typeof (p as Row).text === 'string') {
      parts.push((p as Row).text as string);
    }
  }
  return parts.join('\n');
}

function applyTemplate(value: Row, template: string): string {
  const t = template.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
  return t.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (m, path: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    return stringify(getPath(value, path ?? ''));
  });
}
