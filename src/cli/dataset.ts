/**
 * A dataset file as the CLI reads it: the JSONL engine's line index (src/core/jsonl; openRowSource,
 * so .jsonl.gz and .jsonl.zst are read decompressed, without unpacking to disk), the schema
 * detected from the same sample as the worker's (the valid rows among the first 200 lines), and
 * a stream of blocks of valid rows with their content hashes and extracted texts, filtered to
 * this process's shard. Rows are keyed exactly as in the extension: `contentHash` of the raw line
 * bytes (decompressed: a compressed file and its plain copy share their cached scores), and the
 * text the worker would score.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  DEFAULT_MAX_LINE_BYTES,
  SCHEMA_SAMPLE_LINES,
  compressedFileMessage,
  contentHash,
  detectSchema,
  extractText,
  fileHeadFacts,
  parseLine,
  openRowSource,
  schemaSample,
  type RowSource,
  type SchemaInfo,
} from '../core/jsonl';
import { CliError } from './errors';
import { inShard, type Shard } from './shard';

/** An open dataset. Close it when done. */
export interface CliDataset {
  readonly path: string;
  /** The rows: a plain file, or a gzip/zstd one read through its decoder (picked by magic bytes). */
  readonly file: RowSource;
  readonly schema: SchemaInfo;
  readonly maxLineBytes: number;
  /** Size and modification time when it was opened (recorded in manifests). */
  readonly bytes: number;
  readonly mtimeMs: number;
  close(): Promise<void>;
}

/** One valid row (a JSON object). */
export interface DatasetRow {
  /** 0-based physical line. */
  readonly index: number;
  readonly hash: string;
  readonly value: Record<string, unknown>;
}

/** Counts over the lines read so far. */
export interface LineCounts {
  /** Physical lines read. */
  lines: number;
  /** Lines that hold a JSON object. */
  valid: number;
  /** Blank lines (not rows). */
  blank: number;
  /** Other lines that are not a JSON object. */
  invalid: number;
  /** Valid rows of other shards. */
  otherShards: number;
}

/** A block of this shard's valid rows, and the counts over every line read so far. */
export interface RowBlock {
  readonly rows: DatasetRow[];
  readonly counts: Readonly<LineCounts>;
}

/** Opens a dataset: checks it is a readable JSON Lines file, indexes it and detects its schema. */
export async function openDataset(
  path: string,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): Promise<CliDataset> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOENT'
        ? `${path}: no such file`
        : `${path} cannot be read: ${(e as Error).message}`,
    );
  }
  if (!st.isFile()) throw new CliError(`${path} is not a regular file`);
  let file: RowSource;
  try {
    file = await openRowSource(path, { maxLineBytes });
  } catch (e) {
    throw new CliError(`${path} cannot be read: ${(e as Error).message}`);
  }
  try {
    // A gzip or zstd file is read decompressed; what is still compressed here (xz) is not read.
    const facts = fileHeadFacts(await file.readHead());
    if (facts.compression)
      throw new CliError(compressedFileMessage(facts.compression, basename(path)));
    await file.whenIndexed();
    const head = await file.readRows(0, Math.min(SCHEMA_SAMPLE_LINES, file.lineCount));
    const schema = detectSchema(schemaSample(head, maxLineBytes));
    return {
      path,
      file,
      schema,
      maxLineBytes,
      bytes: st.size,
      mtimeMs: st.mtimeMs,
      close: () => file.close(),
    };
  } catch (e) {
    await file.close();
    throw e;
  }
}

/** The text of a row that ASK-LLM scores and DENSITY embeds (the worker's extraction). */
export function rowText(ds: CliDataset, row: DatasetRow): string {
  return extractText(row.value, ds.schema);
}

/**
 * This shard's valid rows, in file order, in blocks of at most `blockRows`; the last block may
 * be empty (it still carries the final counts).
 */
export async function* rowBlocks(
  ds: CliDataset,
  shard: Shard,
  blockRows: number,
): AsyncGenerator<RowBlock> {
  const counts: LineCounts = { lines: 0, valid: 0, blank: 0, invalid: 0, otherShards: 0 };
  let rows: DatasetRow[] = [];
  for await (const batch of ds.file.iterateRows(0)) {
    for (const raw of batch) {
      counts.lines = raw.index + 1;
      const parsed = parseLine(raw.bytes, {
        maxLineBytes: ds.maxLineBytes,
        firstLine: raw.index === 0,
      });
      if (!parsed.ok) {
        if (parsed.error.kind === 'empty') counts.blank++;
        else counts.invalid++;
        continue;
      }
      counts.valid++;
      const hash = contentHash(raw.bytes);
      if (!inShard(hash, shard)) {
        counts.otherShards++;
        continue;
      }
      rows.push({ index: raw.index, hash, value: parsed.value });
      if (rows.length >= blockRows) {
        yield { rows, counts: { ...counts } };
        rows = [];
      }
    }
  }
  yield { rows, counts: { ...counts } };
}

/** The schema in manifests and `info`. */
export function schemaFacts(schema: SchemaInfo): Record<string, unknown> {
  return {
    kind: schema.kind,
    label: schema.label,
    fields: schema.fields,
    ...(schema.field !== undefined ? { field: schema.field } : {}),
    ...(schema.template !== undefined ? { template: schema.template } : {}),
  };
}
