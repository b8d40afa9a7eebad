/**
 * The webview's view of the file's rows: a page cache in front of the host. The grid asks for a
 * range; the store fetches missing pages (visible first, a few at a time) and reports when rows
 * arrive. It holds at most `capacityPages` pages, never the whole file.
 */
import type { RowView, RowsResponse } from '../../src/shared/webviewProtocol';
import { pageIsShort, pagesForRange, type RowRange } from './paging';
import { PageCache } from './rowCache';

/** Fetches rows from the host (injected, so the store never touches the transport). */
export type FetchRows = (generation: number, start: number, count: number) => Promise<RowsResponse>;

export interface RowStoreOptions {
  readonly pageSize: number;
  readonly capacityPages?: number;
  /** Most page requests in flight at once; later needs wait for the next render. */
  readonly maxInFlight?: number;
}

export class RowStore {
  private readonly cache: PageCache<RowView>;
  private readonly inFlight = new Set<string>();
  private readonly maxInFlight: number;
  private wanted: { range: RowRange; prefetch: number } | undefined;
  private _generation: number;
  private _rowCount: number;
  /** Total rows received from the host (for diagnostics: proves paging, not bulk transfer). */
  rowsReceived = 0;

  constructor(
    private readonly fetchRows: FetchRows,
    generation: number,
    rowCount: number,
    readonly options: RowStoreOptions,
    private readonly onLoaded: () => void,
    private readonly onError: (e: unknown) => void,
  ) {
    this._generation = generation;
    this._rowCount = rowCount;
    this.cache = new PageCache(options.capacityPages ?? 64);
    this.maxInFlight = options.maxInFlight ?? 4;
  }

  get generation(): number {
    return this._generation;
  }

  get rowCount(): number {
    return this._rowCount;
  }

  /** Page requests waiting for a reply. */
  get pagesInFlight(): number {
    return this.inFlight.size;
  }

  /** The row if its page is cached (marks the page recently used). */
  row(index: number): RowView | undefined {
    const { pageSize } = this.options;
    const page = Math.floor(index / pageSize);
    const rows = this.cache.get(this._generation, page);
    return rows?.[index - page * pageSize];
  }

  /** Stores a page that came without a request (the first page, sent with `init`). */
  seed(start: number, rows: readonly RowView[]): void {
    const { pageSize } = this.options;
    if (start % pageSize !== 0 || rows.length === 0) return;
    this.rowsReceived += rows.length;
    this.cache.set(this._generation, start / pageSize, rows);
  }

  /** More rows became known while indexing. */
  setRowCount(rowCount: number): void {
    this._rowCount = rowCount;
  }

  /** The file changed on disk: rows of older generations are stale. */
  invalidate(generation: number, rowCount: number): void {
    this._generation = generation;
    this._rowCount = rowCount;
    this.cache.retainGeneration(generation);
    this.inFlight.clear();
  }

  /** Makes sure the pages covering `range` (plus `prefetch` rows around it) get loaded. */
  request(range: RowRange, prefetch: number): void {
    this.wanted = { range, prefetch };
    this.pump();
  }

  private pump(): void {
    if (!this.wanted) return;
    const { pageSize } = this.options;
    const pages = pagesForRange(this.wanted.range, pageSize, this._rowCount, this.wanted.prefetch);
    for (const page of pages) {
      if (this.inFlight.size >= this.maxInFlight) return;
      const key = `${this._generation}:${page}`;
      if (this.inFlight.has(key)) continue;
      const cached = this.cache.peek(this._generation, page);
      if (cached && !pageIsShort(cached.length, page, pageSize, this._rowCount)) continue;
      this.fetchPage(page, key);
    }
  }

  private fetchPage(page: number, key: string): void {
    const { pageSize } = this.options;
    const generation = this._generation;
    this.inFlight.add(key);
    this.fetchRows(generation, page * pageSize, pageSize).then(
      reply => {
        if (!this.inFlight.delete(key)) return; // invalidated meanwhile
        if (reply.generation !== this._generation) return;
        if (reply.rowCount > this._rowCount) this._rowCount = reply.rowCount;
        this.rowsReceived += reply.rows.length;
        this.cache.set(reply.generation, page, reply.rows);
        this.onLoaded();
        this.pump();
      },
      (e: unknown) => {
        this.inFlight.delete(key);
        this.onError(e);
      },
    );
  }
}
