/** Small facts about view queries and filters, shared by the dataset view and its panels. */
import type { NumberRange, ViewFilter, ViewQuery } from '../../../src/shared/protocol/webview';

/** Counts and parts of the filter, for the Filters button. */
export function filterCount(f: ViewFilter | undefined): number {
  if (!f) return 0;
  return (
    (f.score ? 1 : 0) +
    (f.density ? 1 : 0) +
    (f.decisions && f.decisions.length ? 1 : 0) +
    (f.errors ? 1 : 0) +
    (f.field ? 1 : 0) +
    (f.duplicates ? 1 : 0) +
    (f.region ? 1 : 0)
  );
}

/** Whether the query shows the file itself: by line, ascending, no search, no filter. */
export function isDefaultQuery(q: ViewQuery | undefined): boolean {
  return (
    !q || (q.sort === 'line' && !q.descending && !q.search?.text && filterCount(q.filter) === 0)
  );
}

/** A range for the query, or undefined when it is open at both ends. */
export function cleanRange(r: NumberRange | undefined): NumberRange | undefined {
  if (!r) return undefined;
  const min = Number.isFinite(r.min) ? r.min : undefined;
  const max = Number.isFinite(r.max) ? r.max : undefined;
  if (min === undefined && max === undefined) return undefined;
  return { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
}

/** The filter with its score and density ranges cleaned (open ranges left out). */
export function cleanFilter(f: ViewFilter): ViewFilter {
  return {
    ...f,
    ...(f.score ? { score: cleanRange(f.score) } : {}),
    ...(f.density ? { density: cleanRange(f.density) } : {}),
  };
}
