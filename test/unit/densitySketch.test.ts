/**
 * The DENSITY sketch against the exact kernel sum it estimates, and sketch merging. The hashes
 * come from the production ONNX Runtime hasher.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { exactKernelSums } from '../../src/core/density/kernel';
import { OrtLshHasher } from '../../src/core/density/ortHasher';
import { SketchParams, sketchParams } from '../../src/core/density/params';
import { addEmbeddings, computeDensity, scoreEmbeddings } from '../../src/core/density/passes';
import { DensitySketch, mergeSketches } from '../../src/core/density/sketch';
import { ClusteredSet, clusteredSet, kendallTau, randomUnitVectors } from './densityData';

function groupMean(a: Float64Array, g: { start: number; end: number }): number {
  let s = 0;
  for (let i = g.start; i < g.end; i++) s += a[i];
  return s / (g.end - g.start);
}

describe('sketch scores vs the exact kernel sum', () => {
  let data: ClusteredSet;
  let exact: Float64Array;
  before(() => {
    data = clusteredSet(7);
    exact = exactKernelSums(data.points, data.n, data.d, 1);
  });

  async function sketchScores(params: SketchParams): Promise<Float64Array> {
    const hasher = await OrtLshHasher.create(params);
    try {
      return (await computeDensity(() => [data.points], hasher)).scores;
    } finally {
      await hasher.dispose();
    }
  }

  test('the test data has spread-out true densities and planted duplicates above isolated points', () => {
    assert.equal(data.n, 2000);
    const dupMin = Math.min(...exact.subarray(data.duplicates.start, data.duplicates.end));
    const isoMax = Math.max(...exact.subarray(data.isolated.start, data.isolated.end));
    assert.ok(dupMin > isoMax, `exact: duplicates ${dupMin} vs isolated ${isoMax}`);
    assert.ok(groupMean(exact, data.clusters[0]) > groupMean(exact, data.duplicates) + 100);
  });

  for (const seed of [11, 12, 13]) {
    test(`default R = 1000 (seed ${seed}): error within the Hoeffding bound, Kendall τ ≥ 0.9, duplicates denser`, async () => {
      const params = sketchParams({ dim: data.d, seed });
      assert.equal(params.rows, 1000);
      const scores = await sketchScores(params);
      // Each row's collision count / N lies in [0, 1] and has mean exact/N (K = 1 and |h| ≪ B, so
      // buckets add no collisions). Hoeffding plus a union bound over the N points: with
      // probability ≥ 1 − δ every |score − exact| / N ≤ sqrt(ln(2N/δ) / (2R)) = 0.087 for δ = 1e-3.
      const bound = Math.sqrt(Math.log((2 * data.n) / 1e-3) / (2 * params.rows));
      let maxErr = 0;
      let meanErr = 0;
      for (let i = 0; i < data.n; i++) {
        const e = Math.abs(scores[i] - exact[i]) / data.n;
        maxErr = Math.max(maxErr, e);
        meanErr += e / data.n;
      }
      assert.ok(maxErr <= bound, `max |error|/N = ${maxErr} > ${bound}`);
      // The typical error is far below the worst-case bound (measured ≈ 0.003–0.004).
      assert.ok(meanErr <= 0.01, `mean |error|/N = ${meanErr}`);
      const tau = kendallTau(scores, exact);
      assert.ok(tau >= 0.9, `Kendall τ = ${tau}`);
      // Planted duplicates are denser than isolated points: on average by at least half the true
      // gap, and in ≥ 95 % of (duplicate, isolated) pairs (the sketch noise is ±~8 per point).
      const trueGap = groupMean(exact, data.duplicates) - groupMean(exact, data.isolated);
      const gap = groupMean(scores, data.duplicates) - groupMean(scores, data.isolated);
      assert.ok(gap >= 0.5 * trueGap, `duplicate gap ${gap} vs true ${trueGap}`);
      let wins = 0;
      for (let i = data.duplicates.start; i < data.duplicates.end; i++)
        for (let j = data.isolated.start; j < data.isolated.end; j++)
          if (scores[i] > scores[j]) wins++;
      const pairs =
        (data.duplicates.end - data.duplicates.start) * (data.isolated.end - data.isolated.start);
      assert.ok(wins / pairs >= 0.95, `duplicates above isolated in ${wins / pairs} of pairs`);
    });
  }

  test('fewer rows estimate worse (the check can fail)', async () => {
    const small = await sketchScores(sketchParams({ dim: data.d, rows: 50, seed: 11 }));
    const tau = kendallTau(small, exact);
    assert.ok(tau < 0.85, `τ at R = 50 should be clearly lower, got ${tau}`);
  });

  test('every row of a sketch sums to N and each added point scores ≥ 1', async () => {
    const params = sketchParams({ dim: data.d, rows: 200, seed: 1 });
    const hasher = await OrtLshHasher.create(params);
    const { sketch, scores } = await computeDensity(() => [data.points], hasher);
    await hasher.dispose();
    assert.equal(sketch.count, data.n);
    for (let r = 0; r < params.rows; r++) {
      let sum = 0;
      for (let b = 0; b < params.buckets; b++) sum += sketch.counters[b * params.rows + r];
      assert.equal(sum, data.n);
    }
    for (const s of scores) assert.ok(s >= 1);
  });
});

describe('massive duplicates (the NumPy demo scenario)', () => {
  test('every copy of a duplicated vector scores above every random vector', async () => {
    const d = 64;
    const random = randomUnitVectors(1000, d, 21);
    const copy = randomUnitVectors(1, d, 22);
    const x = new Float32Array(1100 * d);
    x.set(random);
    for (let i = 0; i < 100; i++) x.set(copy, (1000 + i) * d);
    const hasher = await OrtLshHasher.create(sketchParams({ dim: d }));
    const { scores } = await computeDensity(() => [x], hasher);
    await hasher.dispose();
    const maxRandom = Math.max(...scores.subarray(0, 1000));
    const minCopy = Math.min(...scores.subarray(1000));
    // Expected: copies ≈ 100 + 1000·k(√2) ≈ 370, random ≈ 1 + 1099·0.27 ≈ 300.
    assert.ok(minCopy > maxRandom + 30, `copies ${minCopy} vs random ${maxRandom}`);
  });
});

describe('merging sketches', () => {
  test('merged shard sketches equal the single-pass sketch bit for bit, in any order', async () => {
    const data = clusteredSet(3);
    const d = data.d;
    const params = sketchParams({ dim: d, seed: 4242 });
    const hasher = await OrtLshHasher.create(params, { blockRows: 300 });
    const whole = new DensitySketch(params);
    await addEmbeddings(whole, hasher, data.points);
    const cuts = [0, 137, 1200, 1201, data.n];
    const shards: DensitySketch[] = [];
    for (let s = 0; s + 1 < cuts.length; s++) {
      const shard = new DensitySketch(params);
      await addEmbeddings(
        shard,
        hasher,
        data.points.subarray(cuts[s] * d, cuts[s + 1] * d),
        undefined,
        cuts[s],
      );
      shards.push(shard);
    }
    const merged = mergeSketches(shards[0], ...shards.slice(1));
    assert.ok(merged.equals(whole));
    assert.deepEqual(merged.counters, whole.counters);
    assert.equal(merged.count, data.n);
    assert.ok(mergeSketches(shards[3], shards[1], shards[0], shards[2]).equals(whole));
    // Inputs are untouched by mergeSketches.
    assert.equal(shards[0].count, 137);
    // Scores of a shard against the merged sketch equal its scores in the single pass.
    const single = await scoreEmbeddings(whole, hasher, data.points);
    const shardScores = await scoreEmbeddings(
      merged,
      hasher,
      data.points.subarray(137 * d, 1200 * d),
    );
    assert.deepEqual(shardScores, single.subarray(137, 1200));
    await hasher.dispose();
  });

  test('refuses sketches with different parameters', () => {
    const base = sketchParams({ dim: 8, rows: 10, buckets: 100 });
    const a = new DensitySketch(base);
    const variants = [
      { ...base, seed: base.seed + 1 },
      { ...base, dim: 9 },
      { ...base, bandwidth: 0.5 },
      { ...base, hashesPerRow: 2 },
    ];
    for (const v of variants)
      assert.throws(() => mergeSketches(a, new DensitySketch(v)), /different parameters/);
    assert.throws(
      () => mergeSketches(a, new DensitySketch({ ...base, buckets: 99 })),
      /different parameters/,
    );
    assert.throws(
      () => mergeSketches(a, new DensitySketch({ ...base, rows: 11 })),
      /different parameters/,
    );
  });

  test('refuses a total above 2^32 − 1 points', () => {
    const p = sketchParams({ dim: 2, rows: 1, buckets: 2 });
    const big = new DensitySketch(p, new Uint32Array([0xffffffff, 0]), 0xffffffff);
    const one = new DensitySketch(p, new Uint32Array([1, 0]), 1);
    assert.throws(() => mergeSketches(big, one), /more than/);
  });

  test('a hasher with other parameters is refused', async () => {
    const hasher = await OrtLshHasher.create(sketchParams({ dim: 4, rows: 3, seed: 1 }));
    const sketch = new DensitySketch(sketchParams({ dim: 4, rows: 3, seed: 2 }));
    await assert.rejects(addEmbeddings(sketch, hasher, new Float32Array(8)), /does not match/);
    await hasher.dispose();
  });
});
