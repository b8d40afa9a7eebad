/**
 * Shards: `--shard I/N` gives this process the rows whose content hash falls in shard I of N, so
 * the split depends on each row's bytes alone (stable under reordering and appends; duplicate
 * rows land in the same shard). `--shard auto` reads the index and count from the scheduler:
 *
 * - Slurm job arrays: `SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN` (0 when unset), of
 *   `SLURM_ARRAY_TASK_COUNT` (`#SBATCH --array=0-7` gives 8 tasks, 0..7);
 * - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX`, of `--shard-count N` or
 *   `WINNOW_SHARD_COUNT` (set it to the Job's `completions`; Kubernetes does not export it);
 * - anything else: `WINNOW_SHARD_INDEX` of `WINNOW_SHARD_COUNT`.
 */
import { UsageError } from './errors';

/** This process's part of the rows. */
export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
  /** Where the numbers came from (`--shard 2/8`, `SLURM_ARRAY_TASK_ID`, ...). */
  source: string;
}

/** Every row: no `--shard`. */
export const WHOLE: Shard = { index: 0, count: 1, source: 'no --shard' };

const MAX_SHARDS = 1_000_000;

function whole(v: string | undefined, name: string): number {
  const n = v === undefined ? NaN : Number(v);
  if (v === undefined || !/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n))
    throw new UsageError(
      `${name} must be a whole number (got ${v === undefined ? 'nothing' : `"${v}"`})`,
    );
  return n;
}

function checked(index: number, count: number, source: string): Shard {
  if (count < 1 || count > MAX_SHARDS)
    throw new UsageError(
      `${source}: the shard count must be from 1 to ${MAX_SHARDS} (got ${count})`,
    );
  if (index >= count)
    throw new UsageError(`${source}: shard index ${index} is not below the shard count ${count}`);
  return { index, count, source };
}

/**
 * The shard of a command line: `--shard I/N`, `--shard auto` (see the module comment), or all
 * rows. `shardCount` is `--shard-count`, for Kubernetes.
 */
export function resolveShard(
  flag: string | undefined,
  shardCount: string | undefined,
  env: NodeJS.ProcessEnv,
): Shard {
  if (flag === undefined) {
    if (shardCount !== undefined) throw new UsageError('--shard-count goes with --shard auto');
    return WHOLE;
  }
  if (flag === 'auto') return autoShard(shardCount, env);
  const m = /^(\d+)\/(\d+)$/.exec(flag.trim());
  if (!m) throw new UsageError(`--shard must be I/N (e.g. 0/8) or auto (got "${flag}")`);
  return checked(Number(m[1]), Number(m[2]), `--shard ${flag}`);
}

function autoShard(shardCount: string | undefined, env: NodeJS.ProcessEnv): Shard {
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const id = whole(env.SLURM_ARRAY_TASK_ID, 'SLURM_ARRAY_TASK_ID');
    const min =
      env.SLURM_ARRAY_TASK_MIN === undefined
        ? 0
        : whole(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN');
    const count =
      shardCount !== undefined
        ? whole(shardCount, '--shard-count')
        : whole(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT');
    return checked(id - min, count, `SLURM_ARRAY_TASK_ID=${id}`);
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    const index = whole(env.JOB_COMPLETION_INDEX, 'JOB_COMPLETION_INDEX');
    const raw = shardCount ?? env.WINNOW_SHARD_COUNT;
    if (raw === undefined)
      throw new UsageError(
        'JOB_COMPLETION_INDEX is set but not the shard count: pass --shard-count N or set ' +
          "WINNOW_SHARD_COUNT to the Job's completions",
      );
    return checked(
      index,
      whole(raw, shardCount !== undefined ? '--shard-count' : 'WINNOW_SHARD_COUNT'),
      `JOB_COMPLETION_INDEX=${index}`,
    );
  }
  if (env.WINNOW_SHARD_INDEX !== undefined) {
    const index = whole(env.WINNOW_SHARD_INDEX, 'WINNOW_SHARD_INDEX');
    const count = whole(shardCount ?? env.WINNOW_SHARD_COUNT, 'WINNOW_SHARD_COUNT');
    return checked(index, count, `WINNOW_SHARD_INDEX=${index}`);
  }
  throw new UsageError(
    '--shard auto found no scheduler: set by Slurm (SLURM_ARRAY_TASK_ID), Kubernetes ' +
      '(JOB_COMPLETION_INDEX) or by hand (WINNOW_SHARD_INDEX and WINNOW_SHARD_COUNT)',
  );
}

/**
 * The shard of a row from its content hash (32 hex digits): the first 52 bits as an integer,
 * modulo the count. Uniform, and the same on every machine and in every run.
 */
export function shardOfHash(hash: string, count: number): number {
  if (count === 1) return 0;
  return parseInt(hash.slice(0, 13), 16) % count;
}

/** Whether a row belongs to this shard. */
export function inShard(hash: string, shard: Shard): boolean {
  return shard.count === 1 || shardOfHash(hash, shard.count) === shard.index;
}

/** How a shard is written in manifests and summaries. */
export function shardFacts(shard: Shard): { index: number; count: number } | null {
  return shard.count === 1 ? null : { index: shard.index, count: shard.count };
}
