/**
 * The CLI's per-row output files: JSON Lines (one object per row, every column present, null
 * where it does not apply) or Parquet with the same columns, written to a temporary file beside
 * the target and renamed into place when complete, so a killed run never leaves half a file
 * under the target's name. A manifest (`<out>.manifest.json`) describes each file. The same
 * module reads them back (merge, sample, export).
 */
import { promises as fsp } from 'node:fs';
import type { SchemaElement } from 'hyparquet';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import { writeFileAtomic } from '../core/dataset/sidecar';
import { fileSha256 } from '../core/dataset/exportKept';
import { tempPathFor } from '../core/jsonl';
import {
  ScoreFileError,
  readScoreManifest,
  readScoreRecords,
  scoreManifestPath,
} from '../core/scoreFiles/scoreFile';
import { CliError, UsageError } from './errors';

export type RecordFormat = 'jsonl' | 'parquet';

/** A column of an output file. */
export interface Column {
  readonly name: string;
  readonly type: 'INT64' | 'DOUBLE' | 'STRING' | 'BOOLEAN';
}

/** `winnow score` rows. */
export const ASKLLM_COLUMNS: readonly Column[] = [
  { name: 'line', type: 'INT64' },
  { name: 'content_hash', type: 'STRING' },
  { name: 'askllm_score', type: 'DOUBLE' },
  { name: 'askllm_status', type: 'STRING' },
  { name: 'askllm_upper_bound', type: 'DOUBLE' },
  { name: 'askllm_error', type: 'STRING' },
  { name: 'askllm_tokens', type: 'INT64' },
  { name: 'askllm_truncated', type: 'BOOLEAN' },
];

/** `winnow density` rows. */
export const DENSITY_COLUMNS: readonly Column[] = [
  { name: 'line', type: 'INT64' },
  { name: 'content_hash', type: 'STRING' },
  { name: 'density_score', type: 'DOUBLE' },
  { name: 'density_status', type: 'STRING' },
  { name: 'density_error', type: 'STRING' },
];

export type OutputRecord = Record<string, string | number | boolean | null>;

/** What a finished output file is. */
export interface OutputFile {
  readonly path: string;
  readonly format: RecordFormat;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

/** The format of `--format`, else of the output's extension (`.parquet`), else JSONL. */
export function outputFormat(flag: string | undefined, out: string): RecordFormat {
  if (flag === undefined) return /\.parquet$/i.test(out) ? 'parquet' : 'jsonl';
  if (flag === 'jsonl' || flag === 'parquet') return flag;
  throw new UsageError(`--format must be jsonl or parquet (got "${flag}")`);
}

/** The manifest path of an output file. */
export function manifestOf(out: string): string {
  return scoreManifestPath(out);
}

/** Writes rows in order to a temporary file; `finish` renames it onto the target. */
export interface RecordSink {
  add(record: OutputRecord): Promise<void>;
  finish(): Promise<OutputFile>;
  /** Removes the temporary file (the target is left as it was). */
  abort(): Promise<void>;
}

/** Opens a sink for `path` in `format` with `columns`. */
export async function openSink(
  path: string,
  format: RecordFormat,
  columns: readonly Column[],
): Promise<RecordSink> {
  try {
    return format === 'parquet'
      ? new ParquetSink(path, columns)
      : await JsonlSink.open(path, columns);
  } catch (e) {
    throw new CliError(`${path} cannot be written: ${(e as Error).message}`);
  }
}

class JsonlSink implements RecordSink {
  private chunk: string[] = [];
  private rows = 0;
  private bytes = 0;

  private constructor(
    private readonly path: string,
    private readonly tmp: string,
    private readonly out: fsp.FileHandle,
    private readonly columns: readonly Column[],
  ) {}

  static async open(path: string, columns: readonly Column[]): Promise<JsonlSink> {
    const tmp = tempPathFor(path);
    return new JsonlSink(path, tmp, await fsp.open(tmp, 'wx'), columns);
  }

  async add(record: OutputRecord): Promise<void> {
    const ordered: OutputRecord = {};
    for (const c of this.columns) ordered[c.name] = record[c.name] ?? null;
    this.chunk.push(`${JSON.stringify(ordered)}\n`);
    this.rows++;
    if (this.chunk.length >= 4096) await this.flush();
  }

  async finish(): Promise<OutputFile> {
    await this.flush();
    await this.out.sync();
    await this.out.close();
    await fsp.rename(this.tmp, this.path);
    const sha256 = await fileSha256(this.path);
    return { path: this.path, format: 'jsonl', rows: this.rows, bytes: this.bytes, sha256 };
  }

  async abort(): Promise<void> {
    await this.out.close().catch(() => undefined);
    await fsp.rm(this.tmp, { force: true });
  }

  private async flush(): Promise<void> {
    if (this.chunk.length === 0) return;
    const buf = Buffer.from(this.chunk.join(''));
    this.chunk = [];
    await this.out.write(buf);
    this.bytes += buf.length;
  }
}

const GROUP_ROWS = 10_000;

function schemaElement(c: Column): SchemaElement {
  if (c.type === 'STRING')
    return {
      name: c.name,
      type: 'BYTE_ARRAY',
      converted_type: 'UTF8',
      repetition_type: 'OPTIONAL',
    };
  return { name: c.name, type: c.type, repetition_type: 'OPTIONAL' };
}

class ParquetSink implements RecordSink {
  private readonly tmp: string;
  private readonly writer: ParquetWriter;
  private group: OutputRecord[] = [];
  private rows = 0;

  constructor(
    private readonly path: string,
    private readonly columns: readonly Column[],
  ) {
    this.tmp = tempPathFor(path);
    const schema: SchemaElement[] = [
      { name: 'root', num_children: columns.length },
      ...columns.map(schemaElement),
    ];
    this.writer = new ParquetWriter({ writer: fileWriter(this.tmp), schema, createdBy: 'winnow' });
  }

  async add(record: OutputRecord): Promise<void> {
    this.group.push(record);
    this.rows++;
    if (this.group.length >= GROUP_ROWS) await this.flush();
  }

  async finish(): Promise<OutputFile> {
    await this.flush();
    await this.writer.finish();
    await fsp.rename(this.tmp, this.path);
    const { size } = await fsp.stat(this.path);
    const sha256 = await fileSha256(this.path);
    return { path: this.path, format: 'parquet', rows: this.rows, bytes: size, sha256 };
  }

  async abort(): Promise<void> {
    await fsp.rm(this.tmp, { force: true });
  }

  private async flush(): Promise<void> {
    if (this.group.length === 0) return;
    const group = this.group;
    this.group = [];
    const columnData = this.columns.map(c => ({
      name: c.name,
      data: group.map(r => {
        const v = r[c.name] ?? null;
        return c.type === 'INT64' && typeof v === 'number' ? BigInt(v) : v;
      }),
    }));
    await this.writer.write({ columnData, rowGroupSize: GROUP_ROWS });
  }
}

/** Reads an output file's rows (JSONL or Parquet), numbers as numbers. */
export async function* readRecords(path: string): AsyncGenerator<OutputRecord> {
  try {
    yield* readScoreRecords(path);
  } catch (e) {
    throw e instanceof ScoreFileError ? new CliError(e.message) : e;
  }
}

/** Writes a manifest atomically (pretty JSON with a final newline). */
export async function writeManifest(path: string, manifest: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Reads the manifest of an output file; a clear error when it is missing or not ours. */
export async function readManifest(out: string): Promise<Record<string, unknown>> {
  try {
    return await readScoreManifest(out);
  } catch (e) {
    throw e instanceof ScoreFileError ? new CliError(e.message) : e;
  }
}

/** How an output file is listed in a manifest. */
export function outputFacts(o: OutputFile): Record<string, unknown> {
  return { file: o.path, format: o.format, rows: o.rows, bytes: o.bytes, sha256: o.sha256 };
}
