/**
 * Parameters of a DENSITY sketch (docs/density.md). Together with the generator in prng.ts
 * they determine the hash functions completely, so a sketch and its scores are reproducible
 * from (seed, dim, rows, hashesPerRow, bandwidth, buckets).
 */

/** Number of sketch rows R (one hash function, or K concatenated ones, per row). Paper: 1,000. */
export const DEFAULT_ROWS = 1000;

/** Buckets B per row. Paper: 20,000 (1,000 × 20,000 × 4-byte counters = 80 MB). */
export const DEFAULT_BUCKETS = 20000;

/** Hashes K concatenated per row. Paper: 1 (plain p-stable LSH). */
export const DEFAULT_HASHES_PER_ROW = 1;

/**
 * Default bin width w of the p-stable L2 hash h(x) = ⌊(a·x + b)/w⌋, for unit-norm embeddings.
 *
 * The hash collides for two points at distance c with probability k(c) (kernel.ts), so w is the
 * kernel bandwidth. For unit vectors c lies in [0, 2]; the table in docs/density.md#kernel gives
 *
 * | w \ c | 0.1 | 0.3 | 0.5 | 0.8 | 1.0 | 1.414 |
 * |-------|-----|-----|-----|-----|-----|-------|
 * | 0.25  | .68 | .31 | .20 | .12 | .10 | .07   |
 * | 1.0   | .92 | .76 | .61 | .44 | .37 | .27   |
 * | 2.0   | .96 | .88 | .80 | .68 | .61 | .49   |
 *
 * We choose **w = 1**:
 * - The kernel falls steadily over the whole range real sentence embeddings occupy: near
 *   duplicates (c ≈ 0.1) count .92, paraphrases (c ≈ 0.5) .61, unrelated text (c ≈ 1–1.4,
 *   cosine 0.5 to 0) .37–.27. Both near-duplicate groups and topic-level crowding raise a score.
 * - w = 0.25 makes the kernel almost flat beyond c ≈ 0.5 (.20 → .07): the score then mostly
 *   counts near-duplicates, and the relative sketch noise grows because collisions are rare.
 *   w = 2 flattens everything (.49–.96) and the IPS weights barely vary.
 * - It matches the paper's scale hint (Fig. 9: each point collides with about 41–48 % of the
 *   corpus per row, i.e. k(typical distance) ≈ 0.45, which is k(0.8) at w = 1), the paper's
 *   finding that results are insensitive to the bandwidth, and the r = 1 of the public NumPy demo.
 * - With K = 1 and unit vectors, a·x ~ N(0, 1), so a row touches only about 8/w ≈ 8 buckets;
 *   B matters only for small w or K > 1.
 */
export const DEFAULT_BANDWIDTH = 1;

/** Default seed (any uint32 works; it is stored with the sketch). */
export const DEFAULT_SEED = 0x5eed;

/** Smallest accepted bandwidth: below it ⌊(a·x + b)/w⌋ can leave the int32 range. */
export const MIN_BANDWIDTH = 1e-4;

/** The complete, validated parameters of one sketch. */
export interface SketchParams {
  /** Embedding dimension d. */
  readonly dim: number;
  /** Rows R. */
  readonly rows: number;
  /** Buckets B per row. */
  readonly buckets: number;
  /** Hashes K concatenated per row (kernel k(c)^K). */
  readonly hashesPerRow: number;
  /** Bin width w, rounded to float32 because the ONNX graph computes in float32. */
  readonly bandwidth: number;
  /** uint32 seed of the projection matrix and biases. */
  readonly seed: number;
}

/** Input for {@link sketchParams}: `dim` is required, everything else has the paper's default. */
export interface SketchParamsInit {
  dim: number;
  rows?: number;
  buckets?: number;
  hashesPerRow?: number;
  bandwidth?: number;
  seed?: number;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(
      `Density sketch: ${name} must be an integer in [${min}, ${max}], got ${value}`,
    );
  return value;
}

/**
 * Validates parameters and fills in defaults.
 * @throws RangeError with a message naming the bad parameter.
 */
export function sketchParams(init: SketchParamsInit): SketchParams {
  const dim = checkInt('dim', init.dim, 1, 65536);
  const rows = checkInt('rows', init.rows ?? DEFAULT_ROWS, 1, 65536);
  const buckets = checkInt('buckets', init.buckets ?? DEFAULT_BUCKETS, 1, 2 ** 30);
  const hashesPerRow = checkInt('hashesPerRow', init.hashesPerRow ?? DEFAULT_HASHES_PER_ROW, 1, 64);
  // Counter indices b·R + r are int32, and R·K hash columns come out of one MatMul.
  if (rows * buckets > 2 ** 30)
    throw new RangeError(
      `Density sketch: rows × buckets must be at most 2^30, got ${rows * buckets}`,
    );
  if (rows * hashesPerRow > 65536)
    throw new RangeError(`Density sketch: rows × hashesPerRow must be at most 65536`);
  const seed = checkInt('seed', init.seed ?? DEFAULT_SEED, 0, 0xffffffff);
  const bandwidth = Math.fround(init.bandwidth ?? DEFAULT_BANDWIDTH);
  if (!Number.isFinite(bandwidth) || bandwidth < MIN_BANDWIDTH || bandwidth > 1e6)
    throw new RangeError(
      `Density sketch: bandwidth must be a number in [${MIN_BANDWIDTH}, 1e6], got ${init.bandwidth}`,
    );
  return { dim, rows, buckets, hashesPerRow, bandwidth, seed };
}

/** Total number of hash functions, R·K (the width of the projection). */
export function hashCount(p: SketchParams): number {
  return p.rows * p.hashesPerRow;
}

/** True when two parameter sets define the same hash functions and counter layout. */
export function sameParams(a: SketchParams, b: SketchParams): boolean {
  return (
    a.dim === b.dim &&
    a.rows === b.rows &&
    a.buckets === b.buckets &&
    a.hashesPerRow === b.hashesPerRow &&
    a.bandwidth === b.bandwidth &&
    a.seed === b.seed
  );
}

/** A one-line description, e.g. for errors and logs. */
export function describeParams(p: SketchParams): string {
  return `d=${p.dim} R=${p.rows} B=${p.buckets} K=${p.hashesPerRow} w=${p.bandwidth} seed=${p.seed}`;
}
