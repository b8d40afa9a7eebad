/**
 * The decisions sidecar: `<dataset>.winnow.json` beside the dataset (SCORES_API.md). Pretty JSON
 * with one content hash per line, sorted, so it is small, diffable and safe to commit. The
 * dataset itself is never written. Free of `vscode`.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CONTENT_HASH_DEFINITION } from '../core/jsonl';
import type { DecisionRule } from './decisions';

/** Decisions keyed by version 1 of the content hash (`legacyContentHash`, SHA-256). */
export interface LegacyDecisions {
  readonly keep: readonly string[];
  readonly drop: readonly string[];
}

/** What a sidecar holds. */
export interface SidecarData {
  /** Content hashes (src/core/jsonl contentHash, version 2) of kept and dropped rows, sorted. */
  readonly keep: readonly string[];
  readonly drop: readonly string[];
  /** How bulk decisions were made (thresholds, sample sizes, seeds), oldest first. */
  readonly rules: readonly DecisionRule[];
  /**
   * Decisions of a version-1 sidecar (keyed by SHA-256) that no row has been matched to yet:
   * rows are re-keyed to version 2 as the scan meets them, the rest are kept, never dropped.
   */
  readonly legacy?: LegacyDecisions;
}

/** Version 2: keyed by content hash version 2. Version 1 files (SHA-256 keys) are still read. */
export const SIDECAR_VERSION = 2;
const LEGACY_KEYED_BY =
  'contentHash v1: first 128 bits of SHA-256 of the line bytes (no CR, no BOM), hex';
const HASH = /^[0-9a-f]{32}$/;

/** Whether `data` holds decisions still keyed by the version-1 hash. */
export function hasLegacyDecisions(data: SidecarData): boolean {
  return (data.legacy?.keep.length ?? 0) + (data.legacy?.drop.length ?? 0) > 0;
}

/** The sidecar path of a dataset path. */
export function sidecarPath(datasetPath: string): string {
  return `${datasetPath}.winnow.json`;
}

/** The sidecar's text: stable key order, sorted hashes, a final newline. */
export function sidecarText(datasetName: string, data: SidecarData): string {
  const doc: Record<string, unknown> = {
    winnow: 'decisions',
    version: SIDECAR_VERSION,
    dataset: datasetName,
    keyedBy: CONTENT_HASH_DEFINITION,
    counts: { keep: data.keep.length, drop: data.drop.length },
    rules: data.rules,
    keep: [...data.keep].sort(),
    drop: [...data.drop].sort(),
  };
  if (data.legacy && hasLegacyDecisions(data)) {
    doc.legacy = {
      keyedBy: LEGACY_KEYED_BY,
      keep: [...data.legacy.keep].sort(),
      drop: [...data.legacy.drop].sort(),
    };
  }
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Parses a sidecar's text; throws an Error saying what is wrong with it. */
export function parseSidecar(text: string, path = 'the sidecar'): SidecarData {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error(`${path} is not a Winnow decisions file (expected a JSON object)`);
  const o = doc as Record<string, unknown>;
  if (o.version !== 1 && o.version !== SIDECAR_VERSION)
    throw new Error(`${path} has version ${String(o.version)}; this Winnow reads versions 1 and 2`);
  const hashes = (from: Record<string, unknown>, key: 'keep' | 'drop', where = ''): string[] => {
    const v = from[key] ?? [];
    if (!Array.isArray(v) || !v.every(h => typeof h === 'string' && HASH.test(h)))
      throw new Error(`${path}: "${where}${key}" must be a list of 32-digit lower-case hex hashes`);
    return v as string[];
  };
  const rules = Array.isArray(o.rules) ? (o.rules as DecisionRule[]) : [];
  // Version 1 was keyed by SHA-256: all of its decisions are legacy until rows match them.
  if (o.version === 1) return { keep: [], drop: [], rules, legacy: parseLegacy(o, hashes, '') };
  const legacy = o.legacy;
  if (legacy === undefined) return { keep: hashes(o, 'keep'), drop: hashes(o, 'drop'), rules };
  if (typeof legacy !== 'object' || legacy === null || Array.isArray(legacy))
    throw new Error(`${path}: "legacy" must be an object with "keep" and "drop" lists`);
  return {
    keep: hashes(o, 'keep'),
    drop: hashes(o, 'drop'),
    rules,
    legacy: parseLegacy(legacy as Record<string, unknown>, hashes, 'legacy.'),
  };
}

function parseLegacy(
  from: Record<string, unknown>,
  hashes: (from: Record<string, unknown>, key: 'keep' | 'drop', where: string) => string[],
  where: string,
): LegacyDecisions {
  return { keep: hashes(from, 'keep', where), drop: hashes(from, 'drop', where) };
}

/** Reads the sidecar of `datasetPath`; an absent file is empty. */
export async function readSidecar(datasetPath: string): Promise<SidecarData> {
  const path = sidecarPath(datasetPath);
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { keep: [], drop: [], rules: [] };
    throw e;
  }
  return parseSidecar(text, path);
}

/**
 * Writes the sidecar of `datasetPath` atomically. An empty decision set removes the file when
 * it exists (nothing decided leaves nothing behind).
 */
export async function writeSidecar(datasetPath: string, data: SidecarData): Promise<string> {
  const path = sidecarPath(datasetPath);
  const empty = data.keep.length === 0 && data.drop.length === 0 && data.rules.length === 0;
  if (empty && !hasLegacyDecisions(data)) {
    await fsp.rm(path, { force: true });
    return path;
  }
  await writeFileAtomic(path, sidecarText(basename(datasetPath), data));
  return path;
}

/** Writes `text` to `path` through a temporary file in the same folder and a rename. */
export async function writeFileAtomic(path: string, text: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, 'wx');
  let ok = false;
  try {
    await fh.writeFile(text);
    await fh.sync();
    await fh.close();
    await fsp.rename(tmp, path);
    ok = true;
  } finally {
    if (!ok) {
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}
