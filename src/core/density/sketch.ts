/**
 * The DENSITY sketch (docs/density.md#algorithm, Algorithm 2): an R × B matrix of Uint32 counters.
 * Pass 1 adds every embedding (one increment per row); pass 2 scores an embedding as the mean
 * over rows of the counter its hash selects. Sketches with the same parameters are additive:
 * {@link mergeSketches} of shard sketches equals the single-pass sketch bit for bit.
 *
 * This class works on raw hash values (from any {@link LshHasher}); passes.ts streams
 * embeddings through a hasher into it.
 */
import { INVALID_HASH, MURMUR_SEED, invalidInput, murmur3Words, positiveMod } from './buckets';
import { MAX_WASM_COUNTER_BYTES, WasmCounters } from './counterKernel';
import { SketchParams, describeParams, hashCount, sameParams } from './params';

/** Largest number of points a sketch can hold: every counter of a row could reach it. */
export const MAX_SKETCH_POINTS = 0xffffffff;

/**
 * An R × B count sketch with its parameters and the number of points added.
 *
 * Memory layout: counter (row r, bucket b) is at `b·R + r` (bucket-major). With K = 1 and w ≈ 1 a
 * row only ever uses the ~8 buckets around 0 and B − 1, so this layout keeps all hot counters in
 * a few contiguous kilobytes of the 80 MB array; row-major spreads them over 1,000 pages. It made
 * the counting loops about 2–3× faster here.
 *
 * Where the counters live: for K = 1 and at most 1 GiB of counters (the paper's 80 MB included)
 * they are in WebAssembly memory, and the passes count float projections straight from ORT's
 * output with the SIMD kernel in counters.wat ({@link addProjections}, {@link scoreProjections}).
 * For K > 1 (MurmurHash3 of K ints per row) or bigger sketches they are a plain Uint32Array and
 * only the JavaScript loops over int hashes ({@link addHashes}, {@link scoreHashes}) run. Both
 * paths give the same counters and scores, bit for bit.
 */
export class DensitySketch {
  private readonly plain?: Uint32Array;
  private readonly wasm?: WasmCounters;
  private points: number;

  /**
   * @param params Validated parameters (see `sketchParams`).
   * @param counters Existing counters (length R·B) to adopt, e.g. from a file; zeros if absent.
   * @param count Number of points those counters hold.
   */
  constructor(
    readonly params: SketchParams,
    counters?: Uint32Array,
    count = 0,
  ) {
    const size = params.rows * params.buckets;
    if (counters && counters.length !== size)
      throw new RangeError(`DensitySketch: expected ${size} counters, got ${counters.length}`);
    if (!Number.isInteger(count) || count < 0 || count > MAX_SKETCH_POINTS)
      throw new RangeError(`DensitySketch: bad point count ${count}`);
    if (params.hashesPerRow === 1 && size * 4 <= MAX_WASM_COUNTER_BYTES) {
      this.wasm = new WasmCounters(params.rows, params.buckets);
      if (counters) this.wasm.counters.set(counters);
    } else this.plain = counters ?? new Uint32Array(size);
    this.points = count;
  }

  /**
   * Counters, bucket-major: counter (r, b) is at b·R + r. For a sketch in WebAssembly memory this
   * is a view that a later {@link projectionInput} may renew: read it again after a pass.
   */
  get counters(): Uint32Array {
    return this.plain ?? this.wasm!.counters;
  }

  /** True when the counters live in WebAssembly memory and the projection kernel counts them. */
  get countsProjections(): boolean {
    return this.wasm !== undefined;
  }

  /**
   * Where a hasher may write the n × R float32 projections of the next block for
   * {@link addProjections} / {@link scoreProjections} without a copy; undefined for a JS-path
   * sketch or a block too big for WebAssembly memory (use int hashes then). Valid until the next
   * call.
   */
  projectionInput(n: number): Float32Array | undefined {
    return this.wasm?.input(n);
  }

  /**
   * Pass 1 from projections y = (a·x + b)/w (float32, row-major n × R, as ORT's graph computes
   * them before Floor → Cast): the same counters as {@link addHashes} of ⌊y⌋, in WebAssembly.
   * @throws Error for a JS-path sketch ({@link countsProjections} false); RangeError as
   *   addHashes does (the sketch is then unchanged).
   */
  addProjections(y: Float32Array, n: number, rowBase = 0): void {
    const wasm = this.kernelCounters();
    if (this.points + n > MAX_SKETCH_POINTS)
      throw new RangeError(`DensitySketch: more than ${MAX_SKETCH_POINTS} points`);
    const limit = n * this.params.rows;
    const bad = wasm.count(y, limit, 1);
    if (bad >= 0) {
      wasm.count(y, bad, -1);
      invalidInput(rowBase + Math.floor(bad / this.params.rows));
    }
    this.points += n;
  }

  /**
   * Pass 2 from projections (see {@link addProjections}): the same scores as
   * {@link scoreHashes}, in WebAssembly.
   */
  scoreProjections(
    y: Float32Array,
    n: number,
    out: Float64Array,
    outOffset = 0,
    rowBase = 0,
  ): void {
    const wasm = this.kernelCounters();
    if (out.length < outOffset + n) throw new RangeError('scoreProjections: out too short');
    const bad = wasm.score(y, n, out, outOffset);
    if (bad >= 0) invalidInput(rowBase + Math.floor(bad / this.params.rows));
  }

  private kernelCounters(): WasmCounters {
    if (!this.wasm)
      throw new Error(
        `DensitySketch: counters are not in WebAssembly memory (K = ${this.params.hashesPerRow}); use int hashes`,
      );
    return this.wasm;
  }

  /** Number of embeddings added so far (N). */
  get count(): number {
    return this.points;
  }

  /**
   * Pass 1: adds n embeddings given their raw hashes.
   * @param hashes Row-major n × (R·K) raw hash values ⌊(a·x + b)/w⌋.
   * @param rowBase Index of the first of these rows in the whole input (for error messages).
   * @throws RangeError for an invalid hash (NaN or huge input) or when the count would pass
   *   2^32 − 1. The sketch is then unchanged: increments already made for this call are undone.
   */
  addHashes(hashes: Int32Array, n: number, rowBase = 0): void {
    const { rows, buckets: B, hashesPerRow: K } = this.params;
    const width = hashCount(this.params);
    if (hashes.length < n * width) throw new RangeError('addHashes: hashes shorter than n × R·K');
    if (this.points + n > MAX_SKETCH_POINTS)
      throw new RangeError(`DensitySketch: more than ${MAX_SKETCH_POINTS} points`);
    const c = this.counters;
    let i = 0;
    let r = 0;
    try {
      if (K === 1) {
        for (i = 0; i < n; i++) {
          const base = i * width;
          for (r = 0; r < rows; r++) {
            const h = hashes[base + r];
            // For −B ≤ h < B this is ((h % B) + B) % B without a division or an unpredictable
            // branch (h >> 31 is −1 for negative h); anything else takes the slow path.
            const m = h + ((h >> 31) & B);
            if (m >>> 0 < B) c[m * rows + r]++;
            else c[slowBucket(h, B, rowBase + i) * rows + r]++;
          }
        }
      } else {
        for (i = 0; i < n; i++) {
          const base = i * width;
          for (r = 0; r < rows; r++)
            c[combinedBucket(hashes, base + r * K, K, B, rowBase + i) * rows + r]++;
        }
      }
    } catch (e) {
      this.undo(hashes, i, r);
      throw e;
    }
    this.points += n;
  }

  /** Reverts the increments of rows [0, row) and of sketch rows [0, col) of `row`. */
  private undo(hashes: Int32Array, row: number, col: number): void {
    const { rows, buckets: B, hashesPerRow: K } = this.params;
    const width = hashCount(this.params);
    const c = this.counters;
    for (let i = 0; i <= row; i++) {
      const end = i < row ? rows : col;
      for (let r = 0; r < end; r++) {
        const start = i * width + r * K;
        const b =
          K === 1 ? positiveMod(hashes[start], B) : murmur3Words(hashes, start, K, MURMUR_SEED) % B;
        c[b * rows + r]--;
      }
    }
  }

  /**
   * Pass 2: scores n embeddings given their raw hashes: score = (1/R) Σ_r S[r, h_r(x)].
   * A point that was added scores at least 1 (it collides with itself in every row).
   * @param out Receives the n scores at `outOffset`.
   */
  scoreHashes(hashes: Int32Array, n: number, out: Float64Array, outOffset = 0, rowBase = 0): void {
    const { rows, buckets: B, hashesPerRow: K } = this.params;
    const width = hashCount(this.params);
    if (hashes.length < n * width) throw new RangeError('scoreHashes: hashes shorter than n × R·K');
    if (out.length < outOffset + n) throw new RangeError('scoreHashes: out too short');
    const c = this.counters;
    for (let i = 0; i < n; i++) {
      const base = i * width;
      // Sums stay below R · 2^32 < 2^53, so they are exact in a double.
      let sum = 0;
      if (K === 1) {
        for (let r = 0; r < rows; r++) {
          const h = hashes[base + r];
          const m = h + ((h >> 31) & B);
          sum += m >>> 0 < B ? c[m * rows + r] : c[slowBucket(h, B, rowBase + i) * rows + r];
        }
      } else {
        for (let r = 0; r < rows; r++)
          sum += c[combinedBucket(hashes, base + r * K, K, B, rowBase + i) * rows + r];
      }
      out[outOffset + i] = sum / rows;
    }
  }

  /** Adds another sketch's counters into this one (same parameters required). */
  mergeFrom(other: DensitySketch): void {
    assertMergeable(this, other);
    if (this.points + other.points > MAX_SKETCH_POINTS)
      throw new RangeError(
        `DensitySketch: merged sketch would hold more than ${MAX_SKETCH_POINTS} points`,
      );
    const a = this.counters;
    const b = other.counters;
    for (let i = 0; i < a.length; i++) a[i] += b[i];
    this.points += other.points;
  }

  /** A deep copy. */
  clone(): DensitySketch {
    return new DensitySketch(this.params, this.counters.slice(), this.points);
  }

  /** True when parameters, point count and every counter are identical. */
  equals(other: DensitySketch): boolean {
    if (!sameParams(this.params, other.params) || this.points !== other.points) return false;
    const a = this.counters;
    const b = other.counters;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
}

/** Bucket of a K = 1 hash outside [−B, B) (rare), or the error for an invalid hash. */
function slowBucket(h: number, buckets: number, row: number): number {
  if (h === INVALID_HASH) invalidInput(row);
  return positiveMod(h, buckets);
}

/** Bucket of K concatenated hashes: MurmurHash3 of the K ints, mod B. */
function combinedBucket(
  hashes: Int32Array,
  start: number,
  k: number,
  buckets: number,
  row: number,
): number {
  for (let j = 0; j < k; j++) if (hashes[start + j] === INVALID_HASH) invalidInput(row);
  return murmur3Words(hashes, start, k, MURMUR_SEED) % buckets;
}

function assertMergeable(a: DensitySketch, b: DensitySketch): void {
  if (!sameParams(a.params, b.params))
    throw new Error(
      `Cannot merge density sketches with different parameters: ` +
        `[${describeParams(a.params)}] vs [${describeParams(b.params)}]`,
    );
}

/**
 * Sums shard sketches built with identical parameters (same seed, d, R, K, w, B) into a new
 * sketch. Because pass 1 only increments counters, the result equals, bit for bit, the sketch
 * of all shards' embeddings added in one pass; pass 2 can then score every shard against it.
 * This is how DENSITY scales past one machine.
 * @throws Error when the parameters differ, or RangeError when the total passes 2^32 − 1 points.
 */
export function mergeSketches(first: DensitySketch, ...rest: DensitySketch[]): DensitySketch {
  const out = first.clone();
  for (const s of rest) out.mergeFrom(s);
  return out;
}
