/**
 * The dataset view's judge A/B (docs/judge.md#judge-ab): the current ASK-LLM column (A) against
 * a second stored scorer's column (B), over the rows both scored, with the user's labels (the
 * same labels as the calibration); and the rows they disagree on, for the "flips" filter.
 * Free of `vscode`.
 */
import type { ComparisonView, FlipsView, ScorerChoiceView } from '../../shared/protocol/webview';
import { compareScorers, type Flips } from '../judge/compare';
import type { DecisionColumn } from './decisions';
import { KEEP } from './decisions';

/** The comparison and its flip rows (one byte per row: 1 = the scorers disagree). */
export interface ComparisonResult {
  readonly view: ComparisonView;
  readonly flipMask: Uint8Array;
}

/** Per row: 1 keep, 0 drop for the labelled rows (decided by hand), −1 for the others. */
export function rowLabels(decisions: DecisionColumn, rowCount: number): Int8Array {
  const labels = new Int8Array(rowCount).fill(-1);
  const codes = decisions.codes;
  const n = Math.min(rowCount, decisions.rows);
  for (let i = 0; i < n; i++) if (decisions.isLabel(i)) labels[i] = codes[i] === KEEP ? 1 : 0;
  return labels;
}

function flipsView(f: Flips): FlipsView {
  return {
    thresholdA: f.thresholdA,
    thresholdB: f.thresholdB,
    keptByAOnly: f.keptByAOnly,
    keptByBOnly: f.keptByBOnly,
    flips: f.flips,
    flipRate: f.flipRate,
  };
}

/**
 * Compares scorer A's column with B's over the first `rowCount` rows. The flips filter uses
 * each scorer's calibrated threshold once both have one, else the same keep rate. No bootstrap:
 * the calibration panel carries the intervals of A.
 */
export function comparisonView(
  a: Float32Array,
  b: Float32Array,
  decisions: DecisionColumn,
  rowCount: number,
  scorers: { readonly a: ScorerChoiceView; readonly b: ScorerChoiceView },
  targetPrecision = 0.9,
): ComparisonResult {
  const n = Math.min(rowCount, a.length, b.length);
  const xa = a.subarray(0, n);
  const xb = b.subarray(0, n);
  const labels = rowLabels(decisions, n);
  const c = compareScorers(xa, xb, {
    labels,
    calibration: { targetPrecision, replicates: 0 },
  });
  const basis = c.atThresholds ? 'thresholds' : 'keepRate';
  const used = c.atThresholds ?? c.atKeepRate;
  const flipMask = new Uint8Array(rowCount);
  for (let i = 0; i < n; i++) {
    if (!(xa[i] === xa[i] && xb[i] === xb[i])) continue;
    if (xa[i] >= used.thresholdA !== xb[i] >= used.thresholdB) flipMask[i] = 1;
  }
  const view: ComparisonView = {
    scorerA: scorers.a,
    scorerB: scorers.b,
    rows: c.rows,
    spearman: c.spearman,
    kendall: c.kendall,
    ...(c.atThresholds ? { atThresholds: flipsView(c.atThresholds) } : {}),
    atKeepRate: { ...flipsView(c.atKeepRate), keepRate: c.atKeepRate.keepRate },
    basis,
    aucA: c.calibrationA?.auc ?? null,
    aucB: c.calibrationB?.auc ?? null,
    labelled: c.calibrationA?.labelled ?? 0,
  };
  return { view, flipMask };
}

/** One cached comparison per (both columns, decisions version, row count, target). */
export class ComparisonCache {
  private key:
    { a: Float32Array; b: Float32Array; version: number; rows: number; target: number } | undefined;
  private value: ComparisonResult | undefined;

  get(
    a: Float32Array,
    b: Float32Array,
    decisions: DecisionColumn,
    rowCount: number,
    scorers: { readonly a: ScorerChoiceView; readonly b: ScorerChoiceView },
    target: number,
  ): ComparisonResult {
    const k = this.key;
    if (
      this.value &&
      k &&
      k.a === a &&
      k.b === b &&
      k.version === decisions.version &&
      k.rows === rowCount &&
      k.target === target
    )
      return this.value;
    this.value = comparisonView(a, b, decisions, rowCount, scorers, target);
    this.key = { a, b, version: decisions.version, rows: rowCount, target };
    return this.value;
  }
}

const caches = new WeakMap<DecisionColumn, ComparisonCache>();

/** The comparison of a document's two scorers, cached per decision column. */
export function cachedComparison(
  a: Float32Array,
  b: Float32Array,
  decisions: DecisionColumn,
  rowCount: number,
  scorers: { readonly a: ScorerChoiceView; readonly b: ScorerChoiceView },
  target: number,
): ComparisonResult {
  let cache = caches.get(decisions);
  if (!cache) caches.set(decisions, (cache = new ComparisonCache()));
  return cache.get(a, b, decisions, rowCount, scorers, target);
}
