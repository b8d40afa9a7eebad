/**
 * Planted embedding sets for the map and near-duplicate tests and `npm run bench:map`: topics
 * (clouds around random centres) and near-duplicate groups (copies of one row with a little
 * noise, at a chosen cosine to it). Seeded, so every run sees the same data. Noise components
 * are uniform with unit variance (cheap to draw: a million 384-d rows in seconds); in high
 * dimension their direction is as isotropic as Gaussian noise for what these tests measure.
 */
import { Xoshiro128 } from '../../src/core/density/prng';

export interface PlantedSetOptions {
  n: number;
  d?: number;
  topics?: number;
  /** Cosine of two rows of one topic is about 1 / (1 + spread²). Default 1 (≈ 0.5). */
  spread?: number;
  /** Share of rows that are copies in a near-duplicate group (default 0.2). */
  duplicateShare?: number;
  /** Copies per group besides the original, uniform in [min, max] (default [1, 4]). */
  copies?: [number, number];
  /** Cosine of each copy to its original, per group uniform in this range (default [0.93, 0.995]). */
  cosine?: [number, number];
  seed?: number;
}

export interface PlantedSet {
  /** n × d unit rows. */
  readonly vectors: Float32Array;
  readonly n: number;
  readonly d: number;
  /** Planted topic of each row. */
  readonly topicOf: Int32Array;
  /** Planted near-duplicate group of each row (its original's index), −1 for rows outside one. */
  readonly copyOf: Int32Array;
}

function unitNoise(rng: Xoshiro128, out: Float32Array, at: number, d: number, scale: number): void {
  const k = scale * Math.sqrt(3 / d);
  for (let t = 0; t < d; t++) out[at + t] += k * (2 * rng.nextFloat() - 1);
}

function normalizeAt(x: Float32Array, at: number, d: number): void {
  let s = 0;
  for (let t = at; t < at + d; t++) s += x[t] * x[t];
  const inv = 1 / Math.sqrt(s);
  for (let t = at; t < at + d; t++) x[t] *= inv;
}

/** A planted set; see {@link PlantedSetOptions} for the defaults. */
export function plantedSet(options: PlantedSetOptions): PlantedSet {
  const { n, d = 384, topics = 50, spread = 1, duplicateShare = 0.2, seed = 7 } = options;
  const [minCopies, maxCopies] = options.copies ?? [1, 4];
  const [lo, hi] = options.cosine ?? [0.93, 0.995];
  const rng = new Xoshiro128(seed, 200);
  const centres = new Float32Array(topics * d);
  for (let k = 0; k < topics; k++) {
    unitNoise(rng, centres, k * d, d, 1);
    normalizeAt(centres, k * d, d);
  }
  const vectors = new Float32Array(n * d);
  const topicOf = new Int32Array(n);
  const copyOf = new Int32Array(n).fill(-1);
  for (let i = 0; i < n;) {
    const k = Math.floor(rng.nextFloat() * topics);
    vectors.set(centres.subarray(k * d, k * d + d), i * d);
    unitNoise(rng, vectors, i * d, d, spread);
    normalizeAt(vectors, i * d, d);
    topicOf[i] = k;
    const original = i++;
    if (rng.nextFloat() >= duplicateShare / (1 - duplicateShare) / ((minCopies + maxCopies) / 2))
      continue;
    const copies = minCopies + Math.floor(rng.nextFloat() * (maxCopies - minCopies + 1));
    const cos = lo + (hi - lo) * rng.nextFloat();
    const eps = Math.sqrt(1 / (cos * cos) - 1);
    for (let c = 0; c < copies && i < n; c++, i++) {
      vectors.set(vectors.subarray(original * d, original * d + d), i * d);
      unitNoise(rng, vectors, i * d, d, eps);
      normalizeAt(vectors, i * d, d);
      topicOf[i] = k;
      copyOf[i] = original;
      copyOf[original] = original;
    }
  }
  return { vectors, n, d, topicOf, copyOf };
}
