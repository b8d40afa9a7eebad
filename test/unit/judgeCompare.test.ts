/**
 * Judge A/B and the distilled scorer (src/core/judge): Spearman against simple-statistics,
 * Kendall's τ-b against an O(n²) count, flips on a constructed pair of scorers, and the ridge
 * fit recovering a planted linear relation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sampleRankCorrelation } from 'simple-statistics';
import { Xoshiro128 } from '../../src/core/density/prng';
import {
  compareScorers,
  fitDistilled,
  flipRows,
  flipsAt,
  kendallTauB,
  logit,
  scoreDistilled,
  spearman,
  thresholdForKeepRate,
} from '../../src/core/judge';

/** τ-b by counting all pairs. */
function bruteTauB(x: number[], y: number[]): number {
  let c = 0;
  let d = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < x.length; i++)
    for (let j = i + 1; j < x.length; j++) {
      const sx = Math.sign(x[i] - x[j]);
      const sy = Math.sign(y[i] - y[j]);
      if (sx === 0 && sy === 0) continue;
      if (sx === 0) tx++;
      else if (sy === 0) ty++;
      else if (sx === sy) c++;
      else d++;
    }
  return (c - d) / Math.sqrt((c + d + tx) * (c + d + ty));
}

function correlated(n: number, seed: number, digits: number): { x: number[]; y: number[] } {
  const rng = new Xoshiro128(seed);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.nextNormal();
    x.push(Number(a.toFixed(digits)));
    y.push(Number((0.6 * a + 0.8 * rng.nextNormal()).toFixed(digits)));
  }
  return { x, y };
}

describe('rank correlations', () => {
  test("Spearman's ρ equals simple-statistics' with ties", () => {
    for (const digits of [0, 1, 3]) {
      const { x, y } = correlated(500, digits + 1, digits);
      assert.ok(Math.abs(spearman(x, y) - sampleRankCorrelation(x, y)) < 1e-12, `digits ${digits}`);
    }
  });

  test("Kendall's τ-b equals the O(n²) count, ties included", () => {
    for (const digits of [0, 1, 4]) {
      const { x, y } = correlated(700, 10 + digits, digits);
      assert.ok(Math.abs(kendallTauB(x, y) - bruteTauB(x, y)) < 1e-12, `digits ${digits}`);
    }
    assert.equal(kendallTauB([1, 2, 3], [3, 2, 1]), -1);
    assert.ok(Number.isNaN(kendallTauB([1, 1, 1], [1, 2, 3])));
  });
});

describe('judge A/B', () => {
  // Ten rows; A and B agree except on rows 2 (A keeps, B drops) and 7 (B keeps, A drops).
  const a = [0.9, 0.8, 0.7, 0.2, 0.1, 0.6, 0.3, 0.4, 0.05, NaN];
  const b = [0.95, 0.85, 0.3, 0.25, 0.15, 0.65, 0.35, 0.75, 0.1, 0.5];
  const labels = [1, 1, 0, 0, 0, 1, 0, 1, -1, 1];

  test('flips at each scorer threshold, counted both ways', () => {
    const rows = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const f = flipsAt(a, b, rows, 0.5, 0.5);
    assert.equal(f.keptByAOnly, 1);
    assert.equal(f.keptByBOnly, 1);
    assert.equal(f.flips, 2);
    assert.ok(Math.abs(f.flipRate - 2 / 9) < 1e-12);
    assert.deepEqual([...flipRows(a, b, 0.5, 0.5)], [2, 7]);
  });

  test('flips at the same keep rate use each scorer’s own cut', () => {
    assert.equal(thresholdForKeepRate([0.1, 0.5, 0.3, 0.9], 0.5), 0.5);
    const c = compareScorers(a, b, { keepRate: 4 / 9 });
    assert.equal(c.rows, 9);
    // A's top 4: rows 0, 1, 2, 5; B's top 4: rows 0, 1, 7, 5.
    assert.equal(c.atKeepRate.thresholdA, 0.6);
    assert.equal(c.atKeepRate.thresholdB, 0.65);
    assert.equal(c.atKeepRate.flips, 2);
    assert.equal(c.atThresholds, undefined);
  });

  test('with labels: each scorer is calibrated, its AUC reported, its threshold used for flips', () => {
    const c = compareScorers(a, b, {
      labels,
      calibration: { targetPrecision: 0.9, replicates: 0 },
    });
    // A ranks row 2 (drop) above row 7 (keep); B orders every labelled row right.
    assert.equal(c.calibrationB?.auc, 1);
    assert.ok((c.calibrationA?.auc ?? 1) < 1);
    assert.equal(c.calibrationB?.threshold, 0.65);
    assert.ok(c.atThresholds);
    assert.equal(c.atThresholds.thresholdB, 0.65);
    assert.ok(c.spearman !== null && c.spearman > 0.7);
    assert.ok(c.kendall !== null && c.kendall > 0.5);
  });
});

describe('distilled scorer', () => {
  /** Unit-norm embeddings whose judge log-odds is a planted linear function plus noise. */
  function planted(n: number, dim: number, seed: number, noise: number) {
    const rng = new Xoshiro128(seed);
    const w = Float64Array.from({ length: dim }, () => rng.nextNormal());
    const x = new Float32Array(n * dim);
    const truth = new Float64Array(n);
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let norm = 0;
      for (let j = 0; j < dim; j++) {
        const v = rng.nextNormal();
        x[i * dim + j] = v;
        norm += v * v;
      }
      norm = Math.sqrt(norm);
      let z = -3;
      for (let j = 0; j < dim; j++) {
        x[i * dim + j] /= norm;
        z += 6 * x[i * dim + j] * w[j];
      }
      truth[i] = z;
      p[i] = 1 / (1 + Math.exp(-(z + noise * rng.nextNormal())));
    }
    return { x, p, truth };
  }

  test('recovers a planted linear relation: held-out Spearman ≥ 0.95, and on unseen rows', () => {
    const dim = 64;
    const { x, p } = planted(2000, dim, 3, 0.3);
    const fit = fitDistilled(x, dim, p);
    assert.ok(
      fit.heldOutSpearman !== null && fit.heldOutSpearman >= 0.95,
      `ρ ${fit.heldOutSpearman}`,
    );
    assert.equal(fit.trainRows.length + fit.heldOutRows.length, 2000);
    assert.equal(new Set([...fit.trainRows, ...fit.heldOutRows]).size, 2000);
    // The same seed draws the same w and the same first 2000 rows: rows 2000.. are unseen.
    const other = planted(3000, dim, 3, 0);
    const scores = scoreDistilled(fit.model, other.x.subarray(2000 * dim));
    assert.equal(scores.length, 1000);
    assert.ok(spearman(scores, other.truth.subarray(2000)) >= 0.95);
    for (const s of scores) assert.ok(s > 0 && s < 1);
  });

  test('the fit is reproducible, and the λ is chosen from the grid', () => {
    const dim = 16;
    const { x, p } = planted(300, dim, 8, 0.5);
    const a = fitDistilled(x, dim, p, { seed: 4 });
    const b = fitDistilled(x, dim, p, { seed: 4 });
    assert.deepEqual([...a.model.weights], [...b.model.weights]);
    assert.equal(a.lambdas.length, 6);
    assert.ok(a.lambdas.some(l => l.lambda === a.model.lambda));
  });

  test('pure noise is not "recovered"', () => {
    const dim = 32;
    const { x } = planted(800, dim, 5, 0);
    const rng = new Xoshiro128(99);
    const p = Float64Array.from({ length: 800 }, () => rng.nextFloat());
    const fit = fitDistilled(x, dim, p);
    assert.ok(Math.abs(fit.heldOutSpearman ?? 0) < 0.25, `ρ ${fit.heldOutSpearman}`);
  });

  test('logit clips P(yes) of 0 and 1, and bad inputs are clear errors', () => {
    assert.ok(Number.isFinite(logit(0)) && Number.isFinite(logit(1)));
    assert.throws(
      () => fitDistilled(new Float32Array(10), 2, [0.5]),
      /10 embedding values for 1 rows/,
    );
    assert.throws(() => fitDistilled(new Float32Array(4), 2, [0.5, 0.5]), /at least 10/);
  });
});

describe('compare from scores files', () => {
  test('joins on line; the flip lines are those where the two disagree', async () => {
    const { compareTexts } = await import('../../src/core/judge');
    const a = [0.9, 0.8, 0.7, 0.2, 0.1, 0.6, 0.3, 0.4];
    const b = [0.95, 0.85, 0.3, 0.25, 0.15, 0.65, 0.35, 0.75];
    const text = (v: number[]) =>
      v.map((s, i) => JSON.stringify({ line: i + 10, askllm_score: s })).join('\n');
    const r = compareTexts(text(a), text(b), undefined, { keepRate: 0.5 });
    assert.equal(r.rows, 8);
    // Top half of A: lines 10, 11, 12, 15; of B: 10, 11, 15, 17.
    assert.deepEqual(r.flipLines, [12, 17]);
    assert.equal(r.atKeepRate.flips, 2);
    const labels = [1, 1, 0, 0, 0, 1, 0, 1]
      .map((k, i) => JSON.stringify({ line: i + 10, decision: k ? 'keep' : 'drop' }))
      .join('\n');
    const withLabels = compareTexts(text(a), text(b), labels, {
      calibration: { replicates: 0 },
    });
    assert.equal(withLabels.calibrationB?.auc, 1);
    assert.ok(withLabels.atThresholds);
  });
});

describe('distilled scorer over a real embedding store', () => {
  test('fits on a DENSITY sample of the judged rows and scores every embedded row', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { EmbeddingStore } = await import('../../src/core/embedStore');
    const { distillRows } = await import('../../src/core/judge');
    const dir = mkdtempSync(join(tmpdir(), 'winnow-distill-'));
    try {
      const dim = 32;
      const n = 1500;
      const rng = new Xoshiro128(21);
      const w = Float64Array.from({ length: dim }, () => rng.nextNormal());
      const store = await EmbeddingStore.open(join(dir, 'e.wnde'), { dim, key: 'k', sync: false });
      const hashes: string[] = [];
      const truth = new Float64Array(n);
      const judge = new Float64Array(n).fill(NaN);
      const density = new Float64Array(n);
      const entries = [];
      for (let i = 0; i < n; i++) {
        const v = Float32Array.from({ length: dim }, () => rng.nextNormal());
        const norm = Math.hypot(...v);
        for (let j = 0; j < dim; j++) v[j] /= norm;
        let z = -1;
        for (let j = 0; j < dim; j++) z += 5 * v[j] * w[j];
        truth[i] = z;
        if (i < 1000) judge[i] = 1 / (1 + Math.exp(-(z + 0.2 * rng.nextNormal())));
        density[i] = 1 + rng.nextFloat() * 9;
        const hash = i.toString(16).padStart(32, '0');
        hashes.push(hash);
        // Row 1499 has no embedding.
        if (i < n - 1) entries.push({ hash, vector: v });
      }
      await store.append(entries);
      const labels = Float64Array.from(truth, (z, i) => (i % 3 === 0 ? (z > -1 ? 1 : 0) : -1));
      const r = await distillRows(store, hashes, judge, { sample: 600, density, labels });
      await store.close();
      assert.equal(r.sampleRows.length, 600);
      for (const s of r.sampleRows) assert.ok(s < 1000, 'the sample has judge scores');
      assert.equal(r.scored, n - 1);
      assert.ok(Number.isNaN(r.scores[n - 1]));
      assert.ok((r.outOfSampleSpearman ?? 0) >= 0.95, `ρ ${r.outOfSampleSpearman}`);
      assert.ok((r.auc ?? 0) > 0.9, `AUC ${r.auc}`);
      // Rows the judge never scored get distilled scores that follow the planted relation.
      assert.ok(spearman(r.scores.subarray(1000, n - 1), truth.subarray(1000, n - 1)) >= 0.95);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
