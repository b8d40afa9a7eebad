/**
 * `winnow dedup FILE`: near-duplicate groups of the file's rows (docs/map.md#near-duplicates),
 * by the same core code, cache key and cache file as the editor's "Find near-duplicates"
 * (core/map cachedGroups); `--out` writes the grouped rows, `--keep best|first` keeps one row
 * per group and drops the others in the decisions sidecar ("Keep one per group" of the view,
 * core/dataset keepOnePerGroup). The dataset is never written.
 */
import { resolve } from 'node:path';
import { keepOnePerGroup } from '../../core/dataset/datasetView';
import { DEFAULT_DUPLICATE_THRESHOLD, DuplicateGroups, cachedGroups } from '../../core/map';
import type { Flags, OptionTable } from '../args';
import { fileArgument } from '../args';
import { pickColumn, readCachedColumns } from '../cachedScores';
import type { Command, CommandContext, CommandOutcome } from '../command';
import type { CliDataset } from '../dataset';
import { decisionsPath, readDecisions, writeDecisions } from '../decisions';
import { withDatasetAndEmbedder, type Embedder } from '../densityRun';
import { CliError, ExitCode } from '../errors';
import {
  MAP_EMBEDDER_OPTIONS,
  embedFile,
  mapCachePath,
  mapProgress,
  writeRecords,
  type EmbeddedFile,
} from '../mapRun';
import { count } from '../progress';
import type { Column, OutputRecord } from '../records';
import { WHOLE } from '../shard';
import { SKETCH_OPTIONS, embedderSettings, sketchParamsOf } from './densityFlags';

const GROUP_COLUMNS: readonly Column[] = [
  { name: 'line', type: 'INT64' },
  { name: 'content_hash', type: 'STRING' },
  { name: 'group', type: 'INT64' },
  { name: 'group_size', type: 'INT64' },
  { name: 'representative', type: 'BOOLEAN' },
];

const options: OptionTable = {
  out: {
    type: 'string',
    value: 'OUT',
    help: 'Write the rows that are in a group (line, content_hash, group, group_size, representative).',
  },
  format: { type: 'string', value: 'FMT', help: 'jsonl or parquet (default: from OUT).' },
  threshold: {
    type: 'string',
    value: 'T',
    help: `Cosine at or above which rows are near-duplicates (default ${DEFAULT_DUPLICATE_THRESHOLD}).`,
  },
  keep: {
    type: 'string',
    value: 'RULE',
    help: 'best (highest cached ASK-LLM score) or first: keep one row per group, drop the others in the sidecar.',
  },
  scorer: {
    type: 'string',
    value: 'N',
    help: '--keep best: the cached scorer (its number, fingerprint or model) when there are several.',
  },
  decisions: {
    type: 'string',
    value: 'FILE',
    help: 'Write the decisions here instead of the sidecar FILE.winnow.json.',
  },
  ...MAP_EMBEDDER_OPTIONS,
  ...SKETCH_OPTIONS,
};

interface DedupPlan {
  out?: string;
  threshold: number;
  keep?: 'best' | 'first';
}

function plan(flags: Flags): DedupPlan {
  return {
    out: flags.string('out') && resolve(flags.string('out')!),
    threshold: flags.number('threshold', DEFAULT_DUPLICATE_THRESHOLD, 0.5, 0.9999),
    keep: flags.has('keep') ? flags.choice('keep', ['best', 'first'] as const, 'first') : undefined,
  };
}

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const t0 = performance.now();
  const { flags } = ctx;
  const file = fileArgument(flags, 'dedup');
  const p = plan(flags);
  const settings = embedderSettings(flags, ctx.cacheDir, ctx.env);
  return await withDatasetAndEmbedder(ctx, file, ctx.cacheDir, settings, async (ds, e) => {
    // Scores first, so that --keep best without them fails before any work.
    const scores = p.keep === 'best' ? await bestScores(ctx, ds, file) : undefined;
    const f = await embedFile(ctx, e, ds, settings);
    const groups = await findGroups(ctx, ds, e, f, p.threshold);
    const kept = p.keep
      ? keepOnePerGroup(groups.groups, p.threshold, p.keep, scores, new Date().toISOString())
      : undefined;
    const representatives = new Set(kept?.keep ?? rowsOfFirst(groups.groups));
    const out = p.out
      ? (
          await writeRecords(
            p.out,
            flags.string('format'),
            GROUP_COLUMNS,
            groupRecords(f, groups.groups, representatives),
          )
        ).path
      : undefined;
    const marked = kept
      ? await markDecisions(ds.path, flags.string('decisions'), f, kept)
      : undefined;
    return outcome(e, f, groups, p, { out, marked, elapsedMs: performance.now() - t0 });
  });
}

/** The ASK-LLM score per valid row from the score cache (`--keep best`). */
async function bestScores(
  ctx: CommandContext,
  ds: CliDataset,
  file: string,
): Promise<Float64Array> {
  const { columns, storage } = await readCachedColumns(ctx.cacheDir, ds, WHOLE);
  if (columns.length === 0)
    throw new CliError(
      `--keep best keeps the highest ASK-LLM score, and ${file} has no cached ASK-LLM scores in ${storage}: run winnow score ${file} first (same --cache-dir), or use --keep first`,
    );
  return pickColumn(columns, ctx.flags.string('scorer'), file, storage).pYes;
}

interface FoundGroups {
  groups: DuplicateGroups;
  cached: boolean;
  candidates?: number;
  verified?: number;
}

async function findGroups(
  ctx: CommandContext,
  ds: CliDataset,
  e: Embedder,
  f: EmbeddedFile,
  threshold: number,
): Promise<FoundGroups> {
  const progress = mapProgress(ctx.progress);
  const g = await cachedGroups({
    store: e.store,
    hashes: f.items.hashes,
    params: sketchParamsOf(ctx.flags, e.model.dim),
    threshold,
    path: mapCachePath(ctx.cacheDir, ds, 'duplicates.wnmd'),
    signal: ctx.signal,
    onProgress: progress.onProgress,
    onSaveError: err => ctx.logger.warn(`the groups cache cannot be written: ${String(err)}`),
  });
  progress.end();
  return {
    groups: DuplicateGroups.fromItems(f.items.itemOfRow, g.groupOfItem),
    cached: g.cached,
    candidates: g.stats?.candidates,
    verified: g.stats?.verified,
  };
}

function rowsOfFirst(groups: DuplicateGroups): number[] {
  return Array.from({ length: groups.count }, (_, g) => groups.rowsOf(g)[0]);
}

function* groupRecords(
  f: EmbeddedFile,
  groups: DuplicateGroups,
  representatives: ReadonlySet<number>,
): Generator<OutputRecord> {
  for (let k = 0; k < f.rows.length; k++) {
    const g = groups.groupOfRow[k];
    if (g < 0) continue;
    yield {
      line: f.rows.lines[k] + 1,
      content_hash: f.rows.hash(k),
      group: g,
      group_size: groups.rowsOf(g).length,
      representative: representatives.has(k),
    };
  }
}

/**
 * Records the kept and dropped rows in the decisions file (atomically) with the rule. The
 * sidecar keys decisions by content: a dropped row with the content of a kept row (an exact
 * copy) is left kept, so the group keeps its representative; rows in no group are untouched.
 */
async function markDecisions(
  datasetPath: string,
  flag: string | undefined,
  f: EmbeddedFile,
  kept: ReturnType<typeof keepOnePerGroup>,
): Promise<{ path: string; keep: number; drop: number; copiesKept: number }> {
  const saved = await readDecisions(datasetPath, flag);
  const keep = new Set(saved.keep);
  const drop = new Set(saved.drop);
  const keepHashes = new Set(kept.keep.map(k => f.rows.hash(k)));
  for (const h of keepHashes) {
    drop.delete(h);
    keep.add(h);
  }
  let copiesKept = 0;
  for (const k of kept.drop) {
    const h = f.rows.hash(k);
    if (keepHashes.has(h)) {
      copiesKept++;
      continue;
    }
    keep.delete(h);
    drop.add(h);
  }
  const rule = { ...kept.rule, scope: 'winnow dedup (CLI)' };
  await writeDecisions(datasetPath, flag, {
    ...saved,
    keep: [...keep],
    drop: [...drop],
    rules: [...saved.rules, rule],
  });
  return {
    path: decisionsPath(datasetPath, flag),
    keep: kept.keep.length + copiesKept,
    drop: kept.drop.length - copiesKept,
    copiesKept,
  };
}

function outcome(
  e: Embedder,
  f: EmbeddedFile,
  g: FoundGroups,
  p: DedupPlan,
  r: {
    out?: string;
    marked?: Awaited<ReturnType<typeof markDecisions>>;
    elapsedMs: number;
  },
): CommandOutcome {
  const lines = [
    `${count(g.groups.count)} near-duplicate groups (cosine >= ${p.threshold}) holding ${count(g.groups.groupedRows)} of ${count(f.counts.rows)} rows, with ${e.model.modelId}` +
      (g.cached ? ' (from the cache)' : ''),
    ...(r.out ? [`Wrote ${r.out}`] : []),
    ...(r.marked
      ? [
          `Kept one per group (${p.keep}): keep ${count(r.marked.keep)}, drop ${count(r.marked.drop)} rows in ${r.marked.path}` +
            (r.marked.copiesKept > 0
              ? ` (${count(r.marked.copiesKept)} exact copies of kept rows stay kept: decisions are by content)`
              : ''),
        ]
      : []),
  ];
  if (f.unembedded > 0)
    lines.push(
      `${count(f.unembedded)} rows could not be embedded (in no group): run the same command again to retry them`,
    );
  return {
    code: f.unembedded > 0 ? ExitCode.incomplete : ExitCode.ok,
    summary: {
      model: e.model.modelId,
      threshold: p.threshold,
      groups: g.groups.count,
      rowsInGroups: g.groups.groupedRows,
      rows: f.counts.rows,
      cached: g.cached,
      out: r.out ?? null,
      keep: p.keep ?? null,
      decisions: r.marked ?? null,
      counts: {
        lines: f.counts.lines,
        rows: f.counts.rows,
        cached: f.counts.cached,
        embedded: f.counts.embedded,
        unembedded: f.unembedded,
      },
      elapsedMs: Math.round(r.elapsedMs),
    },
    lines,
  };
}

export const dedupCommand: Command = {
  name: 'dedup',
  summary:
    'Near-duplicate groups (--out) and keep one per group in the sidecar (--keep best|first).',
  usage: 'winnow dedup FILE [--out groups.jsonl] [--threshold T] [--keep best|first] [options]',
  description:
    'Embeds the rows the embedding cache lacks (as `winnow embed`) and groups rows whose ' +
    "embeddings have cosine >= --threshold (candidates from the DENSITY sketch's LSH buckets, " +
    'every pair verified by exact cosine; exact copies always share a group; docs/map.md). ' +
    '--out writes line, content_hash, group, group_size, representative for every row in a ' +
    'group. --keep best (the highest cached ASK-LLM score; unscored rows lose) or --keep first ' +
    'keeps one row per group and drops the others in the decisions sidecar, as "Keep one per ' +
    'group" in the editor; rows in no group are untouched and the dataset is never written. ' +
    'The groups are cached where the editor keeps them, under the same key.',
  options,
  examples: [
    'winnow dedup data.jsonl --out groups.jsonl',
    'winnow dedup data.jsonl --threshold 0.9 --keep best',
  ],
  run,
};
