/**
 * `winnow info FILE`: what Winnow sees in a dataset (size, lines, valid / blank / invalid rows,
 * the detected schema and the first invalid lines) and which ASK-LLM scores the cache holds for
 * it, per scorer configuration run before (the worker's scorer registry). For a sketch file
 * (`.wnds`) it prints its points and parameters (what `densityCli.js info` printed).
 */
import { join } from 'node:path';
import { ScoreCache, scopedScorerKey } from '../../core/askllm';
import { describeParams } from '../../core/density';
import type { StoredScorer } from '../../worker/askllm/scoreStore';
import { extractionScope } from '../../worker/askllm/scorerConfig';
import type { OptionTable } from '../args';
import { scorerRegistry } from '../cachedScores';
import type { Command, CommandContext, CommandOutcome } from '../command';
import { shardCacheDir } from '../command';
import { openDataset, rowBlocks, schemaFacts, type CliDataset } from '../dataset';
import { ExitCode, UsageError } from '../errors';
import { count } from '../progress';
import { resolveShard, shardFacts, type Shard } from '../shard';
import { readSketch } from '../sketchFiles';
import { parseLine } from '../../core/jsonl';

const options: OptionTable = {
  shard: {
    type: 'string',
    value: 'I/N',
    help: "Count only shard I of N (and read that shard's cache).",
  },
  'shard-count': {
    type: 'string',
    value: 'N',
    help: 'Shard count for --shard auto on Kubernetes.',
  },
};

/** The scorer registry of a cache folder (scorer key and description of each). */
async function registry(storage: string): Promise<StoredScorer[]> {
  return (await scorerRegistry(storage)).map(([, v]) => v);
}

/** First invalid lines with their reasons. */
async function invalidLines(
  ds: CliDataset,
  cap: number,
): Promise<{ line: number; error: string }[]> {
  const out: { line: number; error: string }[] = [];
  for await (const batch of ds.file.iterateRows(0))
    for (const r of batch) {
      const p = parseLine(r.bytes, { maxLineBytes: ds.maxLineBytes, firstLine: r.index === 0 });
      if (!p.ok && p.error.kind !== 'empty')
        out.push({ line: r.index + 1, error: p.error.message });
      if (out.length >= cap) return out;
    }
  return out;
}

async function sketchInfo(path: string): Promise<CommandOutcome> {
  const { sketch, facts } = await readSketch(path);
  return {
    code: ExitCode.ok,
    summary: {
      kind: 'sketch',
      path,
      points: sketch.count,
      params: sketch.params,
      model: facts?.model ?? null,
      shards: facts?.shards ?? [],
    },
    lines: [
      `${path}: ${sketch.count} points [${describeParams(sketch.params)}]`,
      ...(facts
        ? [
            `  embedder ${facts.model}; ${facts.shards.length ? `shards ${facts.shards.map(s => `${s.index}/${s.count}`).join(', ')}` : 'whole file'}`,
          ]
        : []),
    ],
  };
}

async function cachedScores(ctx: CommandContext, ds: CliDataset, shard: Shard) {
  const storage = shardCacheDir(ctx.cacheDir, shard);
  const scorers = await registry(storage);
  if (scorers.length === 0) return [];
  const cache = await ScoreCache.open(join(storage, 'askllm', 'scores.log'));
  try {
    const scope = extractionScope(ds.schema);
    const keys = scorers.map(s => scopedScorerKey(s.scorerKey, scope));
    const hits = keys.map(() => ({ scored: 0, bound: 0 }));
    for await (const block of rowBlocks(ds, shard, 65536)) {
      for (const r of block.rows)
        keys.forEach((k, i) => {
          if (cache.get(k, r.hash)) hits[i].scored++;
          else if (cache.getBound(k, r.hash)) hits[i].bound++;
        });
    }
    return scorers
      .map((s, i) => ({
        model: s.meta.model,
        dtype: s.meta.dtype,
        prompt: s.meta.promptName,
        promptHash: s.meta.promptHash,
        maxTokens: s.meta.maxTokens,
        ...hits[i],
      }))
      .filter(s => s.scored + s.bound > 0);
  } finally {
    await cache.close();
  }
}

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const [file, ...rest] = ctx.flags.positionals;
  if (!file) throw new UsageError('winnow info needs a FILE (a dataset, or a .wnds sketch)');
  if (rest.length > 0) throw new UsageError(`winnow info takes one FILE; unexpected "${rest[0]}"`);
  if (/\.wnds$/i.test(file)) return sketchInfo(file);
  const shard = resolveShard(ctx.flags.string('shard'), ctx.flags.string('shard-count'), ctx.env);
  const ds = await openDataset(file);
  try {
    let counts = { lines: 0, valid: 0, blank: 0, invalid: 0, otherShards: 0 };
    for await (const block of rowBlocks(ds, shard, 65536)) counts = { ...block.counts };
    const invalid = await invalidLines(ds, 5);
    const scores = await cachedScores(ctx, ds, shard);
    const rows = counts.valid - counts.otherShards;
    return {
      code: ExitCode.ok,
      summary: {
        path: ds.path,
        bytes: ds.bytes,
        shard: shardFacts(shard),
        counts: { ...counts, rows },
        schema: schemaFacts(ds.schema),
        invalidLines: invalid,
        cachedScores: scores,
        cacheDir: shardCacheDir(ctx.cacheDir, shard),
      },
      lines: [
        `${ds.path}: ${count(ds.bytes)} bytes, ${count(counts.lines)} lines: ${count(counts.valid)} valid, ` +
          `${count(counts.blank)} blank, ${count(counts.invalid)} invalid` +
          (shard.count > 1 ? `; ${count(rows)} rows in shard ${shard.index}/${shard.count}` : ''),
        `Schema: ${ds.schema.label}${ds.schema.fields.length ? ` (fields: ${ds.schema.fields.slice(0, 12).join(', ')})` : ''}`,
        ...invalid.map(i => `  line ${i.line}: ${i.error}`),
        scores.length === 0
          ? `Cached ASK-LLM scores: none in ${shardCacheDir(ctx.cacheDir, shard)}`
          : 'Cached ASK-LLM scores:',
        ...scores.map(
          s =>
            `  ${s.model} (${s.dtype}, prompt ${s.prompt} ${s.promptHash}): ${count(s.scored)} of ${count(rows)} rows${s.bound ? `, ${count(s.bound)} bound` : ''}`,
        ),
      ],
    };
  } finally {
    await ds.close();
  }
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'Detected schema, line counts and the ASK-LLM scores cached for a file.',
  usage: 'winnow info FILE',
  description:
    'Shows the size and lines of FILE (valid rows, blank lines, invalid lines with the first ' +
    'reasons), the schema detected from its first 200 lines (as the editor detects it), and for ' +
    'each scorer configuration the cache knows, how many of its rows have scores. For a sketch ' +
    'file (.wnds) it shows its points, parameters and seed.',
  options,
  examples: ['winnow info data.jsonl', 'winnow info --json data.jsonl', 'winnow info all.wnds'],
  run,
};
