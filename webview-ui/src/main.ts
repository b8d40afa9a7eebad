/**
 * Dataset view bootstrap: asks the host for `init`, builds the header and the grid, and wires
 * host events to them. All transport goes through ./host.
 */
import './styles/main.css';
import type {
  InitResponse,
  PersistedViewState,
  ToWebviewMessage,
} from '../../src/shared/webviewProtocol';
import { el } from './dom';
import { Grid, type RenderInfo } from './grid';
import { Header } from './header';
import { host, loadViewState, logToHost, onHostEvent, saveViewState } from './host';
import { RowStore } from './rowStore';

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

function start(init: InitResponse, saved: PersistedViewState | undefined): void {
  const app = el('div', 'app');
  const header = new Header();
  header.setFile(init.fileName, init.filePath);
  header.setIndex(init.index);
  header.setSchema(init.schema);
  header.setStats(init.stats);
  header.setNotice(init.notice);
  header.setTrusted(init.trusted);

  const store = new RowStore(
    (generation, start, count) => host.sendRequest({ type: 'rows/get', generation, start, count }),
    init.generation,
    init.index.rowCount,
    { pageSize: init.pageSize, capacityPages: CACHE_PAGES },
    () => grid.refresh(),
    e => logToHost('error', `Loading rows failed: ${e instanceof Error ? e.message : String(e)}`),
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
    (row: number) => host.sendEvent({ type: 'focus/didChange', row }),
    100,
  );
  // setState is cheap (VS Code keeps it in memory): save every move, so a view hidden right
  // after a move comes back exactly there.
  let lastSaved = '';
  const persist = (topRow: number, focusedRow: number) => {
    const key = `${topRow}:${focusedRow}`;
    if (key === lastSaved) return;
    lastSaved = key;
    saveViewState({ topRow, focusedRow });
  };

  if (init.firstPage) store.seed(init.firstPage.start, init.firstPage.rows);

  const grid: Grid = new Grid(store, {
    onPositionChange: persist,
    onFocusChange: reportFocus,
    onOpenRow: row => host.sendEvent({ type: 'openAsText', row }),
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
    },
  });

  app.append(header.element, grid.element);
  document.body.replaceChildren(app);
  grid.layout();
  grid.setRowCount(init.index.rowCount, init.index.indexed);

  if (init.revealRow !== undefined) grid.reveal(init.revealRow);
  else if (saved) grid.restorePosition(saved.topRow, saved.focusedRow);
  grid.focus();

  onHostEvent((message: ToWebviewMessage) => {
    switch (message.type) {
      case 'index/progress':
        if (message.generation !== store.generation) return;
        header.setIndex(message.index);
        grid.setRowCount(message.index.rowCount, message.index.indexed);
        return;
      case 'document/invalidate':
        store.invalidate(message.generation, message.index.rowCount);
        header.setIndex(message.index);
        header.setSchema(message.schema);
        header.setStats(undefined);
        header.setNotice(message.notice);
        grid.setRowCount(message.index.rowCount, message.index.indexed);
        grid.refresh();
        return;
      case 'stats':
        if (message.generation === store.generation) header.setStats(message.stats);
        return;
      case 'reveal':
        grid.reveal(message.row);
        grid.focus();
        return;
      case 'trust/didChange':
        header.setTrusted(message.trusted);
        return;
      case 'init':
      case 'rows':
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
host.sendRequest({ type: 'ready', ...(saved ? { topRow: saved.topRow } : {}) }).then(
  init => start(init, saved),
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    showFatal(`Winnow could not open this file: ${message}`);
    logToHost('error', `Dataset view failed to start: ${message}`);
  },
);
