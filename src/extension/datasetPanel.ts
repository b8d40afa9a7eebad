/**
 * One dataset view panel: owns the webview's HTML and its end of the typed channel, answers the
 * webview's requests from the document, and forwards document events while the webview is alive.
 * With retainContextWhenHidden off, a hidden webview is destroyed; it sends `ready` again when
 * shown and gets a fresh `init`, so nothing is pushed while it is hidden.
 */
import * as vscode from 'vscode';
import { MessageHandler, type Envelope } from '../shared/messageHandler';
import {
  type FromWebviewMessage,
  type HostMessageHandler,
  type HostRequests,
  type InitResponse,
  type RenderedEvent,
  type ToWebviewMessage,
} from '../shared/webviewProtocol';
import type { DatasetDocument } from './datasetDocument';
import { Disposable } from './dispose';
import { errorText, log } from './log';
import { PREVIEW_CHARS } from './rowViews';
import { datasetViewHtml, webviewOptions } from './webviewHtml';

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
}

export class DatasetPanel extends Disposable {
  private readonly channel: HostMessageHandler;
  private ready = false;
  private focusedRow = 0;
  private render: RenderedEvent | undefined;
  private firstRowsMs: number | undefined;
  private rowsSent = 0;
  private readonly timings: PanelTimings = {};

  constructor(
    readonly document: DatasetDocument,
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly host: DatasetPanelHost,
    /** performance.now() when the user's open started: the clock for time-to-first-rows. */
    private readonly startedAt: number,
  ) {
    super();
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
      document.onDidInvalidate(({ reason }) =>
        this.send({
          type: 'document/invalidate',
          generation: document.generation,
          reason,
          index: document.indexState,
          schema: document.schema,
          ...(document.notice ? { notice: document.notice } : {}),
        }),
      ),
    );
    this.register(
      vscode.workspace.onDidGrantWorkspaceTrust(() =>
        this.send({ type: 'trust/didChange', trusted: true }),
      ),
    );
    webview.html = datasetViewHtml(webview, extensionUri, document.fileName);
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
    };
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  /** Focuses `row` in the view (now if the webview is alive, else when it next starts). */
  reveal(row: number): boolean {
    if (!this.ready) return false;
    this.send({ type: 'reveal', row });
    return true;
  }

  private send(message: ToWebviewMessage): void {
    if (this.ready && !this.isDisposed) this.channel.sendEvent(message);
  }

  private async onMessage(message: FromWebviewMessage): Promise<ToWebviewMessage | undefined> {
    switch (message.type) {
      case 'ready':
        return this.init(message.topRow);
      case 'rows/get': {
        this.timings.firstRowsRequested ??= this.elapsed();
        const doc = this.document;
        const rows = await doc.rowViews(message.start, message.count);
        this.rowsSent += rows.length;
        return {
          type: 'rows',
          generation: doc.generation,
          start: message.start,
          rows,
          rowCount: doc.file.lineCount,
        };
      }
      case 'focus/didChange':
        this.focusedRow = message.row;
        this.host.onDidUpdate(this);
        return undefined;
      case 'view/didRender':
        this.render = message;
        this.focusedRow = message.focusedRow;
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
    }
  }

  private async init(savedTopRow: number | undefined): Promise<InitResponse> {
    const doc = this.document;
    this.ready = true;
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
      ...(revealRow !== undefined ? { revealRow } : {}),
      ...(rows ? { firstPage: { start, rows } } : {}),
    };
  }

  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    try {
      this.panel.dispose();
    } catch (e) {
      log.debug(`Disposing a dataset panel: ${errorText(e)}`);
    }
  }
}
