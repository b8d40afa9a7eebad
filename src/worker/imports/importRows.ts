/**
 * What the two kinds of Import Scores share (scoreImport.ts validates and dispatches,
 * importKinds.ts writes): the inputs, the matching of score rows to the dataset's rows by content
 * hash, and the provenance and import record of a group of files.
 */
import { scopedScorerKey } from '../../core/askllm';
import {
  ScoreFileError,
  readScoreRecords,
  type ScoreFileKind,
  type ScoreRecord,
} from '../../core/scoreFiles/scoreFile';
import type { ImportedScoresSource } from '../../shared/protocol/worker';
import { extractionScope } from '../askllm/scorerConfig';
import type { ImportRecord, ScoreStore } from '../askllm/scoreStore';
import type { Dataset } from '../dataset/dataset';
import type { DensityService } from '../density/densityService';

/** One score file, read: its path, manifest and what it looked like on disk. */
export interface ScoreFileInput {
  readonly path: string;
  readonly manifest: Record<string, unknown>;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The matched rows of a group of files of one kind. */
export interface MatchedRows {
  /** Valid lines of the dataset per content hash. */
  readonly lines: ReadonlyMap<string, number>;
  records: number;
  matched: number;
  unmatched: number;
  errors: number;
  bounds: number;
}

/** What an import of one kind needs. */
export interface ImportContext {
  readonly dataset: Dataset;
  readonly files: readonly ScoreFileInput[];
  readonly store: ScoreStore;
  readonly density: DensityService;
  readonly importedAt: string;
}

/** The dataset's valid lines per content hash. */
function lineIndex(dataset: Dataset): Map<string, number> {
  const lines = new Map<string, number>();
  for (let i = 0; i < dataset.rows.count; i++)
    if (dataset.rows.ok(i)) {
      const h = dataset.rows.hash(i);
      lines.set(h, (lines.get(h) ?? 0) + 1);
    }
  return lines;
}

const HASH = /^[0-9a-f]{32}$/;

/**
 * Reads every row of the files and hands each matched row to `take`; checks every row is a score
 * row of the kind (a clear error names the file and row otherwise).
 */
export async function matchRows(
  dataset: Dataset,
  kind: ScoreFileKind,
  files: readonly ScoreFileInput[],
  take: (record: ScoreRecord, file: ScoreFileInput, row: number) => void,
): Promise<MatchedRows> {
  const m: MatchedRows = {
    lines: lineIndex(dataset),
    records: 0,
    matched: 0,
    unmatched: 0,
    errors: 0,
    bounds: 0,
  };
  const status = kind === 'askllm' ? 'askllm_status' : 'density_status';
  for (const f of files) {
    let row = 0;
    for await (const r of readScoreRecords(f.path)) {
      row++;
      const hash = r.content_hash;
      if (typeof hash !== 'string' || !HASH.test(hash) || !(status in r))
        throw new ScoreFileError(
          `${f.path}: row ${row} is not a ${kind === 'askllm' ? 'winnow score' : 'winnow density'} ` +
            `row (it needs content_hash and ${status})`,
        );
      m.records++;
      if (!m.lines.has(hash)) {
        m.unmatched++;
        continue;
      }
      m.matched++;
      take(r, f, row);
    }
  }
  if (m.records === 0)
    throw new ScoreFileError(`${files.map(f => f.path).join(', ')}: no score rows in the file`);
  if (m.matched === 0) {
    const src = (files[0].manifest.source as { path?: unknown } | undefined)?.path;
    throw new ScoreFileError(
      `0 of the ${m.records} rows of ${files.map(f => f.path).join(', ')} match a row of ` +
        `${dataset.file.path} by content hash: these are scores of another file` +
        (typeof src === 'string' ? ` (${src})` : '') +
        '. Nothing was imported.',
    );
  }
  return m;
}

/** The provenance shown with imported scores (hover, dataset view). */
export function sourceOf(ctx: ImportContext): ImportedScoresSource {
  const m = ctx.files[0].manifest;
  const shard = m.shard as { count?: number } | null;
  const merged = m.mergedFrom as { shardCount?: number } | undefined;
  const shards = ctx.files.length > 1 ? (shard?.count ?? ctx.files.length) : merged?.shardCount;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const out: ImportedScoresSource = {
    files: ctx.files.map(f => f.path),
    importedAt: ctx.importedAt,
  };
  const put = <K extends keyof ImportedScoresSource>(k: K, v: ImportedScoresSource[K]) => {
    if (v !== undefined) out[k] = v;
  };
  put('createdAt', str(m.createdAt));
  put('engine', str(m.engine));
  put('endpoint', str(m.endpoint));
  put('mode', str(m.mode));
  put('topK', typeof m.topK === 'number' ? m.topK : undefined);
  put('shards', shards);
  put('sourcePath', str((m.source as { path?: unknown } | undefined)?.path));
  return out;
}

/** The import record of a group (what the dataset shows, and when a file counts as changed). */
export function importRecord(ctx: ImportContext, fingerprint?: string): ImportRecord {
  return {
    kind: ctx.files[0].manifest.kind as ScoreFileKind,
    ...(fingerprint ? { fingerprint } : {}),
    files: ctx.files.map(f => ({ path: f.path, size: f.size, mtimeMs: f.mtimeMs })),
    importedAt: ctx.importedAt,
  };
}

/** The cache key imported ASK-LLM scores go under (as `winnow score` caches them). */
export function importKey(dataset: Dataset, scorerKey: string): string {
  return scopedScorerKey(scorerKey, extractionScope(dataset.schema ?? { kind: 'unknown' }));
}
