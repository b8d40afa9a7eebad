/**
 * Generated embedding sets for the DENSITY tests (seeded, so every run sees the same data).
 */
import { Xoshiro128 } from '../../src/core/density/prng';

/** Normalises each row of a row-major n × d matrix to unit L2 norm, in place. */
export function normalizeRows(x: Float32Array, n: number, d: number): Float32Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[i * d + k] ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < d; k++) x[i * d + k] *= inv;
  }
  return x;
}

/** n random unit vectors (uniform on the sphere). */
export function randomUnitVectors(n: number, d: number, seed: number): Float32Array {
  const rng = new Xoshiro128(seed, 100);
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.nextNormal();
  return normalizeRows(x, n, d);
}

/** Labelled groups of the clustered test set. */
export interface ClusteredSet {
  readonly points: Float32Array;
  readonly n: number;
  readonly d: number;
  /** Row ranges of each cluster. */
  readonly clusters: readonly { start: number; end: number }[];
  /** Rows of planted near-duplicate groups. */
  readonly duplicates: { start: number; end: number };
  /** Rows of isolated points (uniform on the sphere). */
  readonly isolated: { start: number; end: number };
}

/**
 * Three clusters plus planted near-duplicates plus isolated points (n = 2000), all unit vectors.
 * - Each cluster is a Gaussian cloud in a random 4-dimensional subspace around a random centre
 *   (real embeddings also have a low intrinsic dimension), so density falls smoothly from core
 *   to tail and the true scores are spread out, which a rank correlation needs.
 * - Isolated points and the bases of the duplicate groups are random unit vectors orthogonal to
 *   the span of the clusters, so they sit at distance ≈ √2 from every cluster point and all
 *   isolated points have about the same true density.
 * - Duplicate groups: 5 groups of 40 copies of one such base, each copy perturbed by noise of
 *   norm ≈ 0.01, so each copy has 39 extra neighbours at distance ≈ 0.014.
 */
export function clusteredSet(seed: number, d = 32): ClusteredSet {
  const rng = new Xoshiro128(seed, 101);
  const sizes = [700, 500, 300];
  const spreads = [0.25, 0.35, 0.5];
  const dupGroups = 5;
  const dupSize = 40;
  const isolatedCount = 300;
  const n = sizes.reduce((a, b) => a + b, 0) + dupGroups * dupSize + isolatedCount;
  const x = new Float32Array(n * d);
  const normal = (): number => rng.nextNormal();
  const span: number[][] = [];
  // Gram–Schmidt against the cluster span; returns the unit residual.
  const orthogonalize = (v: number[]): number[] => {
    for (const u of span) {
      const dot = v.reduce((acc, vk, k) => acc + vk * u[k], 0);
      for (let k = 0; k < d; k++) v[k] -= dot * u[k];
    }
    const norm = Math.hypot(...v);
    return v.map(vk => vk / norm);
  };
  let row = 0;
  const clusters: { start: number; end: number }[] = [];
  for (let c = 0; c < sizes.length; c++) {
    const centre = Array.from({ length: d }, normal);
    const norm = Math.hypot(...centre);
    const basis = Array.from({ length: 4 }, () =>
      Array.from({ length: d }, () => normal() / Math.sqrt(d)),
    );
    for (const v of [centre, ...basis]) span.push(orthogonalize([...v]));
    const start = row;
    for (let i = 0; i < sizes[c]; i++, row++) {
      const z = Array.from({ length: 4 }, normal);
      for (let k = 0; k < d; k++) {
        let v = centre[k] / norm + 0.01 * normal();
        for (let j = 0; j < 4; j++) v += spreads[c] * z[j] * basis[j][k];
        x[row * d + k] = v;
      }
    }
    clusters.push({ start, end: row });
  }
  const dupStart = row;
  for (let g = 0; g < dupGroups; g++) {
    const base = orthogonalize(Array.from({ length: d }, normal));
    for (let i = 0; i < dupSize; i++, row++)
      for (let k = 0; k < d; k++) x[row * d + k] = base[k] + (0.01 / Math.sqrt(d)) * normal();
  }
  const isoStart = row;
  for (; row < n; row++) {
    const v = orthogonalize(Array.from({ length: d }, normal));
    for (let k = 0; k < d; k++) x[row * d + k] = v[k];
  }
  normalizeRows(x, n, d);
  return {
    points: x,
    n,
    d,
    clusters,
    duplicates: { start: dupStart, end: isoStart },
    isolated: { start: isoStart, end: n },
  };
}

/** Kendall's τ-b between two equally long score vectors (O(n²), for test sizes). */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let concordant = 0;
  let discordant = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const da = Math.sign(a[i] - a[j]);
      const db = Math.sign(b[i] - b[j]);
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  return (
    (concordant - discordant) /
    Math.sqrt((concordant + discordant + tiesA) * (concordant + discordant + tiesB))
  );
}
