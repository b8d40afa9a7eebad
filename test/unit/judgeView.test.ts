/**
 * The dataset view's calibration (src/core/dataset/calibrationView.ts, datasetView.ts): the
 * view info carries the calibration of the hand-decided scored rows, recomputed on every
 * decision; rows decided by a bulk rule (this session) are not labels, also after undo; "Keep
 * rows at or above the calibrated threshold" selects exactly the view's scored rows ≥ it and
 * records the rule.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { DatasetView, type ViewSource } from '../../src/core/dataset/datasetView';
import { DecisionColumn, KEEP, DROP, UNDECIDED } from '../../src/core/dataset/decisions';
import { RowColumns } from '../../src/core/dataset/rowColumns';
import { decodeColumns, encodeFloat32 } from '../../src/core/dataset/scoreColumns';
import { Xoshiro128 } from '../../src/core/density/prng';
import { calibrate } from '../../src/core/judge';

const N = 2000;

function source(): { src: ViewSource; values: Float32Array; decisions: DecisionColumn } {
  const rng = new Xoshiro128(12);
  const values = Float32Array.from({ length: N }, (_, i) =>
    i % 13 === 0 ? NaN : Math.round(rng.nextFloat() * 1000) / 1000,
  );
  const decisions = new DecisionColumn();
  decisions.resize(N);
  const scores = decodeColumns({
    rowCount: N,
    fileVersion: 'v1',
    askllm: {
      data: encodeFloat32(values),
      scored: N - Math.ceil(N / 13),
      meta: {
        model: 'tiny',
        dtype: 'fp32',
        promptName: 'paper',
        promptHash: 'abc',
        answerTokens: ['yes'],
        maxTokens: 512,
        variant: 'p-yes',
      },
    },
  });
  const src: ViewSource = {
    rowCount: N,
    indexed: true,
    columns: new RowColumns(),
    decisions,
    scores,
    scanComplete: true,
    whenScanned: async () => undefined,
    search: async () => new Uint8Array(N),
    editable: true,
    targetPrecision: 0.8,
  };
  return { src, values: Float32Array.from(scores.askllm?.values ?? []), decisions };
}

/** Labels `count` rows by hand: keep with probability = score (so the judge is informative). */
function labelByHand(decisions: DecisionColumn, values: Float32Array, rows: number[]): void {
  const rng = new Xoshiro128(5);
  for (const r of rows) {
    const keep = rng.nextFloat() < values[r];
    const edit = decisions.makeEdit([r], keep ? 'keep' : 'drop', 'hand', 1, {
      kind: 'rows',
      decision: keep ? 'keep' : 'drop',
      rows: 1,
      at: '',
    });
    if (edit) decisions.apply(edit);
  }
}

/** The calibration computed directly from the hand-labelled scored rows. */
function reference(values: Float32Array, decisions: DecisionColumn, hand: Set<number>) {
  const s: number[] = [];
  const l: number[] = [];
  for (let i = 0; i < N; i++)
    if (hand.has(i) && values[i] === values[i] && decisions.get(i) !== UNDECIDED) {
      s.push(values[i]);
      l.push(decisions.get(i) === KEEP ? 1 : 0);
    }
  return calibrate(s, l, { targetPrecision: 0.8, replicates: 1000, seed: 1 });
}

describe('calibration in the dataset view', () => {
  test('the view info carries the calibration of the hand labels, updated on each decision', () => {
    const { src, values, decisions } = source();
    const view = DatasetView.identity(src);
    const first = view.info().calibration;
    assert.ok(first);
    assert.equal(first.labelled, 0);
    assert.equal(first.threshold, null);
    const hand = [...Array(300).keys()].map(i => i * 5 + 1);
    labelByHand(decisions, values, hand);
    const c = view.info().calibration;
    const want = reference(values, decisions, new Set(hand));
    assert.ok(c);
    assert.equal(c.labelled, want.labelled);
    assert.equal(c.auc, want.auc);
    assert.equal(c.threshold, want.threshold);
    assert.equal(c.kappa, want.kappa);
    assert.deepEqual(c.intervals?.auc, want.intervals?.auc);
    assert.ok((c.auc ?? 0) > 0.6, `AUC ${c.auc}`);
    // Twenty more labels move it.
    labelByHand(
      decisions,
      values,
      [...Array(20).keys()].map(i => i * 5 + 2),
    );
    const after = view.info().calibration;
    assert.notEqual(after?.labelled, c.labelled);
  });

  test('"keep at or above the calibrated threshold" selects the unlabelled scored rows ≥ it; its rows are not labels; undo restores', () => {
    const { src, values, decisions } = source();
    labelByHand(
      decisions,
      values,
      [...Array(400).keys()].map(i => i * 4 + 3),
    );
    const view = DatasetView.identity(src);
    const before = view.info().calibration;
    assert.ok(before?.threshold !== null && before?.threshold !== undefined);
    const t = before.threshold;
    const target = view.resolveTarget({ kind: 'calibratedThreshold' }, 'keep');
    // The labelled rows keep the user's decisions (a hand drop above the threshold stays).
    const above = [...Array(N).keys()].filter(i => values[i] >= t);
    const want = above.filter(i => !decisions.isLabel(i));
    assert.ok(want.length < above.length);
    assert.deepEqual([...target.rows], want);
    assert.equal(before.atOrAbove, above.length);
    assert.equal(target.rule.kind, 'threshold');
    assert.equal(target.rule.targetPrecision, 0.8);
    assert.deepEqual(target.rule.labels, { keep: before.keep, drop: before.drop });
    assert.match(target.label, /^Keep \d[\d,]* rows at or above the calibrated threshold /);
    const codes = Uint8Array.from(decisions.codes.subarray(0, N));
    const edit = decisions.makeEdit(target.rows, 'keep', target.label, 1, target.rule);
    assert.ok(edit);
    decisions.apply(edit);
    for (const r of want) assert.equal(decisions.get(r), KEEP);
    assert.ok(
      above.some(r => decisions.get(r) === DROP),
      'hand drops above it stay',
    );
    // The bulk keep is no label: the calibration is the same as before.
    assert.deepEqual(view.info().calibration, before);
    decisions.revert(edit);
    assert.deepEqual(Uint8Array.from(decisions.codes.subarray(0, N)), codes);
    assert.deepEqual(view.info().calibration, before);
  });

  test('a hand decision on a bulk-decided row makes it a label; undoing it makes it bulk again', () => {
    const { decisions } = source();
    const bulk = decisions.makeEdit([10, 11], 'keep', 'bulk', 1, {
      kind: 'view',
      decision: 'keep',
      rows: 2,
      at: '',
    });
    assert.ok(bulk);
    decisions.apply(bulk);
    assert.equal(decisions.isLabel(10), false);
    const hand = decisions.makeEdit([10], 'drop', 'hand', 1, {
      kind: 'rows',
      decision: 'drop',
      rows: 1,
      at: '',
    });
    assert.ok(hand);
    decisions.apply(hand);
    assert.equal(decisions.isLabel(10), true);
    assert.equal(decisions.get(10), DROP);
    decisions.revert(hand);
    assert.equal(decisions.get(10), KEEP);
    assert.equal(decisions.isLabel(10), false);
    assert.equal(decisions.isLabel(11), false);
  });

  test('without a threshold, the target is a clear error', () => {
    const { src } = source();
    assert.throws(
      () => DatasetView.identity(src).resolveTarget({ kind: 'calibratedThreshold' }, 'keep'),
      /no calibrated threshold yet: Needs kept and dropped rows/,
    );
  });
});
