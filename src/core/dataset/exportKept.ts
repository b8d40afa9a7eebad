/**
 * "Winnow: Export Kept Examples": the kept rows byte for byte in file order (the JSONL engine's
 * atomic exportRows), a manifest beside them (source hash, counts, thresholds, model ids, prompt
 * hash, sketch parameters and seed), and optionally the same rows as JSONL with `askllm_score`
 * and `density_score` added and as Parquet with the same columns. Every file is written to a
 * temporary file in its folder and renamed into place. Free of `vscode`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { exportRows, parseLine, type JsonlFile, type RawRow } from '../jsonl';
import type { DecisionRule } from './decisions';
import type { ScoreColumns } from './scoreColumns';
import { writeFileAtomic } from './sidecar';

/** What to export and where. */
export interface ExportRequest {
  readonly file: JsonlFile;
  /** Kept rows, ascending. */
  readonly rows: Uint32Array;
  /** The kept rows, byte for byte. */
  readonly target: string;
  /** Optional: JSONL with `askllm_score` and `density_score` added. */
  readonly scoredJsonl?: string;
  /** Optional: Parquet with the same columns as `scoredJsonl`. */
  readonly parquet?: string;
  /** The manifest (default: `<target>.manifest.json`). */
  readonly manifest?: string;
  readonly scores?: ScoreColumns;
  readonly counts: { readonly keep: number; readonly drop: number; readonly undecided: number };
  readonly rules: readonly DecisionRule[];
  readonly sidecar?: string;
  readonly maxLineBytes: number;
  /** Reports what runs (for a progress notification). */
  readonly onProgress?: (message: string) => void;
  /** Aborts the export (the target is left as it was). */
  readonly signal?: AbortSignal;
}

/** One file written by an export. */
export interface ExportOutput {
  readonly kind: 'jsonl' | 'scored-jsonl' | 'parquet' | 'manifest';
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256?: string;
}

export interface ExportResult {
  readonly outputs: ExportOutput[];
  readonly manifest: string;
  /** Kept rows that are not valid JSON objects: exported as they are, left out of the scored files. */
  readonly invalidKept: number;
}

/** Default manifest path of an export target. */
export function manifestPath(target: string): string {
  return `${target}.manifest.json`;
}

/** SHA-256 (hex) of a file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The shortest decimal that reads back as the same float32 (0.83 rather than 0.829999983). */
export function float32Number(v: number): number {
  const f = Math.fround(v);
  for (let p = 6; p < 10; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return f;
}

function scoreAt(values: Float32Array | undefined, row: number): number | null {
  if (!values || row >= values.length) return null;
  const v = values[row];
  return Number.isNaN(v) ? null : float32Number(v);
}

/** Kept rows in file order, read sequentially from the first kept row to the last. */
async function* keptRows(file: JsonlFile, rows: Uint32Array): AsyncGenerator<RawRow> {
  if (rows.length === 0) return;
  let k = 0;
  const last = rows[rows.length - 1];
  for await (const batch of file.iterateRows(rows[0])) {
    for (const r of batch) {
      if (r.index === rows[k]) {
        yield r;
        k++;
        if (k === rows.length) return;
      }
      if (r.index >= last) return;
    }
  }
}

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
}

/** What a parquet column holds, from the values seen. */
type ColumnKind = 'STRING' | 'DOUBLE' | 'BOOLEAN' | 'JSON';

function kindOf(v: unknown): ColumnKind | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return 'STRING';
  if (typeof v === 'number') return 'DOUBLE';
  if (typeof v === 'boolean') return 'BOOLEAN';
  return 'JSON';
}

/**
 * Exports the kept rows. The byte-for-byte file comes first (it is what most users want); the
 * scored JSONL and Parquet files, when asked for, come from one more pass over the kept rows;
 * the manifest is written last, so a manifest always describes complete outputs.
 */
export async function exportKept(req: ExportRequest): Promise<ExportResult> {
  const { file, rows } = req;
  const progress = req.onProgress ?? (() => undefined);
  const cancelled = () => {
    if (req.signal?.aborted) throw new Error('The export was cancelled.');
  };
  const outputs: ExportOutput[] = [];

  progress(`Writing ${rows.length.toLocaleString('en-US')} kept rows`);
  const main = await exportRows(file, rows, req.target);
  outputs.push({
    kind: 'jsonl',
    path: req.target,
    rows: main.rows,
    bytes: main.bytes,
    sha256: await fileSha256(req.target),
  });
  cancelled();

  let invalidKept = 0;
  const askllm = req.scores?.askllm?.values;
  const density = req.scores?.density?.values;
  if (req.scoredJsonl || req.parquet) {
    // Pass 1: the columns and their types (Parquet needs the schema before the first row).
    progress('Reading the kept rows');
    const names: string[] = [];
    // null: only nulls seen so far; a conflict between kinds makes the column JSON.
    const kinds = new Map<string, ColumnKind | null>();
    for await (const r of keptRows(file, rows)) {
      const p = parseLine(r.bytes, { maxLineBytes: req.maxLineBytes, firstLine: r.index === 0 });
      if (!p.ok) {
        invalidKept++;
        continue;
      }
      for (const [key, v] of Object.entries(p.value)) {
        if (!kinds.has(key)) {
          names.push(key);
          kinds.set(key, null);
        }
        const k = kindOf(v);
        if (!k) continue;
        const seen = kinds.get(key);
        if (seen === null) kinds.set(key, k);
        else if (seen !== k) kinds.set(key, 'JSON');
      }
    }
    cancelled();
    const columns = names.filter(n => n !== 'askllm_score' && n !== 'density_score');
    // A column of nulls only is written as strings.
    const kindFor = (n: string): ColumnKind => kinds.get(n) ?? 'STRING';

    // Pass 2: write both files together.
    progress('Writing the scored copies');
    const jsonlTmp = req.scoredJsonl ? tempPath(req.scoredJsonl) : undefined;
    const jsonlOut = jsonlTmp ? await fsp.open(jsonlTmp, 'wx') : undefined;
    const parquetTmp = req.parquet ? tempPath(req.parquet) : undefined;
    const schema: SchemaElement[] = [
      { name: 'root', num_children: columns.length + 2 },
      ...columns.map(n => schemaElement(n, kindFor(n))),
      { name: 'askllm_score', type: 'FLOAT', repetition_type: 'OPTIONAL' },
      { name: 'density_score', type: 'FLOAT', repetition_type: 'OPTIONAL' },
    ];
    const writer = parquetTmp
      ? new ParquetWriter({ writer: fileWriter(parquetTmp), schema, createdBy: 'winnow' })
      : undefined;
    let ok = false;
    let jsonlRows = 0;
    let jsonlBytes = 0;
    try {
      const GROUP = 10_000;
      let group: Record<string, unknown>[] = [];
      let groupScores: [number | null, number | null][] = [];
      const flushGroup = async () => {
        if (!writer || group.length === 0) return;
        const columnData = [
          ...columns.map(n => ({
            name: n,
            data: group.map(o => o[n] ?? null),
          })),
          { name: 'askllm_score', data: groupScores.map(s => s[0]) },
          { name: 'density_score', data: groupScores.map(s => s[1]) },
        ];
        await writer.write({ columnData, rowGroupSize: GROUP });
        group = [];
        groupScores = [];
      };
      let lines: string[] = [];
      const flushLines = async () => {
        if (!jsonlOut || lines.length === 0) return;
        const buf = Buffer.from(lines.join(''));
        await jsonlOut.write(buf);
        jsonlBytes += buf.length;
        lines = [];
      };
      for await (const r of keptRows(file, rows)) {
        const p = parseLine(r.bytes, { maxLineBytes: req.maxLineBytes, firstLine: r.index === 0 });
        if (!p.ok) continue;
        const a = scoreAt(askllm, r.index);
        const d = scoreAt(density, r.index);
        if (jsonlOut) {
          lines.push(JSON.stringify({ ...p.value, askllm_score: a, density_score: d }) + '\n');
          jsonlRows++;
          if (lines.length >= 4096) await flushLines();
        }
        if (writer) {
          group.push(p.value);
          groupScores.push([a, d]);
          if (group.length >= GROUP) await flushGroup();
        }
      }
      cancelled();
      await flushLines();
      await flushGroup();
      if (jsonlOut) {
        await jsonlOut.sync();
        await jsonlOut.close();
        await fsp.rename(jsonlTmp!, req.scoredJsonl!);
        outputs.push({
          kind: 'scored-jsonl',
          path: req.scoredJsonl!,
          rows: jsonlRows,
          bytes: jsonlBytes,
          sha256: await fileSha256(req.scoredJsonl!),
        });
      }
      if (writer) {
        await writer.finish();
        await fsp.rename(parquetTmp!, req.parquet!);
        const stat = await fsp.stat(req.parquet!);
        outputs.push({
          kind: 'parquet',
          path: req.parquet!,
          rows: rows.length - invalidKept,
          bytes: stat.size,
          sha256: await fileSha256(req.parquet!),
        });
      }
      ok = true;
    } finally {
      if (!ok) {
        await jsonlOut?.close().catch(() => undefined);
        if (jsonlTmp) await fsp.rm(jsonlTmp, { force: true }).catch(() => undefined);
        if (parquetTmp) await fsp.rm(parquetTmp, { force: true }).catch(() => undefined);
      }
    }
  }

  progress('Hashing the source file');
  const sourceSha = await fileSha256(file.path);
  const manifest = req.manifest ?? manifestPath(req.target);
  const text = JSON.stringify(buildManifest(req, outputs, sourceSha, invalidKept, askllm), null, 2);
  await writeFileAtomic(manifest, text + '\n');
  outputs.push({ kind: 'manifest', path: manifest, rows: 0, bytes: Buffer.byteLength(text) + 1 });
  return { outputs, manifest, invalidKept };
}

function schemaElement(name: string, kind: ColumnKind): SchemaElement {
  switch (kind) {
    case 'STRING':
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' };
    case 'DOUBLE':
      return { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' };
    case 'BOOLEAN':
      return { name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' };
    case 'JSON':
      return { name, type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' };
  }
}

/** The lowest and highest ASK-LLM score among the kept rows. */
function keptScoreRange(
  rows: Uint32Array,
  values: Float32Array | undefined,
): { min: number; max: number; scored: number } | undefined {
  if (!values) return undefined;
  let min = Infinity;
  let max = -Infinity;
  let scored = 0;
  for (let i = 0; i < rows.length; i++) {
    const v = values[rows[i]];
    if (!(v === v)) continue;
    scored++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return scored ? { min: float32Number(min), max: float32Number(max), scored } : undefined;
}

function buildManifest(
  req: ExportRequest,
  outputs: ExportOutput[],
  sourceSha: string,
  invalidKept: number,
  askllm: Float32Array | undefined,
): Record<string, unknown> {
  const a = req.scores?.askllm;
  const d = req.scores?.density;
  const top = [...req.rules].reverse().find(r => r.kind === 'topPercent');
  const sample = [...req.rules].reverse().find(r => r.kind === 'densitySample');
  return {
    winnow: 'export',
    version: 1,
    createdAt: new Date().toISOString(),
    source: {
      path: req.file.path,
      bytes: req.file.totalBytes,
      rows: req.file.lineCount,
      sha256: sourceSha,
    },
    decisions: req.sidecar ?? null,
    counts: {
      rows: req.file.lineCount,
      kept: req.counts.keep,
      dropped: req.counts.drop,
      undecided: req.counts.undecided,
      exported: req.rows.length,
      keptInvalid: invalidKept,
    },
    thresholds: {
      askllmTopPercent: top?.percent ?? null,
      askllmMinScore: top?.threshold ?? null,
      keptAskllmScores: keptScoreRange(req.rows, askllm) ?? null,
      densitySampleSize: sample?.count ?? null,
      densitySampleSeed: sample?.seed ?? null,
    },
    rules: req.rules,
    askllm: a
      ? {
          model: a.meta.model,
          dtype: a.meta.dtype,
          promptName: a.meta.promptName,
          promptHash: a.meta.promptHash,
          answerTokens: a.meta.answerTokens,
          maxTokens: a.meta.maxTokens,
          variant: a.meta.variant,
          device: a.meta.device ?? null,
          scoredRows: a.scored,
        }
      : null,
    density: d
      ? {
          model: d.meta.model,
          sketch: {
            rows: d.meta.rows,
            buckets: d.meta.buckets,
            hashesPerRow: d.meta.hashesPerRow,
            bandwidth: d.meta.bandwidth,
          },
          seed: d.meta.seed,
        }
      : null,
    outputs: outputs.map(o => ({
      kind: o.kind,
      file: basename(o.path),
      rows: o.rows,
      bytes: o.bytes,
      sha256: o.sha256 ?? null,
    })),
  };
}
