/**
 * "Winnow: Export Kept Examples": the kept rows byte for byte in file order (the JSONL engine's
 * atomic exportRows), a manifest beside them (source hash, counts, thresholds, model ids, prompt
 * hash, sketch parameters and seed), and optionally the same rows as JSONL with `askllm_score`
 * and `density_score` added and as Parquet with the same columns. Every file is written to a
 * temporary file in its folder and renamed into place; the temporary files a killed export left
 * behind are removed by the next export to the same folder. Free of `vscode`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import {
  exportRows,
  parseLine,
  removeStaleTempFiles,
  tempPathFor,
  type OutputCompression,
  type RawRow,
  type RowSource,
  type RemovedTempFile,
  type StaleTempOptions,
} from '../jsonl';
import type { DecisionRule } from './decisions';
import type { ScoreColumns } from './scoreColumns';
import { writeFileAtomic } from './sidecar';

/** What to export and where. */
export interface ExportRequest {
  readonly file: RowSource;
  /** Kept rows, ascending. */
  readonly rows: Uint32Array;
  /** The kept rows, byte for byte. */
  readonly target: string;
  /** Compress the kept rows' file (default: plain JSONL). The scored copies stay plain. */
  readonly compression?: OutputCompression;
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
  /** How stale temporary files in the output folders are recognised (tests). */
  readonly staleTemp?: StaleTempOptions;
}

/** One file written by an export. */
export interface ExportOutput {
  readonly kind: 'jsonl' | 'scored-jsonl' | 'parquet' | 'manifest';
  readonly path: string;
  readonly rows: number;
  /** Size of the file (compressed, when it is). */
  readonly bytes: number;
  readonly sha256?: string;
  /** How the file is compressed, if it is. */
  readonly compression?: OutputCompression;
  /** Bytes of JSONL before compression (compressed files only). */
  readonly uncompressedBytes?: number;
}

export interface ExportResult {
  readonly outputs: ExportOutput[];
  readonly manifest: string;
  /** Kept rows that are not valid JSON objects: exported as they are, left out of the scored files. */
  readonly invalidKept: number;
  /** Temporary files of earlier, killed exports that were removed from the output folders. */
  readonly removedTempFiles: readonly RemovedTempFile[];
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
async function* keptRows(file: RowSource, rows: Uint32Array): AsyncGenerator<RawRow> {
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
 * the manifest is written last, so a manifest always describes complete outputs. Temporary files
 * that an earlier, killed export left in the output folders are removed first.
 */
export async function exportKept(req: ExportRequest): Promise<ExportResult> {
  const { file, rows } = req;
  const progress = req.onProgress ?? (() => undefined);
  const cancelled = () => {
    if (req.signal?.aborted) throw new Error('The export was cancelled.');
  };
  const manifest = req.manifest ?? manifestPath(req.target);
  const removedTempFiles = await removeStaleTemps(
    [req.target, req.scoredJsonl, req.parquet, manifest],
    req.staleTemp,
  );

  progress(`Writing ${rows.length.toLocaleString('en-US')} kept rows`);
  const main = await exportRows(file, rows, req.target, {
    ...(req.compression ? { compression: req.compression } : {}),
  });
  const outputs: ExportOutput[] = [
    {
      kind: 'jsonl',
      path: req.target,
      rows: main.rows,
      bytes: main.bytes,
      sha256: await fileSha256(req.target),
      ...(req.compression
        ? { compression: req.compression, uncompressedBytes: main.contentBytes }
        : {}),
    },
  ];
  cancelled();

  let invalidKept = 0;
  if (req.scoredJsonl || req.parquet) {
    progress('Reading the kept rows');
    const layout = await keptColumns(file, rows, req.maxLineBytes);
    invalidKept = layout.invalid;
    cancelled();
    progress('Writing the scored copies');
    outputs.push(...(await writeScoredCopies(req, layout, cancelled)));
  }

  progress('Hashing the source file');
  const sourceSha = await fileSha256(file.path);
  const askllm = req.scores?.askllm?.values;
  const text = JSON.stringify(buildManifest(req, outputs, sourceSha, invalidKept, askllm), null, 2);
  await writeFileAtomic(manifest, text + '\n');
  outputs.push({ kind: 'manifest', path: manifest, rows: 0, bytes: Buffer.byteLength(text) + 1 });
  return { outputs, manifest, invalidKept, removedTempFiles };
}

/** Removes stale temporary files of ours from the folders of `paths` (each folder once). */
async function removeStaleTemps(
  paths: readonly (string | undefined)[],
  opts: StaleTempOptions | undefined,
): Promise<RemovedTempFile[]> {
  const folders = new Set(paths.filter((p): p is string => !!p).map(p => dirname(p)));
  const removed: RemovedTempFile[] = [];
  for (const folder of folders) removed.push(...(await removeStaleTempFiles(folder, opts)));
  return removed;
}

/** The columns of the kept rows and their kinds (Parquet needs the schema before the first row). */
interface KeptLayout {
  /** Column names in first-seen order, without the score columns. */
  readonly columns: string[];
  readonly kindOf: (name: string) => ColumnKind;
  /** Kept rows that are not valid JSON objects. */
  readonly invalid: number;
}

/** Pass 1 over the kept rows: their columns and the kind of each. */
async function keptColumns(
  file: RowSource,
  rows: Uint32Array,
  maxLineBytes: number,
): Promise<KeptLayout> {
  const names: string[] = [];
  // null: only nulls seen so far; a conflict between kinds makes the column JSON.
  const kinds = new Map<string, ColumnKind | null>();
  let invalid = 0;
  for await (const r of keptRows(file, rows)) {
    const p = parseLine(r.bytes, { maxLineBytes, firstLine: r.index === 0 });
    if (!p.ok) {
      invalid++;
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
  const columns = names.filter(n => n !== 'askllm_score' && n !== 'density_score');
  // A column of nulls only is written as strings.
  return { columns, kindOf: n => kinds.get(n) ?? 'STRING', invalid };
}

/** Pass 2: the scored JSONL and the Parquet file together, each through a temporary file. */
async function writeScoredCopies(
  req: ExportRequest,
  layout: KeptLayout,
  cancelled: () => void,
): Promise<ExportOutput[]> {
  const jsonl = req.scoredJsonl ? await ScoredJsonlSink.open(req.scoredJsonl) : undefined;
  const parquet = req.parquet ? new ParquetSink(req.parquet, layout) : undefined;
  const askllm = req.scores?.askllm?.values;
  const density = req.scores?.density?.values;
  try {
    for await (const r of keptRows(req.file, req.rows)) {
      const p = parseLine(r.bytes, { maxLineBytes: req.maxLineBytes, firstLine: r.index === 0 });
      if (!p.ok) continue;
      const scores: RowScores = [scoreAt(askllm, r.index), scoreAt(density, r.index)];
      await jsonl?.add(p.value, scores);
      await parquet?.add(p.value, scores);
    }
    cancelled();
    const outputs: ExportOutput[] = [];
    if (jsonl) outputs.push(await jsonl.finish());
    if (parquet) outputs.push(await parquet.finish(req.rows.length - layout.invalid));
    return outputs;
  } catch (e) {
    await jsonl?.abort();
    await parquet?.abort();
    throw e;
  }
}

/** A row's ASK-LLM and DENSITY scores (null: none). */
type RowScores = [number | null, number | null];

/** The JSONL copy with `askllm_score` and `density_score` added, written in large chunks. */
class ScoredJsonlSink {
  private lines: string[] = [];
  private rows = 0;
  private bytes = 0;

  private constructor(
    private readonly path: string,
    private readonly tmp: string,
    private readonly out: fsp.FileHandle,
  ) {}

  static async open(path: string): Promise<ScoredJsonlSink> {
    const tmp = tempPathFor(path);
    return new ScoredJsonlSink(path, tmp, await fsp.open(tmp, 'wx'));
  }

  async add(value: Record<string, unknown>, [a, d]: RowScores): Promise<void> {
    this.lines.push(JSON.stringify({ ...value, askllm_score: a, density_score: d }) + '\n');
    this.rows++;
    if (this.lines.length >= 4096) await this.flush();
  }

  async finish(): Promise<ExportOutput> {
    await this.flush();
    await this.out.sync();
    await this.out.close();
    await fsp.rename(this.tmp, this.path);
    const sha256 = await fileSha256(this.path);
    return { kind: 'scored-jsonl', path: this.path, rows: this.rows, bytes: this.bytes, sha256 };
  }

  async abort(): Promise<void> {
    await this.out.close().catch(() => undefined);
    await fsp.rm(this.tmp, { force: true }).catch(() => undefined);
  }

  private async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const buf = Buffer.from(this.lines.join(''));
    await this.out.write(buf);
    this.bytes += buf.length;
    this.lines = [];
  }
}

/** Rows per Parquet row group. */
const PARQUET_GROUP_ROWS = 10_000;

/** The Parquet copy: the kept rows' columns plus the two scores, a row group at a time. */
class ParquetSink {
  private readonly tmp: string;
  private readonly writer: ParquetWriter;
  private group: Record<string, unknown>[] = [];
  private groupScores: RowScores[] = [];

  constructor(
    private readonly path: string,
    private readonly layout: KeptLayout,
  ) {
    this.tmp = tempPathFor(path);
    const schema: SchemaElement[] = [
      { name: 'root', num_children: layout.columns.length + 2 },
      ...layout.columns.map(n => schemaElement(n, layout.kindOf(n))),
      { name: 'askllm_score', type: 'FLOAT', repetition_type: 'OPTIONAL' },
      { name: 'density_score', type: 'FLOAT', repetition_type: 'OPTIONAL' },
    ];
    this.writer = new ParquetWriter({ writer: fileWriter(this.tmp), schema, createdBy: 'winnow' });
  }

  async add(value: Record<string, unknown>, scores: RowScores): Promise<void> {
    this.group.push(value);
    this.groupScores.push(scores);
    if (this.group.length >= PARQUET_GROUP_ROWS) await this.flush();
  }

  async finish(rows: number): Promise<ExportOutput> {
    await this.flush();
    await this.writer.finish();
    await fsp.rename(this.tmp, this.path);
    const { size } = await fsp.stat(this.path);
    const sha256 = await fileSha256(this.path);
    return { kind: 'parquet', path: this.path, rows, bytes: size, sha256 };
  }

  async abort(): Promise<void> {
    await fsp.rm(this.tmp, { force: true }).catch(() => undefined);
  }

  private async flush(): Promise<void> {
    if (this.group.length === 0) return;
    const group = this.group;
    const columnData = [
      ...this.layout.columns.map(n => ({ name: n, data: group.map(o => o[n] ?? null) })),
      { name: 'askllm_score', data: this.groupScores.map(s => s[0]) },
      { name: 'density_score', data: this.groupScores.map(s => s[1]) },
    ];
    await this.writer.write({ columnData, rowGroupSize: PARQUET_GROUP_ROWS });
    this.group = [];
    this.groupScores = [];
  }
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
  return {
    winnow: 'export',
    version: 1,
    createdAt: new Date().toISOString(),
    source: {
      path: req.file.path,
      bytes: req.file.totalBytes,
      rows: req.file.lineCount,
      sha256: sourceSha,
      compression: req.file.compression ?? null,
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
    thresholds: manifestThresholds(req, askllm),
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
          health: a.meta.health ?? null,
        }
      : null,
    distilled: distilledFacts(req, askllm),
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
      compression: o.compression ?? null,
      ...(o.uncompressedBytes !== undefined ? { uncompressedBytes: o.uncompressedBytes } : {}),
    })),
  };
}

/**
 * The distilled scorer beside the judge (docs/judge.md#distilled-scorer), when the view had one:
 * how it was fitted, and how many exported rows have a distilled score but no judge score (their
 * decision could only rest on the distilled score). Thresholds and score ranges above are the
 * judge's only; rules that used distilled scores are listed.
 */
function distilledFacts(
  req: ExportRequest,
  askllm: Float32Array | undefined,
): Record<string, unknown> | null {
  const t = req.scores?.distilled;
  if (!t) return null;
  let distilledOnly = 0;
  let both = 0;
  for (const r of req.rows) {
    const v = t.values[r];
    if (v !== v) continue;
    const a = askllm?.[r] ?? NaN;
    if (a === a) both++;
    else distilledOnly++;
  }
  const m = t.meta;
  return {
    scorerKey: m.scorerKey,
    note: 'distilled scores are not judge scores; every threshold above is on judge scores',
    judge: m.judge,
    embedder: m.embedder,
    fit: {
      model: m.model,
      lambda: m.lambda,
      sample: m.sample,
      sampling: m.sampling,
      heldOutSpearman: m.heldOutSpearman,
      outOfSampleSpearman: m.outOfSampleSpearman,
      auc: m.auc,
      createdAt: m.createdAt,
    },
    scoredRows: t.scored,
    exportedWithDistilledScoreOnly: distilledOnly,
    exportedWithBothScores: both,
    rulesUsingDistilledScores: req.rules.filter(r => JSON.stringify(r).includes('distilled')),
  };
}

/** The manifest's thresholds: the last top-k%, calibrated-threshold and DENSITY-sample rules. */
function manifestThresholds(
  req: ExportRequest,
  askllm: Float32Array | undefined,
): Record<string, unknown> {
  const last = (kind: string) => [...req.rules].reverse().find(r => r.kind === kind);
  const top = last('topPercent');
  const sample = last('densitySample');
  const calibrated = last('threshold');
  return {
    askllmTopPercent: top?.percent ?? null,
    askllmMinScore: top?.threshold ?? null,
    askllmCalibratedThreshold: calibrated
      ? {
          threshold: calibrated.threshold ?? null,
          targetPrecision: calibrated.targetPrecision ?? null,
          auc: calibrated.auc ?? null,
          labels: calibrated.labels ?? null,
        }
      : null,
    keptAskllmScores: keptScoreRange(req.rows, askllm) ?? null,
    densitySampleSize: sample?.count ?? null,
    densitySampleSeed: sample?.seed ?? null,
  };
}
