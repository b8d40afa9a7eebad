/**
 * Near-duplicate groups from the DENSITY sketch's own LSH buckets (docs/map.md#near-duplicates).
 *
 * DENSITY hashes every embedding into one bucket per sketch row (p-stable L2 LSH, w = 1). Two
 * rows at cosine t (distance c = √(2 − 2t) for unit vectors) share the bucket of a sketch row
 * with probability k(c) (kernel.ts): 0.75 at t = 0.95, 0.27 for unrelated rows. One shared
 * bucket means little, so the sketch rows are used in two ways (classic AND-OR amplification):
 *
 * 1. **Bands.** The first `checkRows` sketch rows are set aside; the next `bands × bandWidth`
 *    are cut into bands of `bandWidth` rows. Rows whose buckets agree in *every* row of some
 *    band are candidates (one sort per band by a hash of its buckets). A pair at the threshold
 *    is a candidate with probability 1 − (1 − k^b)^L; {@link planBands} picks the widest band
 *    that still reaches the target recall within the sketch's R rows.
 * 2. **Check rows.** A candidate must also share buckets in at least `checkMin` of the
 *    `checkRows` set-aside rows ("rows sharing buckets in many sketch rows"): a pair at the
 *    threshold passes with probability ≥ 1 − 10⁻⁴, an unrelated one practically never. This
 *    costs 16 word compares instead of a 384-d dot product.
 *
 * Every remaining candidate is **verified by exact cosine** (float64 dot product of the unit
 * vectors) and joined with union-find, so every pair reported similar is similar (precision 1
 * at the threshold); recall is what the bands miss. Pairs already in one group are not
 * verified again, which keeps big clusters of copies cheap. Exact duplicates (same content
 * hash) are one item here: the caller maps rows to distinct contents (duplicateGroups.ts).
 *
 * The sketch's first rows are the same hash functions whatever R is (projection.ts draws them
 * in order), so the caller hashes with `sketchParams({ ...density, rows: plan.rowsUsed })`.
 */
import { bucketIndices, murmur3Words } from '../density/buckets';
import { collisionProbability } from '../density/kernel';
import type { LshHasher } from '../density/hasher';
import type { SketchParams } from '../density/params';
import { sortByKeys } from '../dataset/radixSort';
import { UnionFind } from './unionFind';

/** Default cosine threshold: the SemDeDup range (Abbas et al. 2023 keep ≈ 0.9–0.97). */
export const DEFAULT_DUPLICATE_THRESHOLD = 0.95;
/** Default recall a pair exactly at the threshold should have (pairs above it do better). */
export const DEFAULT_TARGET_RECALL = 0.995;
/** Default sketch rows set aside for the "many shared buckets" check. */
export const DEFAULT_CHECK_ROWS = 40;
/** Largest chance that the check turns away a pair at the threshold. */
const CHECK_MISS = 1e-4;

/** How the sketch rows are used; see the module note. */
export interface BandPlan {
  readonly threshold: number;
  /** Collision probability of one sketch row for a pair at the threshold, k(c)^K. */
  readonly rowProbability: number;
  readonly checkRows: number;
  readonly checkMin: number;
  readonly bandWidth: number;
  readonly bands: number;
  /** Sketch rows hashed: checkRows + bands × bandWidth (≤ R). */
  readonly rowsUsed: number;
  /** Expected recall of a pair exactly at the threshold (bands × check). */
  readonly pairRecall: number;
}

/** P(X < m) for X ~ Binomial(n, p). */
function binomialBelow(n: number, p: number, m: number): number {
  let term = Math.pow(1 - p, n);
  let sum = 0;
  for (let x = 0; x < m && x <= n; x++) {
    sum += term;
    term *= ((n - x) / (x + 1)) * (p / (1 - p));
  }
  return Math.min(1, sum);
}

/**
 * The band layout for a sketch: the widest band whose recall at the threshold reaches the target
 * with the rows there are (wider bands make fewer chance candidates).
 */
export function planBands(
  params: SketchParams,
  threshold = DEFAULT_DUPLICATE_THRESHOLD,
  targetRecall = DEFAULT_TARGET_RECALL,
  checkRowsWanted = DEFAULT_CHECK_ROWS,
): BandPlan {
  if (!(threshold > 0 && threshold < 1))
    throw new RangeError(`Near-duplicate threshold must be in (0, 1), got ${threshold}`);
  const c = Math.sqrt(2 - 2 * threshold);
  const p = collisionProbability(c, params.bandwidth, params.hashesPerRow);
  // Check rows are packed 4 to a word; keep at least three quarters of the rows for bands.
  const checkRows = Math.min(checkRowsWanted, Math.floor(params.rows / 16) * 4);
  let checkMin = 0;
  while (checkRows > 0 && binomialBelow(checkRows, p, checkMin + 1) <= CHECK_MISS) checkMin++;
  const checkPass = 1 - binomialBelow(checkRows, p, checkMin);
  const available = params.rows - checkRows;
  let best = { bandWidth: 1, bands: available, recall: 1 - Math.pow(1 - p, available) };
  for (let b = Math.min(64, available); b >= 1; b--) {
    const bands = Math.floor(available / b);
    const recall = 1 - Math.pow(1 - Math.pow(p, b), bands);
    if (recall * checkPass >= targetRecall) {
      best = { bandWidth: b, bands, recall };
      break;
    }
  }
  return {
    threshold,
    rowProbability: p,
    checkRows,
    checkMin,
    bandWidth: best.bandWidth,
    bands: best.bands,
    rowsUsed: checkRows + best.bands * best.bandWidth,
    pairRecall: best.recall * checkPass,
  };
}

/** What {@link findNearDuplicates} reports besides the groups. */
export interface NearDuplicateStats {
  /** Pairs that shared a band's buckets and were not yet in one group. */
  candidates: number;
  /** Candidates that passed the check rows and were compared by exact cosine. */
  verified: number;
  /** Verified pairs at or above the threshold that joined two groups. */
  joined: number;
  /** Largest number of rows in one band bucket. */
  largestBucket: number;
  ms: { hash: number; group: number };
}

export interface NearDuplicateResult {
  /** For every item, the smallest item of its group (an item alone is its own group). */
  readonly groupOf: Int32Array;
  readonly plan: BandPlan;
  readonly stats: NearDuplicateStats;
}

export interface NearDuplicateOptions {
  signal?: AbortSignal;
  onProgress?: (phase: 'hashing' | 'grouping', done: number, total: number) => void;
}

/** Band keys (band-major, bands × n) and check bytes (n × checkRows) of every item. */
interface Sketched {
  keys: Uint32Array;
  checks: Uint8Array;
}

const yieldToEventLoop = () => new Promise<void>(resolve => setImmediate(resolve));

async function sketchItems(
  vectors: Float32Array,
  n: number,
  hasher: LshHasher,
  plan: BandPlan,
  options: NearDuplicateOptions,
): Promise<Sketched> {
  const { dim: d, rows, buckets, hashesPerRow } = hasher.params;
  const { checkRows: m, bandWidth: b, bands } = plan;
  const keys = new Uint32Array(bands * n);
  const checks = new Uint8Array(n * m);
  const block = hasher.blockRows;
  const bucketIds = new Int32Array(block * rows);
  for (let start = 0; start < n; start += block) {
    options.signal?.throwIfAborted();
    const count = Math.min(block, n - start);
    const hashes = await hasher.hash(vectors.subarray(start * d, (start + count) * d), count);
    bucketIndices(hashes, count, rows, buckets, hashesPerRow, bucketIds, start);
    for (let i = 0; i < count; i++) {
      const base = i * rows;
      const item = start + i;
      for (let r = 0; r < m; r++) checks[item * m + r] = bucketIds[base + r] & 0xff;
      for (let l = 0; l < bands; l++)
        keys[l * n + item] = murmur3Words(bucketIds, base + m + l * b, b, l);
    }
    options.onProgress?.('hashing', start + count, n);
  }
  return { keys, checks };
}

/** Sketch rows two items share among the check rows (SWAR count of equal bytes). */
function sharedCheckRows(words: Uint32Array, a: number, b: number, wordsPerItem: number): number {
  let shared = 0;
  for (let i = a * wordsPerItem, j = b * wordsPerItem, e = i + wordsPerItem; i < e; i++, j++) {
    const x = words[i] ^ words[j];
    // A byte of y has its top bit set exactly where x has a zero byte.
    const y = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f);
    shared += Math.imul(y >>> 7, 0x01010101) >>> 24;
  }
  return shared;
}

/** Dot product of unit rows a and b of x (n × d), accumulated in float64. */
export function rowDot(x: Float32Array, a: number, b: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = a * d;
  let j = b * d;
  const end = i + d - 3;
  for (; i < end; i += 4, j += 4) {
    s0 += x[i] * x[j];
    s1 += x[i + 1] * x[j + 1];
    s2 += x[i + 2] * x[j + 2];
    s3 += x[i + 3] * x[j + 3];
  }
  for (const e = a * d + d; i < e; i++, j++) s0 += x[i] * x[j];
  return s0 + s1 + s2 + s3;
}

/** Verifies the candidate pairs of one run of rows sharing a band key. */
function joinRun(
  run: Uint32Array,
  ctx: {
    vectors: Float32Array;
    d: number;
    words: Uint32Array;
    wordsPerItem: number;
    checkMin: number;
    threshold: number;
    sets: UnionFind;
    stats: NearDuplicateStats;
  },
): void {
  const { sets, stats } = ctx;
  const first = sets.find(run[0]);
  let together = true;
  for (let i = 1; i < run.length && together; i++) together = sets.find(run[i]) === first;
  if (together) return;
  for (let i = 0; i < run.length; i++) {
    const a = run[i];
    for (let j = i + 1; j < run.length; j++) {
      const b = run[j];
      if (sets.find(a) === sets.find(b)) continue;
      stats.candidates++;
      if (ctx.wordsPerItem > 0 && sharedCheckRows(ctx.words, a, b, ctx.wordsPerItem) < ctx.checkMin)
        continue;
      stats.verified++;
      if (rowDot(ctx.vectors, a, b, ctx.d) >= ctx.threshold && sets.union(a, b)) stats.joined++;
    }
  }
}

/**
 * Groups items (distinct contents) whose embeddings have cosine ≥ `plan.threshold`.
 * @param vectors n × d embeddings, scaled to unit norm IN PLACE (see `normalizeRows`).
 * @param hasher Hashes at least `plan.rowsUsed` sketch rows with the DENSITY parameters.
 * @throws The signal's reason when cancelled.
 */
export async function findNearDuplicates(
  vectors: Float32Array,
  n: number,
  hasher: LshHasher,
  plan: BandPlan,
  options: NearDuplicateOptions = {},
): Promise<NearDuplicateResult> {
  const d = hasher.params.dim;
  if (vectors.length < n * d)
    throw new RangeError(`findNearDuplicates: expected ${n} × ${d} floats`);
  if (hasher.params.rows < plan.rowsUsed)
    throw new RangeError(
      `findNearDuplicates: the hasher has ${hasher.params.rows} sketch rows, the plan needs ${plan.rowsUsed}`,
    );
  normalizeUnit(vectors, n, d);
  const t0 = performance.now();
  const { keys, checks } = await sketchItems(vectors, n, hasher, plan, options);
  const t1 = performance.now();
  const stats: NearDuplicateStats = {
    candidates: 0,
    verified: 0,
    joined: 0,
    largestBucket: 0,
    ms: { hash: t1 - t0, group: 0 },
  };
  const sets = new UnionFind(n);
  const ctx = {
    vectors,
    d,
    words: new Uint32Array(checks.buffer, 0, checks.length / 4),
    wordsPerItem: plan.checkRows / 4,
    checkMin: plan.checkMin,
    threshold: plan.threshold,
    sets,
    stats,
  };
  for (let l = 0; l < plan.bands; l++) {
    options.signal?.throwIfAborted();
    const band = keys.subarray(l * n, (l + 1) * n);
    const order = sortByKeys(iota(n), band.slice());
    for (let s = 0; s < n;) {
      let e = s + 1;
      while (e < n && band[order[e]] === band[order[s]]) e++;
      if (e - s > 1) {
        stats.largestBucket = Math.max(stats.largestBucket, e - s);
        joinRun(order.subarray(s, e), ctx);
      }
      s = e;
    }
    options.onProgress?.('grouping', l + 1, plan.bands);
    await yieldToEventLoop();
  }
  stats.ms.group = performance.now() - t1;
  return { groupOf: sets.smallestMembers(), plan, stats };
}

function iota(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** Unit-normalises rows in place (zero rows stay zero and match nothing). */
function normalizeUnit(x: Float32Array, n: number, d: number): void {
  for (let i = 0; i < n; i++) {
    const s = rowDot(x, i, i, d);
    if (s === 0 || Math.abs(s - 1) < 1e-7) continue;
    const inv = 1 / Math.sqrt(s);
    for (let t = i * d, e = t + d; t < e; t++) x[t] *= inv;
  }
}
