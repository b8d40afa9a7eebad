/**
 * Density ranks and inverse-propensity sampling (Efraimidis–Spirakis keys).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { densityOrder, densityRanks } from '../../src/core/density/ranks';
import { sampleByDensity, sampleSize, samplingKeys } from '../../src/core/density/sampling';

/** Exact inclusion probabilities of successive weighted sampling of k items, by enumeration. */
function exactInclusion(weights: number[], k: number): number[] {
  const n = weights.length;
  const pi = new Array<number>(n).fill(0);
  const visit = (chosen: number[], prob: number, remaining: number): void => {
    if (chosen.length === k) {
      for (const i of chosen) pi[i] += prob;
      return;
    }
    for (let i = 0; i < n; i++) {
      if (chosen.includes(i)) continue;
      visit([...chosen, i], (prob * weights[i]) / remaining, remaining - weights[i]);
    }
  };
  visit(
    [],
    1,
    weights.reduce((a, b) => a + b, 0),
  );
  return pi;
}

/** Inclusion counts of each row over `trials` seeds. */
function inclusionCounts(
  scores: number[] | Float64Array,
  k: number,
  trials: number,
  seed0 = 0,
): Float64Array {
  const counts = new Float64Array(scores.length);
  for (let s = 0; s < trials; s++)
    for (const i of sampleByDensity(scores, { count: k }, seed0 + s).indices) counts[i]++;
  return counts;
}

describe('density ranks', () => {
  test('rank 1 is the lowest score (most isolated); ties go by row index', () => {
    const scores = [5, 1.5, 9, 1.5, 3];
    assert.deepEqual([...densityRanks(scores)], [4, 1, 5, 2, 3]);
    assert.deepEqual([...densityOrder(scores)], [1, 3, 4, 0, 2]);
  });

  test('ranks are a permutation of 1..N', () => {
    const scores = Float64Array.from({ length: 5000 }, (_, i) => ((i * 7919) % 101) + 1);
    const ranks = densityRanks(scores);
    const seen = new Uint8Array(5001);
    for (const r of ranks) seen[r]++;
    for (let r = 1; r <= 5000; r++) assert.equal(seen[r], 1);
    const order = densityOrder(scores);
    for (let i = 1; i < 5000; i++) assert.ok(scores[order[i - 1]] <= scores[order[i]]);
  });

  test('invalid scores are rejected', () => {
    assert.throws(() => densityRanks([1, NaN]), /score 1 is NaN/);
    assert.throws(() => densityRanks([-1]), /finite and ≥ 0/);
    assert.throws(() => densityRanks([Infinity]), /finite/);
  });
});

describe('sampleByDensity', () => {
  const scores = Float64Array.from({ length: 1000 }, (_, i) => 1 + (i % 17) * 3.5);

  test('is deterministic for a fixed seed and records it', () => {
    const a = sampleByDensity(scores, { count: 100 }, 12345);
    const b = sampleByDensity(scores, { count: 100 }, 12345);
    assert.deepEqual(a.indices, b.indices);
    assert.equal(a.seed, 12345);
    assert.deepEqual(a.target, { count: 100 });
    assert.notDeepEqual(sampleByDensity(scores, { count: 100 }, 12346).indices, a.indices);
  });

  test('selects exactly k distinct rows, ascending', () => {
    for (const k of [0, 1, 7, 500, 999, 1000]) {
      const { indices } = sampleByDensity(scores, { count: k }, 3);
      assert.equal(indices.length, k);
      for (let i = 1; i < k; i++) assert.ok(indices[i] > indices[i - 1]);
    }
  });

  test('targets: count or percent, with clear errors', () => {
    assert.equal(sampleSize(2000, { percent: 10 }), 200);
    assert.equal(sampleSize(3, { percent: 50 }), 2);
    assert.equal(sampleSize(10, { percent: 0 }), 0);
    assert.equal(sampleSize(10, { percent: 100 }), 10);
    assert.equal(sampleByDensity(scores, { percent: 12.5 }, 1).indices.length, 125);
    assert.throws(() => sampleSize(10, { count: 11 }), /between 0 and 10/);
    assert.throws(() => sampleSize(10, { count: 2.5 }), /integer/);
    assert.throws(() => sampleSize(10, { percent: 101 }), /between 0 and 100/);
    assert.throws(() => sampleSize(10, { percent: NaN }), /between 0 and 100/);
    assert.throws(() => sampleByDensity(scores, { count: 1 }, -1), /seed/);
    assert.throws(() => sampleByDensity(scores, { count: 1 }, 1.5), /seed/);
  });

  test('keys are finite, and a zero score (infinite weight) is always selected', () => {
    const keys = samplingKeys(scores, 9);
    for (const k of keys) assert.ok(Number.isFinite(k) && k <= 0);
    const withZero = Float64Array.from(scores);
    withZero[500] = 0;
    for (let s = 0; s < 20; s++)
      assert.ok(sampleByDensity(withZero, { count: 1 }, s).indices.includes(500));
  });

  test('k = 1 picks row i with probability exactly (1/score_i) / Σ 1/score', () => {
    const s = [1, 2, 4, 8, 1.25];
    const w = s.map(v => 1 / v);
    const total = w.reduce((a, b) => a + b, 0);
    const trials = 40000;
    const counts = inclusionCounts(s, 1, trials);
    let chi2 = 0;
    for (let i = 0; i < s.length; i++) {
      const expected = (trials * w[i]) / total;
      chi2 += (counts[i] - expected) ** 2 / expected;
    }
    // χ² with 4 degrees of freedom: P(χ² > 18.47) = 0.001.
    assert.ok(chi2 < 18.47, `χ² = ${chi2}, counts ${[...counts]}`);
  });

  test('k = 3 of 6 matches the exact inclusion probabilities of weighted sampling without replacement', () => {
    const s = [1, 1.5, 2, 3, 5, 10];
    const pi = exactInclusion(
      s.map(v => 1 / v),
      3,
    );
    const trials = 30000;
    const counts = inclusionCounts(s, 3, trials, 1000);
    for (let i = 0; i < s.length; i++) {
      const sigma = Math.sqrt((pi[i] * (1 - pi[i])) / trials);
      assert.ok(
        Math.abs(counts[i] / trials - pi[i]) < 4.5 * sigma,
        `row ${i}: ${counts[i] / trials} vs ${pi[i]}`,
      );
    }
    // IPS favours isolated rows: lower score, higher inclusion.
    for (let i = 1; i < s.length; i++) assert.ok(pi[i] < pi[i - 1]);
  });

  test('at a 1 % rate, inclusion frequencies over many seeds track 1/score', t => {
    // 2,000 rows in four density levels; the expected inclusion is ≈ k·w_i/Σw (k·w_i/Σw ≤ 0.03).
    const levels = [1, 2, 5, 20];
    const n = 2000;
    const big = Float64Array.from({ length: n }, (_, i) => levels[i % 4]);
    const k = 20;
    const trials = 2000;
    const counts = inclusionCounts(big, k, trials, 77);
    const totalW = big.reduce((a, v) => a + 1 / v, 0);
    for (let l = 0; l < 4; l++) {
      let observed = 0;
      for (let i = l; i < n; i += 4) observed += counts[i];
      const expected = (trials * k * (n / 4) * (1 / levels[l])) / totalW;
      t.diagnostic(
        `score ${levels[l]}: included ${observed} times, expected ≈ ${expected.toFixed(0)}`,
      );
      // Relative tolerance 5 %: ≥ 6σ of the binomial noise for the smallest level, and above the
      // ≤ 2 % bias of successive sampling against exact proportionality at this rate.
      assert.ok(
        Math.abs(observed / expected - 1) < 0.05,
        `level ${levels[l]}: ${observed} vs ${expected}`,
      );
    }
    // Per row, frequency is proportional to 1/score: compare the most and least isolated levels.
    const mean = (l: number): number => {
      let t = 0;
      for (let i = l; i < n; i += 4) t += counts[i];
      return t / (n / 4);
    };
    assert.ok(Math.abs(mean(0) / mean(3) / 20 - 1) < 0.1, `ratio ${mean(0) / mean(3)} vs 20`);
  });
});
