/**
 * Calibration of the ASK-LLM judge against the user's keep/drop labels (docs/judge.md): ROC
 * AUC, the precision-recall curve, the threshold that reaches a target precision (else the
 * best-F1 threshold), Cohen's κ at that threshold, and seeded bootstrap intervals. Every number
 * that can be undefined (one class only, no threshold) is `null`, so the result is plain JSON.
 */
import { type BootstrapIntervals, type ThresholdRule, bootstrap } from './bootstrap';
import { type SweepPoint, bestF1, rocAuc, sweep, thinCurve, thresholdForPrecision } from './curves';
import { type Confusion, type LabelledScores, cohenKappa, sortLabelled } from './labelled';

/** Options of {@link calibrate}; every one has a default. */
export interface CalibrationOptions {
  /** The precision the threshold must reach (setting `winnow.calibration.targetPrecision`, default 0.9). */
  readonly targetPrecision?: number;
  /** Bootstrap resamples (default 1000; 0 = no intervals). */
  readonly replicates?: number;
  /** Seed of the bootstrap draws (default 1). */
  readonly seed?: number;
  /** Two-sided coverage of the intervals (default 0.95). */
  readonly confidence?: number;
  /** Fewer labels than this in either class make the result say it is rough (default 30). */
  readonly minPerClass?: number;
  /** Most points of the returned curve (default 200). */
  readonly curvePoints?: number;
}

/** The figures at one threshold. */
export interface ThresholdFigures {
  readonly threshold: number;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
  readonly kappa: number | null;
  readonly confusion: Confusion;
}

/** What the calibration says. */
export interface Calibration {
  /** Labelled rows with a score, and how many of them are kept / dropped. */
  readonly labelled: number;
  readonly keep: number;
  readonly drop: number;
  /** ROC AUC of the scores against the labels (null with one class only). */
  readonly auc: number | null;
  readonly targetPrecision: number;
  /**
   * The calibrated threshold: the lowest score whose precision reaches the target, or the
   * best-F1 threshold when none does (`rule` says which); null without labels of both kinds.
   */
  readonly threshold: number | null;
  readonly rule: ThresholdRule | null;
  /** Precision, recall, F1 and κ at `threshold`. */
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
  readonly kappa: number | null;
  readonly confusion: Confusion | null;
  /** The best-F1 threshold and its figures. */
  readonly bestF1: ThresholdFigures | null;
  /** 95% (by default) bootstrap intervals, absent when none were asked for or possible. */
  readonly intervals?: BootstrapIntervals;
  /** The precision-recall curve, highest threshold first, thinned for drawing. */
  readonly curve: readonly { threshold: number; precision: number; recall: number }[];
  /** Why the result is rough or partial, in words (few labels, target not reached); absent when fine. */
  readonly warnings: readonly string[];
}

const DEFAULTS = {
  targetPrecision: 0.9,
  replicates: 1000,
  seed: 1,
  confidence: 0.95,
  minPerClass: 30,
  curvePoints: 200,
};

/** A number, or null for NaN / ±Infinity. */
function num(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function figuresAt(p: SweepPoint): ThresholdFigures {
  const confusion = { tp: p.tp, fp: p.fp, fn: p.fn, tn: p.tn };
  return {
    threshold: p.threshold,
    precision: num(p.precision),
    recall: num(p.recall),
    f1: num(p.f1),
    kappa: num(cohenKappa(confusion)),
    confusion,
  };
}

/**
 * Calibrates `scores` against `labels` (truthy = keep, falsy = drop), aligned; rows whose score
 * is not finite are left out. Throws on bad options or mismatched lengths.
 */
export function calibrate(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
  options: CalibrationOptions = {},
): Calibration {
  return calibrateSorted(sortLabelled(scores, labels), options);
}

/** {@link calibrate} over already sorted labelled scores. */
export function calibrateSorted(
  data: LabelledScores,
  options: CalibrationOptions = {},
): Calibration {
  const o = { ...DEFAULTS, ...definedOnly(options) };
  checkOptions(o);
  const points = sweep(data);
  const auc = num(rocAuc(data));
  const both = data.positives > 0 && data.negatives > 0;
  const atTarget = both ? thresholdForPrecision(points, o.targetPrecision) : undefined;
  const f1Point = both ? bestF1(points) : undefined;
  const chosen = atTarget ?? f1Point;
  const rule: ThresholdRule | null = atTarget ? 'targetPrecision' : f1Point ? 'bestF1' : null;
  const figures = chosen ? figuresAt(chosen) : undefined;
  const intervals =
    chosen && rule && o.replicates > 0
      ? bootstrap(data, {
          replicates: o.replicates,
          seed: o.seed,
          confidence: o.confidence,
          rule,
          targetPrecision: o.targetPrecision,
          threshold: chosen.threshold,
        })
      : undefined;
  return {
    labelled: data.scores.length,
    keep: data.positives,
    drop: data.negatives,
    auc,
    targetPrecision: o.targetPrecision,
    threshold: figures?.threshold ?? null,
    rule,
    precision: figures?.precision ?? null,
    recall: figures?.recall ?? null,
    f1: figures?.f1 ?? null,
    kappa: figures?.kappa ?? null,
    confusion: figures?.confusion ?? null,
    bestF1: f1Point ? figuresAt(f1Point) : null,
    ...(intervals ? { intervals } : {}),
    curve: thinCurve(points, o.curvePoints).map(p => ({
      threshold: p.threshold,
      precision: p.precision,
      recall: p.recall,
    })),
    warnings: calibrationWarnings(data, o.minPerClass, o.targetPrecision, rule),
  };
}

/** What makes a calibration rough, in words. */
function calibrationWarnings(
  data: LabelledScores,
  minPerClass: number,
  target: number,
  rule: ThresholdRule | null,
): string[] {
  const out: string[] = [];
  const { positives: keep, negatives: drop } = data;
  if (keep === 0 || drop === 0)
    out.push(
      `Needs kept and dropped rows with scores: ${keep} kept, ${drop} dropped so far. ` +
        'Label some of each (y / n).',
    );
  else if (keep < minPerClass || drop < minPerClass)
    out.push(
      `Rests on ${keep} kept and ${drop} dropped rows: with fewer than ${minPerClass} of each, ` +
        'the threshold and its interval are rough.',
    );
  if (rule === 'bestF1')
    out.push(`No threshold reaches precision ${target}: the best-F1 threshold is used instead.`);
  return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkOptions(o: typeof DEFAULTS): void {
  if (!(o.targetPrecision > 0 && o.targetPrecision <= 1))
    throw new RangeError(`The target precision must be in (0, 1], got ${o.targetPrecision}`);
  if (!(Number.isInteger(o.replicates) && o.replicates >= 0))
    throw new RangeError(`Bootstrap replicates must be a whole number ≥ 0, got ${o.replicates}`);
  if (!(o.confidence > 0 && o.confidence < 1))
    throw new RangeError(`The confidence must be in (0, 1), got ${o.confidence}`);
}
