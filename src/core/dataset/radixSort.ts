/**
 * Sorting row indices by typed-array keys without per-row objects: a stable least-significant-
 * digit radix sort over 32-bit keys (two 16-bit passes), O(n) time and 4 arrays of n uint32.
 * 10M rows sort in well under a second, where `Array.prototype.sort` with a comparator over the
 * same indices takes tens of seconds. Free of `vscode`: unit-tested and benchmarked in Node.
 * Why not a library: the npm radix sorts sort the keys themselves, not an index permutation
 * by a separate key array, which is what a stable multi-column view needs.
 */

/** Key that sorts after every real value in either direction (unscored rows come last). */
export const LAST_KEY = 0xffffffff;

const DIGIT_BITS = 16;
const BUCKETS = 1 << DIGIT_BITS;
const MASK = BUCKETS - 1;

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
  if (values instanceof Float32Array) {
    // Read the bits directly: no float round trip per row.
    const bits = new Uint32Array(values.buffer, values.byteOffset, n);
    const flip = descending ? 0xffffffff : 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (r >= n) {
        keys[i] = LAST_KEY;
        continue;
      }
      let b = bits[r];
      if ((b & 0x7fffffff) > 0x7f800000) {
        keys[i] = LAST_KEY; // NaN
        continue;
      }
      if (b === 0x80000000) b = 0; // -0 is 0
      const key = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
      keys[i] = (key ^ flip) >>> 0;
    }
    return keys;
  }
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
 * input order, so rows given in line order stay in line order among ties. Two 16-bit passes
 * (65,536 counters fit in cache); a pass whose digit is the same for every key is skipped.
 * Returns the sorted rows (a new array, or `rows` itself); both inputs are consumed (they may be
 * overwritten).
 */
export function sortByKeys(rows: Uint32Array, keys: Uint32Array): Uint32Array {
  const n = rows.length;
  if (keys.length !== n) throw new RangeError(`${n} rows but ${keys.length} keys`);
  if (n < 2) return rows;
  const lo = new Uint32Array(BUCKETS);
  const hi = new Uint32Array(BUCKETS);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    lo[k & MASK]++;
    hi[k >>> DIGIT_BITS]++;
  }
  const single = (counts: Uint32Array) => {
    for (let b = 0; b < BUCKETS; b++) if (counts[b] !== 0) return counts[b] === n;
    return true;
  };
  const prefix = (counts: Uint32Array) => {
    let sum = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[b];
      counts[b] = sum;
      sum += c;
    }
  };
  let srcRows = rows;
  let srcKeys = keys;
  if (!single(lo)) {
    prefix(lo);
    const r2 = new Uint32Array(n);
    const k2 = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const k = srcKeys[i];
      const at = lo[k & MASK]++;
      k2[at] = k;
      r2[at] = srcRows[i];
    }
    srcRows = r2;
    srcKeys = k2;
  }
  if (!single(hi)) {
    prefix(hi);
    // The last pass needs no keys written: the rows are the result.
    const out = srcRows === rows ? new Uint32Array(n) : rows;
    for (let i = 0; i < n; i++) out[hi[srcKeys[i] >>> DIGIT_BITS]++] = srcRows[i];
    return out;
  }
  return srcRows;
}

/**
 * The rows with the `k` smallest keys (keys[i] belongs to rows[i]), in input order; among equal
 * keys at the cut, earlier rows win. A radix select: three passes over the keys and no sort, so
 * "keep the top 10% of 10M rows" costs about as much as reading the column twice.
 */
export function smallestK(rows: Uint32Array, keys: Uint32Array, k: number): Uint32Array {
  const n = rows.length;
  if (keys.length !== n) throw new RangeError(`${n} rows but ${keys.length} keys`);
  if (k <= 0) return new Uint32Array(0);
  if (k >= n) return rows.slice();
  // Pass 1: the high 16 bits of the k-th smallest key.
  const high = new Uint32Array(65536);
  for (let i = 0; i < n; i++) high[keys[i] >>> 16]++;
  let below = 0;
  let hb = 0;
  while (below + high[hb] < k) below += high[hb++];
  // Pass 2: its low 16 bits, among keys with those high bits.
  const low = new Uint32Array(65536);
  for (let i = 0; i < n; i++) if (keys[i] >>> 16 === hb) low[keys[i] & 0xffff]++;
  let lb = 0;
  while (below + low[lb] < k) below += low[lb++];
  const cut = ((hb << 16) | lb) >>> 0;
  // Pass 3: every key below the cut, and as many keys equal to it as are still needed.
  let ties = k - below;
  const out = new Uint32Array(k);
  let at = 0;
  for (let i = 0; i < n && at < k; i++) {
    const key = keys[i];
    if (key < cut || (key === cut && ties-- > 0)) out[at++] = rows[i];
  }
  return out;
}
