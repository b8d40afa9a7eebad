/**
 * The 2-D layout (src/core/map/layout.ts): a fixed seed gives the same layout, and rows placed
 * by their nearest landmarks keep their neighbours about as well as the landmarks UMAP laid out
 * (trustworthiness and planted-cluster agreement of 2-D neighbours).
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { computeLayout, sampleIndices } from '../../src/core/map';
import { plantedSet } from '../support/mapData';

const K = 10;

/** Indices of the k nearest rows of row i by a distance function (i itself left out). */
function nearest(n: number, i: number, k: number, dist: (j: number) => number): number[] {
  const ds: [number, number][] = [];
  for (let j = 0; j < n; j++) if (j !== i) ds.push([dist(j), j]);
  ds.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return ds.slice(0, k).map(([, j]) => j);
}

function cosineRanks(x: Float32Array, n: number, d: number, i: number): Int32Array {
  const ds: [number, number][] = [];
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    let s = 0;
    for (let t = 0; t < d; t++) s += x[i * d + t] * x[j * d + t];
    ds.push([-s, j]);
  }
  ds.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const rank = new Int32Array(n);
  ds.forEach(([, j], r) => (rank[j] = r + 1));
  return rank;
}

/**
 * Per-point trustworthiness terms (Venna & Kaski 2001, as sklearn's `trustworthiness`): for
 * each row, how far beyond rank k its 2-D neighbours sit in the original space, averaged into
 * T = 1 − 2/(m·k·(2n − 3k − 1)) · Σ penalties over the m rows measured.
 */
function trustworthiness(
  x: Float32Array,
  d: number,
  lx: Float32Array,
  ly: Float32Array,
  rows: number[],
): number {
  const n = lx.length;
  let penalty = 0;
  for (const i of rows) {
    const rank = cosineRanks(x, n, d, i);
    const near2d = nearest(n, i, K, j => (lx[j] - lx[i]) ** 2 + (ly[j] - ly[i]) ** 2);
    for (const j of near2d) if (rank[j] > K) penalty += rank[j] - K;
  }
  return 1 - (2 / (rows.length * K * (2 * n - 3 * K - 1))) * penalty;
}

function sameTopicShare(
  topicOf: Int32Array,
  lx: Float32Array,
  ly: Float32Array,
  rows: number[],
): number {
  let same = 0;
  for (const i of rows)
    for (const j of nearest(lx.length, i, K, j => (lx[j] - lx[i]) ** 2 + (ly[j] - ly[i]) ** 2))
      if (topicOf[j] === topicOf[i]) same++;
  return same / (rows.length * K);
}

describe('map layout', () => {
  test('the landmark sample is seeded, distinct and ascending', () => {
    const a = sampleIndices(1000, 100, 5);
    assert.deepEqual(a, sampleIndices(1000, 100, 5));
    assert.notDeepEqual(a, sampleIndices(1000, 100, 6));
    assert.equal(new Set(a).size, 100);
    for (let i = 1; i < a.length; i++) assert.ok(a[i] > a[i - 1]);
    assert.equal(sampleIndices(10, 50, 1).length, 10);
  });

  test('a fixed seed gives the same layout; another seed another one', async () => {
    const set = plantedSet({ n: 1200, d: 48, topics: 6, seed: 2 });
    const opts = { landmarks: 400, epochs: 60, seed: 9 };
    const a = await computeLayout(set.vectors.slice(), set.n, set.d, opts);
    const b = await computeLayout(set.vectors.slice(), set.n, set.d, opts);
    assert.deepEqual(a.x, b.x);
    assert.deepEqual(a.y, b.y);
    const c = await computeLayout(set.vectors.slice(), set.n, set.d, { ...opts, seed: 10 });
    assert.notDeepEqual(a.x, c.x);
    for (const v of [...a.x, ...a.y]) assert.ok(v >= -1 - 1e-6 && v <= 1 + 1e-6);
  });

  test('rows placed by landmarks keep their neighbours about as well as the landmarks', async () => {
    // 12 topics whose rows have cosine ≈ 0.3 with each other: overlapping clouds, not islands.
    const set = plantedSet({ n: 2400, d: 64, topics: 12, spread: 1.5, duplicateShare: 0, seed: 4 });
    const layout = await computeLayout(set.vectors.slice(), set.n, set.d, {
      landmarks: 600,
      seed: 1,
    });
    const isLandmark = new Set(layout.landmarks);
    const landmarks = [...layout.landmarks].filter((_, i) => i % 4 === 0).slice(0, 120);
    const placed = Array.from({ length: set.n }, (_, i) => i).filter(i => !isLandmark.has(i));
    const sample = placed.filter((_, i) => i % 15 === 0).slice(0, 120);
    const tLandmarks = trustworthiness(set.vectors, set.d, layout.x, layout.y, landmarks);
    const tPlaced = trustworthiness(set.vectors, set.d, layout.x, layout.y, sample);
    const sameLandmarks = sameTopicShare(set.topicOf, layout.x, layout.y, landmarks);
    const samePlaced = sameTopicShare(set.topicOf, layout.x, layout.y, sample);
    const report = JSON.stringify({ tLandmarks, tPlaced, sameLandmarks, samePlaced });
    assert.ok(samePlaced >= 0.9, report);
    assert.ok(tPlaced >= 0.85, report);
    assert.ok(tPlaced >= tLandmarks - 0.05, report);
  });

  test('tiny inputs and cancellation', async () => {
    const one = await computeLayout(new Float32Array([1, 0, 0]), 1, 3);
    assert.equal(one.x.length, 1);
    const three = await computeLayout(plantedSet({ n: 3, d: 8 }).vectors, 3, 8);
    assert.equal(new Set(three.x).size, 3);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    const set = plantedSet({ n: 200, d: 16 });
    await assert.rejects(computeLayout(set.vectors, 200, 16, { signal: ac.signal }), /stop/);
  });
});
