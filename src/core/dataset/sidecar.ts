/**
 * The decisions sidecar: `<dataset>.winnow.json` beside the dataset (docs/scores-api.md). Pretty JSON
 * with one content hash per line, sorted, so it is small, diffable and safe to commit. The
 * dataset itself is never written. Free of `vscode`.
 *
 * A sidecar is read strictly: anything that is not exactly a decisions file of a known version
 * (renamed keys, an export manifest under the sidecar's name, a hash both kept and dropped,
 * rules that are not a list, merge-conflict markers) is an error that names the problem, so that
 * nothing saves over decisions it could not read. What was read is stamped (size, time, SHA-256),
 * so a save can tell whether the file changed on disk since.
 */
import { createHash } from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import { CONTENT_HASH_DEFINITION, tempPathFor } from '../jsonl';
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

/** Whether `data` holds decisions still keyed by the version-1 hash. */
export function hasLegacyDecisions(data: SidecarData): boolean {
  return (data.legacy?.keep.length ?? 0) + (data.legacy?.drop.length ?? 0) > 0;
}

/** What the sidecar on disk was when it was read or written: absent, or its size, time and hash. */
export type SidecarStamp =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly bytes: number;
      readonly mtimeMs: number;
      readonly sha256: string;
    };

/** The sidecar as found on disk: its stamp, and its decisions or why they cannot be read. */
export type SidecarOnDisk =
  | { readonly stamp: SidecarStamp; readonly data: SidecarData; readonly error?: undefined }
  | { readonly stamp: SidecarStamp; readonly data?: undefined; readonly error: string };

export interface SidecarReadOptions {
  /** Larger files are refused before reading (default {@link MAX_SIDECAR_BYTES}). */
  readonly maxBytes?: number;
}

/** Version 2: keyed by content hash version 2. Version 1 files (SHA-256 keys) are still read. */
export const SIDECAR_VERSION = 2;
const LEGACY_KEYED_BY =
  'contentHash v1: first 128 bits of SHA-256 of the line bytes (no CR, no BOM), hex';
const HASH = /^[0-9a-f]{32}$/;
/** The keys a decisions file has; any other key is an error. */
const SIDECAR_KEYS = [
  'winnow',
  'version',
  'dataset',
  'keyedBy',
  'counts',
  'rules',
  'keep',
  'drop',
  'legacy',
];
const LEGACY_KEYS = ['keyedBy', 'keep', 'drop'];
const RULE_KINDS = ['rows', 'view', 'topPercent', 'densitySample', 'threshold', 'duplicates'];
const RULE_DECISIONS = ['keep', 'drop', 'unset'];
/** The largest sidecar read: the longest string this JavaScript engine can hold, or 512 MiB. */
export const MAX_SIDECAR_BYTES = Math.min(bufferConstants.MAX_STRING_LENGTH, 512 * 2 ** 20);

export const EMPTY_SIDECAR: SidecarData = { keep: [], drop: [], rules: [] };

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

/** Sizes in words: "600.0 MB". */
export function byteSize(bytes: number): string {
  if (bytes < 1e3) return `${bytes} bytes`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/** Parses a sidecar's text; throws an Error saying what is wrong with it. */
export function parseSidecar(text: string, path = 'the sidecar'): SidecarData {
  if (/^(<{7}|={7}|>{7})( |$)/m.test(text))
    throw new Error(
      `${path} has merge-conflict markers (<<<<<<<, =======, >>>>>>>); resolve the conflict first`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error(`${path} is not a Winnow decisions file (expected a JSON object)`);
  const o = doc as Record<string, unknown>;
  checkKind(o, path);
  if (o.version !== 1 && o.version !== SIDECAR_VERSION)
    throw new Error(
      `${path} has version ${String(o.version)}; this Winnow reads versions 1 and ${SIDECAR_VERSION}`,
    );
  const unknown = Object.keys(o).filter(k => !SIDECAR_KEYS.includes(k));
  if (unknown.length > 0)
    throw new Error(
      `${path} has unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.map(k => `"${k}"`).join(', ')}; ` +
        `a decisions file has "keep", "drop" and "rules"`,
    );
  const keep = hashList(o, 'keep', path);
  const drop = hashList(o, 'drop', path);
  checkDisjoint(keep, drop, path);
  const rules = ruleList(o.rules, path);
  // Version 1 was keyed by SHA-256: all of its decisions are legacy until rows match them.
  if (o.version === 1) return { keep: [], drop: [], rules, legacy: { keep, drop } };
  if (o.legacy === undefined) return { keep, drop, rules };
  return { keep, drop, rules, legacy: legacyDecisions(o.legacy, path) };
}

/** The `legacy` section of a version-2 file: version-1 decisions not matched to rows yet. */
function legacyDecisions(v: unknown, path: string): LegacyDecisions {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Error(`${path}: "legacy" must be an object with "keep" and "drop" lists`);
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter(k => !LEGACY_KEYS.includes(k));
  if (unknown.length > 0)
    throw new Error(`${path}: "legacy" has unknown keys ${unknown.map(k => `"${k}"`).join(', ')}`);
  const keep = hashList(o, 'keep', `${path} (legacy)`);
  const drop = hashList(o, 'drop', `${path} (legacy)`);
  checkDisjoint(keep, drop, `${path} (legacy)`);
  return { keep, drop };
}

/** The file must say it is a decisions file; an export manifest is named as such. */
function checkKind(o: Record<string, unknown>, path: string): void {
  if (o.winnow === 'decisions') return;
  if (o.winnow === 'export')
    throw new Error(
      `${path} is an export manifest, not a decisions file (it has "winnow": "export"); move it away`,
    );
  throw new Error(
    `${path} is not a Winnow decisions file: "winnow" is ${JSON.stringify(o.winnow) ?? 'missing'}, expected "decisions"`,
  );
}

function hashList(o: Record<string, unknown>, key: 'keep' | 'drop', path: string): string[] {
  const v = o[key];
  if (v === undefined) throw new Error(`${path} has no "${key}" list`);
  if (!Array.isArray(v)) throw new Error(`${path}: "${key}" must be a list of hashes`);
  const bad = v.findIndex(h => typeof h !== 'string' || !HASH.test(h));
  if (bad >= 0)
    throw new Error(
      `${path}: "${key}" must be a list of 32-digit lower-case hex hashes; item ${bad + 1} is ${truncated(v[bad])}`,
    );
  return v as string[];
}

function checkDisjoint(keep: readonly string[], drop: readonly string[], path: string): void {
  const kept = new Set(keep);
  const both = drop.filter(h => kept.has(h));
  if (both.length === 0) return;
  throw new Error(
    `${path} lists ${both.length} ${both.length === 1 ? 'hash' : 'hashes'} under both "keep" and "drop" ` +
      `(first: ${both[0]}); each row can have one decision`,
  );
}

function ruleList(v: unknown, path: string): DecisionRule[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${path}: "rules" must be a list, not ${truncated(v)}`);
  v.forEach((r: unknown, i) => {
    const rule = r as Partial<Record<keyof DecisionRule, unknown>> | null;
    const ok =
      typeof rule === 'object' &&
      rule !== null &&
      !Array.isArray(rule) &&
      RULE_KINDS.includes(rule.kind as string) &&
      RULE_DECISIONS.includes(rule.decision as string) &&
      typeof rule.rows === 'number' &&
      typeof rule.at === 'string';
    if (!ok)
      throw new Error(
        `${path}: rule ${i + 1} is not a decision rule (it needs "kind", "decision", "rows" and "at"): ${truncated(r)}`,
      );
  });
  return v as DecisionRule[];
}

function truncated(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/**
 * Reads the sidecar of `datasetPath` as it is on disk: absent is empty; a file that cannot be
 * read (too large, unreadable, not a valid decisions file) gives `error` with its stamp. Rejects
 * only when the file cannot be opened or read at all (other than absent).
 */
export async function readSidecarOnDisk(
  datasetPath: string,
  opts: SidecarReadOptions = {},
): Promise<SidecarOnDisk> {
  const path = sidecarPath(datasetPath);
  const maxBytes = opts.maxBytes ?? MAX_SIDECAR_BYTES;
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      return { stamp: { exists: false }, data: EMPTY_SIDECAR };
    throw e;
  }
  try {
    const stat = await fh.stat();
    if (stat.size > maxBytes) {
      const stamp = { exists: true, bytes: stat.size, mtimeMs: stat.mtimeMs, sha256: '' } as const;
      const error = `${path} is too large to read (${byteSize(stat.size)}; Winnow reads decisions files up to ${byteSize(maxBytes)})`;
      return { stamp, error };
    }
    const bytes = await fh.readFile();
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const stamp = { exists: true, bytes: bytes.length, mtimeMs: stat.mtimeMs, sha256 } as const;
    try {
      return { stamp, data: parseSidecar(bytes.toString('utf8'), path) };
    } catch (e) {
      return { stamp, error: e instanceof Error ? e.message : String(e) };
    }
  } finally {
    await fh.close();
  }
}

/** Reads the sidecar of `datasetPath`; an absent file is empty. Throws when it cannot be read. */
export async function readSidecar(
  datasetPath: string,
  opts: SidecarReadOptions = {},
): Promise<SidecarData> {
  const found = await readSidecarOnDisk(datasetPath, opts);
  if (found.error !== undefined) throw new Error(found.error);
  return found.data;
}

/**
 * Whether the sidecar changed between two stamps: appeared, disappeared, or different content.
 * A file that was only touched (same bytes, new time) did not change.
 */
export function sidecarChanged(before: SidecarStamp, now: SidecarStamp): boolean {
  if (!before.exists || !now.exists) return before.exists !== now.exists;
  return before.bytes !== now.bytes || before.sha256 !== now.sha256 || before.sha256 === '';
}

/**
 * Writes the sidecar of `datasetPath` atomically and resolves to its stamp. An empty decision
 * set removes the file when it exists (nothing decided leaves nothing behind).
 */
export async function writeSidecarStamped(
  datasetPath: string,
  data: SidecarData,
): Promise<SidecarStamp> {
  const path = sidecarPath(datasetPath);
  const empty = data.keep.length === 0 && data.drop.length === 0 && data.rules.length === 0;
  if (empty && !hasLegacyDecisions(data)) {
    await fsp.rm(path, { force: true });
    return { exists: false };
  }
  const bytes = Buffer.from(sidecarText(basename(datasetPath), data));
  const mtimeMs = await writeFileAtomic(path, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { exists: true, bytes: bytes.length, mtimeMs, sha256 };
}

/** Writes the sidecar of `datasetPath` atomically (see {@link writeSidecarStamped}); resolves to its path. */
export async function writeSidecar(datasetPath: string, data: SidecarData): Promise<string> {
  await writeSidecarStamped(datasetPath, data);
  return sidecarPath(datasetPath);
}

/**
 * Writes `text` to `path` through a temporary file in the same folder and a rename. Resolves to
 * the written file's modification time.
 */
export async function writeFileAtomic(path: string, text: string | Uint8Array): Promise<number> {
  const tmp = tempPathFor(path);
  const fh = await fsp.open(tmp, 'wx');
  let ok = false;
  try {
    await fh.writeFile(text);
    await fh.sync();
    const { mtimeMs } = await fh.stat();
    await fh.close();
    await fsp.rename(tmp, path);
    ok = true;
    return mtimeMs;
  } finally {
    if (!ok) {
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}
