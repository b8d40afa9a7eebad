/**
 * Reading the per-row score files of `winnow score`, `winnow density` and `winnow merge`
 * (docs/scores-api.md#score-files-of-the-cli): JSON Lines or Parquet (told apart by Parquet's
 * magic bytes), each with `<file>.manifest.json` beside it. Shared by the CLI (merge, sample,
 * export) and the worker (Import Scores), so both read exactly the format the CLI writes.
 */
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';

/** A file that cannot be read as a winnow score file; the message names the file and why. */
export class ScoreFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScoreFileError';
  }
}

/** One row of a score file (numbers as numbers, absent values as null). */
export type ScoreRecord = Record<string, string | number | boolean | null>;

/** The two kinds of score files. */
export type ScoreFileKind = 'askllm' | 'density';

/** The manifest path of a score file. */
export function scoreManifestPath(file: string): string {
  return `${file}.manifest.json`;
}

/** Whether a file is Parquet (its magic bytes), else it is read as JSON Lines. */
async function isParquet(path: string): Promise<boolean> {
  const fh = await fsp.open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return bytesRead === 4 && head.toString('latin1') === 'PAR1';
  } finally {
    await fh.close();
  }
}

/** Reads a score file's rows (JSONL or Parquet) in file order. */
export async function* readScoreRecords(path: string): AsyncGenerator<ScoreRecord> {
  let parquet: boolean;
  try {
    parquet = await isParquet(path);
  } catch (e) {
    throw new ScoreFileError(`${path} cannot be read: ${(e as Error).message}`);
  }
  if (parquet) {
    let rows: Record<string, unknown>[];
    try {
      rows = (await parquetReadObjects({ file: await asyncBufferFromFile(path) })) as Record<
        string,
        unknown
      >[];
    } catch (e) {
      throw new ScoreFileError(`${path} is not a readable Parquet file: ${(e as Error).message}`);
    }
    for (const r of rows) {
      const out: ScoreRecord = {};
      for (const [k, v] of Object.entries(r))
        out[k] = typeof v === 'bigint' ? Number(v) : (v as ScoreRecord[string]);
      yield out;
    }
    return;
  }
  const fh = await fsp.open(path, 'r');
  try {
    let n = 0;
    for await (const line of fh.readLines()) {
      n++;
      if (line.trim() === '') continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        v = undefined;
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new ScoreFileError(`${path}:${n}: not a JSON object (is this a winnow output file?)`);
      yield v as ScoreRecord;
    }
  } finally {
    await fh.close();
  }
}

/** Reads the manifest beside a score file; a clear error when it is missing or not a manifest. */
export async function readScoreManifest(file: string): Promise<Record<string, unknown>> {
  const path = scoreManifestPath(file);
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch {
    throw new ScoreFileError(
      `${file} has no manifest beside it (${basename(path)}): winnow needs it to know what the file holds`,
    );
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new ScoreFileError(`${path} is not valid JSON`);
  }
  if (typeof m !== 'object' || m === null || (m as { winnow?: unknown }).winnow !== 'scores')
    throw new ScoreFileError(`${path} is not a winnow score manifest`);
  return m as Record<string, unknown>;
}

/** The dataset's name without its `.jsonl` / `.ndjson` extension: `train.jsonl` → `train`. */
function datasetStem(datasetPath: string): string {
  return basename(datasetPath).replace(/\.(jsonl|ndjson)$/i, '');
}

/**
 * The score files picked up beside a dataset (`train.jsonl`): `train.scores.jsonl` or
 * `train.scores.parquet` (ASK-LLM, `winnow score train.jsonl --out train.scores.jsonl`) and
 * `train.density.jsonl` or `train.density.parquet` (`winnow density`), in that order; each
 * counts only with its manifest. The caller checks which exist.
 */
export function scoreFilesBeside(datasetPath: string): { kind: ScoreFileKind; path: string }[] {
  const dir = dirname(datasetPath);
  const stem = datasetStem(datasetPath);
  return [
    { kind: 'askllm', path: join(dir, `${stem}.scores.jsonl`) },
    { kind: 'askllm', path: join(dir, `${stem}.scores.parquet`) },
    { kind: 'density', path: join(dir, `${stem}.density.jsonl`) },
    { kind: 'density', path: join(dir, `${stem}.density.parquet`) },
  ];
}
