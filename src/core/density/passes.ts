/**
 * The two passes of Algorithm 2 (docs/density.md#algorithm), streaming embeddings through a hasher into a
 * sketch block by block, so memory stays bounded by the hasher's block size whatever N is.
 * Hashes are recomputed in pass 2 rather than stored (4 KB per row at R = 1,000).
 */
import { LshHasher } from './hasher';
import { describeParams, sameParams } from './params';
import { DensitySketch } from './sketch';

/** A stream of embedding chunks, each row-major (rows × d float32, any number of rows). */
export type EmbeddingChunks = Iterable<Float32Array> | AsyncIterable<Float32Array>;

/** Progress and cancellation for long passes. */
export interface PassOptions {
  /** Checked between blocks; an aborted signal rejects with its reason. */
  signal?: AbortSignal;
  /** Called after each block with the pass (1 = sketch, 2 = score) and rows done in that pass. */
  onProgress?: (pass: 1 | 2, rowsDone: number) => void;
}

function checkHasher(sketch: DensitySketch, hasher: LshHasher): void {
  if (!sameParams(sketch.params, hasher.params))
    throw new Error(
      `Hasher [${describeParams(hasher.params)}] does not match sketch [${describeParams(sketch.params)}]`,
    );
}

function rowsOf(x: Float32Array, dim: number, n: number | undefined): number {
  const rows = n ?? x.length / dim;
  if (!Number.isInteger(rows) || rows < 0 || rows * dim > x.length)
    throw new RangeError(
      `Embeddings: ${x.length} floats do not hold ${n ?? 'whole'} rows of dimension ${dim}`,
    );
  return rows;
}

/**
 * Pass 1 over one in-memory chunk: hashes `n` rows of `x` (default: all of it) in blocks and
 * adds them to the sketch.
 * @param rowBase Index of x's first row in the whole dataset (for error messages).
 */
export async function addEmbeddings(
  sketch: DensitySketch,
  hasher: LshHasher,
  x: Float32Array,
  n?: number,
  rowBase = 0,
  options: PassOptions = {},
): Promise<void> {
  checkHasher(sketch, hasher);
  const d = sketch.params.dim;
  const rows = rowsOf(x, d, n);
  for (let start = 0; start < rows; start += hasher.blockRows) {
    options.signal?.throwIfAborted();
    const count = Math.min(hasher.blockRows, rows - start);
    const block = x.subarray(start * d, (start + count) * d);
    const y = await projectInto(sketch, hasher, block, count);
    if (y) sketch.addProjections(y, count, rowBase + start);
    else sketch.addHashes(await hasher.hash(block, count), count, rowBase + start);
    options.onProgress?.(1, rowBase + start + count);
  }
}

/**
 * The WebAssembly path: the hasher writes the block's float projections straight into the
 * sketch's kernel input (ORT's pre-allocated output, no JS loop or copy). Undefined when the
 * sketch counts int hashes in JS (K > 1, a huge sketch) or the hasher cannot project.
 */
async function projectInto(
  sketch: DensitySketch,
  hasher: LshHasher,
  block: Float32Array,
  count: number,
): Promise<Float32Array | undefined> {
  if (!hasher.project || !sketch.countsProjections) return undefined;
  const y = sketch.projectionInput(count);
  if (!y) return undefined;
  await hasher.project(block, count, y);
  return y;
}

/**
 * Pass 2 over one in-memory chunk: scores `n` rows of `x` against the sketch.
 * @param out Receives the scores at `outOffset` (allocated when absent).
 * @returns `out`.
 */
export async function scoreEmbeddings(
  sketch: DensitySketch,
  hasher: LshHasher,
  x: Float32Array,
  n?: number,
  out?: Float64Array,
  outOffset = 0,
  rowBase = 0,
  options: PassOptions = {},
): Promise<Float64Array> {
  checkHasher(sketch, hasher);
  const d = sketch.params.dim;
  const rows = rowsOf(x, d, n);
  const scores = out ?? new Float64Array(outOffset + rows);
  for (let start = 0; start < rows; start += hasher.blockRows) {
    options.signal?.throwIfAborted();
    const count = Math.min(hasher.blockRows, rows - start);
    const block = x.subarray(start * d, (start + count) * d);
    const y = await projectInto(sketch, hasher, block, count);
    if (y) sketch.scoreProjections(y, count, scores, outOffset + start, rowBase + start);
    else {
      const hashes = await hasher.hash(block, count);
      sketch.scoreHashes(hashes, count, scores, outOffset + start, rowBase + start);
    }
    options.onProgress?.(2, rowBase + start + count);
  }
  return scores;
}

/** Result of {@link computeDensity}. */
export interface DensityResult {
  /** The pass-1 sketch (persist it with serialize.ts to reproduce or extend the scores). */
  readonly sketch: DensitySketch;
  /** One DENSITY score per row, in input order: (1/R) Σ_r S[r, h_r(x)] ≥ 1. */
  readonly scores: Float64Array;
}

/**
 * Runs both passes over a dataset that `chunks()` streams (called twice, and it must yield the
 * same rows in the same order both times).
 * @param sketch An empty sketch, or one that already holds other shards (they then count in the
 *   scores too, which is how a merged sketch scores each shard).
 */
export async function computeDensity(
  chunks: () => EmbeddingChunks,
  hasher: LshHasher,
  sketch: DensitySketch = new DensitySketch(hasher.params),
  options: PassOptions = {},
): Promise<DensityResult> {
  const d = hasher.params.dim;
  let rows = 0;
  for await (const x of chunks()) {
    const n = rowsOf(x, d, undefined);
    await addEmbeddings(sketch, hasher, x, n, rows, options);
    rows += n;
  }
  const scores = new Float64Array(rows);
  let done = 0;
  for await (const x of chunks()) {
    const n = rowsOf(x, d, undefined);
    if (done + n > rows)
      throw new Error('computeDensity: the second pass yielded more rows than the first');
    await scoreEmbeddings(sketch, hasher, x, n, scores, done, done, options);
    done += n;
  }
  if (done !== rows)
    throw new Error(`computeDensity: the second pass yielded ${done} rows, the first ${rows}`);
  return { sketch, scores };
}
