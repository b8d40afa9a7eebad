/**
 * The three-way merge of decision sets, for a sidecar that changed on disk while the dataset was
 * open (another window saved, a `git merge` or checkout rewrote it). Decisions are a map from
 * content hash to keep or drop, so the merge is per hash: base is what was loaded, ours is the
 * document's decisions now, theirs is the file on disk now.
 *
 * - A hash that only one side changed (decided, re-decided or cleared) takes that side's value.
 * - A hash that both sides changed to the same value takes it.
 * - A hash that both sides changed to different values is a conflict: **ours wins** (the
 *   decision made in this window, which the user is saving right now), and conflicts are counted
 *   so the user is told how many.
 *
 * Rules (how bulk decisions were made) are history, not state: the merge keeps theirs, then adds
 * ours that were not in the base. Free of `vscode`.
 */
import type { DecisionRule } from './decisions';
import type { SidecarData } from './sidecar';

type Value = 'keep' | 'drop';

export interface SidecarMerge {
  readonly data: SidecarData;
  /** Hashes both sides changed to different values (resolved to ours). */
  readonly conflicts: number;
  /** Hashes whose merged value came from theirs where ours had kept the base value. */
  readonly fromTheirs: number;
}

function valueMap(data: SidecarData): Map<string, Value> {
  const m = new Map<string, Value>();
  for (const h of data.keep) m.set(h, 'keep');
  for (const h of data.drop) m.set(h, 'drop');
  return m;
}

/** Merges `ours` and `theirs`, both derived from `base` (see the module comment for the rule). */
export function mergeSidecars(
  base: SidecarData,
  ours: SidecarData,
  theirs: SidecarData,
): SidecarMerge {
  const b = valueMap(base);
  const o = valueMap(ours);
  const t = valueMap(theirs);
  const keep: string[] = [];
  const drop: string[] = [];
  let conflicts = 0;
  let fromTheirs = 0;
  for (const h of new Set([...b.keys(), ...o.keys(), ...t.keys()])) {
    const bv = b.get(h);
    const ov = o.get(h);
    const tv = t.get(h);
    let v = ov;
    if (ov !== tv) {
      if (ov === bv) {
        v = tv;
        fromTheirs++;
      } else if (tv !== bv) conflicts++;
    }
    if (v === 'keep') keep.push(h);
    else if (v === 'drop') drop.push(h);
  }
  keep.sort();
  drop.sort();
  return {
    data: { keep, drop, rules: mergeRules(base.rules, ours.rules, theirs.rules) },
    conflicts,
    fromTheirs,
  };
}

function mergeRules(
  base: readonly DecisionRule[],
  ours: readonly DecisionRule[],
  theirs: readonly DecisionRule[],
): DecisionRule[] {
  const key = (r: DecisionRule) => JSON.stringify(r);
  const seen = new Set([...base, ...theirs].map(key));
  return [...theirs, ...ours.filter(r => !seen.has(key(r)))];
}

/** "600 dropped, 12 kept": the counts of a decision set in words. */
export function decisionCounts(data: SidecarData): string {
  return `${data.keep.length.toLocaleString('en-US')} kept, ${data.drop.length.toLocaleString('en-US')} dropped`;
}
