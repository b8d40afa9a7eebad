/**
 * Import Scores (docs/scores-api.md#importing-score-files): the per-row outputs of `winnow score`,
 * `winnow density` and `winnow merge`, made on a cluster or another machine, go into this
 * worker's caches, matched to the open dataset's rows by content hash (the key of every cache),
 * so they show in the dataset view, the hover, inlay hints, histograms and sampling exactly like
 * scores computed here.
 *
 * - ASK-LLM rows are appended to the score cache under the manifest's scorer key (narrowed by the
 *   extraction scope, as `winnow score` itself caches them), and the scorer is registered like any
 *   other (fingerprint `["import", scorerKey]`, its meta carrying the manifest's model, engine
 *   and prompt). The dataset then shows that scorer until the user scores it here.
 * - DENSITY rows become the dataset's stored DENSITY results (the `.wndr` file).
 *
 * Validation comes first and nothing is written for a file that fails it: a file without a
 * winnow manifest, rows that are not score rows, shard files of different runs, scores made with
 * another text extraction, and files none of whose rows match the dataset (scores of another
 * file). Rows whose hash matches no row are counted and reported, never attached to a row.
 */
import { stat } from 'node:fs/promises';
import { scopedScorerKey } from '../../core/askllm';
import {
  ScoreFileError,
  readScoreManifest,
  readScoreRecords,
  type ScoreFileKind,
  type ScoreRecord,
} from '../../core/scoreFiles/scoreFile';
import type { ImportedScoresSource, ImportSummary } from '../../shared/protocol/worker';
import { extractionScope } from '../askllm/scorerConfig';
import type { ImportRecord, ScoreStore } from '../askllm/scoreStore';
import type { Dataset } from '../dataset/dataset';
import type { DensityService } from '../density/densityService';
import { importAskLlm, importDensity } from './importKinds';

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

/** Reads a file's manifest and checks it is a score file of a kind Winnow imports. */
async function inputOf(path: string): Promise<ScoreFileInput> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    throw new ScoreFileError(`${path} cannot be read: ${(e as Error).message}`);
  }
  if (!info.isFile()) throw new ScoreFileError(`${path} is not a file`);
  const manifest = await readScoreManifest(path);
  if (manifest.kind !== 'askllm' && manifest.kind !== 'density')
    throw new ScoreFileError(
      `${path}: its manifest holds "${String(manifest.kind)}" scores; Winnow imports the ASK-LLM ` +
        'scores of winnow score and the DENSITY scores of winnow density',
    );
  return { path, manifest, size: info.size, mtimeMs: info.mtimeMs };
}

/** The manifest fields that must agree between files imported together, by kind. */
const SAME: Record<ScoreFileKind, readonly string[]> = {
  askllm: ['scorerKey', 'model', 'engine'],
  density: ['embedderKey', 'model', 'sketch', 'textMode'],
};

/** Checks that files of one kind come from one run, and that they read the text as we do. */
function checkGroup(dataset: Dataset, kind: ScoreFileKind, files: readonly ScoreFileInput[]): void {
  const first = files[0];
  if (kind === 'askllm' && typeof first.manifest.scorerKey !== 'string')
    throw new ScoreFileError(`${first.path}: its manifest has no scorer key`);
  for (const f of files.slice(1))
    for (const key of SAME[kind])
      if (JSON.stringify(f.manifest[key]) !== JSON.stringify(first.manifest[key]))
        throw new ScoreFileError(
          `${f.path} was made with another ${key} than ${first.path}: import the files of one run together`,
        );
  const ours = extractionScope(dataset.schema ?? { kind: 'unknown' });
  for (const f of files) {
    const schema = f.manifest.schema as { kind?: unknown; label?: unknown } | undefined;
    if (!schema || typeof schema.kind !== 'string')
      throw new ScoreFileError(`${f.path}: its manifest does not say how the text was read`);
    if (extractionScope(schema as { kind: string }) !== ours)
      throw new ScoreFileError(
        `${f.path} scored the rows read as ${String(schema.label ?? schema.kind)}, but this ` +
          `file is read as ${dataset.schema?.label ?? 'unknown'}: those scores are of other texts`,
      );
  }
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
      `None of the ${m.records} rows of ${files.map(f => f.path).join(', ')} matches a row of ` +
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

/**
 * Imports score files for an open, validated dataset. Files of both kinds may come together (one
 * group each). Throws {@link ScoreFileError} for a file that fails validation: then nothing of
 * that kind is written.
 */
export async function importScoreFiles(
  dataset: Dataset,
  paths: readonly string[],
  deps: { store: ScoreStore; density: DensityService },
): Promise<ImportSummary[]> {
  if (paths.length === 0) throw new ScoreFileError('No score files were given.');
  const inputs = [];
  for (const p of new Set(paths)) inputs.push(await inputOf(p));
  const importedAt = new Date().toISOString();
  const out: ImportSummary[] = [];
  for (const kind of ['askllm', 'density'] as const) {
    const files = inputs.filter(f => f.manifest.kind === kind);
    if (files.length === 0) continue;
    checkGroup(dataset, kind, files);
    const ctx: ImportContext = { dataset, files, ...deps, importedAt };
    out.push(kind === 'askllm' ? await importAskLlm(ctx) : await importDensity(ctx));
  }
  return out;
}
