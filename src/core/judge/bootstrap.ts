/**
 * Seeded bootstrap intervals of the calibration figures (docs/judge.md#bootstrap). A replicate
 * draws n of the n labelled rows with replacement; it is a weight per element of the sorted
 * order (./labelled), so each replicate is one O(n) pass with no new sort. The same seed gives
 * the same intervals, bit for bit.
 */
import { Xoshiro128 } from '../density/prng';
import { type LabelledScores, cohenKappa } from './labelled';

/** How a threshold is chosen from a sweep. */
export type ThresholdRule = 'targetPrecision' | 'bestF1';

/** The figures of one replicate. */
interface ReplicateFigures {
  auc: number;
  /** The threshold the rule picks in this replicate (NaN when it picks none). */
  threshold: number;
  /** Precision, recall and κ at the fixed threshold of the whole sample. */
  precision: number;
  recall: number;
  kappa: number;
}

/**
 * AUC, the rule's threshold and the counts at `fixed` of one weighted sample, in one pass over
 * the tie groups (descending).
 */
function replicateFigures(
  data: LabelledScores,
  w: Uint32Array,
  rule: ThresholdRule,
  target: number,
  fixed: number,
): ReplicateFigures {
  const { scores, keep, groups } = data;
  let positives = 0;
  for (let k = 0; k < w.length; k++) if (keep[k]) positives += w[k];
  const total = w.length;
  const negatives = total - positives;
  let tp = 0;
  let fp = 0;
  let pairs = 0;
  let threshold = NaN;
  let bestF1 = -1;
  let fixedTp = 0;
  let fixedFp = 0;
  for (let g = 0; g + 1 < groups.length; g++) {
    let pos = 0;
    let neg = 0;
    for (let k = groups[g]; k < groups[g + 1]; k++) {
      if (keep[k]) pos += w[k];
      else neg += w[k];
    }
    if (pos + neg === 0) continue;
    pairs += neg * tp + 0.5 * neg * pos;
    tp += pos;
    fp += neg;
    const t = scores[groups[g]];
    if (t >= fixed) {
      fixedTp = tp;
      fixedFp = fp;
    }
    if (rule === 'targetPrecision') {
      if (tp > 0 && tp / (tp + fp) >= target - 1e-12) threshold = t;
    } else if (positives > 0) {
      const f1 = (2 * tp) / (tp + fp + positives);
      if (f1 > bestF1) {
        bestF1 = f1;
        threshold = t;
      }
    }
  }
  const c = { tp: fixedTp, fp: fixedFp, fn: positives - fixedTp, tn: negatives - fixedFp };
  return {
    auc: positives > 0 && negatives > 0 ? pairs / (positives * negatives) : NaN,
    threshold,
    precision: c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : NaN,
    recall: positives > 0 ? c.tp / positives : NaN,
    kappa: cohenKappa(c),
  };
}

/** A two-sided interval [lo, hi]. */
export type Interval = readonly [number, number];

/** Bootstrap intervals of the calibration figures. */
export interface BootstrapIntervals {
  readonly auc?: Interval;
  readonly threshold?: Interval;
  readonly precision?: Interval;
  readonly recall?: Interval;
  readonly kappa?: Interval;
  /** Replicates drawn, and those that had both classes (the others say nothing about an AUC). */
  readonly replicates: number;
  readonly used: number;
  readonly seed: number;
  readonly confidence: number;
}

export interface BootstrapOptions {
  readonly replicates: number;
  readonly seed: number;
  /** Two-sided coverage, e.g. 0.95. */
  readonly confidence: number;
  readonly rule: ThresholdRule;
  readonly targetPrecision: number;
  /** The threshold of the whole sample, at which precision, recall and κ are measured. */
  readonly threshold: number;
}

/**
 * Percentile intervals over `replicates` resamples. The threshold interval re-chooses the
 * threshold in every replicate (how much the choice itself moves); precision, recall and κ are
 * measured at the threshold chosen on the whole sample (how well that threshold holds up).
 */
export function bootstrap(data: LabelledScores, options: BootstrapOptions): BootstrapIntervals {
  const n = data.scores.length;
  const rng = new Xoshiro128(options.seed, BOOTSTRAP_STREAM);
  const figures: Record<keyof ReplicateFigures, number[]> = {
    auc: [],
    threshold: [],
    precision: [],
    recall: [],
    kappa: [],
  };
  const w = new Uint32Array(n);
  let used = 0;
  for (let r = 0; r < options.replicates && n > 0; r++) {
    w.fill(0);
    for (let k = 0; k < n; k++) w[Math.floor(rng.nextFloat() * n)]++;
    const f = replicateFigures(data, w, options.rule, options.targetPrecision, options.threshold);
    if (!(f.auc === f.auc)) continue;
    used++;
    for (const key of Object.keys(figures) as (keyof ReplicateFigures)[])
      if (f[key] === f[key]) figures[key].push(f[key]);
  }
  const alpha = (1 - options.confidence) / 2;
  const interval = (values: number[]): Interval | undefined =>
    values.length >= 2 ? [quantile(values, alpha), quantile(values, 1 - alpha)] : undefined;
  const out: { -readonly [K in keyof BootstrapIntervals]: BootstrapIntervals[K] } = {
    replicates: options.replicates,
    used,
    seed: options.seed,
    confidence: options.confidence,
  };
  for (const key of Object.keys(figures) as (keyof ReplicateFigures)[]) {
    const iv = interval(figures[key]);
    if (iv) out[key] = iv;
  }
  return out;
}

/** The PRNG stream of bootstrap draws (apart from DENSITY's streams 1–3). */
const BOOTSTRAP_STREAM = 14;

/** The q-quantile of `values` (sorted in place), linear between order statistics (type 7). */
export function quantile(values: number[], q: number): number {
  values.sort((a, b) => a - b);
  const h = (values.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(values.length - 1, lo + 1);
  return values[lo] + (h - lo) * (values[hi] - values[lo]);
}

/**
 * Replicates for an interactive view: 1000 up to 20,000 labelled rows, then fewer (at least 100)
 * so that one recalculation stays under ~2·10^7 element visits (a few hundred ms).
 */
export function interactiveReplicates(labelled: number): number {
  return Math.max(100, Math.min(1000, Math.floor(2e7 / Math.max(1, labelled))));
}
