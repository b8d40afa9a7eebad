/**
 * Judge A/B in the dataset view (src/core/dataset/comparisonView.ts, datasetView.ts,
 * scoreColumns.ts): a second scorer's column from `winnow/getScorerColumn` joins the columns;
 * the view info carries the comparison; the "flips" filter selects exactly the rows where one
 * scorer keeps and the other drops (counted here by brute force from the same arrays), at the
 * same keep rate without labels and at each calibrated threshold once both have one.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { DatasetView, type ViewSource } from '../../src/core/dataset/datasetView';
import { DecisionColumn, KEEP } from '../../src/core/dataset/decisions';
import { RowColumns } from '../../src/core/dataset/rowColumns';
import {
  decodeColumns,
  encodeFloat32,
  rowScores,
  scoreSources,
  withScorerColumn,
} from '../../src/core/dataset/scoreColumns';
import { Xoshiro128 } from '../../src/core/density/prng';
import { calibrate, thresholdForKeepRate } from '../../src/core/judge';
import type { ScoreColumnMeta } from '../../src/shared/protocol/worker';

const N = 1500;
const meta = (model: string): ScoreColumnMeta => ({
  model,
  dtype: 'fp32',
  promptName: 'paper',
  promptHash: 'abcdef12',
  answerTokens: ['yes'],
  maxTokens: 512,
  variant: 'p-yes',
});

function source(): { src: ViewSource; a: Float32Array; b: Float32Array; d: DecisionColumn } {
  const rng = new Xoshiro128(3);
  const a = Float32Array.from({ length: N }, (_, i) => (i % 11 === 0 ? NaN : rng.nextFloat()));
  // B: A plus noise, and unscored on other rows.
  const b = Float32Array.from({ length: N }, (_, i) =>
    i % 7 === 0 ? NaN : Math.min(1, Math.max(0, (a[i] || 0.5) + (rng.nextFloat() - 0.5) * 0.4)),
  );
  const d = new DecisionColumn();
  d.resize(N);
  const base = decodeColumns({
    rowCount: N,
    fileVersion: 'v',
    askllm: { data: encodeFloat32(a), scored: 0, meta: meta('judge-a') },
  });
  const scores = withScorerColumn(base, {
    rowCount: N,
    fileVersion: 'v',
    scorers: [
      { id: 'fa', label: 'judge-a', meta: meta('judge-a'), scored: 1, current: true },
      { id: 'fb', label: 'judge-b', meta: meta('judge-b'), scored: 1, current: false },
    ],
    column: { scorer: 'fb', data: encodeFloat32(b), scored: 1, meta: meta('judge-b') },
  });
  const src: ViewSource = {
    rowCount: N,
    indexed: true,
    columns: new RowColumns(),
    decisions: d,
    scores,
    scanComplete: true,
    whenScanned: async () => undefined,
    search: async () => new Uint8Array(N),
    editable: true,
    targetPrecision: 0.8,
  };
  return { src, a, b, d };
}

/** Rows both scored where exactly one of them is at or above its threshold. */
function bruteFlips(a: Float32Array, b: Float32Array, tA: number, tB: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < N; i++)
    if (a[i] === a[i] && b[i] === b[i] && a[i] >= tA !== b[i] >= tB) out.push(i);
  return out;
}

async function flipsView(src: ViewSource): Promise<DatasetView> {
  return DatasetView.compute(
    src,
    { sort: 'line', descending: false, filter: { flips: true } },
    new AbortController().signal,
    () => undefined,
  );
}

describe('judge A/B in the dataset view', () => {
  test('without labels: flips at the same keep rate (0.5), the filter matches a brute count', async () => {
    const { src, a, b } = source();
    const info = DatasetView.identity(src).info();
    const c = info.comparison;
    assert.ok(c);
    assert.equal(c.basis, 'keepRate');
    assert.deepEqual(
      info.scorers?.map(s => s.id),
      ['fa', 'fb'],
    );
    const both = [...Array(N).keys()].filter(i => a[i] === a[i] && b[i] === b[i]);
    assert.equal(c.rows, both.length);
    const tA = thresholdForKeepRate(
      Float64Array.from(both, i => a[i]),
      0.5,
    );
    const tB = thresholdForKeepRate(
      Float64Array.from(both, i => b[i]),
      0.5,
    );
    const expected = bruteFlips(a, b, tA, tB);
    assert.ok(expected.length > 20, 'noise makes flips');
    assert.equal(c.atKeepRate.flips, expected.length);
    assert.ok(c.spearman !== null && c.spearman > 0.7 && c.spearman < 1);
    const view = await flipsView(src);
    assert.deepEqual([...(view.rows ?? [])], expected);
    assert.match(view.info().scope, /1,500/);
  });

  test('with labels: flips at each calibrated threshold; AUC of each', async () => {
    const { src, a, b, d } = source();
    const rng = new Xoshiro128(9);
    const hand: number[] = [];
    for (let r = 0; r < N; r += 3) {
      const keep = rng.nextFloat() < (a[r] === a[r] ? a[r] : 0.5);
      const edit = d.makeEdit([r], keep ? 'keep' : 'drop', 'hand', 1, {
        kind: 'rows',
        decision: keep ? 'keep' : 'drop',
        rows: 1,
        at: '',
      });
      if (edit) d.apply(edit);
      hand.push(r);
    }
    const c = DatasetView.identity(src).info().comparison;
    assert.ok(c?.atThresholds);
    assert.equal(c.basis, 'thresholds');
    const rows = hand.filter(r => a[r] === a[r] && b[r] === b[r]);
    const lab = rows.map(r => (d.get(r) === KEEP ? 1 : 0));
    const calA = calibrate(
      rows.map(r => a[r]),
      lab,
      { targetPrecision: 0.8, replicates: 0 },
    );
    const calB = calibrate(
      rows.map(r => b[r]),
      lab,
      { targetPrecision: 0.8, replicates: 0 },
    );
    assert.equal(c.aucA, calA.auc);
    assert.equal(c.aucB, calB.auc);
    assert.ok(calA.threshold !== null && calB.threshold !== null);
    assert.equal(c.atThresholds.thresholdA, calA.threshold);
    const expected = bruteFlips(a, b, calA.threshold, calB.threshold);
    assert.equal(c.atThresholds.flips, expected.length);
    const view = await flipsView(src);
    assert.deepEqual([...(view.rows ?? [])], expected);
  });

  test('the detail carries both scores, the second one labelled', () => {
    const { src, a, b } = source();
    const row = [...Array(N).keys()].find(i => a[i] === a[i] && b[i] === b[i]) ?? 0;
    const s = rowScores(src.scores, row);
    assert.equal(s.score, a[row]);
    assert.equal(s.compareScore, b[row]);
    assert.equal(scoreSources(src.scores).compare?.label, 'judge-b');
    assert.equal(rowScores(src.scores, 7).compareScore, undefined);
  });

  test('no second scorer: no comparison, the flips filter matches nothing', async () => {
    const { src } = source();
    const plain = { ...src, scores: decodeColumns({ rowCount: N, fileVersion: 'v' }) };
    assert.equal(DatasetView.identity(plain).info().comparison, undefined);
    assert.equal((await flipsView(plain)).count, 0);
  });
});
