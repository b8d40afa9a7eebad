/**
 * The dataset view: a CustomEditorProvider (Winnow's own document, never a TextDocument: files
 * can be 10 GB) for `winnow.datasetView`, the registry of open documents and panels, the bridge
 * to the worker's score columns, and the commands (switching to the text editor and back,
 * decisions, export).
 *
 * It is a full CustomEditorProvider, not the read-only variant: keep/drop decisions are edits of
 * the custom document with undo/redo, dirty state, save to a sidecar and hot-exit backup.
 */
import * as vscode from 'vscode';
import { DATASET_VIEW_TYPE, type ViewInfo, type ViewQuery } from '../../shared/protocol/webview';
import {
  DecisionHashesRequest,
  DidChangeColumnsNotification,
  DidChangeRowFactsNotification,
  GetColumnsRequest,
  GetScorerColumnRequest,
  GetDuplicateGroupsRequest,
  GetLayoutRequest,
  GetRowFactsRequest,
  MapProgressNotification,
  SetSavedDecisionsRequest,
  type GetColumnsResult,
  type GetScorerColumnResult,
  type MapProgressParams,
} from '../../shared/protocol/worker';
import type { MapWorker } from './mapBridge';
import type { RowFactsSource } from '../../core/dataset/rowFactsFeed';
import {
  DatasetDocument,
  type DatasetDocumentOptions,
  type SidecarChangeQuestion,
  type SidecarChoice,
} from './datasetDocument';
import { DatasetPanel, type DatasetPanelHost, type DatasetPanelState } from './datasetPanel';
import { errorText, log } from '../log';
import type { WorkerClient } from '../client/workerClient';
import { classifyChange, readHostSettings } from '../config';

/** What `registerDatasetEditor` returns: the view's API, used by commands and the API tests. */
export interface DatasetEditorApi {
  readonly viewType: string;
  /** The state of every open dataset view panel of `uri`. */
  panels(uri: vscode.Uri): DatasetPanelState[];
  /** The active dataset view panel, if a dataset view is the active editor. */
  activePanel(): DatasetPanelState | undefined;
  /** Fires when a panel painted rows, moved its focus or changed visibility. */
  readonly onDidUpdatePanel: vscode.Event<DatasetPanelState>;
  /** Focuses `row` in the open views of `uri`, or in the next view of `uri` to start. */
  reveal(uri: vscode.Uri, row: number): void;
  /** The open document of `uri`, if any (index state, schema, stats, decisions). */
  document(uri: vscode.Uri): DatasetDocument | undefined;
  /** The document of `uri` once the dataset view opens it, or undefined after `waitMs`. */
  whenDocument(uri: vscode.Uri, waitMs: number): Promise<DatasetDocument | undefined>;
  /** The panel objects of `uri` (their views and decisions: commands and the API tests). */
  panelObjects(uri: vscode.Uri): DatasetPanel[];
  /** Sets the query of the first panel of `uri` and resolves with its view (API tests). */
  setQuery(uri: vscode.Uri, query: ViewQuery): Promise<ViewInfo>;
  /**
   * Opens a document of `uri` (from a hot-exit backup, with `backupId`) with the view's options
   * and the worker's row facts, but shows no panel and registers it nowhere: for the API tests
   * of saving and restoring. `options` replace the view's (e.g. who answers a sidecar change).
   */
  openDocument(
    uri: vscode.Uri,
    backupId: string | undefined,
    options?: Partial<DatasetDocumentOptions>,
  ): Promise<DatasetDocument>;
}

class DatasetEditorProvider
  implements vscode.CustomEditorProvider<DatasetDocument>, DatasetPanelHost, DatasetEditorApi
{
  readonly viewType = DATASET_VIEW_TYPE;
  private readonly documents = new Map<string, DatasetDocument>();
  private readonly panelsByUri = new Map<string, Set<DatasetPanel>>();
  private readonly pendingReveal = new Map<string, number>();
  /** Holds of datasets in the worker made by documents (released on dispose), by URI. */
  private readonly workerHolds = new Map<string, number>();
  /** Documents opened with {@link openDocument} (not shown), by URI: they get facts events too. */
  private readonly unlisted = new Map<string, Set<DatasetDocument>>();
  private readonly _onDidChangeCustomDocument = new vscode.EventEmitter<
    vscode.CustomDocumentEditEvent<DatasetDocument>
  >();
  readonly onDidChangeCustomDocument = this._onDidChangeCustomDocument.event;
  private readonly _onDidUpdatePanel = new vscode.EventEmitter<DatasetPanelState>();
  readonly onDidUpdatePanel = this._onDidUpdatePanel.event;
  private readonly _onDidOpenDocument = new vscode.EventEmitter<DatasetDocument>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly worker: WorkerClient,
  ) {
    context.subscriptions.push(
      this._onDidChangeCustomDocument,
      this._onDidUpdatePanel,
      this._onDidOpenDocument,
      vscode.workspace.onDidChangeConfiguration(e => this.onDidChangeSettings(e)),
      worker.onNotification(DidChangeColumnsNotification.type, ({ uri }) => {
        void this.documents.get(vscode.Uri.parse(uri).toString())?.refreshScores();
      }),
      worker.onNotification(DidChangeRowFactsNotification.type, ({ uri }) => {
        const key = vscode.Uri.parse(uri).toString();
        this.documents.get(key)?.rowFactsChanged();
        for (const doc of this.unlisted.get(key) ?? []) doc.rowFactsChanged();
      }),
    );
  }

  /** Settings that open dataset views read once: say that a reopen applies them. */
  private onDidChangeSettings(e: vscode.ConfigurationChangeEvent): void {
    const stale = [...this.documents.values()].filter(doc =>
      [...classifyChange(e, doc.uri).values()].includes('reopenDataset'),
    );
    if (stale.length === 0) return;
    const names = stale.map(d => d.fileName).join(', ');
    void vscode.window.showInformationMessage(
      `Winnow: reopen the dataset view of ${names} to apply the changed setting.`,
    );
  }

  // -- CustomEditorProvider -------------------------------------------------------------------

  async openCustomDocument(
    uri: vscode.Uri,
    openContext: vscode.CustomDocumentOpenContext,
    _token: vscode.CancellationToken,
  ): Promise<DatasetDocument> {
    let doc: DatasetDocument;
    try {
      doc = await DatasetDocument.open(uri, openContext.backupId, this.documentOptions(uri));
    } catch (e) {
      log.error(`Could not open ${uri.fsPath} in the dataset view: ${errorText(e)}`);
      throw e;
    }
    const key = uri.toString();
    this.documents.set(key, doc);
    this._onDidOpenDocument.fire(doc);
    doc.onDidChangeContent(e => this._onDidChangeCustomDocument.fire(e));
    doc.onDidDispose(() => {
      if (this.documents.get(key) === doc) this.documents.delete(key);
      this.releaseWorker(uri);
    });
    // The worker scans the whole file: let the first screen of rows go first.
    void doc.whenFirstRowsServed(2000).then(async () => {
      if (doc.isDisposed) return;
      await this.holdWorker(uri);
      doc.rowFactsChanged();
      void doc.refreshScores();
    });
    return doc;
  }

  async resolveCustomEditor(
    document: DatasetDocument,
    webviewPanel: vscode.WebviewPanel,
    _token: vscode.CancellationToken,
  ): Promise<void> {
    const key = document.uri.toString();
    const set = this.panelsByUri.get(key) ?? new Set<DatasetPanel>();
    this.panelsByUri.set(key, set);
    // The first panel is timed from the start of opening; a second (split) panel from now.
    const startedAt = set.size === 0 ? document.openedAt : performance.now();
    const panel = new DatasetPanel(
      document,
      webviewPanel,
      this.context.extensionUri,
      this,
      startedAt,
    );
    set.add(panel);
    webviewPanel.onDidDispose(() => {
      set.delete(panel);
      if (set.size === 0) this.panelsByUri.delete(key);
      panel.dispose();
    });
  }

  saveCustomDocument(
    document: DatasetDocument,
    cancellation: vscode.CancellationToken,
  ): Thenable<void> {
    return document.save(cancellation);
  }

  saveCustomDocumentAs(
    document: DatasetDocument,
    destination: vscode.Uri,
    cancellation: vscode.CancellationToken,
  ): Thenable<void> {
    return document.saveAs(destination, cancellation);
  }

  revertCustomDocument(
    document: DatasetDocument,
    cancellation: vscode.CancellationToken,
  ): Thenable<void> {
    return document.revert(cancellation);
  }

  backupCustomDocument(
    document: DatasetDocument,
    context: vscode.CustomDocumentBackupContext,
    cancellation: vscode.CancellationToken,
  ): Thenable<vscode.CustomDocumentBackup> {
    return document.backup(context.destination, cancellation);
  }

  // -- DatasetPanelHost -------------------------------------------------------------------------

  takePendingReveal(uri: vscode.Uri): number | undefined {
    const key = uri.toString();
    const row = this.pendingReveal.get(key);
    this.pendingReveal.delete(key);
    return row;
  }

  onDidUpdate(panel: DatasetPanel): void {
    this._onDidUpdatePanel.fire(panel.state);
  }

  openAsText(uri: vscode.Uri, row: number): void {
    void vscode.commands.executeCommand('winnow.openAsText', uri, row);
  }

  exportKept(uri: vscode.Uri): void {
    void vscode.commands.executeCommand('winnow.exportKept', uri);
  }

  /** The map's worker requests, with their progress (`winnow/mapProgress`) for that file. */
  readonly mapWorker: MapWorker = {
    layout: (uri, onProgress) =>
      this.withMapProgress(uri, 'layout', onProgress, () =>
        this.worker.request(GetLayoutRequest.type, { uri: uri.toString() }),
      ),
    findDuplicates: (uri, onProgress) =>
      this.withMapProgress(uri, 'duplicates', onProgress, () =>
        this.worker.request(GetDuplicateGroupsRequest.type, { uri: uri.toString() }),
      ),
  };

  private async withMapProgress<T>(
    uri: vscode.Uri,
    task: MapProgressParams['task'],
    onProgress: (p: MapProgressParams) => void,
    run: () => Promise<T>,
  ): Promise<T> {
    if (!vscode.workspace.isTrusted)
      throw new Error('Restricted Mode: the map needs the worker, which does not run here.');
    const key = uri.toString();
    const listener = this.worker.onNotification(MapProgressNotification.type, p => {
      if (p.uri === key && p.task === task) onProgress(p);
    });
    try {
      return await run();
    } finally {
      listener.dispose();
    }
  }

  // -- DatasetEditorApi -------------------------------------------------------------------------

  panels(uri: vscode.Uri): DatasetPanelState[] {
    return [...(this.panelsByUri.get(uri.toString()) ?? [])].map(p => p.state);
  }

  activePanel(): DatasetPanelState | undefined {
    for (const set of this.panelsByUri.values())
      for (const p of set) if (p.panel.active) return p.state;
    return undefined;
  }

  reveal(uri: vscode.Uri, row: number): void {
    const key = uri.toString();
    let delivered = false;
    for (const p of this.panelsByUri.get(key) ?? []) delivered = p.reveal(row) || delivered;
    // A view that is still starting (or hidden) picks the row up with its next `init`.
    if (delivered) this.pendingReveal.delete(key);
    else this.pendingReveal.set(key, row);
  }

  document(uri: vscode.Uri): DatasetDocument | undefined {
    return this.documents.get(uri.toString());
  }

  whenDocument(uri: vscode.Uri, waitMs: number): Promise<DatasetDocument | undefined> {
    const open = this.document(uri);
    if (open) return Promise.resolve(open);
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        listener.dispose();
        resolve(undefined);
      }, waitMs);
      const listener = this._onDidOpenDocument.event(doc => {
        if (doc.uri.toString() !== uri.toString()) return;
        clearTimeout(timer);
        listener.dispose();
        resolve(doc);
      });
    });
  }

  panelObjects(uri: vscode.Uri): DatasetPanel[] {
    return [...(this.panelsByUri.get(uri.toString()) ?? [])];
  }

  async setQuery(uri: vscode.Uri, query: ViewQuery): Promise<ViewInfo> {
    const panel = this.panelObjects(uri)[0];
    if (!panel) throw new Error(`${uri.fsPath} is not open in the dataset view`);
    return (await panel.setQuery(query, true)).view;
  }

  async openDocument(
    uri: vscode.Uri,
    backupId: string | undefined,
    options: Partial<DatasetDocumentOptions> = {},
  ): Promise<DatasetDocument> {
    const doc = await DatasetDocument.open(uri, backupId, {
      ...this.documentOptions(uri),
      ...options,
    });
    const key = uri.toString();
    const set = this.unlisted.get(key) ?? new Set<DatasetDocument>();
    set.add(doc);
    this.unlisted.set(key, set);
    doc.onDidDispose(() => {
      set.delete(doc);
      if (set.size === 0 && this.unlisted.get(key) === set) this.unlisted.delete(key);
      this.releaseWorker(uri);
    });
    await this.holdWorker(uri);
    doc.rowFactsChanged();
    return doc;
  }

  /** How documents of `uri` are opened: its settings, Restricted Mode, the worker's columns. */
  private documentOptions(uri: vscode.Uri): DatasetDocumentOptions {
    return {
      maxLineBytes: readHostSettings(uri).maxLineBytes,
      editable: () => vscode.workspace.isTrusted,
      fetchColumns: u => this.fetchColumns(u),
      fetchScorerColumn: (u, scorer) => this.fetchScorerColumn(u, scorer),
      rowFacts: this.rowFactsSource(uri),
      askSidecarChange,
    };
  }

  /** The worker's score columns of `uri`; none in Restricted Mode (no worker runs there). */
  private async fetchColumns(uri: vscode.Uri): Promise<GetColumnsResult | undefined> {
    if (!vscode.workspace.isTrusted) return undefined;
    return this.worker.request(GetColumnsRequest.type, { uri: uri.toString() });
  }

  /** The stored scorers of `uri` and one's column (judge A/B); none in Restricted Mode. */
  private async fetchScorerColumn(
    uri: vscode.Uri,
    scorer: string | undefined,
  ): Promise<GetScorerColumnResult | undefined> {
    if (!vscode.workspace.isTrusted) return undefined;
    return this.worker.request(GetScorerColumnRequest.type, {
      uri: uri.toString(),
      ...(scorer ? { scorer } : {}),
    });
  }

  /** The worker's row facts of `uri` and its matching of saved decisions (docs/scores-api.md). */
  private rowFactsSource(uri: vscode.Uri): RowFactsSource {
    const key = uri.toString();
    return {
      getRowFacts: p => this.worker.request(GetRowFactsRequest.type, { uri: key, ...p }),
      setSavedDecisions: p =>
        this.worker.request(SetSavedDecisionsRequest.type, { uri: key, ...p }),
      decisionHashes: p => this.worker.request(DecisionHashesRequest.type, { uri: key, ...p }),
    };
  }

  // -- worker -------------------------------------------------------------------------------------

  /**
   * Tells the worker the dataset is shown, so it scans it: the view's row facts come from that
   * scan. In Restricted Mode too: the worker only reads the file there and loads no model.
   */
  private async holdWorker(uri: vscode.Uri): Promise<void> {
    const key = uri.toString();
    this.workerHolds.set(key, (this.workerHolds.get(key) ?? 0) + 1);
    await this.worker
      .openDataset(uri, 'datasetView')
      .catch(e => log.warn(`Worker hold failed: ${errorText(e)}`));
  }

  private releaseWorker(uri: vscode.Uri): void {
    const key = uri.toString();
    const holds = this.workerHolds.get(key) ?? 0;
    if (holds === 0) return;
    if (holds > 1) this.workerHolds.set(key, holds - 1);
    else this.workerHolds.delete(key);
    this.worker
      .closeDataset(uri, 'datasetView')
      .catch(e => log.warn(`Worker release failed: ${errorText(e)}`));
  }
}

const CHOICE_LABELS: Record<SidecarChoice, string> = {
  reload: 'Reload',
  merge: 'Merge',
  overwrite: 'Overwrite',
};

/** Asks, in a modal dialog, what to do with a sidecar that changed on disk; undefined: cancel. */
async function askSidecarChange(q: SidecarChangeQuestion): Promise<SidecarChoice | undefined> {
  const picked = await vscode.window.showWarningMessage(
    q.message,
    { modal: true, detail: q.detail },
    ...q.choices.map(c => CHOICE_LABELS[c]),
  );
  return q.choices.find(c => CHOICE_LABELS[c] === picked);
}

/**
 * Registers the dataset view (custom editor `winnow.datasetView`). Everything
 * it creates is disposed with the extension.
 */
export function registerDatasetEditor(
  context: vscode.ExtensionContext,
  worker: WorkerClient,
): DatasetEditorApi {
  const provider = new DatasetEditorProvider(context, worker);
  context.subscriptions.push(
    vscode.window.registerCustomEditorProvider(DATASET_VIEW_TYPE, provider, {
      // Hidden views are torn down and restored from setState: cheap with huge files.
      webviewOptions: { retainContextWhenHidden: false },
      supportsMultipleEditorsPerDocument: true,
    }),
  );
  return provider;
}
