/**
 * A multi-row selection as sorted, disjoint, inclusive ranges of view positions: a Shift+End
 * over 10M rows is one range, not 10M numbers. Pure: unit-tested in Node.
 */

/** Sorted, disjoint, non-adjacent inclusive ranges. */
export type Ranges = readonly (readonly [number, number])[];

/** Adds the range a..b (either order), merging overlapping and adjacent ranges. */
export function addRange(ranges: Ranges, a: number, b: number): Ranges {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const out: [number, number][] = [];
  let cur: [number, number] = [lo, hi];
  let placed = false;
  for (const [s, e] of ranges) {
    if (e + 1 < cur[0]) out.push([s, e]);
    else if (s > cur[1] + 1) {
      if (!placed) {
        out.push(cur);
        placed = true;
      }
      out.push([s, e]);
    } else cur = [Math.min(s, cur[0]), Math.max(e, cur[1])];
  }
  if (!placed) out.push(cur);
  return out;
}

/** Removes one position. */
export function removePosition(ranges: Ranges, p: number): Ranges {
  const out: [number, number][] = [];
  for (const [s, e] of ranges) {
    if (p < s || p > e) out.push([s, e]);
    else {
      if (s <= p - 1) out.push([s, p - 1]);
      if (p + 1 <= e) out.push([p + 1, e]);
    }
  }
  return out;
}

/** Whether `p` is selected (binary search). */
export function rangesContain(ranges: Ranges, p: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [s, e] = ranges[mid];
    if (p < s) hi = mid - 1;
    else if (p > e) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Positions selected. */
export function rangesSize(ranges: Ranges): number {
  let n = 0;
  for (const [s, e] of ranges) n += e - s + 1;
  return n;
}
