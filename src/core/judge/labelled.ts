/**
 * Scores with keep/drop labels, sorted once for every figure of the calibration
 * (docs/judge.md): a curve, an AUC and a bootstrap replicate are each one pass over the same
 * descending order, with tied scores grouped (a threshold can never split a tie).
 *
 * Positive = keep. A row is predicted keep when its score is at or above the threshold.
 */

/** Labelled scores in descending score order, with the tie groups marked. */
export interface LabelledScores {
  /** Scores, descending. */
  readonly scores: Float64Array;
  /** 1 = keep, 0 = drop, aligned with `scores`. */
  readonly keep: Uint8Array;
  /** Start index of each tie group in `scores`, plus `scores.length` at the end. */
  readonly groups: Uint32Array;
  /** Input position of each sorted element (for flips and row lists). */
  readonly order: Uint32Array;
  readonly positives: number;
  readonly negatives: number;
}

/**
 * Sorts `scores` (with `labels`: truthy = keep) descending. Rows whose score is not a finite
 * number are left out. Throws when the lengths differ.
 */
export function sortLabelled(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
): LabelledScores {
  if (scores.length !== labels.length)
    throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  let n = 0;
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i])) n++;
  const idx = new Uint32Array(n);
  for (let i = 0, k = 0; i < scores.length; i++) if (Number.isFinite(scores[i])) idx[k++] = i;
  // Typed-array sort with a comparator: labelled sets are small (the user's decisions), and the
  // ties are broken by position so the order is reproducible.
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  const sorted = new Float64Array(n);
  const keep = new Uint8Array(n);
  let positives = 0;
  const starts: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    sorted[k] = scores[i];
    keep[k] = labels[i] ? 1 : 0;
    positives += keep[k];
    if (k === 0 || sorted[k] !== sorted[k - 1]) starts.push(k);
  }
  starts.push(n);
  return {
    scores: sorted,
    keep,
    groups: Uint32Array.from(starts),
    order: idx,
    positives,
    negatives: n - positives,
  };
}

/** Counts of a confusion matrix at one threshold. */
export interface Confusion {
  /** Kept rows predicted keep (score ≥ threshold). */
  readonly tp: number;
  /** Dropped rows predicted keep. */
  readonly fp: number;
  /** Kept rows predicted drop. */
  readonly fn: number;
  /** Dropped rows predicted drop. */
  readonly tn: number;
}

/** Precision tp / (tp + fp); NaN when nothing is predicted keep. */
export function precisionOf(c: Confusion): number {
  return c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : NaN;
}

/** Recall tp / (tp + fn); NaN without positives. */
export function recallOf(c: Confusion): number {
  return c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : NaN;
}

/** F1, the harmonic mean of precision and recall (0 when tp = 0, NaN without positives). */
export function f1Of(c: Confusion): number {
  if (c.tp + c.fn === 0) return NaN;
  return (2 * c.tp) / (2 * c.tp + c.fp + c.fn);
}

/**
 * Cohen's κ of the predictions against the labels: (p_o − p_e) / (1 − p_e), with p_o the share
 * of agreement and p_e the agreement expected from the two marginals alone. NaN when p_e = 1
 * (both sides give one answer only, where κ is undefined).
 */
export function cohenKappa(c: Confusion): number {
  const n = c.tp + c.fp + c.fn + c.tn;
  if (n === 0) return NaN;
  const po = (c.tp + c.tn) / n;
  const predKeep = (c.tp + c.fp) / n;
  const trueKeep = (c.tp + c.fn) / n;
  const pe = predKeep * trueKeep + (1 - predKeep) * (1 - trueKeep);
  return 1 - pe > 1e-15 ? (po - pe) / (1 - pe) : NaN;
}

/** The confusion matrix at `threshold` (keep when score ≥ threshold), from weights per element. */
export function confusionAt(
  data: LabelledScores,
  threshold: number,
  weights?: ArrayLike<number>,
): Confusion {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  const { scores, keep } = data;
  for (let k = 0; k < scores.length; k++) {
    const w = weights ? weights[k] : 1;
    if (w === 0) continue;
    const predicted = scores[k] >= threshold;
    if (keep[k]) {
      if (predicted) tp += w;
      else fn += w;
    } else if (predicted) fp += w;
    else tn += w;
  }
  return { tp, fp, fn, tn };
}
