/**
 * From raw hash values ⌊(a·x + b)/w⌋ to sketch buckets.
 *
 * - K = 1 (the paper): bucket = ((h mod B) + B) mod B. JavaScript's `%` keeps the sign of h and
 *   p-stable hashes are negative about half the time, so the second step is essential
 *   (docs/density.md#implementation-notes). The sketch's hot loops compute the same value without a division for
 *   −B ≤ h < B (see sketch.ts).
 * - K > 1: the K ints of a row are combined with MurmurHash3 x86_32 (seed 42, each int as one
 *   little-endian 4-byte block, as RACEKernels' `rehash` does), and bucket = hash mod B on the
 *   unsigned 32-bit value. Only exact equality of all K ints collides before the mod, so the
 *   kernel is k(c)^K plus a 1/B chance of an accidental collision.
 */

/** Seed of the MurmurHash3 combination of K hashes (RACEKernels uses 42). */
export const MURMUR_SEED = 42;

/**
 * Raw hash value that marks an input the hash could not represent: ORT's float→int32 Cast (x86
 * `cvttps2dq`) turns NaN and out-of-range values into INT32_MIN, and the scalar reference
 * returns the same. Hashes of finite, moderately sized embeddings never reach it.
 */
export const INVALID_HASH = -2147483648;

/** ((h mod B) + B) mod B for any int32 h: the non-negative residue. */
export function positiveMod(h: number, buckets: number): number {
  return ((h % buckets) + buckets) % buckets;
}

/**
 * MurmurHash3 x86_32 of `count` int32 words read from `words` at `offset`, each taken as one
 * little-endian 4-byte block (so the byte length is 4·count and there is no tail).
 * @returns The unsigned 32-bit hash.
 */
export function murmur3Words(
  words: Int32Array,
  offset: number,
  count: number,
  seed: number,
): number {
  let h = seed | 0;
  for (let i = 0; i < count; i++) {
    let k = Math.imul(words[offset + i], 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= count * 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Throws the error for an input whose hash is {@link INVALID_HASH}. */
export function invalidInput(row: number): never {
  throw new RangeError(
    `Density: embedding ${row} contains NaN/Infinity or is too large for bandwidth w ` +
      `(the hash ⌊(a·x + b)/w⌋ left the int32 range)`,
  );
}

/**
 * Computes the bucket (in [0, B)) of every row for every sketch row, the reference form of what
 * `DensitySketch` does in its fused loops.
 * @param hashes Raw hashes, row-major n × (R·K), hash j of sketch row r at column r·K + j.
 * @param rowBase Index of the first row of this block in the whole input (for error messages).
 * @param out Receives n × R buckets (row-major).
 */
export function bucketIndices(
  hashes: Int32Array,
  n: number,
  rows: number,
  buckets: number,
  hashesPerRow: number,
  out: Int32Array,
  rowBase = 0,
): Int32Array {
  const width = rows * hashesPerRow;
  if (hashes.length < n * width) throw new RangeError('bucketIndices: hashes shorter than n × R·K');
  if (out.length < n * rows) throw new RangeError('bucketIndices: out shorter than n × R');
  let o = 0;
  for (let i = 0; i < n; i++) {
    const base = i * width;
    for (let r = 0; r < rows; r++) {
      const start = base + r * hashesPerRow;
      for (let j = 0; j < hashesPerRow; j++)
        if (hashes[start + j] === INVALID_HASH) invalidInput(rowBase + i);
      out[o++] =
        hashesPerRow === 1
          ? positiveMod(hashes[start], buckets)
          : murmur3Words(hashes, start, hashesPerRow, MURMUR_SEED) % buckets;
    }
  }
  return out;
}
