/**
 * How scores are written for people: hovers, inlay hints, progress messages. Pure functions, so
 * the unit tests pin the exact text.
 */

/**
 * A probability with 6 significant digits (`0.114235`, `0.000213457`, `1.23457e-7`): enough to
 * compare with a reference to 1e-6 relative, short enough to read.
 */
export function formatProbability(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  if (p === 0) return '0';
  if (p >= 1e-6) return trimZeros(p.toPrecision(6));
  return p.toExponential(5).replace(/\.?0+e/, 'e');
}

/** A probability with 3 significant digits, for the inline hint (`0.114`, `0.000213`). */
export function formatProbabilityShort(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  if (p === 0) return '0';
  if (p >= 1e-4) return trimZeros(p.toPrecision(3));
  return p.toExponential(2).replace(/\.?0+e/, 'e');
}

function trimZeros(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Where a score stands among the scored rows of its file. */
export interface ScoreStanding {
  /** 1 = the highest score. Ties share the best rank. */
  rank: number;
  /** Scored rows compared against. */
  of: number;
  /** Percentile rank 0–100: the share of scored rows below it, ties counted half. */
  percentile: number;
}

/** Ascending scores of a column without the unscored (NaN) rows. */
export function sortedScores(values: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) n++;
  const out = new Float32Array(n);
  let k = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) out[k++] = values[i];
  return out.sort();
}

/** The standing of `value` (a member of the column) among `sorted` (ascending). */
export function standing(sorted: Float32Array, value: number): ScoreStanding {
  const v = Math.fround(value);
  const below = lowerBound(sorted, v);
  const upTo = upperBound(sorted, v);
  const n = sorted.length;
  const equal = upTo - below;
  return {
    rank: n - upTo + 1,
    of: n,
    percentile: n === 0 ? 0 : (100 * (below + equal / 2)) / n,
  };
}

function lowerBound(a: Float32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** "1st", "2nd", "23rd", "87th". */
export function ordinal(n: number): string {
  const r = Math.round(n);
  const mod100 = r % 100;
  const suffix = mod100 >= 11 && mod100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][r % 10] ?? 'th');
  return `${r}${suffix}`;
}

/** A duration for ETAs: "12 s", "4 min", "1 h 20 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** Bytes for download progress: "812 KB", "140.2 MB". */
export function formatBytes(n: number): string {
  if (n < 1024 * 1024) return `${Math.max(1, Math.round(n / 1024))} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
