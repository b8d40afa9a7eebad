/**
 * Sorting row indices by typed-array keys without per-row objects: a stable least-significant-
 * digit radix sort over 32-bit keys (three 11-bit passes), O(n) time and 4 arrays of n uint32.
 * 10M rows sort in well under a second, where `Array.prototype.sort` with a comparator over the
 * same indices takes tens of seconds. Free of `vscode`: unit-tested and benchmarked in Node.
 */

/** Key that sorts after every real value in either direction (unscored rows come last). */
export const LAST_KEY = 0xffffffff;

const DIGIT_BITS = 11;
const BUCKETS = 1 << DIGIT_BITS;
const MASK = BUCKETS - 1;
const PASSES = 3;

// One shared float <-> bits view, so that a key costs no allocation.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The unsigned key whose order is the numeric order of `value` (IEEE 754 trick: flip every bit
 * of a negative number, only the sign bit of a positive one). NaN maps to {@link LAST_KEY}.
 */
export function float32Key(value: number, descending = false): number {
  if (Number.isNaN(value)) return LAST_KEY;
  // -0 and +0 are equal numbers: give them one key.
  f32[0] = value === 0 ? 0 : value;
  const bits = u32[0];
  const key = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
  // The largest real key is 0xff800000 (+Infinity), so no real value collides with LAST_KEY.
  return descending ? ~key >>> 0 : key;
}

/** Keys of `values[rows[i]]` for every i, as {@link float32Key}; rows past the end are missing. */
export function float32Keys(
  values: ArrayLike<number>,
  rows: Uint32Array,
  descending: boolean,
): Uint32Array {
  const keys = new Uint32Array(rows.length);
  const n = values.length;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    keys[i] = float32Key(r < n ? values[r] : NaN, descending);
  }
  return keys;
}

/**
 * Keys of unsigned integer `values[rows[i]]`; `missing` (e.g. rank 0 = none) sorts last.
 * Values must be below 2^32 - 1.
 */
export function uint32Keys(
  values: ArrayLike<number>,
  rows: Uint32Array,
  descending: boolean,
  missing?: number,
): Uint32Array {
  const keys = new Uint32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = values[rows[i]];
    keys[i] = v === missing ? LAST_KEY : descending ? (0xfffffffe - v) >>> 0 : v;
  }
  return keys;
}

/**
 * Sorts `rows` by `keys` (keys[i] belongs to rows[i]) ascending, stably: equal keys keep their
 * input order, so rows given in line order stay in line order among ties. Returns the sorted rows
 * (a new array, or `rows` itself); both inputs are consumed (they may be overwritten).
 */
export function sortByKeys(rows: Uint32Array, keys: Uint32Array): Uint32Array {
  const n = rows.length;
  if (keys.length !== n) throw new RangeError(`${n} rows but ${keys.length} keys`);
  if (n < 2) return rows;
  // All three digit histograms in one pass over the keys.
  const counts = new Uint32Array(BUCKETS * PASSES);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    counts[k & MASK]++;
    counts[BUCKETS + ((k >>> DIGIT_BITS) & MASK)]++;
    counts[2 * BUCKETS + (k >>> (2 * DIGIT_BITS))]++;
  }
  let srcRows = rows;
  let srcKeys = keys;
  let dstRows: Uint32Array | undefined;
  let dstKeys: Uint32Array | undefined;
  for (let pass = 0; pass < PASSES; pass++) {
    const base = pass * BUCKETS;
    const shift = pass * DIGIT_BITS;
    // A digit that is the same for every key does not reorder anything: skip the pass.
    let skip = false;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[base + b];
      if (c === n) skip = true;
      if (c !== 0) break;
    }
    if (skip) continue;
    let sum = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[base + b];
      counts[base + b] = sum;
      sum += c;
    }
    dstRows ??= new Uint32Array(n);
    dstKeys ??= new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const k = srcKeys[i];
      const at = counts[base + ((k >>> shift) & MASK)]++;
      dstKeys[at] = k;
      dstRows[at] = srcRows[i];
    }
    [srcRows, dstRows] = [dstRows, srcRows];
    [srcKeys, dstKeys] = [dstKeys, srcKeys];
  }
  return srcRows;
}
