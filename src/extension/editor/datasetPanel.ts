/**
 * One dataset view panel: owns the webview's HTML and its end of the typed channel, its current
 * view (sort, filter, search: ./datasetView), answers the webview's requests from the document,
 * and forwards document events while the webview is alive. With retainContextWhenHidden off, a
 * hidden webview is destroyed; it sends `ready` again when shown and gets a fresh `init`, so
 * nothing is pushed while it is hidden.
 */
import * as vscode from 'vscode';
import { MessageHandler, type Envelope } from '../../shared/protocol/messageHandler';
import {
  type DecideRequest,
  type DecideResponse,
  type FromWebviewMessage,
  type HostMessageHandler,
  type HostRequests,
  type InitResponse,
  type RenderedEvent,
  type RowsResponse,
  type ToWebviewMessage,
  type ViewQuery,
  type ViewResponse,
  type TriageKeys,
} from '../../shared/protocol/webview';
import type { DatasetDocument } from './datasetDocument';
import { DatasetView } from '../../core/dataset/datasetView';
import { Disposable } from '../dispose';
import { SearchCancelled } from '../../core/dataset/textSearch';
import { classifyChange, readHostSettings } from '../config';
import { errorText, log } from '../log';
import { PREVIEW_CHARS } from '../../core/dataset/rowViews';
import { datasetViewHtml, webviewOptions } from './webviewHtml';
import { MapBridge, type MapWorker } from './mapBridge';

/** Rows per page the webview requests and caches. */
export const PAGE_SIZE = 128;

/** What a panel reports about itself (API for tests and commands). */
export interface DatasetPanelState {
  readonly uri: vscode.Uri;
  readonly generation: number;
  /** Whether the webview has asked for `init` and is alive. */
  readonly ready: boolean;
  readonly visible: boolean;
  readonly active: boolean;
  readonly focusedRow: number;
  /** The last render the webview reported, if any. */
  readonly render: RenderedEvent | undefined;
  /** Milliseconds from opening (or from this panel's creation, for a second panel) to the first painted rows. */
  readonly firstRowsMs: number | undefined;
  /** Rows sent to this panel's webview so far: proves that it pages instead of loading the file. */
  readonly rowsSent: number;
  /** Milestones in ms after the open started: where the time to first rows goes. */
  readonly timings: PanelTimings;
  /** The panel's current view: its id, query and row count. */
  readonly view: { readonly id: number; readonly query: ViewQuery; readonly count: number };
}

/** Milestones of a panel's start, in ms after the user's open started. */
export interface PanelTimings {
  /** The panel was created (the document was opened and its schema detected by then). */
  panelCreated?: number;
  /** The webview script sent `ready`. */
  webviewReady?: number;
  /** The first `rows/get` arrived. */
  firstRowsRequested?: number;
  /** The first rows were painted (same as firstRowsMs). */
  firstRowsPainted?: number;
}

/** Callbacks from a panel to the registry. */
export interface DatasetPanelHost {
  /** A row to reveal when the webview (re)starts, consumed once. */
  takePendingReveal(uri: vscode.Uri): number | undefined;
  /** The panel painted rows or moved its focus. */
  onDidUpdate(panel: DatasetPanel): void;
  /** The user asked for the text editor at `row`. */
  openAsText(uri: vscode.Uri, row: number): void;
  /** The user asked to export the kept rows. */
  exportKept(uri: vscode.Uri): void;
  /** The worker's map and near-duplicate requests. */
  readonly mapWorker: MapWorker;
}

/** Least time between two `view/didChange` events (decisions can change on every key press). */
const VIEW_CHANGE_INTERVAL_MS = 120;
/** Least time between two `view/progress` events. */
const VIEW_PROGRESS_INTERVAL_MS = 150;

export class DatasetPanel extends Disposable {
  private readonly channel: HostMessageHandler;
  private ready = false;
  private focusedRow = 0;
  private render: RenderedEvent | undefined;
  private firstRowsMs: number | undefined;
  private rowsSent = 0;
  private readonly timings: PanelTimings = {};
  private view: DatasetView;
  /** Aborts the view computation in progress, if any (a new one aborts it). */
  private computing: AbortController | undefined;
  private changeTimer: NodeJS.Timeout | undefined;
  private pendingChange = { rows: false, decisions: false, scores: false };
  /** The document's last undo/redo this panel has reported. */
  private lastActionSeen = 0;
  private readonly map: MapBridge;

  constructor(
    readonly document: DatasetDocument,
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly host: DatasetPanelHost,
    /** performance.now() when the user's open started: the clock for time-to-first-rows. */
    private readonly startedAt: number,
  ) {
    super();
    this.view = DatasetView.identity(document);
    this.map = new MapBridge(
      document,
      () => this.view,
      host.mapWorker,
      (label, done, total) => this.send({ type: 'view/progress', label, done, total }),
    );
    this.lastActionSeen = document.lastAction?.id ?? 0;
    // The document's full row scan waits for this view's first paint (or its disposal).
    this.register(document.attachView());
    this.timings.panelCreated = this.elapsed();
    const webview = panel.webview;
    webview.options = webviewOptions(extensionUri);
    this.channel = new MessageHandler<ToWebviewMessage, FromWebviewMessage, HostRequests>(
      envelope => void webview.postMessage(envelope),
      message => this.onMessage(message),
    );
    this.register({ dispose: () => this.channel.close() });
    this.register(
      webview.onDidReceiveMessage(
        (e: Envelope<FromWebviewMessage>) => void this.channel.handleMessage(e),
      ),
    );
    this.register(
      panel.onDidChangeViewState(() => {
        // A hidden webview is torn down (retainContextWhenHidden is off) and will send `ready`.
        if (!panel.visible) this.ready = false;
        this.host.onDidUpdate(this);
      }),
    );
    this.forwardDocumentEvents(document);
    this.forwardWorkspaceEvents();
    webview.html = datasetViewHtml(webview, extensionUri, document.fileName);
  }

  /** Tells the webview what changes in the document: index, stats, invalidation, notices, view. */
  private forwardDocumentEvents(document: DatasetDocument): void {
    this.register(
      document.onDidChangeIndex(index =>
        this.send({ type: 'index/progress', generation: document.generation, index }),
      ),
    );
    this.register(
      document.onDidChangeStats(stats =>
        this.send({ type: 'stats', generation: document.generation, stats }),
      ),
    );
    this.register(
      document.onDidInvalidate(({ reason }) => {
        // Row indices of the old view may be stale: go back to the file itself; the webview
        // applies its query again.
        this.computing?.abort();
        this.view = DatasetView.identity(document);
        this.send({
          type: 'document/invalidate',
          generation: document.generation,
          reason,
          index: document.indexState,
          schema: document.schema,
          ...(document.notice ? { notice: document.notice } : {}),
          view: this.view.info(),
        });
      }),
    );
    this.register(
      document.onDidChangeNotice(() =>
        this.send({
          type: 'document/notice',
          ...(document.notice ? { notice: document.notice } : {}),
        }),
      ),
    );
    this.register(document.onDidChangeDecisions(() => this.viewChanged('decisions')));
    this.register(document.onDidChangeScores(() => this.viewChanged('scores')));
    this.register(
      document.onDidChangeStats(stats => {
        // The field list and the "reading" note change when the scan ends.
        if (stats.done) this.viewChanged('rows');
      }),
    );
  }

  /** Tells the webview about workspace trust and the triage keys setting. */
  private forwardWorkspaceEvents(): void {
    this.register(
      vscode.workspace.onDidGrantWorkspaceTrust(() =>
        this.send({ type: 'trust/didChange', trusted: true }),
      ),
    );
    this.register(
      vscode.workspace.onDidChangeConfiguration(e => {
        const change = classifyChange(e, this.document.uri);
        if (change.has('datasetView.triageKeys'))
          this.send({ type: 'settings/didChange', triageKeys: this.triageKeys() });
        // The calibration (in the view info) follows the target precision.
        if (change.has('calibration.targetPrecision')) this.viewChanged('rows');
      }),
    );
  }

  /** The keep/drop keys the user chose (`winnow.datasetView.triageKeys`). */
  private triageKeys(): TriageKeys {
    return readHostSettings(this.document.uri).triageKeys;
  }

  get state(): DatasetPanelState {
    return {
      uri: this.document.uri,
      generation: this.document.generation,
      ready: this.ready,
      visible: this.panel.visible,
      active: this.panel.active,
      focusedRow: this.focusedRow,
      render: this.render,
      firstRowsMs: this.firstRowsMs,
      rowsSent: this.rowsSent,
      timings: { ...this.timings },
      view: { id: this.view.id, query: this.view.query, count: this.view.count },
    };
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  /** Focuses line `row` (0-based) in the view (now if the webview is alive, else when it next starts). */
  reveal(row: number): boolean {
    if (!this.ready) return false;
    let position = this.view.positionOf(row);
    if (position < 0 && this.view.rows) {
      // The row is not in the current view: show the file itself.
      this.computing?.abort();
      this.view = DatasetView.identity(this.document);
      position = row;
      this.send({ type: 'reveal', row: position, view: this.view.info() });
    } else this.send({ type: 'reveal', row: position < 0 ? row : position });
    return true;
  }

  /** The current view (for commands and tests). */
  get currentView(): DatasetView {
    return this.view;
  }

  /**
   * Sets the panel's view (also used by the API tests): computes it, then tells the webview.
   * Resolves with the view's info, or rejects when cancelled or invalid.
   */
  async setQuery(query: ViewQuery, notify = false): Promise<ViewResponse> {
    this.computing?.abort();
    const computing = new AbortController();
    this.computing = computing;
    let lastProgress = 0;
    const t0 = performance.now();
    try {
      const view = await DatasetView.compute(
        this.document,
        query,
        computing.signal,
        (label, done, total, matches) => {
          const now = Date.now();
          if (now - lastProgress < VIEW_PROGRESS_INTERVAL_MS) return;
          lastProgress = now;
          this.send({
            type: 'view/progress',
            label,
            done,
            total,
            ...(matches !== undefined ? { matches } : {}),
          });
        },
      );
      if (computing.signal.aborted) throw new SearchCancelled();
      this.view = view;
      const info = view.info();
      log.info(
        `Dataset view of ${this.document.fileName}: ${info.scope} (${Math.round(performance.now() - t0)} ms)`,
      );
      this.host.onDidUpdate(this);
      // A view set from outside the webview (a command, a test) is pushed to it.
      if (notify) this.send({ type: 'view/didChange', view: info, rowsChanged: true });
      return { type: 'view', view: info };
    } finally {
      if (this.computing === computing) this.computing = undefined;
    }
  }

  /** Applies a keep/drop decision from the webview or a command. */
  async decide(message: Omit<DecideRequest, 'type'>): Promise<DecideResponse> {
    if (message.viewId !== this.view.id)
      throw new Error('The view changed meanwhile: nothing was decided. Try again.');
    const { rows, rule, label, mixed } = this.view.resolveTarget(message.target, message.decision);
    // Rows the background scan has not reached yet wait for it; say so in the view meanwhile.
    let lastProgress = 0;
    const onWait = (done: number, total: number) => {
      const now = Date.now();
      if (now - lastProgress < VIEW_PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      this.send({ type: 'view/progress', label: 'Reading rows before deciding', done, total });
    };
    const changed = mixed
      ? await this.document.decideMixed(mixed.keep, mixed.drop, label, rule, onWait)
      : await this.document.decide(rows, message.decision, label, rule, onWait);
    const n = changed.toLocaleString('en-US');
    const message_ =
      changed === 0
        ? `${label}: nothing to change`
        : `${label}${changed === rows.length ? '' : ` (${n} changed)`}`;
    return { type: 'decide/result', changed, message: message_ };
  }

  /** Decisions, scores or the scan changed: refresh counts, histograms and cached rows (throttled). */
  private viewChanged(what: 'decisions' | 'scores' | 'rows'): void {
    if (what === 'decisions' || what === 'scores') {
      this.pendingChange.rows = true;
      if (this.view.dependsOn(what)) this.view.stale = true;
    }
    this.pendingChange[what === 'rows' ? 'rows' : what] = true;
    if (this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      const rowsChanged = this.pendingChange.rows;
      this.pendingChange = { rows: false, decisions: false, scores: false };
      const action = this.document.lastAction;
      const message = action && action.id !== this.lastActionSeen ? action.text : undefined;
      this.lastActionSeen = action?.id ?? 0;
      this.send({
        type: 'view/didChange',
        view: this.view.info(),
        rowsChanged,
        ...(message ? { message } : {}),
      });
    }, VIEW_CHANGE_INTERVAL_MS);
  }

  private send(message: ToWebviewMessage): void {
    if (this.ready && !this.isDisposed) this.channel.sendEvent(message);
  }

  private async onMessage(message: FromWebviewMessage): Promise<ToWebviewMessage | undefined> {
    switch (message.type) {
      case 'ready':
        return this.init(message.topRow);
      case 'rows/get':
        return this.rows(message.viewId ?? 0, message.start, message.count);
      case 'focus/didChange':
        if ((message.viewId ?? this.view.id) === this.view.id && message.row < this.view.count)
          this.focusedRow = this.view.rowAt(message.row);
        this.host.onDidUpdate(this);
        return undefined;
      case 'view/didRender':
        this.render = message;
        if (message.loadedRows > 0) this.document.notePainted();
        if (message.focusedRow < this.view.count)
          this.focusedRow = this.view.rowAt(message.focusedRow);
        if (this.firstRowsMs === undefined && message.loadedRows > 0) {
          this.firstRowsMs = performance.now() - this.startedAt;
          this.timings.firstRowsPainted = Math.round(this.firstRowsMs);
          log.info(
            `Dataset view: first ${message.loadedRows} rows of ${this.document.fileName} painted ` +
              `${Math.round(this.firstRowsMs)} ms after opening (${message.rowCount} rows indexed by then).`,
          );
        }
        this.host.onDidUpdate(this);
        return undefined;
      case 'openAsText':
        this.host.openAsText(this.document.uri, message.row);
        return undefined;
      case 'log':
        log[message.level](`[dataset view] ${message.message}`);
        return undefined;
      case 'view/set':
        return this.setQuery(message.query);
      case 'view/cancel':
        this.computing?.abort();
        return undefined;
      case 'row/detail/get': {
        const row =
          message.viewId === this.view.id && message.position < this.view.count
            ? this.view.rowAt(message.position)
            : undefined;
        return {
          type: 'row/detail',
          viewId: message.viewId,
          position: message.position,
          detail: row === undefined ? undefined : await this.document.detail(row),
        };
      }
      case 'decide':
        return this.decide(message);
      case 'compare/set':
        await this.document.setCompareScorer(message.scorer);
        return undefined;
      case 'map/get':
        return this.map.get(message.parts);
      case 'map/preview/get':
        return this.map.preview(message.row);
      case 'map/region/set':
        return this.map.region(message.lines);
      case 'map/locate':
        return this.map.locate(message.row);
      case 'duplicates/find':
        return this.map.findDuplicates();
      case 'command':
        switch (message.command) {
          case 'undo':
          case 'redo':
            // Through VS Code's own undo stack, which calls the document's undo/redo.
            await vscode.commands.executeCommand(message.command);
            return undefined;
          case 'export':
            this.host.exportKept(this.document.uri);
            return undefined;
          case 'showLog':
            log.show();
            return undefined;
        }
    }
  }

  /** A page of the view `viewId` (an older view's pages come back empty). */
  private async rows(viewId: number, start: number, count: number): Promise<RowsResponse> {
    this.timings.firstRowsRequested ??= this.elapsed();
    const doc = this.document;
    const view = this.view;
    const id = viewId === 0 && !view.rows ? view.id : viewId;
    if (id !== view.id)
      return { type: 'rows', generation: doc.generation, viewId, start, rows: [], rowCount: 0 };
    let rows;
    if (!view.rows) rows = await doc.rowViews(start, count);
    else {
      const end = Math.min(view.rows.length, start + Math.min(count, 1000));
      rows = start < end ? await doc.rowViewsOf(view.rows.subarray(start, end)) : [];
    }
    this.rowsSent += rows.length;
    return {
      type: 'rows',
      generation: doc.generation,
      viewId,
      start,
      rows,
      rowCount: view.count,
    };
  }

  private async init(savedTopRow: number | undefined): Promise<InitResponse> {
    const doc = this.document;
    this.ready = true;
    // A restarted webview starts from the file itself and applies its saved query again.
    this.computing?.abort();
    this.view = DatasetView.identity(doc);
    this.timings.webviewReady ??= this.elapsed();
    const revealRow = this.host.takePendingReveal(doc.uri);
    const startRow = revealRow ?? savedTopRow ?? 0;
    const start =
      Number.isFinite(startRow) && startRow > 0 ? Math.floor(startRow / PAGE_SIZE) * PAGE_SIZE : 0;
    const rows = await doc.rowViews(start, PAGE_SIZE).catch((e: unknown) => {
      // The view can still start and page normally; the failure shows up in the log.
      log.warn(`Reading the first page of ${doc.fileName} failed: ${errorText(e)}`);
      return undefined;
    });
    if (rows) this.rowsSent += rows.length;
    return {
      type: 'init',
      fileName: doc.fileName,
      filePath: doc.uri.fsPath,
      generation: doc.generation,
      index: doc.indexState,
      schema: doc.schema,
      ...(doc.stats ? { stats: doc.stats } : {}),
      ...(doc.notice ? { notice: doc.notice } : {}),
      pageSize: PAGE_SIZE,
      previewChars: PREVIEW_CHARS,
      trusted: vscode.workspace.isTrusted,
      ...(doc.file.compression ? { compression: doc.file.compression } : {}),
      triageKeys: this.triageKeys(),
      ...(revealRow !== undefined ? { revealRow } : {}),
      ...(rows ? { firstPage: { start, rows } } : {}),
      view: this.view.info(),
    };
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.computing?.abort();
    clearTimeout(this.changeTimer);
    super.dispose();
    try {
      this.panel.dispose();
    } catch (e) {
      log.debug(`Disposing a dataset panel: ${errorText(e)}`);
    }
  }
}
