/**
 * Near-duplicate groups from the DENSITY sketch's own LSH buckets (docs/map.md#near-duplicates).
 *
 * DENSITY hashes every embedding into one bucket per sketch row (p-stable L2 LSH, w = 1). Two
 * rows at cosine t (distance c = √(2 − 2t) for unit vectors) share the bucket of a sketch row
 * with probability k(c) (kernel.ts): 0.75 at t = 0.95, 0.27 for unrelated rows. One shared
 * bucket means little, so the sketch rows are used in two ways (classic AND-OR amplification):
 *
 * 1. **Bands.** The sketch rows are cut into `bands` bands of `bandWidth` rows. Rows whose
 *    buckets agree in *every* row of some band are candidates (one radix sort per band by a
 *    hash of its buckets). A pair at the threshold is a candidate with probability
 *    1 − (1 − k^b)^L; {@link planBands} picks the widest band that still reaches the target
 *    recall within the sketch's R rows.
 * 2. **Check rows.** A candidate must also share buckets in at least `checkMin` of the first
 *    `checkRows` sketch rows ("rows sharing buckets in many sketch rows"). They are kept as
 *    2-bit residues of the bucket (16 B per row for 64 rows, so a million rows' checks stay in
 *    cache): a residue match is at least as likely as a bucket match, so a pair at the
 *    threshold passes with probability ≥ 1 − 10⁻⁴, while an unrelated pair practically never
 *    does. Overlap with the candidate's own band only makes the check easier to pass.
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
import { bucketIndices } from '../density/buckets';
import { fmix32 } from '../density/prng';
import { collisionProbability } from '../density/kernel';
import type { LshHasher } from '../density/hasher';
import type { SketchParams } from '../density/params';
import { UnionFind } from './unionFind';

/** Default cosine threshold: the SemDeDup range (Abbas et al. 2023 keep ≈ 0.9–0.97). */
export const DEFAULT_DUPLICATE_THRESHOLD = 0.95;
/** Default recall a pair exactly at the threshold should have (pairs above it do better). */
export const DEFAULT_TARGET_RECALL = 0.995;
/** Default sketch rows set aside for the "many shared buckets" check. */
export const DEFAULT_CHECK_ROWS = 64;
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
  /** Sketch rows hashed: max(checkRows, bands × bandWidth) (≤ R). */
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
  // Check rows are packed 16 to a word.
  const checkRows = Math.min(checkRowsWanted, Math.floor(params.rows / 16) * 16);
  let checkMin = 0;
  while (checkRows > 0 && binomialBelow(checkRows, p, checkMin + 1) <= CHECK_MISS) checkMin++;
  const checkPass = 1 - binomialBelow(checkRows, p, checkMin);
  const available = params.rows;
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
    rowsUsed: Math.max(checkRows, best.bands * best.bandWidth),
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

/** Band keys (band-major, bands × n) and check words (n × checkRows/16) of every item. */
interface Sketched {
  keys: Uint32Array;
  checks: Uint32Array;
}

const yieldToEventLoop = () => new Promise<void>(resolve => setImmediate(resolve));

/**
 * Bucket ids of `count` hashed rows (count × R), for K = 1 without a division where
 * −B ≤ h < B (as sketch.ts does); other inputs take bucketIndices' general path.
 */
function bucketsOf(
  hashes: Int32Array,
  count: number,
  params: SketchParams,
  out: Int32Array,
  rowBase: number,
): void {
  const { rows, buckets: B, hashesPerRow } = params;
  if (hashesPerRow !== 1) {
    bucketIndices(hashes, count, rows, B, hashesPerRow, out, rowBase);
    return;
  }
  for (let i = 0, e = count * rows; i < e; i++) {
    const h = hashes[i];
    const m = h + ((h >> 31) & B);
    out[i] = m >>> 0 < B ? m : -1;
  }
  for (let i = 0, e = count * rows; i < e; i++)
    if (out[i] < 0)
      bucketIndices(
        hashes.subarray(i, i + 1),
        1,
        1,
        B,
        1,
        out.subarray(i, i + 1),
        rowBase + Math.floor(i / rows),
      );
}

async function sketchItems(
  vectors: Float32Array,
  n: number,
  hasher: LshHasher,
  plan: BandPlan,
  options: NearDuplicateOptions,
): Promise<Sketched> {
  const { dim: d, rows } = hasher.params;
  const { bandWidth: b, bands } = plan;
  const words = plan.checkRows / 16;
  const keys = new Uint32Array(bands * n);
  const checks = new Uint32Array(n * words);
  const block = hasher.blockRows;
  const ids = new Int32Array(block * rows);
  for (let start = 0; start < n; start += block) {
    options.signal?.throwIfAborted();
    const count = Math.min(block, n - start);
    const hashes = await hasher.hash(vectors.subarray(start * d, (start + count) * d), count);
    bucketsOf(hashes, count, hasher.params, ids, start);
    for (let i = 0; i < count; i++) {
      const base = i * rows;
      const item = start + i;
      for (let w = 0; w < words; w++) {
        let word = 0;
        for (let r = 0; r < 16; r++) word |= (ids[base + w * 16 + r] & 3) << (2 * r);
        checks[item * words + w] = word;
      }
      for (let l = 0, o = base; l < bands; l++) {
        // A quick multiplicative mix of the band's bucket ids; an accidental key collision
        // only adds a candidate, which the check and the cosine then turn away.
        let k = l;
        for (const e = o + b; o < e; o++)
          k = Math.imul(((k << 5) | (k >>> 27)) ^ ids[o], 0x9e3779b1);
        keys[l * n + item] = fmix32(k);
      }
    }
    options.onProgress?.('hashing', start + count, n);
  }
  return { keys, checks };
}

/** Check rows two items share: 2-bit residues that agree (SWAR popcount). */
function sharedCheckRows(words: Uint32Array, a: number, b: number, perItem: number): number {
  let shared = 0;
  for (let i = a * perItem, j = b * perItem, e = i + perItem; i < e; i++, j++) {
    const x = words[i] ^ words[j];
    // One bit per 2-bit field, set where the field of x is 0 (the residues agree).
    let y = ~(x | (x >>> 1)) & 0x55555555;
    y = (y & 0x33333333) + ((y >>> 2) & 0x33333333);
    y = (y + (y >>> 4)) & 0x0f0f0f0f;
    shared += Math.imul(y, 0x01010101) >>> 24;
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

/** What the band loop needs to verify candidates. */
interface JoinContext {
  vectors: Float32Array;
  d: number;
  checks: Uint32Array;
  wordsPerItem: number;
  checkMin: number;
  threshold: number;
  sets: UnionFind;
  stats: NearDuplicateStats;
}

/** Checks, verifies and joins one candidate pair. */
function tryPair(a: number, b: number, ctx: JoinContext): void {
  const { stats, sets } = ctx;
  stats.candidates++;
  if (ctx.wordsPerItem > 0 && sharedCheckRows(ctx.checks, a, b, ctx.wordsPerItem) < ctx.checkMin)
    return;
  if (sets.find(a) === sets.find(b)) return;
  stats.verified++;
  if (rowDot(ctx.vectors, a, b, ctx.d) >= ctx.threshold && sets.union(a, b)) stats.joined++;
}

/** The candidate pairs of one run of rows sharing a band key. */
function joinRun(rows: Uint32Array, s: number, e: number, ctx: JoinContext): void {
  if (e - s > 8) {
    // A big bucket (copies of one text, a template): skip it once it is one group.
    const first = ctx.sets.find(rows[s]);
    let together = true;
    for (let i = s + 1; i < e && together; i++) together = ctx.sets.find(rows[i]) === first;
    if (together) return;
  }
  for (let i = s; i < e; i++) for (let j = i + 1; j < e; j++) tryPair(rows[i], rows[j], ctx);
}

/**
 * Sorts 0..n−1 by `keys` (two 16-bit LSD radix passes) into `rows`, with the sorted keys in
 * `sorted`, so that runs of equal keys are found by a sequential scan. `tmpRows`/`tmpKeys`
 * are scratch space of n each. (radixSort.ts's sortByKeys returns the rows only.)
 */
function sortBand(
  keys: Uint32Array,
  rows: Uint32Array,
  sorted: Uint32Array,
  tmpRows: Uint32Array,
  tmpKeys: Uint32Array,
  counts: Uint32Array,
): void {
  const n = keys.length;
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[keys[i] & 0xffff]++;
  for (let b = 0, sum = 0; b < 65536; b++) [counts[b], sum] = [sum, sum + counts[b]];
  for (let i = 0; i < n; i++) {
    const at = counts[keys[i] & 0xffff]++;
    tmpKeys[at] = keys[i];
    tmpRows[at] = i;
  }
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[tmpKeys[i] >>> 16]++;
  for (let b = 0, sum = 0; b < 65536; b++) [counts[b], sum] = [sum, sum + counts[b]];
  for (let i = 0; i < n; i++) {
    const at = counts[tmpKeys[i] >>> 16]++;
    sorted[at] = tmpKeys[i];
    rows[at] = tmpRows[i];
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
  const ctx: JoinContext = {
    vectors,
    d,
    checks,
    wordsPerItem: plan.checkRows / 16,
    checkMin: plan.checkMin,
    threshold: plan.threshold,
    sets: new UnionFind(n),
    stats,
  };
  const [rows, sorted, tmpRows, tmpKeys] = [0, 1, 2, 3].map(() => new Uint32Array(n));
  const counts = new Uint32Array(65536);
  for (let l = 0; l < plan.bands; l++) {
    options.signal?.throwIfAborted();
    sortBand(keys.subarray(l * n, (l + 1) * n), rows, sorted, tmpRows, tmpKeys, counts);
    for (let s = 0; s < n;) {
      let e = s + 1;
      while (e < n && sorted[e] === sorted[s]) e++;
      if (e - s > 1) {
        stats.largestBucket = Math.max(stats.largestBucket, e - s);
        joinRun(rows, s, e, ctx);
      }
      s = e;
    }
    options.onProgress?.('grouping', l + 1, plan.bands);
    await yieldToEventLoop();
  }
  stats.ms.group = performance.now() - t1;
  return { groupOf: ctx.sets.smallestMembers(), plan, stats };
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
