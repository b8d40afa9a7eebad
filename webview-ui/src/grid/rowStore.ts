/**
 * The webview's view of the rows: a page cache in front of the host. Positions are positions in
 * the current view (the file itself, or a sorted / filtered / searched selection the host
 * computed); the grid asks for a range, the store fetches missing pages (visible first, a few at
 * a time) and reports when rows arrive. It holds at most `capacityPages` pages, never the whole
 * file. When decisions or scores change, cached pages are marked out of date: they are still
 * shown, and fetched again.
 */
import type { Decision, RowView, RowsResponse } from '../../../src/shared/protocol/webview';
import { pageIsShort, pagesForRange, type RowRange } from './paging';
import { PageCache } from './rowCache';

/** Fetches rows from the host (injected, so the store never touches the transport). */
export type FetchRows = (
  generation: number,
  viewId: number,
  start: number,
  count: number,
) => Promise<RowsResponse>;

export interface RowStoreOptions {
  readonly pageSize: number;
  readonly capacityPages?: number;
  /** Most page requests in flight at once; later needs wait for the next render. */
  readonly maxInFlight?: number;
}

export class RowStore {
  private readonly cache: PageCache<RowView>;
  private readonly inFlight = new Set<string>();
  /** Revision each cached page was fetched at; pages below `revision` are fetched again. */
  private readonly pageRevision = new Map<number, number>();
  private revision = 0;
  private readonly maxInFlight: number;
  private wanted: { range: RowRange; prefetch: number } | undefined;
  private _generation: number;
  private _viewId: number;
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
    viewId = 0,
  ) {
    this._generation = generation;
    this._viewId = viewId;
    this._rowCount = rowCount;
    this.cache = new PageCache(options.capacityPages ?? 64);
    this.maxInFlight = options.maxInFlight ?? 4;
  }

  get generation(): number {
    return this._generation;
  }

  get viewId(): number {
    return this._viewId;
  }

  get rowCount(): number {
    return this._rowCount;
  }

  /** Page requests waiting for a reply. */
  get pagesInFlight(): number {
    return this.inFlight.size;
  }

  private get scope(): string {
    return `${this._generation}/${this._viewId}`;
  }

  /** The row at `position` if its page is cached (marks the page recently used). */
  row(position: number): RowView | undefined {
    const { pageSize } = this.options;
    const page = Math.floor(position / pageSize);
    const rows = this.cache.get(this.scope, page);
    return rows?.[position - page * pageSize];
  }

  /** Stores a page that came without a request (the first page, sent with `init`). */
  seed(start: number, rows: readonly RowView[]): void {
    const { pageSize } = this.options;
    if (start % pageSize !== 0 || rows.length === 0) return;
    this.rowsReceived += rows.length;
    this.cache.set(this.scope, start / pageSize, rows);
    this.pageRevision.set(start / pageSize, this.revision);
  }

  /** More rows became known while indexing. */
  setRowCount(rowCount: number): void {
    this._rowCount = rowCount;
  }

  /** The file changed on disk: rows of older generations are stale. */
  invalidate(generation: number, rowCount: number, viewId = this._viewId): void {
    this._generation = generation;
    this._viewId = viewId;
    this._rowCount = rowCount;
    this.cache.retainGeneration(this.scope);
    this.pageRevision.clear();
    this.inFlight.clear();
  }

  /** The view changed: positions mean other rows now. */
  setView(viewId: number, rowCount: number): void {
    this.invalidate(this._generation, rowCount, viewId);
  }

  /** Decisions or scores changed: keep showing cached rows, but fetch them again. */
  markStale(): void {
    this.revision++;
    this.pump();
  }

  /** Shows a decision at once, before the host confirms it (the next fetch replaces it). */
  patchDecision(position: number, decision: Decision | undefined): void {
    const { pageSize } = this.options;
    const page = Math.floor(position / pageSize);
    const rows = this.cache.peek(this.scope, page);
    const k = position - page * pageSize;
    if (!rows || !rows[k]) return;
    const next = rows.slice();
    const { decision: _old, ...rest } = rows[k];
    next[k] = decision ? { ...rest, decision } : rest;
    this.cache.set(this.scope, page, next);
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
      const key = `${this.scope}:${page}`;
      if (this.inFlight.has(key)) continue;
      const cached = this.cache.peek(this.scope, page);
      if (
        cached &&
        !pageIsShort(cached.length, page, pageSize, this._rowCount) &&
        (this.pageRevision.get(page) ?? 0) >= this.revision
      )
        continue;
      this.fetchPage(page, key);
    }
  }

  private fetchPage(page: number, key: string): void {
    const { pageSize } = this.options;
    const generation = this._generation;
    const viewId = this._viewId;
    const revision = this.revision;
    this.inFlight.add(key);
    this.fetchRows(generation, viewId, page * pageSize, pageSize).then(
      reply => {
        if (!this.inFlight.delete(key)) return; // invalidated meanwhile
        if (reply.generation !== this._generation || reply.viewId !== this._viewId) return;
        if (reply.rowCount > this._rowCount) this._rowCount = reply.rowCount;
        this.rowsReceived += reply.rows.length;
        this.cache.set(this.scope, page, reply.rows);
        this.pageRevision.set(page, revision);
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
