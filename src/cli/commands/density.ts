/**
 * `winnow density FILE`: DENSITY scores (the paper's Algorithm 2) of every valid row, or, over
 * shards, its map → reduce → map: `--sketch-out` writes this shard's pass-1 sketch, `merge` sums
 * the shards' sketches, `--sketch-in` scores this shard's rows against the sum. The result is,
 * bit for bit, that of one pass over the whole file.
 */
import { dirname, resolve } from 'node:path';
import {
  describeParams,
  DensitySketch,
  mergeSketches,
  sameParams,
  type SketchParams,
} from '../../core/density';
import { removeStaleTempFiles } from '../../core/jsonl';
import type { OptionTable, Flags } from '../args';
import { fileArgument } from '../args';
import { shardCacheDir, type Command, type CommandContext, type CommandOutcome } from '../command';
import { openDataset, schemaFacts, type CliDataset } from '../dataset';
import {
  embedShard,
  embeddedRecords,
  openEmbedder,
  sketchAndScore,
  type Embedder,
  type EmbedCounts,
  type ShardRows,
} from '../densityRun';
import { CliError, ExitCode, UsageError } from '../errors';
import { count } from '../progress';
import {
  DENSITY_COLUMNS,
  manifestOf,
  openSink,
  outputFacts,
  outputFormat,
  writeManifest,
  type OutputFile,
} from '../records';
import { resolveShard, shardFacts, type Shard } from '../shard';
import { checkCompatible, readSketch, writeSketch, type SketchFacts } from '../sketchFiles';
import {
  EMBEDDER_OPTIONS,
  SKETCH_OPTIONS,
  embedderSettings,
  hasSketchFlags,
  sketchParamsOf,
} from './densityFlags';

const options: OptionTable = {
  out: {
    type: 'string',
    value: 'OUT',
    help: "Write each row's density_score here (JSONL or Parquet) with OUT.manifest.json.",
  },
  format: { type: 'string', value: 'FMT', help: 'jsonl or parquet (default: from OUT).' },
  'sketch-out': {
    type: 'string',
    value: 'FILE',
    help: "Write this run's pass-1 sketch (the map step of a sharded run).",
  },
  'sketch-in': {
    type: 'string',
    multiple: true,
    value: 'FILE',
    help: "Score against this sketch (the merged shards) instead of this run's own.",
  },
  ...EMBEDDER_OPTIONS,
  ...SKETCH_OPTIONS,
};

/** The sketch rows are scored against: the `--sketch-in` files summed (checked), with their facts. */
async function inputSketch(
  paths: readonly string[],
  e: Embedder,
  params: SketchParams | undefined,
): Promise<{ sketch: DensitySketch; facts?: SketchFacts }> {
  const items = [];
  for (const p of paths) items.push({ path: p, ...(await readSketch(p)) });
  checkCompatible(items);
  const first = items[0];
  if (first.sketch.params.dim !== e.model.dim)
    throw new CliError(
      `${first.path} holds ${first.sketch.params.dim}-dimensional points; ${e.model.modelId} embeds in ${e.model.dim}`,
    );
  if (params && !sameParams(params, first.sketch.params))
    throw new CliError(
      `${first.path} was built with [${describeParams(first.sketch.params)}], this run asks for [${describeParams(params)}]`,
    );
  const key = `${e.model.key}`;
  if (first.facts && (first.facts.embedderKey !== key || first.facts.textMode !== e.textMode))
    throw new CliError(
      `${first.path} holds embeddings of ${first.facts.model} (or another truncation or text extraction), not of ${e.model.modelId} on this file's schema`,
    );
  const sketch =
    items.length === 1
      ? first.sketch
      : mergeSketches(first.sketch, ...items.slice(1).map(i => i.sketch));
  return { sketch, facts: first.facts };
}

interface DensityPlan {
  out?: string;
  sketchOut?: string;
  sketchIn: string[];
}

function plan(flags: Flags): DensityPlan {
  const p: DensityPlan = {
    out: flags.string('out') && resolve(flags.string('out')!),
    sketchOut: flags.string('sketch-out') && resolve(flags.string('sketch-out')!),
    sketchIn: flags.strings('sketch-in').map(s => resolve(s)),
  };
  if (!p.out && !p.sketchOut)
    throw new UsageError("give --out (scores), --sketch-out (a shard's sketch), or both");
  if (p.sketchIn.length > 0 && !p.out)
    throw new UsageError('--sketch-in scores rows: it needs --out');
  return p;
}

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const t0 = performance.now();
  const { flags } = ctx;
  const file = fileArgument(flags, 'density');
  const p = plan(flags);
  const shard = resolveShard(flags.string('shard'), flags.string('shard-count'), ctx.env);
  const settings = embedderSettings(flags, ctx.cacheDir, ctx.env);
  const ds = await openDataset(file);
  try {
    ctx.progress.phase('loading', 1, 'model');
    const e = await openEmbedder(
      shardCacheDir(ctx.cacheDir, shard),
      ds,
      settings,
      ctx.logger,
      ctx.signal,
    );
    ctx.progress.update({ done: 1 });
    ctx.progress.end();
    try {
      return await passes(ctx, { ds, e, p, shard, batchSize: settings.batchSize, t0 });
    } finally {
      await e.close();
    }
  } finally {
    await ds.close();
  }
}

/** Embedding, pass 1 and/or pass 2, and the files they write. */
async function passes(
  ctx: CommandContext,
  o: { ds: CliDataset; e: Embedder; p: DensityPlan; shard: Shard; batchSize: number; t0: number },
): Promise<CommandOutcome> {
  const { ds, e, p, shard } = o;
  const { flags } = ctx;
  const explicit = hasSketchFlags(flags) ? sketchParamsOf(flags, e.model.dim) : undefined;
  const given = p.sketchIn.length > 0 ? await inputSketch(p.sketchIn, e, explicit) : undefined;
  const params = given?.sketch.params ?? sketchParamsOf(flags, e.model.dim);
  const { rows, counts } = await embedShard(e, ds, shard, o, ctx.progress, ctx.signal);
  const own = !given || p.sketchOut ? new DensitySketch(params) : undefined;
  const scoring = given?.sketch ?? own!;
  const scores = await sketchAndScore(
    e,
    embeddedRecords(rows),
    params,
    { sketch: own, scoring: p.out ? () => scoring : undefined },
    ctx.progress,
    ctx.signal,
    ctx.logger,
  );
  if (p.sketchOut && own)
    await writeSketch(p.sketchOut, own, {
      model: e.model.modelId,
      embedderKey: e.model.key,
      textMode: e.textMode,
      sources: [ds.path],
      shards: shard.count > 1 ? [{ index: shard.index, count: shard.count }] : [],
    });
  const run: ScoredRun = {
    ds,
    shard,
    e,
    rows,
    counts,
    scores,
    sketchIn: given ? p.sketchIn : undefined,
    params,
    points: scoring.count,
  };
  const output = p.out ? await writeScores(p.out, flags.string('format'), run) : undefined;
  return outcome({
    e,
    shard,
    counts,
    params,
    output,
    sketchOut: p.sketchOut,
    points: scoring.count,
    elapsedMs: performance.now() - o.t0,
  });
}

/** What the scores of a run are written from. */
interface ScoredRun {
  ds: CliDataset;
  shard: Shard;
  e: Embedder;
  rows: ShardRows;
  counts: EmbedCounts;
  scores: Float64Array;
  sketchIn: string[] | undefined;
  params: SketchParams;
  points: number;
}

/** Writes each shard row's score (file order) and the manifest. */
async function writeScores(
  out: string,
  format: string | undefined,
  r: ScoredRun,
): Promise<OutputFile> {
  await removeStaleTempFiles(dirname(out));
  const sink = await openSink(out, outputFormat(format, out), DENSITY_COLUMNS);
  let file: OutputFile;
  try {
    let j = 0;
    for (let k = 0; k < r.rows.length; k++) {
      const hash = r.rows.hash(k);
      const ok = r.rows.records[k] >= 0;
      await sink.add({
        line: r.rows.lines[k] + 1,
        content_hash: hash,
        density_score: ok ? r.scores[j++] : null,
        density_status: ok ? 'ok' : 'error',
        density_error: ok ? null : (r.counts.failed.get(hash) ?? 'not embedded'),
      });
    }
    file = await sink.finish();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  await writeManifest(manifestOf(out), densityManifest(r, file));
  return file;
}

function densityManifest(r: ScoredRun, file: OutputFile): Record<string, unknown> {
  const { ds, e, counts, params } = r;
  return {
    winnow: 'scores',
    version: 1,
    kind: 'density',
    createdAt: new Date().toISOString(),
    source: {
      path: resolve(ds.path),
      bytes: ds.bytes,
      mtime: new Date(ds.mtimeMs).toISOString(),
      lines: counts.lines,
    },
    schema: schemaFacts(ds.schema),
    shard: shardFacts(r.shard),
    engine: e.model.remote?.engine ?? 'local',
    endpointHost: e.model.remote?.host ?? null,
    model: e.model.modelId,
    embedderKey: e.model.key,
    pipeline: e.model.pipeline,
    dtype: e.model.dtype,
    device: e.model.device,
    dim: e.model.dim,
    maxTokens: e.model.maxTokens,
    textMode: e.textMode,
    sketch: {
      rows: params.rows,
      buckets: params.buckets,
      hashesPerRow: params.hashesPerRow,
      bandwidth: params.bandwidth,
      seed: params.seed,
      points: r.points,
    },
    sketchFrom: r.sketchIn ?? 'this run',
    score:
      "mean over the R sketch rows of the counter at the row's hash (>= 1; lower = more isolated)",
    counts: {
      lines: counts.lines,
      valid: counts.valid,
      blank: counts.blank,
      invalid: counts.invalid,
      otherShards: counts.otherShards,
      rows: counts.rows,
      cached: counts.cached,
      embedded: counts.embedded,
      truncated: counts.truncated,
      error: counts.failed.size,
    },
    columns: DENSITY_COLUMNS.map(c => c.name),
    output: outputFacts(file),
  };
}

function outcome(o: {
  e: Embedder;
  shard: Shard;
  counts: EmbedCounts;
  params: SketchParams;
  output?: OutputFile;
  sketchOut?: string;
  points: number;
  elapsedMs: number;
}): CommandOutcome {
  const c = o.counts;
  const failed = [...c.failed.keys()].length;
  const lines = [
    `DENSITY of ${count(c.rows)} rows${o.shard.count > 1 ? ` of shard ${o.shard.index}/${o.shard.count}` : ''} with ${o.e.model.modelId}: ` +
      `${count(c.embedded)} embedded, ${count(c.cached)} from the cache; sketch [${describeParams(o.params)}], ${count(o.points)} points`,
    ...(o.sketchOut ? [`Wrote the sketch ${o.sketchOut}`] : []),
    ...(o.output ? [`Wrote ${o.output.path} and ${manifestOf(o.output.path)}`] : []),
  ];
  if (failed > 0)
    lines.push(
      `${count(failed)} rows could not be embedded: run the same command again to retry them`,
    );
  return {
    code: failed > 0 ? ExitCode.incomplete : ExitCode.ok,
    summary: {
      model: o.e.model.modelId,
      shard: shardFacts(o.shard),
      out: o.output?.path ?? null,
      sketchOut: o.sketchOut ?? null,
      points: o.points,
      counts: {
        lines: c.lines,
        rows: c.rows,
        cached: c.cached,
        embedded: c.embedded,
        error: failed,
      },
      elapsedMs: Math.round(o.elapsedMs),
    },
    lines,
  };
}

export const densityCommand: Command = {
  name: 'density',
  summary: 'DENSITY: sketch build and scoring (--sketch-out / --sketch-in for shards).',
  usage:
    'winnow density FILE [--out OUT.jsonl] [--sketch-out S.wnds] [--sketch-in S.wnds] [options]',
  description:
    'Embeds every valid row (cached rows are not embedded again), adds them to a p-stable LSH ' +
    'kernel-density sketch (pass 1) and scores each row as the mean of its R counters (pass 2; ' +
    '>= 1, lower = more isolated). Writes line, content_hash, density_score, density_status, ' +
    'density_error per row to OUT with OUT.manifest.json.\n\nOver shards (docs/cluster.md): each ' +
    'shard runs `--shard I/N --sketch-out sI.wnds`, then `winnow merge all.wnds s*.wnds` sums ' +
    'them, then each shard runs `--shard I/N --sketch-in all.wnds --out dI.jsonl`, and ' +
    '`winnow merge` joins the outputs: the scores equal those of one pass, bit for bit.',
  options,
  examples: [
    'winnow density data.jsonl --out data.density.jsonl',
    'winnow density data.jsonl --shard 2/8 --sketch-out sketches/s2.wnds',
    'winnow density data.jsonl --shard 2/8 --sketch-in all.wnds --out density-2.jsonl',
  ],
  run,
};
