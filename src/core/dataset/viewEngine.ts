/**
 * Sort, filter and histograms over the whole file, on typed-array columns: a view is a
 * Uint32Array of row indices (or `null` for the file itself in line order), which the webview
 * pages through by position. Free of `vscode` and of I/O (the text search that feeds it lives
 * in ./textSearch): unit-tested and benchmarked in Node.
 */
import type { Histogram, NumberRange, ViewFilter, ViewQuery } from '../../shared/protocol/webview';
import { DROP, KEEP, UNDECIDED, type DecisionColumn } from './decisions';
import { float32Key, float32Keys, sortByKeys } from './radixSort';
import type { RowFactColumns } from './rowColumns';

/** The columns a view is computed from. Typed arrays cover at least `rowCount` rows. */
export interface ViewColumns {
  /** Rows in the file (the part indexed so far). */
  readonly rowCount: number;
  readonly rows: RowFactColumns;
  readonly decisions: DecisionColumn;
  /** ASK-LLM P(yes) per row, NaN = not scored. */
  readonly score?: Float32Array;
  /** DENSITY score per row, NaN = none. */
  readonly density?: Float32Array;
  /** The distilled scorer's score per row, NaN = none (never the ASK-LLM score). */
  readonly distilled?: Float32Array;
  /** Judge A/B: 1 where the two scorers disagree (the "flips" filter); absent: no comparison. */
  readonly flips?: Uint8Array;
  /** Near-duplicate group per row, −1 = none (absent: groups not found yet). */
  readonly duplicates?: Int32Array;
  /** Rows of the filter's map region (1 = inside); absent: the region is unknown. */
  readonly region?: Uint8Array;
}

/** Bins of the score and density histograms. */
export const HISTOGRAM_BINS = 40;

/** Whether the query is the file itself in line order (no order array needed). */
export function isIdentity(query: ViewQuery): boolean {
  return (
    query.sort === 'line' && !query.descending && !query.search?.text && !hasFilter(query.filter)
  );
}

/** Whether any part of the filter is set. */
export function hasFilter(filter: ViewFilter | undefined): boolean {
  if (!filter) return false;
  return (
    isRange(filter.score) ||
    isRange(filter.density) ||
    (filter.decisions !== undefined &&
      filter.decisions.length > 0 &&
      filter.decisions.length < 3) ||
    filter.errors !== undefined ||
    filter.field !== undefined ||
    filter.flips === true ||
    filter.duplicates !== undefined ||
    filter.region !== undefined
  );
}

function isRange(r: NumberRange | undefined): r is NumberRange {
  return r !== undefined && (Number.isFinite(r.min) || Number.isFinite(r.max));
}

/** Whether the query needs the full row scan (lengths, parse errors, fields, decisions). */
export function needsScan(query: ViewQuery): boolean {
  const f = query.filter;
  return (
    query.sort === 'length' ||
    (f !== undefined &&
      (f.errors !== undefined ||
        f.field !== undefined ||
        (f.decisions !== undefined && f.decisions.length > 0 && f.decisions.length < 3)))
  );
}

/**
 * Rows of the file that pass `filter` (and `matches`, a search result: byte 1 = match), in line
 * order. `matches` may be shorter than the file: rows past it do not match.
 */
export function filterRows(
  cols: ViewColumns,
  filter: ViewFilter | undefined,
  matches?: Uint8Array,
): Uint32Array {
  const n = cols.rowCount;
  const out = new Uint32Array(n);
  let k = 0;
  const score = isRange(filter?.score) ? cols.score : undefined;
  const sMin = filter?.score?.min ?? -Infinity;
  const sMax = filter?.score?.max ?? Infinity;
  const wantScore = isRange(filter?.score);
  const density = isRange(filter?.density) ? cols.density : undefined;
  const dMin = filter?.density?.min ?? -Infinity;
  const dMax = filter?.density?.max ?? Infinity;
  const wantDensity = isRange(filter?.density);
  let decisionMask = 0;
  if (filter?.decisions && filter.decisions.length > 0 && filter.decisions.length < 3) {
    for (const d of filter.decisions)
      decisionMask |= 1 << (d === 'keep' ? KEEP : d === 'drop' ? DROP : UNDECIDED);
  }
  const codes = cols.decisions.codes;
  const decided = cols.decisions.rows;
  const errors = filter?.errors;
  const errs = cols.rows.errors;
  let fieldBit = 0;
  let fieldPresent = true;
  let fieldUnknown = false;
  if (filter?.field) {
    const f = cols.rows.fieldIndexOf(filter.field.name);
    fieldPresent = filter.field.present;
    if (f < 0) fieldUnknown = true;
    else fieldBit = (1 << f) >>> 0;
  }
  const bits = cols.rows.fieldBits;
  const flips = filter?.flips === true ? (cols.flips ?? new Uint8Array(0)) : undefined;
  // A field no row has: "has it" matches nothing, "lacks it" matches every row.
  if (fieldUnknown && fieldPresent) return out.subarray(0, 0);
  for (let i = 0; i < n; i++) {
    if (matches && (i >= matches.length || matches[i] === 0)) continue;
    if (wantScore) {
      const v = score ? score[i] : NaN;
      if (!(v >= sMin && v <= sMax)) continue;
    }
    if (wantDensity) {
      const v = density ? density[i] : NaN;
      if (!(v >= dMin && v <= dMax)) continue;
    }
    if (decisionMask !== 0) {
      const c = i < decided ? codes[i] : UNDECIDED;
      if ((decisionMask & (1 << c)) === 0) continue;
    }
    if (errors !== undefined) {
      const bad = errs[i] !== 0;
      if (errors === 'only' ? !bad : bad) continue;
    }
    if (fieldBit !== 0 && ((bits[i] & fieldBit) !== 0) !== fieldPresent) continue;
    if (flips && !(i < flips.length && flips[i] === 1)) continue;
    out[k++] = i;
  }
  return mapFilters(cols, filter, out.subarray(0, k));
}

/**
 * The filters that come from the map: near-duplicate groups and a drawn region (applied to the
 * rows the other filters kept, in line order).
 */
function mapFilters(
  cols: ViewColumns,
  filter: ViewFilter | undefined,
  rows: Uint32Array,
): Uint32Array {
  const dup = filter?.duplicates;
  const region = filter?.region ? (cols.region ?? new Uint8Array(0)) : undefined;
  if (!dup && !region) return rows;
  const groups = cols.duplicates;
  let k = 0;
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j];
    if (dup) {
      const grouped = groups !== undefined && i < groups.length && groups[i] >= 0;
      if (grouped !== (dup === 'grouped')) continue;
    }
    if (region && !(i < region.length && region[i] === 1)) continue;
    rows[k++] = i;
  }
  return rows.subarray(0, k);
}

/** Every row in line order. */
export function allRows(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** Sorts `rows` (given in line order) by the query's key; ties stay in line order. */
export function sortRows(rows: Uint32Array, cols: ViewColumns, query: ViewQuery): Uint32Array {
  const desc = query.descending;
  switch (query.sort) {
    case 'line':
      return desc ? rows.slice().reverse() : rows;
    case 'score':
      return sortByKeys(rows.slice(), float32Keys(cols.score ?? nanColumn(), rows, desc));
    case 'density':
      return sortByKeys(rows.slice(), float32Keys(cols.density ?? nanColumn(), rows, desc));
    case 'length':
      return sortByKeys(rows.slice(), cols.rows.lengthKeys(rows, desc));
    case 'uncertain':
      return uncertainOrder(rows, cols, query.threshold ?? 0.5, desc);
  }
}

/**
 * "Review uncertain" (docs/judge.md#a-review-order-that-learns): first the rows where the judge
 * and the distilled scorer disagree about the threshold `t` (one at or above it, the other
 * below), the largest |judge − distilled| first; then every other row by |P(yes) − t|, nearest
 * first. Rows without a judge score come last. Without distilled scores: the second part only.
 */
export function uncertainOrder(
  rows: Uint32Array,
  cols: Pick<ViewColumns, 'score' | 'distilled'>,
  t: number,
  desc = false,
): Uint32Array {
  const score = cols.score;
  const distilled = cols.distilled;
  const judgeOf = (r: number) => (score && r < score.length ? score[r] : NaN);
  const distilledOf = (r: number) => (distilled && r < distilled.length ? distilled[r] : NaN);
  const disagree: number[] = [];
  const rest: number[] = [];
  for (const r of rows) {
    const j = judgeOf(r);
    const d = distilledOf(r);
    if (j === j && d === d && j >= t !== d >= t) disagree.push(r);
    else rest.push(r);
  }
  const first = Uint32Array.from(disagree);
  const firstKeys = Uint32Array.from(disagree, r =>
    float32Key(-Math.abs(judgeOf(r) - distilledOf(r)), desc),
  );
  const second = Uint32Array.from(rest);
  const secondKeys = Uint32Array.from(rest, r => float32Key(Math.abs(judgeOf(r) - t), desc));
  const out = new Uint32Array(rows.length);
  out.set(sortByKeys(first, firstKeys));
  out.set(sortByKeys(second, secondKeys), first.length);
  return out;
}

const NO_VALUES = new Float32Array(0);
/** A column where every row is missing (reads past the end give undefined, i.e. NaN keys). */
function nanColumn(): Float32Array {
  return NO_VALUES;
}

/** The view's rows: `null` for the file itself in line order. */
export function computeView(
  cols: ViewColumns,
  query: ViewQuery,
  matches?: Uint8Array,
): Uint32Array | null {
  if (isIdentity(query)) return null;
  const rows =
    hasFilter(query.filter) || matches
      ? filterRows(cols, query.filter, matches)
      : allRows(cols.rowCount);
  return sortRows(rows, cols, query);
}

/**
 * Per-column caches: a score column never changes once received (new scores arrive as a new
 * array), so its range and its bins over every row are computed once and shared by all views.
 */
const rangeCache = new WeakMap<
  Float32Array,
  { n: number; range: { min: number; max: number } | undefined }
>();
const totalCache = new WeakMap<Float32Array, { key: string; total: number[]; count: number }>();

/** Range of the density histogram: the finite values' min and max. */
export function valueRange(
  values: Float32Array,
  n: number,
): { min: number; max: number } | undefined {
  const cached = rangeCache.get(values);
  if (cached?.n === n) return cached.range;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n && i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = min <= max ? { min, max } : undefined;
  rangeCache.set(values, { n, range });
  return range;
}

/**
 * Counts of `values` in `bins` equal bins over [min, max] (the last bin includes max), for every
 * row (`total`, cached per column) and for the view's rows (`inView`; `null` view = every row).
 */
export function histogram(
  values: Float32Array,
  n: number,
  view: Uint32Array | null,
  min: number,
  max: number,
  bins = HISTOGRAM_BINS,
): Histogram {
  const width = max > min ? (max - min) / bins : 1;
  const scale = 1 / width;
  const last = bins - 1;
  const m = Math.min(n, values.length);
  const key = `${m}:${min}:${max}:${bins}`;
  let totals = totalCache.get(values);
  if (totals?.key !== key) {
    const total = new Uint32Array(bins);
    let count = 0;
    for (let i = 0; i < m; i++) {
      const v = values[i];
      if (v !== v) continue; // NaN: no value
      const b = Math.floor((v - min) * scale);
      total[b < 0 ? 0 : b > last ? last : b]++;
      count++;
    }
    totals = { key, total: Array.from(total), count };
    totalCache.set(values, totals);
  }
  let inView: ArrayLike<number> = totals.total;
  if (view) {
    const counts = new Uint32Array(bins);
    inView = counts;
    for (let i = 0; i < view.length; i++) {
      const r = view[i];
      if (r >= m) continue;
      const v = values[r];
      if (v !== v) continue;
      const b = Math.floor((v - min) * scale);
      counts[b < 0 ? 0 : b > last ? last : b]++;
    }
  }
  return { min, max, total: totals.total.slice(), inView: Array.from(inView), count: totals.count };
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** A number for the scope line: up to 3 significant digits, no trailing zeros. */
export function shortNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && Math.abs(v) < 0.001) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

function rangeText(name: string, r: NumberRange): string {
  const lo = Number.isFinite(r.min) ? shortNumber(r.min!) : undefined;
  const hi = Number.isFinite(r.max) ? shortNumber(r.max!) : undefined;
  if (lo !== undefined && hi !== undefined) return `${name} ${lo}–${hi}`;
  if (lo !== undefined) return `${name} ≥ ${lo}`;
  return `${name} ≤ ${hi}`;
}

const SORT_NAMES: Record<ViewQuery['sort'], string> = {
  line: 'line',
  score: 'ASK-LLM score',
  density: 'density',
  length: 'length',
  uncertain: 'uncertainty',
};

/** The parts of the query in words (no counts), e.g. ["score 0.5–1", "undecided"]. */
export function describeQuery(query: ViewQuery): string[] {
  const parts: string[] = [];
  const s = query.search;
  if (s?.text) {
    const how = [s.regex ? 'regex' : '', s.caseSensitive ? 'match case' : '']
      .filter(Boolean)
      .join(', ');
    parts.push(`search ${s.regex ? `/${s.text}/` : `"${s.text}"`}${how ? ` (${how})` : ''}`);
  }
  const f = query.filter;
  if (f) {
    if (isRange(f.score)) parts.push(rangeText('score', f.score));
    if (isRange(f.density)) parts.push(rangeText('density', f.density));
    if (f.decisions && f.decisions.length > 0 && f.decisions.length < 3)
      parts.push(f.decisions.join(' or '));
    if (f.errors === 'only') parts.push('parse errors only');
    if (f.errors === 'exclude') parts.push('valid rows only');
    if (f.field) parts.push(`${f.field.present ? 'has' : 'lacks'} field "${f.field.name}"`);
    if (f.flips) parts.push('judge A/B flips');
    if (f.duplicates === 'grouped') parts.push('in a near-duplicate group');
    if (f.duplicates === 'ungrouped') parts.push('in no near-duplicate group');
    if (f.region) parts.push(`in a map region (${fmt(f.region.rows)} rows)`);
  }
  if (query.sort === 'uncertain')
    parts.push(`nearest P(yes) = ${shortNumber(query.threshold ?? 0.5)} first`);
  else if (query.sort !== 'line' || query.descending)
    parts.push(`sorted by ${SORT_NAMES[query.sort]} ${query.descending ? '↓' : '↑'}`);
  return parts;
}

/** The scope line: "12,345 of 1,000,000 rows · score 0.5–1 · sorted by ASK-LLM score ↓". */
export function describeScope(count: number, total: number, query: ViewQuery): string {
  const head =
    count === total && isIdentity(query)
      ? `All ${fmt(total)} ${total === 1 ? 'row' : 'rows'}`
      : `${fmt(count)} of ${fmt(total)} ${total === 1 ? 'row' : 'rows'}`;
  return [head, ...describeQuery(query)].join(' · ');
}
