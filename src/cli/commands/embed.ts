/**
 * `winnow embed FILE`: DENSITY embeddings of every valid row (of this shard) into the embedding
 * cache, the extension's file for the same embedder and schema. Resumable: every batch is on
 * disk before the next starts, and cached rows are not embedded again.
 */
import type { OptionTable } from '../args';
import { fileArgument } from '../args';
import { shardCacheDir, type Command, type CommandContext, type CommandOutcome } from '../command';
import { openDataset } from '../dataset';
import { embedShard, openEmbedder } from '../densityRun';
import { ExitCode } from '../errors';
import { count } from '../progress';
import { resolveShard, shardFacts } from '../shard';
import { EMBEDDER_OPTIONS, embedderSettings } from './densityFlags';

const options: OptionTable = { ...EMBEDDER_OPTIONS };

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const t0 = performance.now();
  const { flags } = ctx;
  const file = fileArgument(flags, 'embed');
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
      const { counts: c } = await embedShard(e, ds, shard, settings, ctx.progress, ctx.signal);
      const failures = [...c.failed.values()].length;
      return {
        code: failures > 0 ? ExitCode.incomplete : ExitCode.ok,
        summary: {
          engine: e.model.remote?.engine ?? 'local',
          endpointHost: e.model.remote?.host ?? null,
          model: e.model.modelId,
          device: e.model.device,
          dim: e.model.dim,
          cache: e.store.path,
          shard: shardFacts(shard),
          counts: {
            lines: c.lines,
            rows: c.rows,
            cached: c.cached,
            embedded: c.embedded,
            truncated: c.truncated,
            error: failures,
          },
          elapsedMs: Math.round(performance.now() - t0),
        },
        lines: [
          `Embedded ${count(c.rows)} rows with ${e.model.modelId} (${e.model.device}, ${e.model.dim} dimensions): ` +
            `${count(c.embedded)} new, ${count(c.cached)} from the cache${failures ? `, ${count(failures)} failed` : ''}`,
          `Cache: ${e.store.path}`,
        ],
      };
    } finally {
      await e.close();
    }
  } finally {
    await ds.close();
  }
}

export const embedCommand: Command = {
  name: 'embed',
  summary: 'DENSITY embeddings of every row into the embedding cache (resumable).',
  usage: 'winnow embed FILE [options]',
  description:
    'Embeds every valid row of FILE (text per the detected schema, truncated, mean-pooled and ' +
    'L2-normalised) into the embedding cache, the file the extension uses for the same model, ' +
    'so `winnow density` and Compute Density in the editor then embed nothing. Only rows ' +
    'missing from the cache are embedded; every batch is on disk before the next starts.',
  options,
  examples: [
    'winnow embed data.jsonl --model Xenova/all-MiniLM-L6-v2',
    'winnow embed data.jsonl --shard auto',
  ],
  run,
};
