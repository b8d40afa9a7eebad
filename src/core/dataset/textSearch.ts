/**
 * Text search over the whole file, in the extension host: one sequential pass, in batches that
 * yield to the event loop, cancellable between batches. It searches what the grid previews: the
 * schema's text of each valid row, the raw line of an invalid one. Free of `vscode`.
 */
import { extractText, parseLine, type RowSource, type SchemaInfo } from '../jsonl';
import type { ViewSearch } from '../../shared/protocol/webview';

/** Thrown when a search is cancelled; the caller keeps the previous view. */
export class SearchCancelled extends Error {
  constructor() {
    super('The search was cancelled.');
    this.name = 'SearchCancelled';
  }
}

/** Builds the per-row test of a search; throws an Error with a readable reason for a bad regex. */
export function compileSearch(search: ViewSearch): (text: string) => boolean {
  if (search.regex) {
    let re: RegExp;
    try {
      re = new RegExp(search.text, search.caseSensitive ? 'u' : 'iu');
    } catch (e) {
      throw new Error(
        `Invalid regular expression: ${e instanceof Error ? e.message.replace(/^Invalid regular expression: /, '') : String(e)}`,
      );
    }
    return text => re.test(text);
  }
  if (search.caseSensitive) return text => text.includes(search.text);
  const needle = search.text.toLowerCase();
  return text => text.toLowerCase().includes(needle);
}

/** Options of {@link searchFile}. */
export interface SearchOptions {
  readonly schema: SchemaInfo;
  readonly maxLineBytes: number;
  readonly signal: AbortSignal;
  /** Called after each batch (throttle it on the caller's side). */
  readonly onProgress?: (rowsDone: number, rowsTotal: number, matches: number) => void;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Searches every row of `file` (waiting for indexing as it goes). Resolves to a byte per row,
 * 1 = match; rejects with {@link SearchCancelled} when `signal` aborts.
 */
export async function searchFile(
  file: RowSource,
  search: ViewSearch,
  opts: SearchOptions,
): Promise<{ matches: Uint8Array; count: number }> {
  const test = compileSearch(search);
  let matches = new Uint8Array(Math.max(file.lineCount, 1024));
  let count = 0;
  let done = 0;
  for await (const batch of file.iterateRows(0, 512 << 10)) {
    if (opts.signal.aborted) throw new SearchCancelled();
    const last = batch.length ? batch[batch.length - 1].index : 0;
    if (last >= matches.length) {
      const next = new Uint8Array(Math.max(last + 1, matches.length * 2));
      next.set(matches);
      matches = next;
    }
    for (const r of batch) {
      const parsed = parseLine(r.bytes, {
        maxLineBytes: opts.maxLineBytes,
        firstLine: r.index === 0,
      });
      const text = parsed.ok ? extractText(parsed.value, opts.schema) : decoder.decode(r.bytes);
      if (test(text)) {
        matches[r.index] = 1;
        count++;
      }
    }
    done = last + 1;
    opts.onProgress?.(done, file.indexed ? file.lineCount : Math.max(done, file.lineCount), count);
    await new Promise(resolve => setImmediate(resolve));
  }
  if (opts.signal.aborted) throw new SearchCancelled();
  return { matches: matches.subarray(0, Math.max(done, file.lineCount)), count };
}
