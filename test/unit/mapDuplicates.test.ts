/**
 * Near-duplicate groups (src/core/map): the band plan, the sketch-prefix property the worker
 * relies on, recall and precision against brute force on a planted set, exact copies, "keep
 * one per group" and cancellation.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { OrtLshHasher, ScalarLshHasher, sketchParams } from '../../src/core/density';
import {
  DuplicateGroups,
  bruteForceGroups,
  compareGroupings,
  findNearDuplicates,
  planBands,
} from '../../src/core/map';
import { plantedSet } from '../support/mapData';

describe('near-duplicate band plan', () => {
  test('the default sketch (R = 1000, w = 1) reaches the target recall at cosine 0.95', () => {
    const plan = planBands(sketchParams({ dim: 384 }), 0.95);
    assert.ok(plan.rowsUsed <= 1000);
    assert.ok(plan.pairRecall >= 0.995, `pair recall ${plan.pairRecall}`);
    // k(√0.1) at w = 1 (kernel.ts): the collision chance of one sketch row at the threshold.
    assert.ok(Math.abs(plan.rowProbability - 0.7476) < 0.002, `${plan.rowProbability}`);
    assert.ok(plan.bandWidth >= 8, `band width ${plan.bandWidth}`);
    assert.equal(plan.checkRows % 16, 0);
    assert.ok(
      plan.checkMin > plan.checkRows * 0.4 && plan.checkMin < plan.checkRows * plan.rowProbability,
    );
  });

  test('a higher threshold allows wider bands; a small sketch still gives a plan', () => {
    const params = sketchParams({ dim: 64 });
    assert.ok(planBands(params, 0.99).bandWidth > planBands(params, 0.9).bandWidth);
    const tiny = planBands(sketchParams({ dim: 64, rows: 10 }), 0.95);
    assert.ok(tiny.rowsUsed <= 10 && tiny.bands >= 1);
    assert.throws(() => planBands(params, 1.2), /threshold/);
  });

  test('the first sketch rows hash the same whatever R is (the worker hashes only rowsUsed)', () => {
    const full = new ScalarLshHasher(sketchParams({ dim: 16, rows: 200 }));
    const prefix = new ScalarLshHasher(sketchParams({ dim: 16, rows: 70 }));
    const x = plantedSet({ n: 20, d: 16, topics: 3 }).vectors;
    const a = full.hashSync(x, 20);
    const b = prefix.hashSync(x, 20);
    for (let i = 0; i < 20; i++)
      assert.deepEqual(b.subarray(i * 70, i * 70 + 70), a.subarray(i * 200, i * 200 + 70));
  });
});

describe('near-duplicate groups against brute force', () => {
  test('planted 6,000 × 384: recall ≥ 0.99 and precision 1 at cosine 0.95', async () => {
    const set = plantedSet({ n: 6000, seed: 11 });
    const reference = await bruteForceGroups(set.vectors.slice(), set.n, set.d, 0.95);
    assert.ok(reference.pairs.length > 500, `only ${reference.pairs.length} planted pairs`);
    const density = sketchParams({ dim: set.d });
    const plan = planBands(density, 0.95);
    const hasher = await OrtLshHasher.create(sketchParams({ ...density, rows: plan.rowsUsed }));
    try {
      const found = await findNearDuplicates(set.vectors.slice(), set.n, hasher, plan);
      const agreement = compareGroupings(reference.groupOf, found.groupOf);
      assert.equal(agreement.precision, 1, JSON.stringify(agreement));
      assert.ok(agreement.recall >= 0.99, JSON.stringify(agreement));
      let pairsFound = 0;
      for (const p of reference.pairs)
        if (found.groupOf[Math.floor(p / set.n)] === found.groupOf[p % set.n]) pairsFound++;
      assert.ok(pairsFound / reference.pairs.length >= 0.99, `pair recall ${pairsFound}`);
      // The check rows keep exact cosines to a small share of the candidates.
      assert.ok(found.stats.verified < found.stats.candidates, JSON.stringify(found.stats));
    } finally {
      await hasher.dispose();
    }
  });

  test('every group holds only pairs above the threshold when they are planted far apart', async () => {
    // Copies at cosine 0.97–0.99 of well separated originals: each group is one planted group.
    const set = plantedSet({
      n: 1500,
      d: 64,
      spread: 3,
      cosine: [0.985, 0.995],
      copies: [2, 3],
      seed: 3,
    });
    const params = sketchParams({ dim: 64 });
    const plan = planBands(params, 0.95);
    const hasher = new ScalarLshHasher(sketchParams({ ...params, rows: plan.rowsUsed }));
    const found = await findNearDuplicates(set.vectors.slice(), set.n, hasher, plan);
    const planted = Int32Array.from(set.copyOf, (c, i) => (c < 0 ? i : c));
    const agreement = compareGroupings(planted, found.groupOf);
    assert.deepEqual([agreement.precision, agreement.recall], [1, 1], JSON.stringify(agreement));
  });

  test('a cancelled run stops with the signal reason', async () => {
    const set = plantedSet({ n: 300, d: 32 });
    const params = sketchParams({ dim: 32 });
    const plan = planBands(params);
    const hasher = new ScalarLshHasher(sketchParams({ ...params, rows: plan.rowsUsed }), 64);
    const ac = new AbortController();
    const run = findNearDuplicates(set.vectors, set.n, hasher, plan, {
      signal: ac.signal,
      onProgress: (_phase, done) => done >= 64 && ac.abort(new Error('stop')),
    });
    await assert.rejects(run, /stop/);
  });
});

describe('duplicate groups of rows', () => {
  // Rows: 0 a, 1 b, 2 a (exact copy of 0), 3 invalid, 4 c (near b), 5 d, 6 e (alone).
  const itemOfRow = Int32Array.from([0, 1, 0, -1, 2, 3, 4]);
  // Items 1 and 2 are near duplicates (labelled 1); item 3 alone; item 4 alone.
  const groupOfItem = Int32Array.from([0, 1, 1, 3, 4]);

  test('exact copies and near duplicates share a group; ids follow the first row', () => {
    const g = DuplicateGroups.fromItems(itemOfRow, groupOfItem);
    assert.equal(g.count, 2);
    assert.deepEqual([...g.groupOfRow], [0, 1, 0, -1, 1, -1, -1]);
    assert.deepEqual([...g.rowsOf(0)], [0, 2]);
    assert.deepEqual([...g.rowsOf(1)], [1, 4]);
    assert.equal(g.groupedRows, 4);
    const again = DuplicateGroups.fromRowGroups(g.groupOfRow, g.count);
    assert.deepEqual([...again.rowsOf(1)], [1, 4]);
  });

  test('keep one per group: the best score (unscored rows lose) or the first row', () => {
    const g = DuplicateGroups.fromItems(itemOfRow, groupOfItem);
    const scores = Float32Array.from([0.2, NaN, 0.9, NaN, 0.5, 0.1, 0.3]);
    assert.deepEqual(g.keepOne('best', scores), { keep: [2, 4], drop: [0, 1] });
    assert.deepEqual(g.keepOne('first', scores), { keep: [0, 1], drop: [2, 4] });
    const unscored = new Float32Array(7).fill(NaN);
    assert.deepEqual(g.keepOne('best', unscored), { keep: [0, 1], drop: [2, 4] });
  });

  test('compareGroupings counts pairs', () => {
    const ref = Int32Array.from([0, 0, 0, 3, 3]);
    const cand = Int32Array.from([0, 0, 2, 3, 4]);
    const a = compareGroupings(ref, cand);
    assert.deepEqual([a.referencePairs, a.candidatePairs, a.commonPairs], [4, 1, 1]);
    assert.equal(a.precision, 1);
    assert.equal(a.recall, 0.25);
  });
});
