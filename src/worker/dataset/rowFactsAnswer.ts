/**
 * `winnow/getRowFacts` and `winnow/decisionHashes` (docs/scores-api.md): the dataset's row facts
 * in chunks of the wire format, and the rows of a request as typed arrays.
 */
import { encodeRowFacts } from '../../core/dataset/rowFacts';
import {
  ROW_FACTS_MAX_ROWS,
  type GetRowFactsParams,
  type RowFactsResult,
} from '../../shared/protocol/worker';
import type { Dataset } from './dataset';

/** Base64 of a Uint32 LE column. */
function base64(rows: Uint32Array): string {
  return Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength).toString('base64');
}

/** Rows from a base64 Uint32 LE column (copied into aligned memory). */
export function decodeRows(text: string): Uint32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) throw new RangeError(`A row list of ${bytes.length} bytes`);
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return new Uint32Array(out.buffer);
}

/**
 * The facts of rows from `params.from` (or from the first row that changed since
 * `params.since`) as far as they are scanned and matched, at most `maxRows` of them.
 */
export function rowFactsAnswer(dataset: Dataset, params: GetRowFactsParams): RowFactsResult {
  let from = Math.max(0, Math.floor(params.from) || 0);
  if (params.since !== undefined) from = Math.min(from, dataset.unchangedSince(params.since));
  const limit = dataset.factsRows;
  const max = Math.max(0, Math.min(ROW_FACTS_MAX_ROWS, params.maxRows ?? ROW_FACTS_MAX_ROWS));
  const count = Math.max(0, Math.min(limit - from, max));
  const saved = dataset.savedDecisions;
  const schema = dataset.schema;
  const result: RowFactsResult = {
    version: dataset.version,
    file: dataset.file.stamp,
    rowCount: dataset.file.lineCount,
    scanned: limit,
    complete: dataset.factsComplete,
    schema: schema ? { ...schema, fields: [...schema.fields] } : null,
    ...encodeRowFacts(dataset.rows.columns, from, count),
  };
  if (saved) {
    const { keep, drop } = saved.rowsIn(from, from + count);
    result.saved = { id: saved.id, keep: base64(keep), drop: base64(drop) };
  }
  return result;
}
