/**
 * Inverse-propensity sampling by DENSITY (docs/density.md): select k rows without
 * replacement with probability ∝ 1/score, using Efraimidis–Spirakis keys.
 */
import { Xoshiro128, PrngStream } from './prng';
import { checkScores } from './ranks';

/** How many rows to keep: an absolute count, or a percentage of all rows. */
export type SampleTarget = { readonly count: number } | { readonly percent: number };

/** A reproducible sample: the same scores, target and seed always give the same rows. */
export interface DensitySample {
  /** Selected row indices, ascending. */
  readonly indices: Uint32Array;
  /** The seed that drew the keys (record it with the selection). */
  readonly seed: number;
  /** The target as requested. */
  readonly target: SampleTarget;
}

/**
 * Resolves a target to a row count: `count` as given (an integer in [0, n]); `percent` in
 * [0, 100] becomes round(n · percent / 100).
 * @throws RangeError for a count above n, a negative or fractional count, or a percent outside
 *   [0, 100].
 */
export function sampleSize(n: number, target: SampleTarget): number {
  if ('count' in target) {
    const k = target.count;
    if (!Number.isInteger(k) || k < 0 || k > n)
      throw new RangeError(
        `Sample size must be an integer between 0 and ${n} (the row count), got ${k}`,
      );
    return k;
  }
  const p = target.percent;
  if (!(p >= 0 && p <= 100))
    throw new RangeError(`Sample percentage must be between 0 and 100, got ${p}`);
  return Math.round((n * p) / 100);
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`Sampling seed must be an integer in [0, 2^32 − 1], got ${seed}`);
}

/**
 * Efraimidis–Spirakis keys in log form: key_i = log(u_i) / w_i with weight w_i = 1/score_i,
 * i.e. key_i = score_i · log(u_i). u_i ~ U(0, 1) comes from stream `sampling` of
 * `Xoshiro128(seed)`, drawn in row order, and is never 0 (see `nextOpenFloat`), so every key is
 * finite. A score of 0 (a row in an empty region of a sketch it was not added to) gets key 0,
 * the largest possible: infinite weight.
 */
export function samplingKeys(scores: ArrayLike<number>, seed: number): Float64Array {
  checkScores(scores);
  checkSeed(seed);
  const rng = new Xoshiro128(seed, PrngStream.sampling);
  const keys = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    const logU = Math.log(rng.nextOpenFloat());
    keys[i] = s === 0 ? 0 : s * logU;
  }
  return keys;
}

/**
 * Samples rows without replacement with probability ∝ 1/score (DENSITY's inverse-propensity
 * sampling, the paper's Algorithm 2 output with its `p = S/ΣS` typo corrected): draw one key per
 * row ({@link samplingKeys}) and keep the k largest. Ties (practically impossible) go to the lower
 * row index.
 *
 * For k = 1 row i is chosen with probability exactly w_i/Σw; for larger k this is successive
 * weighted sampling, whose inclusion probabilities are close to k·w_i/Σw when k·w_i/Σw ≪ 1 and
 * flatten towards 1 as the sample fraction grows (no method without replacement can keep them
 * exactly proportional at high rates).
 *
 * **Why not top-k by 1/score.** Taking the k rows with the lowest scores (highest 1/score) is
 * deterministic: it keeps only the sparsest regions — outliers, boilerplate fragments, noise — and
 * drops every dense region completely once k is below the number of sparse rows. The paper tried
 * top-k and bottom-k by density and found they "do not maintain coverage and perform poorly"
 * (footnote 1). IPS instead keeps every row with some probability: dense regions are thinned in
 * proportion to their density rather than removed, so the sample tends to the uniform distribution
 * over the occupied embedding space (Theorem A.2) and still contains each topic. Use
 * `densityOrder` for inspecting the most isolated rows, not for selecting data.
 *
 * @param scores DENSITY scores (finite, ≥ 0), one per row.
 * @param seed uint32 seed; record it with the selection.
 */
export function sampleByDensity(
  scores: ArrayLike<number>,
  target: SampleTarget,
  seed: number,
): DensitySample {
  const n = scores.length;
  const k = sampleSize(n, target);
  const keys = samplingKeys(scores, seed);
  const indices = new Uint32Array(k);
  if (k === n) {
    for (let i = 0; i < n; i++) indices[i] = i;
  } else if (k > 0) {
    // The k-th largest key is the threshold; a native numeric sort of a copy is O(N log N) in
    // C++ and faster in practice than a JS selection algorithm.
    const sorted = keys.slice().sort();
    const threshold = sorted[n - k];
    let taken = 0;
    for (let i = 0; i < n; i++) if (keys[i] > threshold) indices[taken++] = i;
    for (let i = 0; i < n && taken < k; i++) if (keys[i] === threshold) indices[taken++] = i;
    indices.sort();
  }
  return { indices, seed, target };
}
