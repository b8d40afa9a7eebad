/**
 * Judge A/B (docs/judge.md#judge-ab): two scorers of the same rows compared side by side:
 * Spearman and Kendall, keep↔drop flips at each scorer's threshold and at the same keep rate,
 * and the AUC of each against the user's labels.
 */
import { type Calibration, type CalibrationOptions, calibrate } from './calibration';
import { kendallTauB, spearman } from './correlation';

/** Keep↔drop flips of two scorers at one pair of thresholds (keep when score ≥ threshold). */
export interface Flips {
  readonly thresholdA: number;
  readonly thresholdB: number;
  /** Rows A keeps and B drops, and the other way round. */
  readonly keptByAOnly: number;
  readonly keptByBOnly: number;
  /** keptByAOnly + keptByBOnly. */
  readonly flips: number;
  /** Share of the compared rows that flip. */
  readonly flipRate: number;
}

/** What the comparison says. */
export interface Comparison {
  /** Rows both scorers scored (every figure is over these). */
  readonly rows: number;
  readonly spearman: number | null;
  readonly kendall: number | null;
  /** Flips at each scorer's own threshold (calibrated on the labels, or given); absent without. */
  readonly atThresholds?: Flips;
  /** Flips when both keep the same share of rows (`keepRate`). */
  readonly atKeepRate: Flips & { readonly keepRate: number };
  /** Each scorer calibrated against the labels (absent without labels). */
  readonly calibrationA?: Calibration;
  readonly calibrationB?: Calibration;
}

export interface CompareOptions {
  /** Per row: 1 keep, 0 drop, anything else (−1, NaN) unlabelled. */
  readonly labels?: ArrayLike<number>;
  /** Thresholds to use instead of the calibrated ones. */
  readonly thresholdA?: number;
  readonly thresholdB?: number;
  /** Share kept by both (default: what A keeps at its threshold, else 0.5). */
  readonly keepRate?: number;
  readonly calibration?: CalibrationOptions;
}

/** Counts flips of `a` / `b` at thresholds over `rows`. */
export function flipsAt(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  rows: ArrayLike<number>,
  thresholdA: number,
  thresholdB: number,
): Flips {
  let aOnly = 0;
  let bOnly = 0;
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k];
    const ka = a[i] >= thresholdA;
    const kb = b[i] >= thresholdB;
    if (ka && !kb) aOnly++;
    else if (kb && !ka) bOnly++;
  }
  return {
    thresholdA,
    thresholdB,
    keptByAOnly: aOnly,
    keptByBOnly: bOnly,
    flips: aOnly + bOnly,
    flipRate: rows.length > 0 ? (aOnly + bOnly) / rows.length : 0,
  };
}

/** The score at which `values` keeps the top `rate` share (the ⌈rate·n⌉-th highest). */
export function thresholdForKeepRate(values: ArrayLike<number>, rate: number): number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return NaN;
  const k = Math.min(n, Math.max(1, Math.ceil(rate * n)));
  return sorted[n - k];
}

/** Rows where the scorers disagree at the given thresholds, ascending (the "flips" filter). */
export function flipRows(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  thresholdA: number,
  thresholdB: number,
): Uint32Array {
  const out: number[] = [];
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (!(Number.isFinite(a[i]) && Number.isFinite(b[i]))) continue;
    if (a[i] >= thresholdA !== b[i] >= thresholdB) out.push(i);
  }
  return Uint32Array.from(out);
}

/** Calibrates one scorer on the labelled rows among `rows`. */
function calibrateOn(
  s: ArrayLike<number>,
  rows: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: CalibrationOptions | undefined,
): Calibration {
  const scores: number[] = [];
  const keep: number[] = [];
  for (let k = 0; k < rows.length; k++) {
    const l = labels[rows[k]];
    if (l === 1 || l === 0) {
      scores.push(s[rows[k]]);
      keep.push(l);
    }
  }
  return calibrate(scores, keep, options);
}

/** Compares scorer `a` with scorer `b` over the rows both scored (NaN = not scored). */
export function compareScorers(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: CompareOptions = {},
): Comparison {
  if (a.length !== b.length) throw new RangeError(`${a.length} vs ${b.length} scores`);
  const both: number[] = [];
  for (let i = 0; i < a.length; i++)
    if (Number.isFinite(a[i]) && Number.isFinite(b[i])) both.push(i);
  const rows = Uint32Array.from(both);
  const xa = Float64Array.from(rows, i => a[i]);
  const xb = Float64Array.from(rows, i => b[i]);
  const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const labels = options.labels;
  const calA = labels ? calibrateOn(a, rows, labels, options.calibration) : undefined;
  const calB = labels ? calibrateOn(b, rows, labels, options.calibration) : undefined;
  const tA = options.thresholdA ?? calA?.threshold ?? undefined;
  const tB = options.thresholdB ?? calB?.threshold ?? undefined;
  const atThresholds =
    tA !== undefined && tB !== undefined ? flipsAt(a, b, rows, tA, tB) : undefined;
  let keepRate = options.keepRate;
  if (keepRate === undefined && tA !== undefined && rows.length > 0) {
    let kept = 0;
    for (const v of xa) if (v >= tA) kept++;
    keepRate = kept / rows.length;
  }
  keepRate ??= 0.5;
  if (!(keepRate > 0 && keepRate <= 1))
    throw new RangeError(`The keep rate must be in (0, 1], got ${keepRate}`);
  const atKeepRate = {
    ...flipsAt(a, b, rows, thresholdForKeepRate(xa, keepRate), thresholdForKeepRate(xb, keepRate)),
    keepRate,
  };
  return {
    rows: rows.length,
    spearman: num(spearman(xa, xb)),
    kendall: num(kendallTauB(xa, xb)),
    ...(atThresholds ? { atThresholds } : {}),
    atKeepRate,
    ...(calA ? { calibrationA: calA } : {}),
    ...(calB ? { calibrationB: calB } : {}),
  };
}
