/**
 * The dataset view's calibration (docs/judge.md#calibration): the ASK-LLM column against the
 * user's labels (the scored rows decided by hand; rows decided by a bulk rule in this session
 * are decisions, not labels), recomputed when the decisions or the scores change. Free of
 * `vscode`.
 */
import type { CalibrationView } from '../../shared/protocol/webview';
import { interactiveReplicates } from '../judge/bootstrap';
import { calibrate } from '../judge/calibration';
import type { DecisionColumn } from './decisions';
import { KEEP } from './decisions';

/** The labelled rows' scores and labels (1 keep, 0 drop), in line order. */
export function labelledScores(
  values: Float32Array,
  decisions: DecisionColumn,
  rowCount: number,
): { scores: Float64Array; labels: Uint8Array; rows: Uint32Array } {
  const n = Math.min(rowCount, values.length, decisions.rows);
  const codes = decisions.codes;
  let m = 0;
  for (let i = 0; i < n; i++) if (values[i] === values[i] && decisions.isLabel(i)) m++;
  const scores = new Float64Array(m);
  const labels = new Uint8Array(m);
  const rows = new Uint32Array(m);
  for (let i = 0, k = 0; i < n && k < m; i++) {
    if (!(values[i] === values[i] && decisions.isLabel(i))) continue;
    scores[k] = values[i];
    labels[k] = codes[i] === KEEP ? 1 : 0;
    rows[k++] = i;
  }
  return { scores, labels, rows };
}

/** Scored rows at or above `threshold`. */
function countAtOrAbove(values: Float32Array, rowCount: number, threshold: number): number {
  let n = 0;
  const end = Math.min(rowCount, values.length);
  for (let i = 0; i < end; i++) if (values[i] >= threshold) n++;
  return n;
}

/**
 * The calibration of `values` (P(yes), NaN = unscored) against the labels of `decisions`, for
 * the view. The bootstrap uses a fixed seed (1) and fewer replicates above 20,000 labels.
 */
export function calibrationView(
  values: Float32Array,
  decisions: DecisionColumn,
  rowCount: number,
  targetPrecision = 0.9,
): CalibrationView {
  const { scores, labels } = labelledScores(values, decisions, rowCount);
  const c = calibrate(scores, labels, {
    targetPrecision,
    replicates: interactiveReplicates(scores.length),
    seed: 1,
  });
  const iv = c.intervals;
  return {
    labelled: c.labelled,
    keep: c.keep,
    drop: c.drop,
    auc: c.auc,
    targetPrecision: c.targetPrecision,
    threshold: c.threshold,
    rule: c.rule,
    precision: c.precision,
    recall: c.recall,
    f1: c.f1,
    kappa: c.kappa,
    confusion: c.confusion,
    bestF1: c.bestF1 ? { threshold: c.bestF1.threshold, f1: c.bestF1.f1 } : null,
    ...(iv
      ? {
          intervals: {
            ...(iv.auc ? { auc: iv.auc } : {}),
            ...(iv.threshold ? { threshold: iv.threshold } : {}),
            ...(iv.precision ? { precision: iv.precision } : {}),
            ...(iv.recall ? { recall: iv.recall } : {}),
            ...(iv.kappa ? { kappa: iv.kappa } : {}),
            replicates: iv.used,
            confidence: iv.confidence,
          },
        }
      : {}),
    curve: c.curve,
    atOrAbove: c.threshold === null ? 0 : countAtOrAbove(values, rowCount, c.threshold),
    warnings: c.warnings,
  };
}

/**
 * One cached calibration per (score column, decisions version, row count, target): a view
 * change that is not a decision (paging, a sort) costs nothing.
 */
export class CalibrationCache {
  private key: { values: Float32Array; version: number; rows: number; target: number } | undefined;
  private value: CalibrationView | undefined;

  get(
    values: Float32Array,
    decisions: DecisionColumn,
    rowCount: number,
    target: number,
  ): CalibrationView {
    const k = this.key;
    if (
      this.value &&
      k &&
      k.values === values &&
      k.version === decisions.version &&
      k.rows === rowCount &&
      k.target === target
    )
      return this.value;
    this.value = calibrationView(values, decisions, rowCount, target);
    this.key = { values, version: decisions.version, rows: rowCount, target };
    return this.value;
  }
}

const caches = new WeakMap<DecisionColumn, CalibrationCache>();

/** The calibration of a document's scores and decisions, cached per decision column. */
export function cachedCalibration(
  values: Float32Array,
  decisions: DecisionColumn,
  rowCount: number,
  target: number,
): CalibrationView {
  let cache = caches.get(decisions);
  if (!cache) caches.set(decisions, (cache = new CalibrationCache()));
  return cache.get(values, decisions, rowCount, target);
}
