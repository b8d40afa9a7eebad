/**
 * `winnow map FILE --out layout.parquet`: the 2-D layout of the file's DENSITY embeddings
 * (docs/map.md#layout), computed by the same core code under the same cache key and in the same
 * cache file as the editor's map (core/map cachedLayout), so the CLI and the editor give the
 * same layout for the same embeddings and seed, and each reuses the other's.
 */
import { resolve } from 'node:path';
import { DEFAULT_LANDMARKS, DEFAULT_LAYOUT_SEED, cachedLayout } from '../../core/map';
import type { OptionTable } from '../args';
import { fileArgument } from '../args';
import type { Command, CommandContext, CommandOutcome } from '../command';
import { withDatasetAndEmbedder, type Embedder } from '../densityRun';
import type { CliDataset } from '../dataset';
import { ExitCode } from '../errors';
import {
  MAP_EMBEDDER_OPTIONS,
  embedFile,
  mapCachePath,
  mapProgress,
  writeRecords,
  type EmbeddedFile,
} from '../mapRun';
import { count } from '../progress';
import { manifestOf, outputFacts, writeManifest, type Column, type OutputRecord } from '../records';
import { embedderSettings } from './densityFlags';

const LAYOUT_COLUMNS: readonly Column[] = [
  { name: 'line', type: 'INT64' },
  { name: 'content_hash', type: 'STRING' },
  { name: 'x', type: 'DOUBLE' },
  { name: 'y', type: 'DOUBLE' },
];

const options: OptionTable = {
  out: {
    type: 'string',
    value: 'OUT',
    help: "Write each row's x and y here (JSONL or Parquet) with OUT.manifest.json.",
  },
  format: { type: 'string', value: 'FMT', help: 'jsonl or parquet (default: from OUT).' },
  seed: {
    type: 'string',
    value: 'S',
    help: `Seed of the layout: landmark sample and UMAP (default ${DEFAULT_LAYOUT_SEED}, the editor's).`,
  },
  landmarks: {
    type: 'string',
    value: 'N',
    help: `Rows UMAP lays out itself; the others are placed by their nearest (default ${DEFAULT_LANDMARKS}).`,
  },
  ...MAP_EMBEDDER_OPTIONS,
};

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const t0 = performance.now();
  const { flags } = ctx;
  const file = fileArgument(flags, 'map');
  const out = resolve(flags.required('out', 'where the layout goes'));
  const seed = flags.int('seed', DEFAULT_LAYOUT_SEED, 0, 0xffffffff);
  const landmarks = flags.int('landmarks', DEFAULT_LANDMARKS, 100, 50000);
  const settings = embedderSettings(flags, ctx.cacheDir, ctx.env);
  return await withDatasetAndEmbedder(ctx, file, ctx.cacheDir, settings, async (ds, e) => {
    const f = await embedFile(ctx, e, ds, settings);
    const progress = mapProgress(ctx.progress);
    const layout = await cachedLayout({
      store: e.store,
      hashes: f.items.hashes,
      path: mapCachePath(ctx.cacheDir, ds, 'layout.wnml'),
      seed,
      landmarks,
      signal: ctx.signal,
      onProgress: progress.onProgress,
      onSaveError: err => ctx.logger.warn(`the layout cache cannot be written: ${String(err)}`),
    });
    progress.end();
    const at = new Map(layout.embedded.map((h, k) => [h, k]));
    const records = function* (): Generator<OutputRecord> {
      for (let k = 0; k < f.rows.length; k++) {
        const hash = f.rows.hash(k);
        const i = at.get(hash);
        const xy = i === undefined ? null : [layout.x[i], layout.y[i]];
        yield {
          line: f.rows.lines[k] + 1,
          content_hash: hash,
          x: xy?.[0] ?? null,
          y: xy?.[1] ?? null,
        };
      }
    };
    const o = await writeRecords(out, flags.string('format'), LAYOUT_COLUMNS, records());
    const facts = {
      seed,
      landmarks: layout.meta.landmarks,
      items: layout.meta.items,
      cached: layout.cached,
    };
    await writeManifest(manifestOf(out), manifest(ds, e, f, facts, outputFacts(o)));
    return outcome(e, f, { ...facts, out: o.path, elapsedMs: performance.now() - t0 });
  });
}

interface LayoutFacts {
  seed: number;
  landmarks: number;
  items: number;
  cached: boolean;
}

function manifest(
  ds: CliDataset,
  e: Embedder,
  f: EmbeddedFile,
  l: LayoutFacts,
  output: Record<string, unknown>,
): Record<string, unknown> {
  return {
    winnow: 'layout',
    version: 1,
    createdAt: new Date().toISOString(),
    source: { path: resolve(ds.path), bytes: ds.bytes, mtime: new Date(ds.mtimeMs).toISOString() },
    model: e.model.modelId,
    embedderKey: e.model.key,
    textMode: e.textMode,
    layout: {
      method: 'UMAP (umap-js) on landmarks, the others placed by their nearest landmarks',
      ...l,
    },
    counts: { lines: f.counts.lines, rows: f.counts.rows, unembedded: f.unembedded },
    columns: LAYOUT_COLUMNS.map(c => c.name),
    x: 'x and y in [-1, 1]; null where the row has no embedding',
    output,
  };
}

function outcome(
  e: Embedder,
  f: EmbeddedFile,
  l: LayoutFacts & { out: string; elapsedMs: number },
): CommandOutcome {
  const c = f.counts;
  const lines = [
    `Layout of ${count(c.rows)} rows (${count(l.items)} distinct embedded contents, ${count(l.landmarks)} landmarks, seed ${l.seed}) with ${e.model.modelId}` +
      (l.cached ? ', from the cache' : ''),
    `Wrote ${l.out} and ${manifestOf(l.out)}`,
  ];
  if (f.unembedded > 0)
    lines.push(
      `${count(f.unembedded)} rows could not be embedded (x, y null): run the same command again to retry them`,
    );
  return {
    code: f.unembedded > 0 ? ExitCode.incomplete : ExitCode.ok,
    summary: {
      model: e.model.modelId,
      cache: e.store.path,
      out: l.out,
      seed: l.seed,
      landmarks: l.landmarks,
      items: l.items,
      cached: l.cached,
      counts: {
        lines: c.lines,
        rows: c.rows,
        cached: c.cached,
        embedded: c.embedded,
        unembedded: f.unembedded,
      },
      elapsedMs: Math.round(l.elapsedMs),
    },
    lines,
  };
}

export const mapCommand: Command = {
  name: 'map',
  summary: "The embedding map: each row's x, y (the editor's layout, cached).",
  usage: 'winnow map FILE --out layout.parquet|layout.jsonl [--seed S] [options]',
  description:
    "Embeds the rows the embedding cache lacks (as `winnow embed`), lays out the file's " +
    'distinct contents in 2-D (UMAP on up to --landmarks sampled rows, the others placed at ' +
    'their nearest landmarks; docs/map.md) and writes line, content_hash, x, y per valid row to ' +
    "OUT with OUT.manifest.json. The layout is cached where the editor's map keeps it, under " +
    'the same key (embedder, seed, landmarks, contents): the editor and the CLI give the same ' +
    'layout for the same embeddings, and a rerun reads it.',
  options,
  examples: [
    'winnow map data.jsonl --out layout.parquet',
    'winnow map data.jsonl --out layout.jsonl --seed 7 --model Xenova/all-MiniLM-L6-v2',
  ],
  run,
};
