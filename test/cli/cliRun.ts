/**
 * Runs the built CLI (dist/cli.js) as a real process, the way scripts and schedulers do, and
 * collects its exit code, stdout and stderr. Every run gets a temporary XDG_CACHE_HOME unless
 * the test passes its own environment, so nothing reaches the user's cache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strict as assert } from 'node:assert';
import { logError } from '../support/probability';

export const repoRoot = join(__dirname, '..', '..', '..');
export const cliPath = join(repoRoot, 'dist', 'cli.js');

/** Where the shared real datasets live (read in place, never copied into the repository). */
export const realDataDir = join(repoRoot, '..', 'shared', 'data', 'real');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (the `--json` summary), if it is JSON. */
  summary: Record<string, unknown> | undefined;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called once the process is started (kill-and-resume tests). */
  onStart?: (child: ChildProcess) => void;
}

let defaultCacheHome: string | undefined;

/** The environment of a CLI run: this process's, with a temporary XDG cache home. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  defaultCacheHome ??= mkdtempSync(join(tmpdir(), 'winnow-cli-xdg-'));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: defaultCacheHome, ...extra };
  for (const k of [
    'SLURM_ARRAY_TASK_ID',
    'SLURM_ARRAY_TASK_COUNT',
    'SLURM_ARRAY_TASK_MIN',
    'JOB_COMPLETION_INDEX',
    'WINNOW_SHARD_INDEX',
    'WINNOW_SHARD_COUNT',
    'WINNOW_CACHE_DIR',
  ])
    if (!(k in extra)) delete env[k];
  return env;
}

function lastJson(stdout: string): Record<string, unknown> | undefined {
  const last = stdout.trimEnd().split('\n').pop() ?? '';
  try {
    const v = JSON.parse(last) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `node dist/cli.js ...args`. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run "node esbuild.mjs" first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: options.env ?? cliEnv(),
      cwd: options.cwd ?? repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, summary: lastJson(stdout) }),
    );
    options.onStart?.(child);
  });
}

/** Runs the CLI and fails with its output unless it exits with `code`. */
export async function runCliOk(
  args: readonly string[],
  options: CliOptions = {},
  code = 0,
): Promise<CliResult> {
  const r = await runCli(args, options);
  if (r.code !== code)
    throw new Error(
      `winnow ${args.join(' ')} exited ${r.code} (${r.signal ?? ''}), wanted ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
  return r;
}

/** The rows of a JSONL output file. */
export function jsonlRows(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter(l => l.trim() !== '')
    .map(l => JSON.parse(l) as Record<string, unknown>);
}

/**
 * The same rows, statuses and token counts, and the same P(yes) up to float32 rounding: rows
 * batched with other neighbours are padded to another length, which can move the last bit of
 * a float32 logit (one ulp: |Δ ln P| ≤ 2.4e-7 measured), so this allows 1e-6.
 */
export function sameScores(got: Record<string, unknown>[], want: Record<string, unknown>[]): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    const { askllm_score: gs, ...gRest } = g;
    const { askllm_score: ws, ...wRest } = want[i];
    assert.deepEqual(gRest, wRest);
    assert.ok(logError(Number(gs), Number(ws)) <= 1e-6, `line ${String(g.line)}: ${gs} vs ${ws}`);
  });
}
