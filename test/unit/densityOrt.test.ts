/**
 * The ONNX Runtime hasher against the scalar reference implementation of ⌊(a·x + b)/w⌋.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InferenceSession } from 'onnxruntime-node';
import { INVALID_HASH } from '../../src/core/density/buckets';
import { ScalarLshHasher } from '../../src/core/density/hasher';
import { OrtLshHasher, buildHashModel } from '../../src/core/density/ortHasher';
import { sketchParams } from '../../src/core/density/params';
import { computeDensity } from '../../src/core/density/passes';
import { createProjection } from '../../src/core/density/projection';
import { randomUnitVectors } from './densityData';

/** Compares two hash arrays; returns the fraction that agree and checks the rest differ by 1. */
function agreement(a: Int32Array, b: Int32Array): { rate: number; mismatches: number } {
  assert.equal(a.length, b.length);
  let mismatches = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    mismatches++;
    assert.equal(
      Math.abs(a[i] - b[i]),
      1,
      `hash ${i}: ${a[i]} vs ${b[i]} differ by more than rounding`,
    );
  }
  return { rate: 1 - mismatches / a.length, mismatches };
}

describe('OrtLshHasher', () => {
  // w = 1 folds nothing; w = 0.5 folds 1/w into the weights (exact); w = 0.3 keeps the Div node.
  for (const [bandwidth, hashesPerRow] of [
    [1, 1],
    [0.5, 1],
    [0.3, 1],
    [1, 3],
  ]) {
    test(`equals the scalar reference on ≥ 99.99 % of hashes (w = ${bandwidth}, K = ${hashesPerRow})`, async t => {
      const params = sketchParams({
        dim: 384,
        rows: hashesPerRow === 1 ? 1000 : 300,
        hashesPerRow,
        bandwidth,
        seed: 8,
      });
      const n = 1000;
      const x = randomUnitVectors(n, 384, 31);
      const ort = await OrtLshHasher.create(params, { blockRows: 1000 });
      const fast = await ort.hash(x, n);
      await ort.dispose();
      const ref = new ScalarLshHasher(params).hashSync(x, n);
      let negative = 0;
      for (const h of ref) if (h < 0) negative++;
      assert.ok(negative > ref.length / 4, 'negative hashes must be common');
      const { rate, mismatches } = agreement(fast, ref);
      t.diagnostic(
        `${mismatches} of ${ref.length} hashes differ by one (float32 vs float64 rounding)`,
      );
      assert.ok(rate >= 0.9999, `agreement ${rate} (${mismatches} of ${ref.length} differ)`);
    });
  }

  test('the folded graph (w a power of two) has no Div node; other w keep it', () => {
    const text = (w: number): string => {
      const p = sketchParams({ dim: 4, rows: 2, bandwidth: w });
      return Buffer.from(buildHashModel(p, createProjection(p))).toString('latin1');
    };
    assert.ok(!text(1).includes('Div') && !text(0.25).includes('Div'));
    assert.ok(text(0.3).includes('Div'));
  });

  test('block size does not change the result (streaming is exact)', async () => {
    const params = sketchParams({ dim: 48, rows: 300, seed: 2 });
    const n = 2500;
    const x = randomUnitVectors(n, 48, 5);
    const big = await OrtLshHasher.create(params, { blockRows: 8192 });
    const small = await OrtLshHasher.create(params, { blockRows: 97 });
    const a = await computeDensity(() => [x], big);
    // Feed the second run in uneven chunks as well.
    const chunks = (): Float32Array[] => [
      x.subarray(0, 10 * 48),
      x.subarray(10 * 48, 1999 * 48),
      x.subarray(1999 * 48),
    ];
    const b = await computeDensity(chunks, small);
    assert.ok(a.sketch.equals(b.sketch));
    assert.deepEqual(a.scores, b.scores);
    await big.dispose();
    await small.dispose();
  });

  test('sketch scores from ORT and scalar hashes agree to within rounding', async () => {
    const params = sketchParams({ dim: 32, rows: 1000, seed: 3 });
    const n = 1500;
    const x = randomUnitVectors(n, 32, 6);
    const ort = await OrtLshHasher.create(params);
    const a = await computeDensity(() => [x], ort);
    await ort.dispose();
    const b = await computeDensity(() => [x], new ScalarLshHasher(params));
    // One differing hash moves a score by at most (N − 1)/R; few hashes differ at all.
    let maxDiff = 0;
    for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(a.scores[i] - b.scores[i]));
    assert.ok(maxDiff <= (2 * n) / params.rows, `max score difference ${maxDiff}`);
  });

  test('NaN embeddings are rejected with the row number, by both hashers', async () => {
    const params = sketchParams({ dim: 8, rows: 16 });
    const x = randomUnitVectors(5, 8, 1);
    x[3 * 8 + 2] = NaN;
    const ort = await OrtLshHasher.create(params);
    const h = await ort.hash(x, 5);
    assert.equal(h[3 * 16], INVALID_HASH);
    await assert.rejects(
      computeDensity(() => [x], ort),
      /embedding 3 contains NaN/,
    );
    await ort.dispose();
    await assert.rejects(
      computeDensity(() => [x], new ScalarLshHasher(params)),
      /embedding 3 contains NaN/,
    );
  });

  test('bad shapes and a released session give clear errors', async () => {
    const params = sketchParams({ dim: 8, rows: 4 });
    const ort = await OrtLshHasher.create(params, { blockRows: 10 });
    await assert.rejects(ort.hash(new Float32Array(7), 1), /expected 1 × 8 floats/);
    await assert.rejects(ort.hash(new Float32Array(88), 11), /n must be in \[0, 10\]/);
    await assert.rejects(
      computeDensity(() => [new Float32Array(12)], ort),
      /do not hold/,
    );
    await ort.dispose();
    await assert.rejects(ort.hash(new Float32Array(8), 1), /after dispose/);
  });

  test('runs on the execution provider the caller names, without silent fallback', async () => {
    const params = sketchParams({ dim: 8, rows: 4 });
    const cpu = await OrtLshHasher.create(params, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
    });
    assert.equal((await cpu.hash(new Float32Array(8), 1)).length, 4);
    await cpu.dispose();
    await assert.rejects(OrtLshHasher.create(params, { executionProviders: ['dml'] }));
    // The graph itself is a valid standalone ONNX model.
    const session = await InferenceSession.create(buildHashModel(params, createProjection(params)));
    assert.deepEqual(session.inputNames, ['x']);
    assert.deepEqual(session.outputNames, ['h']);
    await session.release();
  });
});
