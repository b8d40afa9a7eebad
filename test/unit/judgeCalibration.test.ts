/**
 * Calibration of the judge against labels (src/core/judge): every figure is checked against a
 * value computed another way: the AUC against the exact pairwise count and against Φ(d/√2) for
 * two unit Gaussians d apart, the PR sweep and the threshold choices against brute force, κ
 * against a second formula, and the bootstrap for reproducibility and for weights that equal
 * duplicated rows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorFunction } from 'simple-statistics';
import { Xoshiro128 } from '../../src/core/density/prng';
import {
  bestF1,
  calibrate,
  calibrateTexts,
  cohenKappa,
  confusionAt,
  rocAuc,
  sortLabelled,
  sweep,
  thresholdForPrecision,
} from '../../src/core/judge';

/** Φ, the standard normal CDF, from simple-statistics' erf (|error| < 1.2e-7). */
const phi = (x: number): number => 0.5 * (1 + errorFunction(x / Math.SQRT2));

/** Random labelled scores, rounded to `digits` so that ties occur. */
function randomSet(n: number, seed: number, digits = 2): { s: number[]; l: number[] } {
  const rng = new Xoshiro128(seed);
  const s: number[] = [];
  const l: number[] = [];
  for (let i = 0; i < n; i++) {
    const keep = rng.nextFloat() < 0.4 ? 1 : 0;
    const v = rng.nextFloat() * 0.7 + keep * 0.3;
    s.push(Number(v.toFixed(digits)));
    l.push(keep);
  }
  return { s, l };
}

/** AUC by counting every (kept, dropped) pair: 1 when the kept row scores higher, ½ on a tie. */
function pairwiseAuc(s: number[], l: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < s.length; i++) {
    if (!l[i]) continue;
    for (let j = 0; j < s.length; j++) {
      if (l[j]) continue;
      pairs++;
      wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/** Precision and recall at threshold t by direct counting. */
function countAt(s: number[], l: number[], t: number): { p: number; r: number; f1: number } {
  let tp = 0;
  let fp = 0;
  let pos = 0;
  for (let i = 0; i < s.length; i++) {
    if (l[i]) pos++;
    if (s[i] >= t) {
      if (l[i]) tp++;
      else fp++;
    }
  }
  return { p: tp / (tp + fp), r: tp / pos, f1: (2 * tp) / (tp + fp + pos) };
}

describe('ROC AUC', () => {
  test('equals the exact pairwise count, ties counting one half', () => {
    for (const seed of [1, 2, 3]) {
      const { s, l } = randomSet(400, seed, 1 + seed);
      const got = rocAuc(sortLabelled(s, l));
      assert.ok(Math.abs(got - pairwiseAuc(s, l)) < 1e-12, `seed ${seed}: ${got}`);
    }
  });

  test('of two unit Gaussians d apart is Φ(d/√2) within sampling error', () => {
    const rng = new Xoshiro128(7);
    for (const d of [0.5, 1, 2]) {
      const n = 3000;
      const s: number[] = [];
      const l: number[] = [];
      for (let i = 0; i < n; i++) {
        s.push(rng.nextNormal() + d, rng.nextNormal());
        l.push(1, 0);
      }
      const want = phi(d / Math.SQRT2);
      const got = rocAuc(sortLabelled(s, l));
      // Hanley & McNeil (1982): the standard error of an AUC from n positives and n negatives.
      const q1 = want / (2 - want);
      const q2 = (2 * want * want) / (1 + want);
      const se = Math.sqrt(
        (want * (1 - want) + (n - 1) * (q1 - want * want) + (n - 1) * (q2 - want * want)) / (n * n),
      );
      assert.ok(Math.abs(got - want) < 4 * se, `d=${d}: AUC ${got}, Φ(d/√2) ${want}, SE ${se}`);
    }
  });

  test('is NaN with one class only, and rows without a finite score are left out', () => {
    assert.ok(Number.isNaN(rocAuc(sortLabelled([0.1, 0.2], [1, 1]))));
    const data = sortLabelled([0.9, NaN, 0.1, Infinity], [1, 1, 0, 0]);
    assert.equal(data.scores.length, 2);
    assert.equal(rocAuc(data), 1);
  });

  test('weights equal duplicated rows (what a bootstrap replicate is)', () => {
    const { s, l } = randomSet(60, 11);
    const rng = new Xoshiro128(3);
    const data = sortLabelled(s, l);
    const w = Uint32Array.from(data.scores, () => Math.floor(rng.nextFloat() * 3));
    const dupS: number[] = [];
    const dupL: number[] = [];
    for (let k = 0; k < w.length; k++)
      for (let r = 0; r < w[k]; r++) {
        dupS.push(data.scores[k]);
        dupL.push(data.keep[k]);
      }
    assert.ok(Math.abs(rocAuc(data, w) - pairwiseAuc(dupS, dupL)) < 1e-12);
    const weighted = sweep(data, w);
    const plain = sweep(sortLabelled(dupS, dupL));
    assert.deepEqual(
      weighted.map(p => [p.threshold, p.tp, p.fp]),
      plain.map(p => [p.threshold, p.tp, p.fp]),
    );
  });
});

describe('precision-recall and thresholds', () => {
  const { s, l } = randomSet(500, 5);
  const points = sweep(sortLabelled(s, l));

  test('the sweep has one point per distinct score, highest first, matching direct counts', () => {
    const distinct = [...new Set(s)].sort((a, b) => b - a);
    assert.deepEqual(
      points.map(p => p.threshold),
      distinct,
    );
    for (const p of points) {
      const c = countAt(s, l, p.threshold);
      assert.ok(Math.abs(p.precision - c.p) < 1e-12);
      assert.ok(Math.abs(p.recall - c.r) < 1e-12);
      assert.ok(Math.abs(p.f1 - c.f1) < 1e-12);
    }
    assert.equal(points[points.length - 1].recall, 1);
  });

  test('the target-precision threshold is the lowest score whose precision reaches it', () => {
    for (const target of [0.7, 0.8, 0.9, 0.95]) {
      const reaching = [...new Set(s)].filter(t => countAt(s, l, t).p >= target);
      const got = thresholdForPrecision(points, target);
      assert.equal(got?.threshold, Math.min(...reaching), `target ${target}`);
    }
    assert.equal(thresholdForPrecision(points, 1.01), undefined);
  });

  test('best F1 is the highest F1 of every threshold', () => {
    const f1s = [...new Set(s)].map(t => ({ t, f1: countAt(s, l, t).f1 }));
    const max = Math.max(...f1s.map(x => x.f1));
    const got = bestF1(points);
    assert.ok(got && Math.abs(got.f1 - max) < 1e-12);
    assert.equal(got.threshold, Math.max(...f1s.filter(x => x.f1 === max).map(x => x.t)));
  });
});

describe("Cohen's κ", () => {
  test('a worked example: 20 / 5 / 10 / 15 gives κ = 0.4', () => {
    assert.ok(Math.abs(cohenKappa({ tp: 20, fp: 5, fn: 10, tn: 15 }) - 0.4) < 1e-12);
  });

  test('equals 2(tp·tn − fp·fn) / ((tp+fp)(fp+tn) + (tp+fn)(fn+tn)) on random tables', () => {
    const rng = new Xoshiro128(9);
    for (let k = 0; k < 200; k++) {
      const [tp, fp, fn, tn] = [0, 0, 0, 0].map(() => 1 + Math.floor(rng.nextFloat() * 50));
      const want = (2 * (tp * tn - fp * fn)) / ((tp + fp) * (fp + tn) + (tp + fn) * (fn + tn));
      assert.ok(Math.abs(cohenKappa({ tp, fp, fn, tn }) - want) < 1e-12);
    }
  });

  test('is 1 for perfect agreement, undefined when both sides give one answer', () => {
    assert.equal(cohenKappa({ tp: 5, fp: 0, fn: 0, tn: 7 }), 1);
    assert.ok(Number.isNaN(cohenKappa({ tp: 5, fp: 0, fn: 0, tn: 0 })));
  });
});

describe('calibrate', () => {
  const { s, l } = randomSet(300, 21, 3);

  test('reports the threshold reaching the target precision, with κ and the counts at it', () => {
    const c = calibrate(s, l, { targetPrecision: 0.9, replicates: 0 });
    const data = sortLabelled(s, l);
    const want = thresholdForPrecision(sweep(data), 0.9);
    assert.ok(want);
    assert.equal(c.rule, 'targetPrecision');
    assert.equal(c.threshold, want.threshold);
    assert.ok(c.precision !== null && c.precision >= 0.9);
    const conf = confusionAt(data, want.threshold);
    assert.deepEqual(c.confusion, conf);
    assert.equal(c.kappa, cohenKappa(conf));
    assert.equal(c.keep + c.drop, c.labelled);
    assert.equal(c.intervals, undefined);
    assert.equal(c.auc, rocAuc(data));
  });

  test('bootstrap intervals are reproducible by seed and bracket the estimates', () => {
    const a = calibrate(s, l, { seed: 42, replicates: 400 });
    const b = calibrate(s, l, { seed: 42, replicates: 400 });
    const c = calibrate(s, l, { seed: 43, replicates: 400 });
    assert.deepEqual(a.intervals, b.intervals);
    assert.notDeepEqual(a.intervals?.auc, c.intervals?.auc);
    const iv = a.intervals;
    assert.ok(iv?.auc && iv.threshold && iv.kappa && iv.precision && iv.recall);
    assert.ok(iv.auc[0] < (a.auc ?? NaN) && (a.auc ?? NaN) < iv.auc[1]);
    assert.ok(iv.kappa[0] < (a.kappa ?? NaN) && (a.kappa ?? NaN) < iv.kappa[1]);
    assert.equal(iv.used, 400);
  });

  test("the AUC interval's width matches the normal approximation", () => {
    const rng = new Xoshiro128(4);
    const gs: number[] = [];
    const gl: number[] = [];
    for (let i = 0; i < 400; i++) {
      gs.push(rng.nextNormal() + 1, rng.nextNormal());
      gl.push(1, 0);
    }
    const c = calibrate(gs, gl, { replicates: 1000 });
    const auc = c.auc ?? NaN;
    const n = 400;
    const q1 = auc / (2 - auc);
    const q2 = (2 * auc * auc) / (1 + auc);
    const se = Math.sqrt(
      (auc * (1 - auc) + (n - 1) * (q1 - auc * auc) + (n - 1) * (q2 - auc * auc)) / (n * n),
    );
    const width = (c.intervals?.auc?.[1] ?? NaN) - (c.intervals?.auc?.[0] ?? NaN);
    assert.ok(
      Math.abs(width / (2 * 1.96 * se) - 1) < 0.25,
      `width ${width}, 2·1.96·SE ${2 * 1.96 * se}`,
    );
  });

  test('says when it rests on few labels, and falls back to best F1 when the target is out of reach', () => {
    const few = calibrate([0.9, 0.8, 0.3, 0.2, 0.6], [1, 1, 0, 0, 0], { replicates: 50 });
    assert.match(few.warnings.join(' '), /Rests on 2 kept and 3 dropped rows/);
    const noisy = calibrate([0.9, 0.8, 0.7, 0.6], [0, 1, 0, 1], { targetPrecision: 0.99 });
    assert.equal(noisy.rule, 'bestF1');
    assert.match(noisy.warnings.join(' '), /No threshold reaches precision 0.99/);
    const one = calibrate([0.9, 0.8], [1, 1]);
    assert.equal(one.threshold, null);
    assert.equal(one.auc, null);
    assert.match(one.warnings[0], /Needs kept and dropped rows/);
  });

  test('rejects bad options', () => {
    assert.throws(() => calibrate([1], [1], { targetPrecision: 0 }), /target precision/);
    assert.throws(() => calibrate([1], [1, 0]), /1 scores but 2 labels/);
  });
});

describe('calibrate from a scores file and a labels file', () => {
  const { s, l } = randomSet(120, 31, 3);
  const scores = s.map((v, i) => JSON.stringify({ line: i + 1, askllm_score: v })).join('\n');
  const labels = l
    .map((v, i) =>
      i % 3 === 2 ? '' : JSON.stringify({ line: i + 1, decision: v ? 'keep' : 'drop' }),
    )
    .filter(Boolean)
    .join('\n');

  test('joins on line and reports auc, threshold, precision, recall and kappa', () => {
    const r = calibrateTexts(scores + '\n{"line": 999, "askllm_score": null}\n', labels, {
      replicates: 100,
    });
    const keepIdx = s.map((_, i) => i).filter(i => i % 3 !== 2);
    const want = calibrate(
      keepIdx.map(i => s[i]),
      keepIdx.map(i => l[i]),
      { replicates: 100 },
    );
    for (const key of ['auc', 'threshold', 'precision', 'recall', 'kappa'] as const) {
      assert.equal(typeof r[key], 'number', key);
      assert.equal(r[key], want[key], key);
    }
    assert.deepEqual(r.intervals, want.intervals);
    assert.equal(r.scoreRows, 121);
    assert.equal(r.scored, 120);
    assert.equal(r.labels, keepIdx.length);
    assert.equal(r.unscoredLabels, 0);
    assert.equal(r.curve, undefined);
    // One JSON object on one line.
    assert.equal(JSON.stringify(r).includes('\n'), false);
  });

  test('labels of unscored lines are counted and left out', () => {
    const r = calibrateTexts(scores, labels + '\n{"line": 5000, "decision": "keep"}', {
      replicates: 0,
    });
    assert.equal(r.unscoredLabels, 1);
  });

  test('bad rows are errors that name the file and line', () => {
    assert.throws(
      () => calibrateTexts('{"line": 1, "askllm_score": "high"}', labels),
      /scores:1: "askllm_score" must be a number or null/,
    );
    assert.throws(
      () => calibrateTexts(scores, '{"line": 1, "decision": "maybe"}'),
      /labels:1: "decision" must be "keep" or "drop"/,
    );
    assert.throws(() => calibrateTexts('\n{oops', labels), /scores:2: not valid JSON/);
    assert.throws(
      () =>
        calibrateTexts(scores, '{"line": 1, "decision": "keep"}\n{"line": 1, "decision": "drop"}'),
      /labels:2: line 1 appears twice/,
    );
  });
});
