/**
 * A dataset's cached ASK-LLM scores and its keep/drop labels, for `winnow calibrate FILE`,
 * `winnow compare FILE` and `winnow distill FILE`: every scorer configuration the cache's
 * registry (`askllm/scorers.json`, what `winnow score` and the editor both write) knows, with
 * its P(yes) per row read from the score cache (no model loaded), and the decisions of the
 * sidecar (or `--decisions`) per row. Rows are this shard's valid rows, in file order.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScoreCache, scopedScorerKey } from '../core/askllm';
import { rekeyLegacyDecisions } from '../core/dataset/offlineDecisions';
import type { StoredScorer } from '../worker/askllm/scoreStore';
import { extractionScope } from '../worker/askllm/scorerConfig';
import { shardCacheDir } from './command';
import { rowBlocks, type CliDataset } from './dataset';
import { decisionsPath, readDecisions } from './decisions';
import { CliError, UsageError } from './errors';
import type { Shard } from './shard';

/** The scorer registry of a cache folder, by fingerprint (empty when there is none). */
export async function scorerRegistry(storage: string): Promise<[string, StoredScorer][]> {
  try {
    const raw = JSON.parse(
      await readFile(join(storage, 'askllm', 'scorers.json'), 'utf8'),
    ) as Record<string, StoredScorer>;
    return Object.entries(raw).filter(([, v]) => typeof v?.scorerKey === 'string' && v.meta);
  } catch {
    return [];
  }
}

/** One line naming a scorer (model, dtype, prompt, answer words). */
export function scorerName(s: StoredScorer): string {
  const m = s.meta;
  return (
    `${m.model} (${m.dtype}) · prompt ${m.promptName} ${m.promptHash.slice(0, 6)}` +
    ` · ${m.answerTokens.join('+')}`
  );
}

/** A cached scorer's column over the file's rows. */
export interface CachedColumn {
  /** 1-based, in registry order among the scorers with scores for this file. */
  readonly index: number;
  readonly fingerprint: string;
  readonly scorer: StoredScorer;
  readonly name: string;
  /** P(yes) per row (NaN: not scored). */
  readonly pYes: Float64Array;
  readonly scored: number;
}

/** This shard's valid rows: 0-based line and content hash. */
export interface FileRows {
  readonly lines: Uint32Array;
  readonly hashes: string[];
}

/** The file's rows and the cached column of every scorer that scored at least one of them. */
export async function readCachedColumns(
  cacheDir: string,
  ds: CliDataset,
  shard: Shard,
): Promise<{ rows: FileRows; columns: CachedColumn[]; storage: string }> {
  const storage = shardCacheDir(cacheDir, shard);
  const lines: number[] = [];
  const hashes: string[] = [];
  for await (const block of rowBlocks(ds, shard, 65536))
    for (const r of block.rows) {
      lines.push(r.index);
      hashes.push(r.hash);
    }
  const rows = { lines: Uint32Array.from(lines), hashes };
  const registry = await scorerRegistry(storage);
  if (registry.length === 0) return { rows, columns: [], storage };
  const cache = await ScoreCache.open(join(storage, 'askllm', 'scores.log'));
  try {
    const scope = extractionScope(ds.schema);
    const columns: CachedColumn[] = [];
    const seen = new Set<string>();
    for (const [fingerprint, scorer] of registry) {
      const key = scopedScorerKey(scorer.scorerKey, scope);
      if (seen.has(key)) continue;
      seen.add(key);
      const pYes = Float64Array.from(hashes, h => cache.get(key, h)?.pYes ?? NaN);
      const scored = pYes.reduce((n, v) => n + (Number.isFinite(v) ? 1 : 0), 0);
      if (scored === 0) continue;
      const index = columns.length + 1;
      columns.push({ index, fingerprint, scorer, name: scorerName(scorer), pYes, scored });
    }
    return { rows, columns, storage };
  } finally {
    await cache.close();
  }
}

/**
 * The scorer `--scorer` names: its number in the list, its fingerprint, or a model name that
 * matches one scorer (exactly, else as a substring). Without the flag, the only scorer.
 */
export function pickColumn(
  columns: readonly CachedColumn[],
  wanted: string | undefined,
  file: string,
  storage: string,
): CachedColumn {
  if (columns.length === 0)
    throw new CliError(
      `${file} has no cached ASK-LLM scores in ${storage} (run winnow score ${file} first, or give --cache-dir)`,
    );
  const list = columns.map(c => `  ${c.index}: ${c.name} (${c.scored} rows)`).join('\n');
  if (wanted === undefined) {
    if (columns.length === 1) return columns[0];
    throw new UsageError(
      `${file} has scores of ${columns.length} scorers; name one with --scorer N:\n${list}`,
    );
  }
  const n = Number(wanted);
  const byIndex = Number.isInteger(n) ? columns.find(c => c.index === n) : undefined;
  const exact = columns.filter(c => c.fingerprint === wanted || c.scorer.meta.model === wanted);
  const partial = columns.filter(c => c.scorer.meta.model.includes(wanted));
  const found = byIndex ?? (exact.length === 1 ? exact[0] : undefined) ?? partial;
  if (!Array.isArray(found)) return found;
  if (found.length === 1) return found[0];
  throw new UsageError(
    `--scorer ${wanted} names ${found.length === 0 ? 'none' : 'more than one'} of the scorers of ${file}:\n${list}`,
  );
}

/** Keep/drop labels per row: 1 keep, 0 drop, −1 undecided; with where they came from. */
export interface FileLabels {
  readonly labels: Float64Array;
  readonly path: string;
  readonly keep: number;
  readonly drop: number;
}

/** The decisions of the sidecar (or `--decisions`) as labels of `rows`. Never writes. */
export async function readFileLabels(
  ds: CliDataset,
  rows: FileRows,
  flag: string | undefined,
): Promise<FileLabels> {
  const saved = await rekeyLegacyDecisions(ds.file, await readDecisions(ds.path, flag));
  const keep = new Set(saved.keep);
  const drop = new Set(saved.drop);
  const labels = Float64Array.from(rows.hashes, h => (keep.has(h) ? 1 : drop.has(h) ? 0 : -1));
  let k = 0;
  for (const l of labels) if (l === 1) k++;
  const d = labels.reduce((n, l) => n + (l === 0 ? 1 : 0), 0);
  return { labels, path: decisionsPath(ds.path, flag), keep: k, drop: d };
}
