/**
 * Decisions of a dataset that is not open in the dataset view: read from and written to its
 * sidecar directly (text-editor code actions call `winnow.setDecision` this way). Free of
 * `vscode`.
 */
import { contentHash, legacyContentHash, openRowSource, type RowSource } from '../jsonl';
import type { DecisionValue } from '../../shared/protocol/webview';
import { hasLegacyDecisions, readSidecar, writeSidecar, type SidecarData } from './sidecar';

/**
 * Re-keys the legacy (content hash version 1) decisions of `saved` to version 2 by hashing every
 * row of `file` both ways; legacy decisions that match no row stay legacy (never dropped).
 */
export async function rekeyLegacyDecisions(
  file: RowSource,
  saved: SidecarData,
): Promise<SidecarData> {
  if (!saved.legacy || !hasLegacyDecisions(saved)) return saved;
  const legacyKeep = new Set(saved.legacy.keep);
  const legacyDrop = new Set(saved.legacy.drop);
  const keep = new Set(saved.keep);
  const drop = new Set(saved.drop);
  const matched = new Set<string>();
  for await (const batch of file.iterateRows(0)) {
    for (const r of batch) {
      const old = legacyContentHash(r.bytes);
      const into = legacyKeep.has(old) ? keep : legacyDrop.has(old) ? drop : undefined;
      if (!into) continue;
      const h = contentHash(r.bytes);
      // A decision already keyed by version 2 is newer than the legacy one.
      if (!keep.has(h) && !drop.has(h)) into.add(h);
      matched.add(old);
    }
  }
  const unmatched = (s: Set<string>) => [...s].filter(h => !matched.has(h));
  return {
    keep: [...keep],
    drop: [...drop],
    rules: saved.rules,
    legacy: { keep: unmatched(legacyKeep), drop: unmatched(legacyDrop) },
  };
}

/** Content hashes of the given lines (0-based). Throws a RangeError for a line past the end. */
async function hashLines(file: RowSource, lines: readonly number[]): Promise<string[]> {
  await file.whenIndexed();
  const out: string[] = [];
  for (const line of lines) {
    if (!Number.isInteger(line) || line < 0 || line >= file.lineCount)
      throw new RangeError(`Line ${line + 1} is not in the file (it has ${file.lineCount} lines).`);
    out.push(contentHash((await file.readRow(line)).bytes));
  }
  return out;
}

/**
 * Gives `lines` the decision `decision` in the sidecar of `path` (read, changed, written
 * atomically). Resolves to the number of lines whose saved decision changed.
 */
export async function setDecisionInSidecar(
  path: string,
  lines: readonly number[],
  decision: DecisionValue,
  maxLineBytes?: number,
): Promise<number> {
  const file = await openRowSource(path, maxLineBytes ? { maxLineBytes } : {});
  let hashes: string[];
  let saved: SidecarData;
  try {
    hashes = await hashLines(file, lines);
    // Read (strictly: a sidecar that cannot be read is never written) just before the write, so
    // that another writer's change is not lost while the lines were hashed.
    saved = await rekeyLegacyDecisions(file, await readSidecar(path));
  } finally {
    await file.close();
  }
  const keep = new Set(saved.keep);
  const drop = new Set(saved.drop);
  let changed = 0;
  for (const h of new Set(hashes)) {
    const before = keep.has(h) ? 'keep' : drop.has(h) ? 'drop' : 'unset';
    if (before === decision) continue;
    changed++;
    keep.delete(h);
    drop.delete(h);
    if (decision === 'keep') keep.add(h);
    else if (decision === 'drop') drop.add(h);
  }
  if (changed > 0) {
    const data = { keep: [...keep], drop: [...drop], rules: saved.rules, legacy: saved.legacy };
    await writeSidecar(path, data);
  }
  return changed;
}

/** The saved decisions of `path` as line numbers (0-based), by hashing every line once. */
export async function decisionsFromSidecar(
  path: string,
  maxLineBytes?: number,
): Promise<{ keep: number[]; drop: number[] }> {
  const saved = await readSidecar(path);
  const keep: number[] = [];
  const drop: number[] = [];
  if (saved.keep.length === 0 && saved.drop.length === 0 && !hasLegacyDecisions(saved))
    return { keep, drop };
  const keepSet = new Set(saved.keep);
  const dropSet = new Set(saved.drop);
  const legacyKeep = new Set(saved.legacy?.keep ?? []);
  const legacyDrop = new Set(saved.legacy?.drop ?? []);
  const withLegacy = legacyKeep.size + legacyDrop.size > 0;
  const file = await openRowSource(path, maxLineBytes ? { maxLineBytes } : {});
  try {
    for await (const batch of file.iterateRows(0)) {
      for (const r of batch) {
        const h = contentHash(r.bytes);
        if (keepSet.has(h)) keep.push(r.index);
        else if (dropSet.has(h)) drop.push(r.index);
        else if (withLegacy) {
          const old = legacyContentHash(r.bytes);
          if (legacyKeep.has(old)) keep.push(r.index);
          else if (legacyDrop.has(old)) drop.push(r.index);
        }
      }
    }
  } finally {
    await file.close();
  }
  return { keep, drop };
}
