/**
 * Rank correlations of two scorers (docs/judge.md#judge-ab): Spearman's ρ (Pearson's r of the
 * average ranks) and Kendall's τ-b in O(n log n) by Knight's algorithm (1966). Hand-written:
 * npm's statistics packages have Spearman but no O(n log n) Kendall, and files have millions
 * of rows.
 */

/** Average ranks (1-based, ties share the mean of their ranks). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && values[idx[j]] === values[idx[i]]) j++;
    const r = (i + j + 1) / 2; // mean of ranks i+1 .. j
    for (let k = i; k < j; k++) ranks[idx[k]] = r;
    i = j;
  }
  return ranks;
}

/** Pearson's r; NaN when either side is constant or there are fewer than 2 values. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n < 2 || y.length !== n) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Spearman's ρ with ties (Pearson of average ranks). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new RangeError(`${x.length} vs ${y.length} values`);
  return pearson(averageRanks(x), averageRanks(y));
}

/** Pairs tied within runs of equal keys in `order` (n·(n−1)/2 per run). */
function tiedPairs(order: Uint32Array, equal: (a: number, b: number) => boolean): number {
  let pairs = 0;
  for (let i = 0; i < order.length;) {
    let j = i + 1;
    while (j < order.length && equal(order[i], order[j])) j++;
    const t = j - i;
    pairs += (t * (t - 1)) / 2;
    i = j;
  }
  return pairs;
}

/** Sorts `order` by y with a bottom-up merge sort; returns the number of swaps (discordant pairs). */
function mergeCountSwaps(order: Uint32Array, y: ArrayLike<number>): number {
  const n = order.length;
  let src: Uint32Array = order;
  let dst: Uint32Array = new Uint32Array(n);
  let swaps = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (y[src[j]] < y[src[i]]) {
          swaps += mid - i;
          dst[k++] = src[j++];
        } else dst[k++] = src[i++];
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    [src, dst] = [dst, src];
  }
  if (src !== order) order.set(src);
  return swaps;
}

/** Kendall's τ-b (ties in either ranking corrected); NaN when either side is constant. */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (y.length !== n) throw new RangeError(`${n} vs ${y.length} values`);
  if (n < 2) return NaN;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => x[a] - x[b] || y[a] - y[b]);
  const tiesX = tiedPairs(order, (a, b) => x[a] === x[b]);
  const tiesXY = tiedPairs(order, (a, b) => x[a] === x[b] && y[a] === y[b]);
  const swaps = mergeCountSwaps(order, y);
  const tiesY = tiedPairs(order, (a, b) => y[a] === y[b]);
  const n0 = (n * (n - 1)) / 2;
  const s = n0 - tiesX - tiesY + tiesXY - 2 * swaps;
  const d = Math.sqrt((n0 - tiesX) * (n0 - tiesY));
  return d > 0 ? s / d : NaN;
}
