/**
 * The kernel that the p-stable L2 hash family implies (docs/density.md#kernel), and an exact O(N²)
 * kernel sum to check sketches against.
 *
 * For h(x) = ⌊(a·x + b)/w⌋ with a ~ N(0, I) and b ~ U[0, w), two points at distance c collide
 * with probability (Datar et al. 2004; RACEKernels `lsh_kernel_L2`)
 *
 *   k(c) = 1 − 2Φ(−w/c) − (2c / (√(2π)·w)) · (1 − exp(−w² / (2c²))),   k(0) = 1,
 *
 * and K hashes concatenated per row collide with probability k(c)^K (when the bucket range B
 * adds no extra collisions). The expected sketch score of y is therefore Σ_x k(‖x − y‖)^K.
 */

const SQRT_2PI = Math.sqrt(2 * Math.PI);
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * The standard normal CDF Φ(x), with absolute error about 1e-15 (Marsaglia 2004, "Evaluating
 * the normal distribution": Φ(x) = ½ + φ(x)·(x + x³/3 + x⁵/15 + …)).
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < -12) return 0;
  if (x > 12) return 1;
  let s = x;
  let t = 0;
  let b = x;
  const q = x * x;
  let i = 1;
  while (s !== t) {
    t = s;
    i += 2;
    b *= q / i;
    s = t + b;
  }
  return 0.5 + s * Math.exp(-0.5 * q - LOG_SQRT_2PI);
}

/**
 * Collision probability of the p-stable L2 hash at distance `c` with bin width `w`, raised to
 * the number of hashes concatenated per row.
 * @param c Euclidean distance (≥ 0).
 * @param w Bin width (> 0).
 * @param hashesPerRow K (default 1).
 */
export function collisionProbability(c: number, w: number, hashesPerRow = 1): number {
  if (!(c >= 0) || !(w > 0)) throw new RangeError(`collisionProbability: need c ≥ 0 and w > 0`);
  if (c === 0) return 1;
  const r = w / c;
  const p = 1 - 2 * normalCdf(-r) - (2 / (SQRT_2PI * r)) * (1 - Math.exp(-0.5 * r * r));
  return Math.pow(Math.max(0, Math.min(1, p)), hashesPerRow);
}

/**
 * Exact kernel sums score(y_i) = Σ_j k(‖x_j − y_i‖)^K over all pairs, self included (k(0) = 1),
 * i.e. the quantity a sketch estimates. O(N²·d): for tests and small N only.
 * @param points Row-major n × dim.
 */
export function exactKernelSums(
  points: Float32Array,
  n: number,
  dim: number,
  w: number,
  hashesPerRow = 1,
): Float64Array {
  if (points.length < n * dim) throw new RangeError('exactKernelSums: points shorter than n × dim');
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] += 1;
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const diff = points[i * dim + k] - points[j * dim + k];
        s += diff * diff;
      }
      const kv = collisionProbability(Math.sqrt(s), w, hashesPerRow);
      out[i] += kv;
      out[j] += kv;
    }
  }
  return out;
}
