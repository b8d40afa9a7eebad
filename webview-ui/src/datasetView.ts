/**
 * The dataset view: builds the header, toolbar, scope bar, filter panel, grid and detail panel,
 * holds what they share (the current view and query, trust, which panels are open) and turns what
 * the user does into actions (./actions.ts). The host computes every view (sort, filter, search
 * over the whole file); this side only says what the user wants and pages through the result.
 */
import type {
  DecisionTarget,
  DecisionValue,
  InitResponse,
  InvalidateEvent,
  PersistedViewState,
  RowDetailResponse,
  ViewInfo,
  ViewQuery,
} from '../../src/shared/protocol/webview';
import { DEFAULT_QUERY } from '../../src/shared/protocol/webview';
import * as actions from './actions';
import type { ColumnWidths } from './grid/columns';
import { Grid, type GridAction, type RenderInfo } from './grid/grid';
import { triageKeys } from './grid/keymap';
import { RowStore } from './grid/rowStore';
import { rangesSize } from './grid/selection';
import { type HostEventHandlers, dispatchHostEvents } from './hostEvents';
import { DetailPanel } from './panels/detail';
import { FilterPanel } from './panels/filterPanel';
import { Header } from './panels/header';
import { HelpDialog } from './panels/help';
import { MapPanel } from './map/mapPanel';
import { ScopeBar } from './panels/scopeBar';
import { createSplitter } from './panels/splitter';
import { Toolbar } from './panels/toolbar';
import { el } from './util/dom';
import { errorMessage } from './util/errors';
import { cleanFilter, filterCount, isDefaultQuery } from './util/query';
import { throttle } from './util/throttle';
import { SavedViewState } from './util/viewState';

/** Pages kept in the webview: 64 x pageSize rows, a few hundred kB at most. */
const CACHE_PAGES = 64;
/** Rows optimistically repainted on a decision before the host confirms it. */
const MAX_PATCHED_ROWS = 5000;

/** Whether two paints showed the same rows (the host hears of a paint only when it differs). */
function samePaint(a: RenderInfo | undefined, b: RenderInfo): boolean {
  return (
    !!a &&
    a.firstRow === b.firstRow &&
    a.lastRow === b.lastRow &&
    a.loadedRows === b.loadedRows &&
    a.focusedRow === b.focusedRow &&
    a.rowCount === b.rowCount
  );
}

export class DatasetView {
  private readonly saved: SavedViewState;
  private view: ViewInfo;
  private query: ViewQuery = DEFAULT_QUERY;
  private trusted: boolean;
  private filtersOpen: boolean;
  private detailOpen: boolean;
  /** Whether a view/set request is in flight (its progress line must stay). */
  private querying = false;
  private pendingQuery = 0;
  private detailRequest = 0;
  private lastPaint: RenderInfo | undefined;

  private readonly store: RowStore;
  private readonly header = new Header();
  private readonly detail: DetailPanel;
  private readonly grid: Grid;
  private readonly scope: ScopeBar;
  private readonly toolbar: Toolbar;
  private readonly filters: FilterPanel;
  private readonly splitter: HTMLElement;
  private readonly help = new HelpDialog(() => this.grid.focus());
  private readonly map: MapPanel;

  private readonly reportRender = throttle(
    (info: RenderInfo) =>
      actions.reportRender({
        generation: this.store.generation,
        ...info,
        rowsReceived: this.store.rowsReceived,
        pagesInFlight: this.store.pagesInFlight,
      }),
    150,
  );
  private readonly reportFocus = throttle(
    (row: number) => actions.reportFocus(row, this.store.viewId),
    100,
  );
  private readonly loadDetail = throttle((position: number) => this.fetchDetail(position), 60);

  constructor(
    private readonly init: InitResponse,
    saved: PersistedViewState | undefined,
  ) {
    this.saved = new SavedViewState(saved);
    const ui = this.saved.value;
    this.view = init.view;
    this.trusted = init.trusted;
    this.filtersOpen = ui.filtersOpen ?? true;
    this.detailOpen = ui.detailOpen ?? false;
    this.showFileFacts();
    this.store = this.createStore();
    this.detail = new DetailPanel({
      onOpen: row => actions.openAsText(row),
      onDecide: d => this.decide(undefined, d),
      onClose: () => this.setDetailOpen(false),
    });
    this.grid = this.createGrid(ui);
    this.grid.triageKeys = triageKeys(init.triageKeys);
    this.detail.triageKeys = this.grid.triageKeys;
    this.scope = new ScopeBar({
      onCancel: () => actions.cancelView(),
      onRefresh: () => this.applyQuery(this.query, true),
      onClearAll: () => this.applyQuery(DEFAULT_QUERY),
    });
    this.toolbar = this.createToolbar();
    this.filters = new FilterPanel({
      onFilter: f => this.applyQuery({ ...this.query, filter: cleanFilter(f) }),
      onDecide: (target, decision) => this.decide(target, decision),
      onCompare: scorer => actions.setCompare(scorer),
      onFindDuplicates: () => this.findDuplicates(),
    });
    this.map = this.createMap();
    this.splitter = createSplitter(this.detail.element, w => this.saved.update({ detailWidth: w }));
    if (ui.detailWidth) this.detail.element.style.width = `${ui.detailWidth}px`;
  }

  /** Puts the view in the document, goes to the saved or asked-for row and listens to the host. */
  mount(saved: PersistedViewState | undefined): void {
    const main = el('div', 'main');
    const gridWrap = el('div', 'grid-wrap');
    gridWrap.append(this.grid.element);
    main.append(gridWrap, this.map.element, this.splitter, this.detail.element);
    const app = el('div', 'app');
    const { header, toolbar, scope, filters } = this;
    app.append(header.element, toolbar.element, scope.element, filters.element, main);
    document.body.replaceChildren(app);
    this.setFiltersOpen(this.filtersOpen);
    this.detail.element.classList.toggle('hidden', !this.detailOpen);
    this.splitter.classList.toggle('hidden', !this.detailOpen);
    this.toolbar.setPanels(this.filtersOpen, this.detailOpen);
    this.grid.layout();
    this.grid.setRowCount(this.init.index.rowCount, this.init.index.indexed);
    this.showView(this.view);
    this.goToStartRow(saved);
    this.grid.focus();
    if (this.detailOpen) this.loadDetail(this.grid.focused);
    if (this.saved.value.mapOpen) this.setMapOpen(true);
    dispatchHostEvents(this.hostEventHandlers());
  }

  private goToStartRow(saved: PersistedViewState | undefined): void {
    if (this.init.revealRow !== undefined) this.grid.reveal(this.init.revealRow);
    else if (saved && !isDefaultQuery(saved.query) && saved.query)
      this.applyQuery(saved.query, false, { top: saved.topRow, focus: saved.focusedRow });
    else if (saved) this.grid.restorePosition(saved.topRow, saved.focusedRow);
  }

  private showFileFacts(): void {
    const { init, header } = this;
    header.setFile(init.fileName, init.filePath);
    header.setIndex(init.index);
    header.setSchema(init.schema);
    header.setStats(init.stats);
    header.setNotice(init.notice);
    header.setCompression(init.compression);
    header.setTrusted(init.trusted);
  }

  // -- parts ------------------------------------------------------------------------------------

  private createStore(): RowStore {
    const { init } = this;
    const store = new RowStore(
      actions.fetchRows,
      init.generation,
      init.index.rowCount,
      { pageSize: init.pageSize, capacityPages: CACHE_PAGES },
      () => this.grid.refresh(),
      e => actions.log('error', `Loading rows failed: ${errorMessage(e)}`),
      init.view.viewId,
    );
    if (init.firstPage) store.seed(init.firstPage.start, init.firstPage.rows);
    return store;
  }

  private createGrid(ui: PersistedViewState): Grid {
    return new Grid(
      this.store,
      {
        onPositionChange: (top, focus) => this.saved.savePosition(top, focus),
        onFocusChange: position => {
          this.reportFocus(position);
          this.loadDetail(position);
        },
        onOpenRow: position => this.openRow(position),
        onAction: action => this.onAction(action),
        onColumnsChange: (widths: ColumnWidths, hidden) =>
          this.saved.update({
            columnWidths: widths as Record<string, number>,
            hiddenColumns: [...hidden],
          }),
        onRender: info => this.onRender(info),
      },
      { widths: (ui.columnWidths ?? {}) as ColumnWidths, hidden: ui.hiddenColumns ?? [] },
    );
  }

  private createToolbar(): Toolbar {
    return new Toolbar({
      onSearch: search => this.applyQuery({ ...this.query, search }),
      onCancel: () => actions.cancelView(),
      onSort: (sort, descending, threshold) =>
        this.applyQuery({
          ...this.query,
          sort,
          descending,
          ...(sort === 'uncertain' ? { threshold } : {}),
        }),
      onToggleFilters: () => this.setFiltersOpen(!this.filtersOpen),
      onToggleDetail: () => this.setDetailOpen(!this.detailOpen),
      onToggleMap: () => this.setMapOpen(!this.map.isOpen),
      onColumns: anchor => this.grid.toggleColumnMenu(anchor),
      onCommand: command => actions.runCommand(command),
      onHelp: () => this.help.toggle(this.grid.triageKeys),
      onLeave: () => this.grid.focus(),
    });
  }

  private onRender(info: RenderInfo): void {
    const prev = this.lastPaint;
    this.lastPaint = info;
    if (samePaint(prev, info)) return;
    // The first painted rows go out at once: the host times open-to-first-rows with them.
    if ((!prev || prev.loadedRows === 0) && info.loadedRows > 0) this.reportRender.now(info);
    else this.reportRender(info);
    // Rows of the detail panel arrive with their page.
    if (this.detailOpen && this.detail.row === undefined && info.loadedRows > 0)
      this.loadDetail(this.grid.focused);
  }

  private openRow(position: number): void {
    const row = this.store.row(position);
    actions.openAsText(row ? row.index : position);
  }

  // -- panels -----------------------------------------------------------------------------------

  private setFiltersOpen(open: boolean): void {
    this.filtersOpen = open;
    this.filters.element.classList.toggle('hidden', !open);
    this.toolbar.setPanels(this.filtersOpen, this.detailOpen);
    this.saved.update({ filtersOpen: open });
  }

  private setDetailOpen(open: boolean): void {
    this.detailOpen = open;
    this.detail.element.classList.toggle('hidden', !open);
    this.splitter.classList.toggle('hidden', !open);
    this.toolbar.setPanels(this.filtersOpen, this.detailOpen);
    this.saved.update({ detailOpen: open });
    if (open) this.loadDetail.now(this.grid.focused);
    else this.grid.focus();
  }

  // -- map --------------------------------------------------------------------------------------

  private createMap(): MapPanel {
    return new MapPanel(
      { fetch: actions.fetchMap, preview: actions.fetchMapPreview },
      {
        onDecide: (lines, decision) =>
          this.decide({ kind: 'lines', lines: Array.from(lines) }, decision),
        onRegion: lines =>
          void actions.setMapRegion(lines).then(r =>
            this.applyQuery({
              ...this.query,
              filter: cleanFilter({ ...this.query.filter, region: { id: r.id, rows: r.rows } }),
            }),
          ),
        onFocusLine: line => this.focusLine(line),
        onFindDuplicates: () => this.findDuplicates(),
        onClose: () => this.setMapOpen(false),
        onError: message => actions.log('warn', `Map: ${message}`),
      },
    );
  }

  private setMapOpen(open: boolean): void {
    if (open) this.map.show();
    else this.map.hide();
    this.toolbar.setMap(open);
    this.saved.update({ mapOpen: open });
    this.grid.layout();
  }

  /** A point clicked on the map: its line focused in the grid, if the view holds it. */
  private focusLine(line: number): void {
    actions.locateRow(line).then(
      r => {
        if (r.viewId !== this.store.viewId || r.position < 0) {
          this.scope.setStatus(`Line ${line + 1} is not in this view.`);
          return;
        }
        this.grid.reveal(r.position);
        this.grid.focus();
      },
      (e: unknown) => this.scope.setStatus(errorMessage(e), true),
    );
  }

  private findDuplicates(): void {
    this.scope.setStatus('Finding near-duplicates…');
    actions.findDuplicates().then(
      r => {
        this.scope.setProgress(undefined);
        this.scope.setStatus(r.message);
        this.map.setStatus(r.message);
      },
      (e: unknown) => {
        this.scope.setProgress(undefined);
        this.scope.setStatus(errorMessage(e), true);
      },
    );
  }

  private fetchDetail(position: number): void {
    if (!this.detailOpen) return;
    const id = ++this.detailRequest;
    actions.fetchRowDetail(this.store.viewId, position).then(
      reply => {
        if (id === this.detailRequest) this.showDetail(reply);
      },
      (e: unknown) => this.detail.showMessage(`Could not read the row: ${errorMessage(e)}`),
    );
  }

  private showDetail(reply: RowDetailResponse): void {
    if (reply.detail) this.detail.show(reply.detail);
    else
      this.detail.showMessage(
        this.view.count === 0 ? 'No rows in this view.' : 'Select a row to see it in full.',
      );
  }

  // -- views ------------------------------------------------------------------------------------

  /** Asks the host for the view of `q`; the grid keeps showing the current one meanwhile. */
  private applyQuery(
    q: ViewQuery,
    keepPosition = false,
    restore?: { top: number; focus: number },
  ): void {
    const id = ++this.pendingQuery;
    this.toolbar.setSearching(!!q.search?.text);
    this.scope.setProgress(q.search?.text ? 'Searching' : 'Computing the view', 0, 0);
    const oldFocus = this.grid.focused;
    this.querying = true;
    actions.requestView(q).then(
      reply => {
        if (id !== this.pendingQuery) return;
        this.endQuery();
        this.adoptView(reply.view);
        if (restore) this.grid.restorePosition(restore.top, restore.focus);
        // A refresh stays near where the user was (positions move when rows leave the view).
        else if (keepPosition && reply.view.count > 0)
          this.grid.reveal(Math.min(oldFocus, reply.view.count - 1));
      },
      (e: unknown) => {
        if (id !== this.pendingQuery) return;
        this.endQuery();
        const msg = errorMessage(e);
        const cancelled = /cancel/i.test(msg);
        this.scope.setStatus(
          cancelled ? 'Search cancelled: the previous view stays.' : msg,
          !cancelled,
        );
        this.toolbar.setQuery(this.query);
      },
    );
  }

  private endQuery(): void {
    this.querying = false;
    this.scope.setProgress(undefined);
    this.toolbar.setSearching(false);
  }

  private adoptView(v: ViewInfo, focus = 0): void {
    const changed = v.viewId !== this.store.viewId;
    this.view = v;
    this.query = v.query;
    if (changed) {
      this.store.setView(v.viewId, v.count);
      this.grid.resetView(v.count, v.complete, focus);
    } else this.grid.setRowCount(v.count, v.complete);
    this.grid.setEmptyText(
      isDefaultQuery(this.query)
        ? 'The file has no lines.'
        : 'No rows match. "Show all rows" clears the search and filters.',
    );
    this.showView(v);
    if (changed) this.map.refresh(['state']);
    this.saved.update({ query: isDefaultQuery(this.query) ? undefined : this.query });
  }

  private showView(v: ViewInfo): void {
    this.grid.setSources(v.sources);
    this.toolbar.setQuery(v.query);
    this.toolbar.setCalibratedThreshold(v.calibration?.threshold ?? undefined);
    this.toolbar.setFilterCount(filterCount(v.query.filter));
    this.filters.update(this.trusted ? v : { ...v, editable: false });
    this.scope.update(v, isDefaultQuery(v.query));
  }

  // -- decisions --------------------------------------------------------------------------------

  /** Keeps, drops or clears `target`, or else the selection, or else the focused row. */
  private decide(target: DecisionTarget | undefined, decision: DecisionValue): void {
    if (!this.view.editable || !this.trusted) {
      this.scope.setStatus('Restricted Mode: the dataset view is read-only.', true);
      return;
    }
    const { grid } = this;
    const selection = grid.selectedRanges;
    const single = !target && selection.length === 0;
    const t: DecisionTarget = target ?? {
      kind: 'positions',
      ranges: selection.length > 0 ? selection : [[grid.focused, grid.focused]],
    };
    if (t.kind === 'positions') this.showDecision(t.ranges, decision);
    actions.decide(this.store.viewId, t, decision).then(
      reply => {
        // A decision on rows the scan had not reached showed its wait in the progress line.
        if (!this.querying) this.scope.setProgress(undefined);
        this.scope.setStatus(reply.changed ? `${reply.message} · u undoes` : reply.message);
        if (this.detailOpen) this.loadDetail(grid.focused);
      },
      (e: unknown) => {
        if (!this.querying) this.scope.setProgress(undefined);
        this.scope.setStatus(errorMessage(e), true);
        this.store.markStale();
        grid.refresh();
      },
    );
    if (single) grid.advance(1);
    else if (!target) grid.clearSelection();
  }

  /** Shows a decision at once; the host's answer repaints the rows from the document. */
  private showDecision(
    ranges: readonly (readonly [number, number])[],
    decision: DecisionValue,
  ): void {
    const d = decision === 'unset' ? undefined : decision;
    if (rangesSize(ranges) <= MAX_PATCHED_ROWS)
      for (const [a, b] of ranges) for (let p = a; p <= b; p++) this.store.patchDecision(p, d);
    this.grid.refresh();
  }

  private onAction(action: GridAction): void {
    switch (action) {
      case 'keep':
        return this.decide(undefined, 'keep');
      case 'drop':
        return this.decide(undefined, 'drop');
      case 'clear':
        return this.decide(undefined, 'unset');
      case 'undo':
      case 'redo':
        return actions.runCommand(action);
      case 'search':
        return this.toolbar.focusSearch();
      case 'detail':
        return this.setDetailOpen(!this.detailOpen);
      case 'open':
        return this.openRow(this.grid.focused);
      case 'filters':
        return this.setFiltersOpen(!this.filtersOpen);
      case 'refresh':
        if (this.view.stale) this.applyQuery(this.query, true);
        return;
      case 'help':
        return this.help.toggle(this.grid.triageKeys);
    }
  }

  // -- host events ------------------------------------------------------------------------------

  private hostEventHandlers(): HostEventHandlers {
    const { header, grid, scope, store } = this;
    return {
      'index/progress': m => {
        if (m.generation !== store.generation) return;
        header.setIndex(m.index);
        // Only the file itself grows with the index; other views were computed over a snapshot.
        if (isDefaultQuery(this.query)) grid.setRowCount(m.index.rowCount, m.index.indexed);
      },
      'document/invalidate': m => this.onFileChanged(m),
      'document/notice': m => header.setNotice(m.notice),
      stats: m => {
        if (m.generation === store.generation) header.setStats(m.stats);
      },
      reveal: m => {
        if (m.view) this.adoptView(m.view);
        grid.reveal(m.row);
        grid.focus();
      },
      'settings/didChange': m => {
        grid.triageKeys = triageKeys(m.triageKeys);
        this.detail.triageKeys = grid.triageKeys;
        grid.refresh();
      },
      'trust/didChange': m => {
        this.trusted = m.trusted;
        header.setTrusted(m.trusted);
        this.showView(this.view);
      },
      'view/progress': m =>
        m.label
          ? scope.setProgress(m.label, m.done, m.total, m.matches)
          : scope.setProgress(undefined),
      'view/didChange': m => this.onViewChanged(m.view, m.rowsChanged, m.message),
    };
  }

  /** The file changed on disk: back to the file itself, then the query again over the new rows. */
  private onFileChanged(m: InvalidateEvent): void {
    const { header, grid } = this;
    this.store.invalidate(m.generation, m.index.rowCount, m.view.viewId);
    header.setIndex(m.index);
    header.setSchema(m.schema);
    header.setStats(undefined);
    header.setNotice(m.notice);
    const q = this.query;
    this.view = m.view;
    this.query = DEFAULT_QUERY;
    grid.setRowCount(m.index.rowCount, m.index.indexed);
    grid.refresh();
    this.showView(this.view);
    if (!isDefaultQuery(q)) this.applyQuery(q);
    this.map.refresh(['layout', 'columns', 'state']);
  }

  /** Decisions, scores or density changed, or a command set another view. */
  private onViewChanged(view: ViewInfo, rowsChanged: boolean, message: string | undefined): void {
    if (view.viewId !== this.store.viewId) {
      // A view set by a command: adopt it.
      this.adoptView(view);
      return;
    }
    this.view = view;
    this.showView(view);
    if (message) this.scope.setStatus(message);
    if (rowsChanged) {
      this.map.refresh(['columns', 'state']);
      this.store.markStale();
      this.grid.refresh();
      if (this.detailOpen) this.loadDetail(this.grid.focused);
    }
  }
}
