/**
 * The one sample a file's schema is detected from, by the extension host and the worker alike,
 * so that the two can never disagree: the rows among the first {@link SCHEMA_SAMPLE_LINES} lines
 * that parse as JSON objects (none: the schema is `unknown`).
 */
import type { RawRow } from './jsonlFile';
import { parseLine } from './parseLine';
import type { RowSource } from './rowSource';
import { detectSchema, type SchemaInfo } from './schema';

/** Lines at the top of the file whose valid rows make the schema sample. */
export const SCHEMA_SAMPLE_LINES = 200;

/** The schema sample among `rows` (rows past the first {@link SCHEMA_SAMPLE_LINES} are ignored). */
export function schemaSample(
  rows: readonly RawRow[],
  maxLineBytes: number,
): Record<string, unknown>[] {
  const sample: Record<string, unknown>[] = [];
  for (const r of rows) {
    if (r.index >= SCHEMA_SAMPLE_LINES) continue;
    const parsed = parseLine(r.bytes, { maxLineBytes, firstLine: r.index === 0 });
    if (parsed.ok) sample.push(parsed.value);
  }
  return sample;
}

/**
 * Reads the first {@link SCHEMA_SAMPLE_LINES} rows of `file` (waiting only for those to be
 * indexed) and detects the schema from their sample; the rows are returned too.
 */
export async function sampleFileSchema(
  file: RowSource,
  maxLineBytes: number,
): Promise<{ schema: SchemaInfo; rows: RawRow[] }> {
  const rows = await file.readRows(0, SCHEMA_SAMPLE_LINES);
  return { schema: detectSchema(schemaSample(rows, maxLineBytes)), rows };
}
