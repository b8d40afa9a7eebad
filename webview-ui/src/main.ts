/**
 * Dataset view bootstrap: asks the host for `init`, builds the header, toolbar, scope bar, filter
 * panel, grid and detail panel, and wires them to the host. The host computes every view (sort,
 * filter, search over the whole file); this side only says what the user wants and pages through
 * the result. All transport goes through ./host.
 */
import './styles/main.css';
import type {
  DecisionTarget,
  DecisionValue,
  InitResponse,
  PersistedViewState,
  ToWebviewMessage,
  ViewFilter,
  ViewInfo,
  ViewQuery,
} from '../../src/shared/webviewProtocol';
import { DEFAULT_QUERY } from '../../src/shared/webviewProtocol';
import type { ColumnWidths } from './columns';
import { FilterPanel, ScopeBar, Toolbar, cleanRange, filterCount } from './controls';
import { DetailPanel } from './detail';
import { codicon, el } from './dom';
import { Grid, type GridAction, type RenderInfo } from './grid';
import { keyHelp, triageKeys } from './keymap';
import { Header } from './header';
import { host, loadViewState, logToHost, onHostEvent, saveViewState } from './host';
import { RowStore } from './rowStore';
import { rangesSize } from './selection';

/** Pages kept in the webview: 64 x pageSize rows, a few hundred kB at most. */
const CACHE_PAGES = 64;

/** A trailing throttle that always delivers the latest arguments. */
interface Throttled<A extends unknown[]> {
  /** Delivers within `ms`, with the arguments of the last call by then. */
  (...args: A): void;
  /** Delivers now and drops a pending delivery (which would carry older arguments). */
  now(...args: A): void;
}

function throttle<A extends unknown[]>(fn: (...args: A) => void, ms: number): Throttled<A> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last: A | undefined;
  const throttled = ((...args: A) => {
    last = args;
    timer ??= setTimeout(() => {
      timer = undefined;
      if (last) fn(...last);
      last = undefined;
    }, ms);
  }) as Throttled<A>;
  throttled.now = (...args: A) => {
    clearTimeout(timer);
    timer = undefined;
    last = undefined;
    fn(...args);
  };
  return throttled;
}

function showFatal(message: string): void {
  const box = el('div', 'fatal', { role: 'alert' });
  box.textContent = message;
  document.body.replaceChildren(box);
}

function isDefaultQuery(q: ViewQuery | undefined): boolean {
  return (
    !q || (q.sort === 'line' && !q.descending && !q.search?.text && filterCount(q.filter) === 0)
  );
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function start(init: InitResponse, saved: PersistedViewState | undefined): void {
  let ui: PersistedViewState = saved ?? { topRow: 0, focusedRow: 0 };
  const persist = (part: Partial<PersistedViewState>) => {
    ui = { ...ui, ...part };
    saveViewState(ui);
  };
  let view: ViewInfo = init.view;
  let query: ViewQuery = DEFAULT_QUERY;
  let trusted = init.trusted;
  let filtersOpen = ui.filtersOpen ?? true;
  let detailOpen = ui.detailOpen ?? false;

  const app = el('div', 'app');
  const header = new Header();
  header.setFile(init.fileName, init.filePath);
  header.setIndex(init.index);
  header.setSchema(init.schema);
  header.setStats(init.stats);
  header.setNotice(init.notice);
  header.setTrusted(init.trusted);

  const store = new RowStore(
    (generation, viewId, start, count) =>
      host.sendRequest({ type: 'rows/get', generation, viewId, start, count }),
    init.generation,
    init.index.rowCount,
    { pageSize: init.pageSize, capacityPages: CACHE_PAGES },
    () => grid.refresh(),
    e => logToHost('error', `Loading rows failed: ${errorMessage(e)}`),
    init.view.viewId,
  );

  let lastReported: RenderInfo | undefined;
  const sendRender = (info: RenderInfo) =>
    host.sendEvent({
      type: 'view/didRender',
      generation: store.generation,
      ...info,
      rowsReceived: store.rowsReceived,
      pagesInFlight: store.pagesInFlight,
    });
  const reportRender = throttle(sendRender, 150);
  const reportFocus = throttle(
    (row: number) => host.sendEvent({ type: 'focus/didChange', row, viewId: store.viewId }),
    100,
  );
  // setState is cheap (VS Code keeps it in memory): save every move, so a view hidden right
  // after a move comes back exactly there.
  let lastSaved = '';
  const persistPosition = (topRow: number, focusedRow: number) => {
    const key = `${topRow}:${focusedRow}`;
    if (key === lastSaved) return;
    lastSaved = key;
    persist({ topRow, focusedRow });
  };

  if (init.firstPage) store.seed(init.firstPage.start, init.firstPage.rows);

  // -- detail panel ---------------------------------------------------------------------------
  const detail = new DetailPanel({
    onOpen: row => host.sendEvent({ type: 'openAsText', row }),
    onDecide: d => decide(undefined, d),
    onClose: () => setDetailOpen(false),
  });
  let detailRequest = 0;
  const loadDetail = throttle((position: number) => {
    if (!detailOpen) return;
    const id = ++detailRequest;
    const viewId = store.viewId;
    host.sendRequest({ type: 'row/detail/get', viewId, position }).then(
      reply => {
        if (id !== detailRequest) return;
        if (reply.detail) detail.show(reply.detail);
        else
          detail.showMessage(
            view.count === 0 ? 'No rows in this view.' : 'Select a row to see it in full.',
          );
      },
      (e: unknown) => detail.showMessage(`Could not read the row: ${errorMessage(e)}`),
    );
  }, 60);

  // -- grid -----------------------------------------------------------------------------------
  const grid: Grid = new Grid(
    store,
    {
      onPositionChange: persistPosition,
      onFocusChange: position => {
        reportFocus(position);
        loadDetail(position);
      },
      onOpenRow: position => openRow(position),
      onAction: action => onAction(action),
      onColumnsChange: (widths: ColumnWidths, hidden) =>
        persist({ columnWidths: widths as Record<string, number>, hiddenColumns: [...hidden] }),
      onRender: info => {
        const prev = lastReported;
        lastReported = info;
        if (
          prev &&
          prev.firstRow === info.firstRow &&
          prev.lastRow === info.lastRow &&
          prev.loadedRows === info.loadedRows &&
          prev.focusedRow === info.focusedRow &&
          prev.rowCount === info.rowCount
        )
          return;
        // The first painted rows go out at once: the host times open-to-first-rows with them.
        if ((!prev || prev.loadedRows === 0) && info.loadedRows > 0) reportRender.now(info);
        else reportRender(info);
        // Rows of the detail panel arrive with their page.
        if (detailOpen && detail.row === undefined && info.loadedRows > 0) loadDetail(grid.focused);
      },
    },
    { widths: (ui.columnWidths ?? {}) as ColumnWidths, hidden: ui.hiddenColumns ?? [] },
  );
  grid.triageKeys = triageKeys(init.triageKeys);
  detail.triageKeys = grid.triageKeys;

  function openRow(position: number): void {
    const row = store.row(position);
    host.sendEvent({ type: 'openAsText', row: row ? row.index : position });
  }

  // -- controls ---------------------------------------------------------------------------------
  const scope = new ScopeBar({
    onCancel: () => host.sendEvent({ type: 'view/cancel' }),
    onRefresh: () => applyQuery(query, true),
    onClearAll: () => applyQuery(DEFAULT_QUERY),
  });
  const toolbar = new Toolbar({
    onSearch: search => applyQuery({ ...query, search }),
    onCancel: () => host.sendEvent({ type: 'view/cancel' }),
    onSort: (sort, descending, threshold) =>
      applyQuery({ ...query, sort, descending, ...(sort === 'uncertain' ? { threshold } : {}) }),
    onToggleFilters: () => setFiltersOpen(!filtersOpen),
    onToggleDetail: () => setDetailOpen(!detailOpen),
    onColumns: anchor => grid.toggleColumnMenu(anchor),
    onCommand: command => host.sendEvent({ type: 'command', command }),
    onHelp: () => toggleHelp(),
    onLeave: () => grid.focus(),
  });
  const filters = new FilterPanel({
    onFilter: (f: ViewFilter) => {
      const filter: ViewFilter = {
        ...f,
        ...(f.score ? { score: cleanRange(f.score) } : {}),
        ...(f.density ? { density: cleanRange(f.density) } : {}),
      };
      applyQuery({ ...query, filter });
    },
    onDecide: (target, decision) => decide(target, decision),
  });

  function setFiltersOpen(open: boolean): void {
    filtersOpen = open;
    filters.element.classList.toggle('hidden', !open);
    toolbar.setPanels(filtersOpen, detailOpen);
    persist({ filtersOpen: open });
  }

  function setDetailOpen(open: boolean): void {
    detailOpen = open;
    detail.element.classList.toggle('hidden', !open);
    splitter.classList.toggle('hidden', !open);
    toolbar.setPanels(filtersOpen, detailOpen);
    persist({ detailOpen: open });
    if (open) loadDetail.now(grid.focused);
    else grid.focus();
  }

  // The splitter between the grid and the detail panel (drag, or arrow keys when focused).
  const splitter = el('div', 'splitter', {
    role: 'separator',
    tabindex: '0',
    'aria-orientation': 'vertical',
    'aria-label': 'Resize the detail panel',
  });
  const setDetailWidth = (px: number) => {
    const w = Math.max(240, Math.min(Math.round(px), window.innerWidth - 320));
    detail.element.style.width = `${w}px`;
    persist({ detailWidth: w });
  };
  splitter.addEventListener('pointerdown', e => {
    e.preventDefault();
    splitter.setPointerCapture(e.pointerId);
    const startX = e.clientX;
    const startW = detail.element.getBoundingClientRect().width;
    const move = (ev: PointerEvent) => setDetailWidth(startW - (ev.clientX - startX));
    const up = () => {
      splitter.removeEventListener('pointermove', move);
      splitter.removeEventListener('pointerup', up);
    };
    splitter.addEventListener('pointermove', move);
    splitter.addEventListener('pointerup', up);
  });
  splitter.addEventListener('keydown', e => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    setDetailWidth(
      detail.element.getBoundingClientRect().width + (e.key === 'ArrowLeft' ? 24 : -24),
    );
  });
  if (ui.detailWidth) detail.element.style.width = `${ui.detailWidth}px`;

  // -- help -----------------------------------------------------------------------------------
  let help: HTMLElement | undefined;
  function toggleHelp(): void {
    if (help) {
      help.remove();
      help = undefined;
      grid.focus();
      return;
    }
    const box = el('div', 'help', {
      role: 'dialog',
      'aria-modal': 'true',
      'aria-label': 'Keyboard shortcuts',
      tabindex: '-1',
    });
    const head = el('div', 'help-head');
    head.append(codicon('keyboard'), el('h2', undefined, undefined, 'Keyboard shortcuts'));
    const table = el('table', 'help-table');
    for (const [keys, what] of keyHelp(grid.triageKeys)) {
      const tr = el('tr');
      tr.append(el('th', undefined, { scope: 'row' }, keys), el('td', undefined, undefined, what));
      table.append(tr);
    }
    const note = el(
      'p',
      'muted',
      undefined,
      'Decisions are edits of this editor: the tab shows unsaved changes, Ctrl+S saves them to <file>.winnow.json beside the dataset, and the dataset itself is never changed.',
    );
    const close = el('button', 'secondary-button', { type: 'button' }, 'Close (Escape)');
    close.addEventListener('click', () => toggleHelp());
    box.append(head, table, note, close);
    box.addEventListener('keydown', e => {
      if (e.key === 'Escape' || e.key === '?') {
        e.preventDefault();
        e.stopPropagation();
        toggleHelp();
      }
    });
    document.body.append(box);
    help = box;
    box.focus();
  }

  // -- views --------------------------------------------------------------------------------------
  let pendingQuery = 0;
  /** Whether a view/set request is in flight (its progress line must stay). */
  let querying = false;
  /** Asks the host for the view of `q`; the grid keeps showing the current one meanwhile. */
  function applyQuery(
    q: ViewQuery,
    keepPosition = false,
    restore?: { top: number; focus: number },
  ): void {
    const id = ++pendingQuery;
    toolbar.setSearching(!!q.search?.text);
    scope.setProgress(q.search?.text ? 'Searching' : 'Computing the view', 0, 0);
    const oldFocus = grid.focused;
    querying = true;
    host.sendRequest({ type: 'view/set', query: q }).then(
      reply => {
        if (id !== pendingQuery) return;
        querying = false;
        scope.setProgress(undefined);
        toolbar.setSearching(false);
        adoptView(reply.view);
        if (restore) grid.restorePosition(restore.top, restore.focus);
        // A refresh stays near where the user was (positions move when rows leave the view).
        else if (keepPosition && reply.view.count > 0)
          grid.reveal(Math.min(oldFocus, reply.view.count - 1));
      },
      (e: unknown) => {
        if (id !== pendingQuery) return;
        querying = false;
        scope.setProgress(undefined);
        toolbar.setSearching(false);
        const msg = errorMessage(e);
        scope.setStatus(
          /cancel/i.test(msg) ? 'Search cancelled: the previous view stays.' : msg,
          !/cancel/i.test(msg),
        );
        toolbar.setQuery(query);
      },
    );
  }

  function adoptView(v: ViewInfo, focus = 0): void {
    const changed = v.viewId !== store.viewId;
    view = v;
    query = v.query;
    if (changed) {
      store.setView(v.viewId, v.count);
      grid.resetView(v.count, v.complete, focus);
    } else grid.setRowCount(v.count, v.complete);
    grid.setEmptyText(
      isDefaultQuery(query)
        ? 'The file has no lines.'
        : 'No rows match. "Show all rows" clears the search and filters.',
    );
    showView(v);
    persist({ query: isDefaultQuery(query) ? undefined : query });
  }

  function showView(v: ViewInfo): void {
    grid.setSources(v.sources);
    toolbar.setQuery(v.query);
    toolbar.setFilterCount(filterCount(v.query.filter));
    filters.update(trusted ? v : { ...v, editable: false });
    scope.update(v, isDefaultQuery(v.query));
  }

  // -- decisions --------------------------------------------------------------------------------
  function decide(target: DecisionTarget | undefined, decision: DecisionValue): void {
    if (!view.editable || !trusted) {
      scope.setStatus('Restricted Mode: the dataset view is read-only.', true);
      return;
    }
    const selection = grid.selectedRanges;
    const single = !target && selection.length === 0;
    const t: DecisionTarget =
      target ??
      (selection.length > 0
        ? { kind: 'positions', ranges: selection }
        : { kind: 'positions', ranges: [[grid.focused, grid.focused]] });
    // Show it at once; the host's answer repaints the rows from the document.
    if (t.kind === 'positions') {
      const d = decision === 'unset' ? undefined : decision;
      if (rangesSize(t.ranges) <= 5000)
        for (const [a, b] of t.ranges) for (let p = a; p <= b; p++) store.patchDecision(p, d);
      grid.refresh();
    }
    host.sendRequest({ type: 'decide', viewId: store.viewId, target: t, decision }).then(
      reply => {
        // A decision on rows the scan had not reached showed its wait in the progress line.
        if (!querying) scope.setProgress(undefined);
        scope.setStatus(reply.changed ? `${reply.message} · u undoes` : reply.message);
        if (detailOpen) loadDetail(grid.focused);
      },
      (e: unknown) => {
        if (!querying) scope.setProgress(undefined);
        scope.setStatus(errorMessage(e), true);
        store.markStale();
        grid.refresh();
      },
    );
    if (single) grid.advance(1);
    else if (!target) grid.clearSelection();
  }

  function onAction(action: GridAction): void {
    switch (action) {
      case 'keep':
        return decide(undefined, 'keep');
      case 'drop':
        return decide(undefined, 'drop');
      case 'clear':
        return decide(undefined, 'unset');
      case 'undo':
      case 'redo':
        host.sendEvent({ type: 'command', command: action });
        return;
      case 'search':
        toolbar.searchInput.focus();
        toolbar.searchInput.select();
        return;
      case 'detail':
        return setDetailOpen(!detailOpen);
      case 'open':
        return openRow(grid.focused);
      case 'filters':
        return setFiltersOpen(!filtersOpen);
      case 'refresh':
        if (view.stale) applyQuery(query, true);
        return;
      case 'help':
        return toggleHelp();
    }
  }

  // -- layout -----------------------------------------------------------------------------------
  const main = el('div', 'main');
  const gridWrap = el('div', 'grid-wrap');
  gridWrap.append(grid.element);
  main.append(gridWrap, splitter, detail.element);
  app.append(header.element, toolbar.element, scope.element, filters.element, main);
  document.body.replaceChildren(app);
  setFiltersOpen(filtersOpen);
  detail.element.classList.toggle('hidden', !detailOpen);
  splitter.classList.toggle('hidden', !detailOpen);
  toolbar.setPanels(filtersOpen, detailOpen);
  grid.layout();
  grid.setRowCount(init.index.rowCount, init.index.indexed);
  showView(view);

  if (init.revealRow !== undefined) grid.reveal(init.revealRow);
  else if (saved && !isDefaultQuery(saved.query) && saved.query)
    applyQuery(saved.query, false, { top: saved.topRow, focus: saved.focusedRow });
  else if (saved) grid.restorePosition(saved.topRow, saved.focusedRow);
  grid.focus();
  if (detailOpen) loadDetail(grid.focused);

  onHostEvent((message: ToWebviewMessage) => {
    switch (message.type) {
      case 'index/progress':
        if (message.generation !== store.generation) return;
        header.setIndex(message.index);
        // Only the file itself grows with the index; other views were computed over a snapshot.
        if (isDefaultQuery(query)) grid.setRowCount(message.index.rowCount, message.index.indexed);
        return;
      case 'document/notice':
        header.setNotice(message.notice);
        return;
      case 'document/invalidate': {
        store.invalidate(message.generation, message.index.rowCount, message.view.viewId);
        header.setIndex(message.index);
        header.setSchema(message.schema);
        header.setStats(undefined);
        header.setNotice(message.notice);
        const q = query;
        view = message.view;
        query = DEFAULT_QUERY;
        grid.setRowCount(message.index.rowCount, message.index.indexed);
        grid.refresh();
        showView(view);
        if (!isDefaultQuery(q)) applyQuery(q);
        return;
      }
      case 'stats':
        if (message.generation === store.generation) header.setStats(message.stats);
        return;
      case 'reveal':
        if (message.view) adoptView(message.view);
        grid.reveal(message.row);
        grid.focus();
        return;
      case 'settings/didChange':
        grid.triageKeys = triageKeys(message.triageKeys);
        detail.triageKeys = grid.triageKeys;
        grid.refresh();
        return;
      case 'trust/didChange':
        trusted = message.trusted;
        header.setTrusted(message.trusted);
        showView(view);
        return;
      case 'view/progress':
        scope.setProgress(message.label, message.done, message.total, message.matches);
        return;
      case 'view/didChange':
        if (message.view.viewId !== store.viewId) {
          // A view set by a command: adopt it.
          adoptView(message.view);
          return;
        }
        view = message.view;
        showView(view);
        if (message.message) scope.setStatus(message.message);
        if (message.rowsChanged) {
          store.markStale();
          grid.refresh();
          if (detailOpen) loadDetail(grid.focused);
        }
        return;
      case 'init':
      case 'rows':
      case 'view':
      case 'row/detail':
      case 'decide/result':
        // Replies are routed to their requests by the message handler, never here.
        return;
    }
  });
}

// Uncaught problems in the view go to the "Winnow" log, where users and tests can see them.
window.addEventListener('error', e =>
  logToHost('error', `Uncaught: ${e.message} (${e.filename}:${e.lineno})`),
);
window.addEventListener('unhandledrejection', e =>
  logToHost(
    'error',
    `Unhandled rejection: ${e.reason instanceof Error ? e.reason.stack : String(e.reason)}`,
  ),
);

const saved = loadViewState();
host
  .sendRequest({
    type: 'ready',
    // The saved top row is a position in the saved view: the host can seed it only for the file itself.
    ...(saved && isDefaultQuery(saved.query) ? { topRow: saved.topRow } : {}),
  })
  .then(
    init => start(init, saved),
    (e: unknown) => {
      const message = errorMessage(e);
      showFatal(`Winnow could not open this file: ${message}`);
      logToHost('error', `Dataset view failed to start: ${message}`);
    },
  );
