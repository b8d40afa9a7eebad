/**
 * What every command is (name, help, flags, run) and what it gets from main.ts: parsed flags,
 * stdout and stderr, progress, a logger on stderr, the cache folder and the stop signal.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Logger } from '../worker/logger';
import { userCacheDir } from '../worker/cacheDir';
import type { Flags, OptionTable } from './args';
import type { ExitCodeValue } from './errors';
import type { Progress } from './progress';

export interface CommandContext {
  readonly flags: Flags;
  readonly env: NodeJS.ProcessEnv;
  /** A line on stdout (results; with `--json` only data lines go here). */
  readonly out: (line: string) => void;
  /** A line on stderr that the progress bar does not draw over. */
  readonly err: (line: string) => void;
  readonly progress: Progress;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Scores (`askllm/`), embeddings and sketches (`density/`), models (`models/`). */
  readonly cacheDir: string;
}

/** How a command ended: its exit code, the `--json` summary and the lines a person reads. */
export interface CommandOutcome {
  readonly code: ExitCodeValue;
  readonly summary: Record<string, unknown>;
  readonly lines: readonly string[];
}

export interface Command {
  readonly name: string;
  /** One line for `winnow --help`. */
  readonly summary: string;
  /** `winnow score FILE --out OUT.jsonl [options]`. */
  readonly usage: string;
  /** What it does, a paragraph or two (for its `--help`). */
  readonly description: string;
  readonly options: OptionTable;
  readonly examples?: readonly string[];
  run(ctx: CommandContext): Promise<CommandOutcome>;
  /**
   * Takes the process over instead of `run` (the language server owns stdin and stdout, its
   * own signals and its exit); gets the arguments after the command name.
   */
  readonly direct?: (argv: readonly string[]) => void;
}

/**
 * The cache folder: `--cache-dir`, else `WINNOW_CACHE_DIR`, else the worker's per-user cache
 * folder (`$XDG_CACHE_HOME/winnow`, `~/.cache/winnow`, ...), so the CLI and
 * `node dist/worker.js --stdio` share scores.
 */
export function resolveCacheDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const v = flag ?? env.WINNOW_CACHE_DIR;
  if (v === undefined || v === '') return userCacheDir(env);
  if (v === '~' || v.startsWith('~/')) return join(homedir(), v.slice(2));
  return isAbsolute(v) ? v : resolve(v);
}

/**
 * The cache folder of a shard: the folder itself for a whole-file run, else
 * `<cache>/shards/<I>-of-<N>/`, so that shards running at the same time on one machine (or on
 * a shared file system) never append to the same cache file. Models stay shared.
 */
export function shardCacheDir(cacheDir: string, shard: { index: number; count: number }): string {
  return shard.count === 1
    ? cacheDir
    : join(cacheDir, 'shards', `${shard.index}-of-${shard.count}`);
}

/** Where models download to inside the cache folder. */
export function modelsDir(cacheDir: string): string {
  return join(cacheDir, 'models');
}
