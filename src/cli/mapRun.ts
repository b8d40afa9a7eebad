/**
 * What `winnow map` and `winnow dedup` share: the embedder flags (whole file, no shards), the
 * rows embedded into the extension's embedding cache (only those it lacks), the distinct
 * contents (core/map mapItems, as the worker collects them) and the cache files the worker
 * keeps beside a dataset's DENSITY results, `<cache>/density/<dataset id>.<suffix>`, so that the
 * CLI and the editor read each other's layout and groups.
 */
import { dirname, join, resolve } from 'node:path';
import { removeStaleTempFiles } from '../core/jsonl';
import { mapItems, type MapCachePhase, type MapItems } from '../core/map';
import { datasetCacheId } from '../worker/density/densityService';
import type { OptionTable } from './args';
import type { CommandContext } from './command';
import type { CliDataset } from './dataset';
import { embedShard, type EmbedCounts, type Embedder, type ShardRows } from './densityRun';
import { CliError } from './errors';
import type { Progress } from './progress';
import { openSink, outputFormat, type Column, type OutputFile, type OutputRecord } from './records';
import { WHOLE } from './shard';
import { EMBEDDER_OPTIONS } from './commands/densityFlags';
import type { EmbedderSettings } from './densityRun';

/** The embedder flags without `--shard`: a layout and groups are of the whole file. */
export const MAP_EMBEDDER_OPTIONS: OptionTable = Object.fromEntries(
  Object.entries(EMBEDDER_OPTIONS).filter(([k]) => k !== 'shard' && k !== 'shard-count'),
);

/** The file's valid rows, embedded, and their distinct contents. */
export interface EmbeddedFile {
  rows: ShardRows;
  counts: EmbedCounts;
  /** Items over `rows` (row k of `rows` is item `items.itemOfRow[k]`). */
  items: MapItems;
  /** Rows whose content has no embedding (the embedder failed on it). */
  unembedded: number;
}

/** Embeds the rows the cache lacks (resumable, as `winnow embed`) and collects the items. */
export async function embedFile(
  ctx: Pick<CommandContext, 'progress' | 'signal'>,
  e: Embedder,
  ds: CliDataset,
  settings: Pick<EmbedderSettings, 'batchSize'>,
): Promise<EmbeddedFile> {
  const { rows, counts } = await embedShard(e, ds, WHOLE, settings, ctx.progress, ctx.signal);
  const items = mapItems(rows.length, k => rows.hash(k));
  let unembedded = 0;
  for (let k = 0; k < rows.length; k++) if (rows.records[k] < 0) unembedded++;
  return { rows, counts, items, unembedded };
}

/** The worker's cache file of this dataset beside its DENSITY results (`layout.wnml`, ...). */
export function mapCachePath(cacheDir: string, ds: CliDataset, suffix: string): string {
  return join(cacheDir, 'density', `${datasetCacheId(resolve(ds.path))}.${suffix}`);
}

/**
 * Reports core/map's phases as progress phases (a new phase when the name changes); `end`
 * closes the last one.
 */
export function mapProgress(progress: Progress): {
  onProgress: (phase: MapCachePhase, done: number, total: number) => void;
  end: () => void;
} {
  let current: string | undefined;
  return {
    onProgress: (phase, done, total) => {
      if (phase !== current) {
        if (current !== undefined) progress.end();
        current = phase;
        progress.phase(phase, total);
      }
      progress.update({ done });
    },
    end: () => {
      if (current !== undefined) progress.end();
      current = undefined;
    },
  };
}

/** Writes `records` to `out` (JSONL or Parquet by its name or `--format`) atomically. */
export async function writeRecords(
  out: string,
  format: string | undefined,
  columns: readonly Column[],
  records: Iterable<OutputRecord>,
): Promise<OutputFile> {
  await removeStaleTempFiles(dirname(out));
  const sink = await openSink(out, outputFormat(format, out), columns);
  try {
    for (const r of records) await sink.add(r);
    return await sink.finish();
  } catch (err) {
    await sink.abort();
    if (err instanceof CliError) throw err;
    throw new CliError(`${out} cannot be written: ${(err as Error).message}`);
  }
}
