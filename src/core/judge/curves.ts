/**
 * The ROC AUC and the precision-recall sweep over labelled scores (docs/judge.md#calibration),
 * each one pass over the descending order of ./labelled, optionally weighted (a bootstrap
 * replicate weighs each element by how often it was drawn).
 */
import { type Confusion, type LabelledScores, f1Of, precisionOf, recallOf } from './labelled';

/**
 * ROC AUC: the probability that a random kept row scores above a random dropped one, ties
 * counting one half (the Mann–Whitney U statistic over P·N). NaN when a class is empty.
 */
export function rocAuc(data: LabelledScores, weights?: ArrayLike<number>): number {
  const { keep, groups } = data;
  let posAbove = 0;
  let pairs = 0;
  let negTotal = 0;
  for (let g = 0; g + 1 < groups.length; g++) {
    let pos = 0;
    let neg = 0;
    for (let k = groups[g]; k < groups[g + 1]; k++) {
      const w = weights ? weights[k] : 1;
      if (keep[k]) pos += w;
      else neg += w;
    }
    pairs += neg * posAbove + 0.5 * neg * pos;
    posAbove += pos;
    negTotal += neg;
  }
  const total = posAbove * negTotal;
  return total > 0 ? pairs / total : NaN;
}

/** One threshold of the sweep: predict keep at score ≥ `threshold`. */
export interface SweepPoint extends Confusion {
  readonly threshold: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

/**
 * Every distinct threshold, highest first, with the counts at it: the precision-recall curve.
 * The last point keeps every row (recall 1).
 */
export function sweep(data: LabelledScores, weights?: ArrayLike<number>): SweepPoint[] {
  const { scores, keep, groups } = data;
  let positives = 0;
  let negatives = 0;
  for (let k = 0; k < scores.length; k++) {
    const w = weights ? weights[k] : 1;
    if (keep[k]) positives += w;
    else negatives += w;
  }
  const out: SweepPoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let g = 0; g + 1 < groups.length; g++) {
    let pos = 0;
    let neg = 0;
    for (let k = groups[g]; k < groups[g + 1]; k++) {
      const w = weights ? weights[k] : 1;
      if (keep[k]) pos += w;
      else neg += w;
    }
    // A tie group every replicate drew zero times adds no threshold of its own.
    if (weights && pos + neg === 0) continue;
    tp += pos;
    fp += neg;
    const c = { tp, fp, fn: positives - tp, tn: negatives - fp };
    out.push({
      threshold: scores[groups[g]],
      ...c,
      precision: precisionOf(c),
      recall: recallOf(c),
      f1: f1Of(c),
    });
  }
  return out;
}

/**
 * The lowest threshold whose precision reaches `target` (the most recall at that precision),
 * or undefined when no threshold keeps any row at that precision.
 */
export function thresholdForPrecision(
  points: readonly SweepPoint[],
  target: number,
): SweepPoint | undefined {
  let best: SweepPoint | undefined;
  for (const p of points) if (p.tp > 0 && p.precision >= target - 1e-12) best = p;
  return best;
}

/** The threshold with the highest F1 (the highest such threshold on a tie); undefined without positives. */
export function bestF1(points: readonly SweepPoint[]): SweepPoint | undefined {
  let best: SweepPoint | undefined;
  for (const p of points) if (p.f1 === p.f1 && (!best || p.f1 > best.f1)) best = p;
  return best;
}

/**
 * At most `max` points of a curve for drawing: the first and last, and points spread evenly in
 * recall between them (a curve of 100k thresholds draws the same as 200 of them).
 */
export function thinCurve(points: readonly SweepPoint[], max = 200): SweepPoint[] {
  if (points.length <= max) return [...points];
  const out: SweepPoint[] = [points[0]];
  let nextRecall = 0;
  const step = 1 / (max - 2);
  for (let i = 1; i < points.length - 1; i++) {
    if (points[i].recall >= nextRecall) {
      out.push(points[i]);
      nextRecall = points[i].recall + step;
    }
  }
  out.push(points[points.length - 1]);
  return out;
}
