/**
 * Names of the temporary files that atomic writes go through, and the removal of the ones a killed
 * process left behind. A temporary file sits beside its target (a rename is atomic only within
 * one file system) and is hidden: `.<target name>.<pid>-<8 hex digits>.tmp`. The owner's process
 * id in the name tells whether the file can still be renamed into place by anyone.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const TEMP_NAME = /^\.(.+)\.(\d+)-([0-9a-f]{8})\.tmp$/;

/**
 * A file younger than this is left alone even when its owner's process id is not running here:
 * on a folder shared between machines the owner may be a live process on another one, and a
 * live writer keeps the file's modification time fresh.
 */
export const STALE_TEMP_MIN_AGE_MS = 60_000;

/** A new temporary path for an atomic write of `target`, owned by this process. */
export function tempPathFor(target: string): string {
  const name = `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  return join(dirname(target), name);
}

/** The target name and owner of a temporary file name of ours, or undefined for any other name. */
export function parseTempName(name: string): { target: string; pid: number } | undefined {
  const m = TEMP_NAME.exec(name);
  if (!m) return undefined;
  const pid = Number(m[2]);
  return Number.isSafeInteger(pid) && pid > 0 ? { target: m[1], pid } : undefined;
}

/** Whether a process with id `pid` runs on this machine (EPERM: it runs as another user). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export interface StaleTempOptions {
  /** Whether the owner still runs (default: {@link processRuns}). */
  readonly isRunning?: (pid: number) => boolean;
  /** Files modified more recently than this are kept (default {@link STALE_TEMP_MIN_AGE_MS}). */
  readonly minAgeMs?: number;
  /** The current time in ms (default: Date.now()). */
  readonly now?: number;
}

/** A temporary file that was removed, and its size. */
export interface RemovedTempFile {
  readonly path: string;
  readonly bytes: number;
}

/**
 * Removes the temporary files of ours in `folder` whose owning process is gone: only names of
 * the {@link tempPathFor} pattern, never one of this process, never one modified recently.
 * Files that cannot be checked or removed are left as they are. Resolves to what was removed.
 */
export async function removeStaleTempFiles(
  folder: string,
  opts: StaleTempOptions = {},
): Promise<RemovedTempFile[]> {
  const isRunning = opts.isRunning ?? processRuns;
  const minAge = opts.minAgeMs ?? STALE_TEMP_MIN_AGE_MS;
  const now = opts.now ?? Date.now();
  let names: string[];
  try {
    names = await fsp.readdir(folder);
  } catch {
    return [];
  }
  const removed: RemovedTempFile[] = [];
  for (const name of names) {
    const owner = parseTempName(name);
    if (!owner || owner.pid === process.pid || isRunning(owner.pid)) continue;
    const path = join(folder, name);
    try {
      const stat = await fsp.lstat(path);
      if (!stat.isFile() || now - stat.mtimeMs < minAge) continue;
      await fsp.rm(path);
      removed.push({ path, bytes: stat.size });
    } catch {
      // Gone already, or not ours to remove: leave it.
    }
  }
  return removed;
}
