/**
 * Per-row arrays the dataset view's map colours points by (protocol `MapResponse`), computed
 * from the document's columns. Free of `vscode`.
 */
import type { RowFactColumns } from './rowColumns';

/** Category of rows that are not valid JSON objects (or not scanned yet). */
export const INVALID_CATEGORY = 255;
/** Most field-set categories named; rarer field sets share the last one ("other fields"). */
const MAX_SCHEMA_CATEGORIES = 8;

/**
 * Rows by their set of top-level fields: the most common sets get their own category (named by
 * their fields), the rest share "other fields", invalid or unscanned rows get
 * {@link INVALID_CATEGORY}.
 */
export function schemaCategories(
  columns: RowFactColumns,
  rowCount: number,
): { categories: Uint8Array; names: string[] } {
  const n = Math.min(rowCount, columns.scanned);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++)
    if (columns.errors[i] === 0) {
      const bits = columns.fieldBits[i];
      counts.set(bits, (counts.get(bits) ?? 0) + 1);
    }
  const common = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const named = common.slice(
    0,
    common.length > MAX_SCHEMA_CATEGORIES ? MAX_SCHEMA_CATEGORIES - 1 : MAX_SCHEMA_CATEGORIES,
  );
  const index = new Map(named.map(([bits], k) => [bits, k]));
  const names = named.map(([bits]) => fieldList(columns.fieldNames, bits));
  const other = named.length < common.length ? names.push('other fields') - 1 : -1;
  const categories = new Uint8Array(rowCount).fill(INVALID_CATEGORY);
  for (let i = 0; i < n; i++)
    if (columns.errors[i] === 0) categories[i] = index.get(columns.fieldBits[i]) ?? other;
  return { categories, names };
}

function fieldList(names: readonly string[], bits: number): string {
  const fields = names.filter((_, f) => (bits & (1 << f)) !== 0);
  return fields.length > 0 ? fields.join(', ') : '(no fields)';
}

/** DENSITY ranks as a fraction of the scored rows: 0 = most isolated, 1 = densest, NaN = none. */
export function rankFractions(ranks: Uint32Array, rowCount: number): Float32Array {
  let scored = 0;
  for (let i = 0; i < rowCount && i < ranks.length; i++) if (ranks[i] > 0) scored++;
  const out = new Float32Array(rowCount).fill(NaN);
  const scale = scored > 1 ? 1 / (scored - 1) : 0;
  for (let i = 0; i < rowCount && i < ranks.length; i++)
    if (ranks[i] > 0) out[i] = (ranks[i] - 1) * scale;
  return out;
}

/** 1 for each row of the view (`rows`; null = every row), 0 for the others. */
export function viewMask(rows: Uint32Array | null, rowCount: number): Uint8Array {
  const mask = new Uint8Array(rowCount);
  if (!rows) return mask.fill(1);
  for (const r of rows) if (r < rowCount) mask[r] = 1;
  return mask;
}

/** The exact bytes of a typed array as an ArrayBuffer of its own (for postMessage). */
export function ownBuffer(a: Float32Array | Int32Array | Uint32Array | Uint8Array): ArrayBuffer {
  return a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength) as ArrayBuffer;
}
