/**
 * The collision-probability kernel of the p-stable L2 hash family, the bucket arithmetic
 * (negative hashes, MurmurHash3 combination) and the seeded generator.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  INVALID_HASH,
  bucketIndices,
  murmur3Words,
  positiveMod,
} from '../../src/core/density/buckets';
import { collisionProbability, normalCdf } from '../../src/core/density/kernel';
import { sketchParams } from '../../src/core/density/params';
import { Xoshiro128 } from '../../src/core/density/prng';
import { createProjection } from '../../src/core/density/projection';
import { ScalarLshHasher } from '../../src/core/density/hasher';
import { DensitySketch } from '../../src/core/density/sketch';
import { randomUnitVectors } from './densityData';

describe('normalCdf', () => {
  test('matches reference values', () => {
    // Reference values of Φ from standard tables (15 significant digits).
    const cases: [number, number][] = [
      [0, 0.5],
      [-1, 0.158655253931457],
      [1.96, 0.97500210485178],
      [-3, 0.00134989803163009],
      [-6, 9.86587645037698e-10],
    ];
    for (const [x, phi] of cases) assert.ok(Math.abs(normalCdf(x) - phi) < 1e-13, `Φ(${x})`);
  });
});

describe('collisionProbability k(c)', () => {
  test('reproduces the table in docs/density.md#kernel', () => {
    const cs = [0.1, 0.3, 0.5, 0.8, 1.0, 1.414];
    const table: Record<number, number[]> = {
      0.25: [0.68, 0.31, 0.2, 0.12, 0.1, 0.07],
      0.5: [0.84, 0.55, 0.37, 0.24, 0.2, 0.14],
      1: [0.92, 0.76, 0.61, 0.44, 0.37, 0.27],
      2: [0.96, 0.88, 0.8, 0.68, 0.61, 0.49],
    };
    for (const [w, row] of Object.entries(table))
      cs.forEach((c, i) =>
        assert.ok(
          Math.abs(collisionProbability(c, Number(w)) - row[i]) <= 0.005 + 1e-9,
          `k(${c}) at w=${w}: ${collisionProbability(c, Number(w))} vs ${row[i]}`,
        ),
      );
  });

  test('is 1 at c = 0, decreasing in c, and raised to K for concatenated hashes', () => {
    assert.equal(collisionProbability(0, 1), 1);
    assert.ok(collisionProbability(1e-9, 1) > 0.999999);
    let last = 1;
    for (let c = 0.05; c <= 2; c += 0.05) {
      const k = collisionProbability(c, 1);
      assert.ok(k < last, `k must decrease at c=${c}`);
      last = k;
    }
    assert.ok(
      Math.abs(collisionProbability(0.7, 1, 3) - collisionProbability(0.7, 1) ** 3) < 1e-15,
    );
    assert.throws(() => collisionProbability(-1, 1), RangeError);
  });

  test('equals the empirical collision rate of the generated hash functions', () => {
    // 20,000 independent hash functions; the rate at distance c is binomial, σ ≤ 0.0036.
    const rows = 20000;
    const d = 16;
    for (const w of [0.5, 1, 2]) {
      const hasher = new ScalarLshHasher(sketchParams({ dim: d, rows, bandwidth: w, seed: 3 }));
      const rng = new Xoshiro128(99, 7);
      for (const c of [0.1, 0.3, 0.5, 1, 1.414, 2]) {
        const x = randomUnitVectors(1, d, Math.round(c * 1000 + w * 10));
        const u = Array.from({ length: d }, () => rng.nextNormal());
        const norm = Math.hypot(...u);
        const pair = new Float32Array(2 * d);
        for (let k = 0; k < d; k++) {
          pair[k] = x[k];
          pair[d + k] = x[k] + (c * u[k]) / norm;
        }
        const h = hasher.hashSync(pair, 2);
        let same = 0;
        for (let t = 0; t < rows; t++) if (h[t] === h[rows + t]) same++;
        const p = collisionProbability(c, w);
        const sigma = Math.sqrt((p * (1 - p)) / rows);
        assert.ok(
          Math.abs(same / rows - p) < 5 * sigma + 1e-3,
          `w=${w} c=${c}: empirical ${same / rows} vs k(c) ${p}`,
        );
      }
    }
  });

  test('K = 2 rows collide with probability k(c)^2 (plus 1/B accidental)', () => {
    const rows = 10000;
    const d = 8;
    const buckets = 50;
    const params = sketchParams({ dim: d, rows, hashesPerRow: 2, buckets, bandwidth: 1, seed: 5 });
    const hasher = new ScalarLshHasher(params);
    const c = 0.5;
    const x = randomUnitVectors(1, d, 1);
    const pair = new Float32Array(2 * d);
    for (let k = 0; k < d; k++) {
      pair[k] = x[k];
      pair[d + k] = x[k] + (k === 0 ? c : 0);
    }
    const idx = bucketIndices(
      hasher.hashSync(pair, 2),
      2,
      rows,
      buckets,
      2,
      new Int32Array(2 * rows),
    );
    let same = 0;
    for (let r = 0; r < rows; r++) if (idx[r] === idx[rows + r]) same++;
    const k2 = collisionProbability(c, 1, 2);
    const p = k2 + (1 - k2) / buckets;
    const sigma = Math.sqrt((p * (1 - p)) / rows);
    assert.ok(Math.abs(same / rows - p) < 5 * sigma, `empirical ${same / rows} vs ${p}`);
  });
});

describe('bucket arithmetic', () => {
  test('positiveMod maps negative hashes into [0, B)', () => {
    assert.equal(-1 % 7, -1); // The JavaScript pitfall itself.
    assert.equal(positiveMod(-1, 7), 6);
    assert.equal(positiveMod(-7, 7), 0);
    assert.equal(positiveMod(-8, 7), 6);
    assert.equal(positiveMod(13, 7), 6);
    assert.equal(positiveMod(-2147483647, 20000), ((-2147483647 % 20000) + 20000) % 20000);
    assert.ok(positiveMod(-2147483647, 20000) >= 0);
  });

  test('the fused sketch loop agrees with ((h % B) + B) % B for hashes far outside [-B, B)', () => {
    // Small B and a narrow bandwidth make most hashes negative or larger than B.
    const params = sketchParams({ dim: 8, rows: 64, buckets: 7, bandwidth: 0.05, seed: 9 });
    const n = 300;
    const x = randomUnitVectors(n, 8, 4);
    const hashes = new ScalarLshHasher(params).hashSync(x, n);
    let negative = 0;
    let beyond = 0;
    for (const h of hashes) {
      if (h < 0) negative++;
      if (h < -7 || h >= 7) beyond++;
    }
    assert.ok(
      negative > hashes.length / 4 && beyond > hashes.length / 4,
      'test data must exercise both paths',
    );
    const sketch = new DensitySketch(params);
    sketch.addHashes(hashes, n);
    const expected = new Uint32Array(64 * 7);
    for (let i = 0; i < n; i++)
      for (let r = 0; r < 64; r++) expected[(((hashes[i * 64 + r] % 7) + 7) % 7) * 64 + r]++;
    assert.deepEqual(sketch.counters, expected);
    const idx = bucketIndices(hashes, n, 64, 7, 1, new Int32Array(n * 64));
    for (let k = 0; k < idx.length; k++) assert.equal(idx[k], ((hashes[k] % 7) + 7) % 7);
  });

  test('murmur3Words matches MurmurHash3 x86_32 test vectors', () => {
    // Known answers for 4-byte little-endian inputs (SMHasher verification strings).
    assert.equal(murmur3Words(new Int32Array([0]), 0, 1, 0), 0x2362f9de);
    assert.equal(murmur3Words(new Int32Array([0x87654321 | 0]), 0, 1, 0), 0xf55b516b);
    assert.equal(murmur3Words(new Int32Array([0x87654321 | 0]), 0, 1, 0x5082edee), 0x2362f9de);
    assert.equal(murmur3Words(new Int32Array([]), 0, 0, 1), 0x514e28b7);
    assert.equal(murmur3Words(new Int32Array([]), 0, 0, 0xffffffff), 0x81f16f39);
  });

  test('an invalid hash (NaN input) is reported with its row', () => {
    const params = sketchParams({ dim: 2, rows: 3, buckets: 10 });
    const sketch = new DensitySketch(params);
    sketch.addHashes(new Int32Array([1, 1, 1]), 1);
    const before = sketch.counters.slice();
    // Row 1 is fine, row 2 fails in its second sketch row: nothing of this call may stay.
    const hashes = new Int32Array([0, 1, 2, 3, INVALID_HASH, 5]);
    assert.throws(() => sketch.addHashes(hashes, 2, 40), /embedding 41 contains NaN/);
    assert.deepEqual(sketch.counters, before);
    assert.equal(sketch.count, 1);
    const k2 = new DensitySketch(sketchParams({ dim: 2, rows: 2, buckets: 10, hashesPerRow: 2 }));
    assert.throws(
      () => k2.addHashes(new Int32Array([1, 2, 3, 4, 5, 6, 7, INVALID_HASH]), 2),
      /embedding 1/,
    );
    assert.equal(
      k2.counters.reduce((a, b) => a + b, 0),
      0,
    );
  });
});

describe('seeded generator', () => {
  test('is deterministic per (seed, stream) and streams differ', () => {
    const a = new Xoshiro128(1234, 1);
    const b = new Xoshiro128(1234, 1);
    const c = new Xoshiro128(1234, 2);
    const sa = Array.from({ length: 8 }, () => a.nextUint32());
    assert.deepEqual(
      sa,
      Array.from({ length: 8 }, () => b.nextUint32()),
    );
    assert.notDeepEqual(
      sa,
      Array.from({ length: 8 }, () => c.nextUint32()),
    );
  });

  test('normals have mean 0 and variance 1; open floats avoid 0 and 1', () => {
    const rng = new Xoshiro128(42);
    let s = 0;
    let s2 = 0;
    const n = 200000;
    for (let i = 0; i < n; i++) {
      const z = rng.nextNormal();
      s += z;
      s2 += z * z;
    }
    assert.ok(Math.abs(s / n) < 0.015);
    assert.ok(Math.abs(s2 / n - 1) < 0.015);
    for (let i = 0; i < 10000; i++) {
      const u = rng.nextOpenFloat();
      assert.ok(u > 0 && u < 1);
    }
  });

  test('the projection is a pure function of the parameters', () => {
    const p = sketchParams({ dim: 12, rows: 30, bandwidth: 0.75, seed: 77 });
    const a = createProjection(p);
    const b = createProjection(p);
    assert.deepEqual(a.matrix, b.matrix);
    assert.deepEqual(a.bias, b.bias);
    for (const v of a.bias) assert.ok(v >= 0 && v < p.bandwidth);
    assert.notDeepEqual(createProjection({ ...p, seed: 78 }).matrix, a.matrix);
  });
});
