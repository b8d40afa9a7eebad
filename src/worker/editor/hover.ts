import type { ParsedRow, SchemaInfo } from '../../core/jsonl';
import { codeSpan, escapeMarkdown, formatCount, truncate } from './markdown';

/** Field names listed in a hover before "and N more". */
const maxFieldsShown = 24;
/** Characters of one field name shown. */
const maxFieldChars = 80;

/** Everything the hover shows about one row. */
export interface RowFacts {
  /** 0-based row index. */
  index: number;
  rowCount: number;
  /** True while the file is still being indexed, so `rowCount` may still grow. */
  counting: boolean;
  parsed: ParsedRow;
  /** Byte length of the line (without its newline). */
  bytes: number;
  /** Prefix of the row's content hash (the key later used for cached scores). */
  hash: string;
  schema: SchemaInfo | null;
  jsonArray: boolean;
  /** The file is compressed in this format, so no line can be read. */
  compression?: string | undefined;
  /** Sections contributed by services (scores), already-escaped Markdown, shown first. */
  sections?: readonly string[];
}

/** Renders the hover Markdown for one row. Every piece of data is escaped. */
export function renderRowHover(facts: RowFacts): string {
  const lines: string[] = [];
  const of = facts.counting
    ? `${formatCount(facts.rowCount)}+ (still indexing)`
    : formatCount(facts.rowCount);
  lines.push(`**Winnow** · row ${formatCount(facts.index + 1)} of ${of}`);
  lines.push('');
  for (const section of facts.sections ?? []) {
    lines.push(section);
    lines.push('');
  }
  if (facts.parsed.ok) {
    const fields = Object.keys(facts.parsed.value);
    lines.push(
      `**Parse:** OK: JSON object with ${fields.length} ${fields.length === 1 ? 'field' : 'fields'}`,
    );
    lines.push('');
    lines.push(`**Fields:** ${fieldList(fields)}`);
    if (facts.schema) {
      const missing = facts.schema.fields.filter(f => !fields.includes(f));
      if (missing.length > 0) {
        lines.push('');
        lines.push(`**Missing schema fields:** ${fieldList(missing)}`);
      }
    }
  } else if (facts.parsed.error.kind === 'empty') {
    lines.push('**Parse:** Blank line: no example here (counted apart from invalid lines)');
  } else {
    const { kind, message, column } = facts.parsed.error;
    const where = column !== undefined ? ` at column ${column}` : '';
    lines.push(`**Parse:** Error (${escapeMarkdown(kind)})${where}: ${escapeMarkdown(message)}`);
  }
  lines.push('');
  if (facts.compression) {
    lines.push(`**File:** compressed (${escapeMarkdown(facts.compression)}), not plain JSON Lines`);
  } else if (facts.jsonArray) {
    lines.push('**File:** a pretty-printed JSON array, not JSON Lines');
  } else if (facts.schema) {
    lines.push(`**File schema:** ${escapeMarkdown(facts.schema.label)}`);
    // Known kinds name their fields in the label; list them for the others.
    if (facts.schema.kind === 'custom' || facts.schema.kind === 'unknown') {
      lines.push('');
      lines.push(`**Schema fields:** ${fieldList(facts.schema.fields)}`);
    }
  } else {
    lines.push('**File schema:** not detected yet');
  }
  lines.push('');
  lines.push(
    `**Size:** ${formatCount(facts.bytes)} bytes · **Content hash:** ${codeSpan(facts.hash)}`,
  );
  return lines.join('\n');
}

function fieldList(fields: readonly string[]): string {
  if (fields.length === 0) return '(none)';
  const shown = fields.slice(0, maxFieldsShown).map(f => codeSpan(truncate(f, maxFieldChars)));
  const more = fields.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}
