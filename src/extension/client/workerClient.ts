import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  TransportKind,
  WorkDoneProgress,
  type WorkDoneProgressBegin,
  type WorkDoneProgressReport,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  DidCloseDataset,
  DidOpenDataset,
  FileInfoRequest,
  ScoreRequest,
  DistillRequest,
  type DistillParams,
  type DistillResult,
  StatusNotification,
  type DatasetParams,
  type DatasetSource,
  type FileInfo,
  type NotificationDescriptor,
  type RequestDescriptor,
  type ScoreResult,
  type WorkerInitializationOptions,
} from '../../shared/protocol/worker';
import { readHostSettings } from '../config';
import type { ClientWorkerStatus } from '../../shared/format/workerStatusText';
import { errorText, log } from '../log';
import { WorkerStatusBar } from './workerStatusBar';
import { GPU_SUPPORT_FOLDER, ORT_ROUTE_ENV } from '../../core/gpuSupport/sources';
import { readInstalledGpuSupport } from '../../core/gpuSupport/install';

/** The worker may die this many times within `restartWindowMs` before we stop restarting it. */
const maxRestarts = 4;
const restartWindowMs = 3 * 60 * 1000;
/** How long `stop()` gives the worker to shut down cleanly before the client kills it. */
const stopTimeoutMs = 2000;

/** True for documents the worker serves: local `.jsonl` / `.ndjson` files. */
export function isDatasetUri(uri: vscode.Uri): boolean {
  return uri.scheme === 'file' && /\.(jsonl|ndjson)$/i.test(uri.path);
}

/**
 * The extension's side of the worker: a vscode-languageclient `LanguageClient` for dist/worker.js,
 * started lazily (on the first dataset opened as text, or by the dataset view through
 * `ensureStarted()`), restarted when it dies (a few times), with its state in the status bar.
 *
 * Datasets reach the worker by URI only: the client's didOpen/didClose middleware sends
 * `winnow/didOpenDataset` instead of the document text, text-editor tabs are tracked too (files
 * over 50 MB are never synced to extensions), and the dataset view calls `openDataset()`.
 */
export class WorkerClient implements vscode.Disposable {
  private languageClient: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private stopping = false;
  private disposed = false;
  private restartTimes: number[] = [];
  private currentStatus: ClientWorkerStatus = { state: 'stopped' };
  /** Holds made through `openDataset` (tabs, dataset view); replayed after every (re)start. */
  private readonly holds = new Map<string, Map<DatasetSource, number>>();
  /** Text-editor tabs showing a dataset, as a multiset of URI strings. */
  private tabHolds = new Map<string, number>();
  private readonly notificationHandlers: Array<{
    method: string;
    handler: (params: unknown) => void;
  }> = [];
  private readonly statusBar = new WorkerStatusBar();
  private readonly statusEmitter = new vscode.EventEmitter<ClientWorkerStatus>();
  private readonly disposables: vscode.Disposable[] = [];

  /** Fires whenever the worker's status changes (including `stopped`). */
  readonly onDidChangeStatus = this.statusEmitter.event;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.disposables.push(
      this.statusBar,
      this.statusEmitter,
      vscode.commands.registerCommand('winnow.showLog', () => log.show()),
      vscode.commands.registerCommand('winnow.restartWorker', () => this.restart()),
      vscode.workspace.onDidOpenTextDocument(doc => this.maybeStartFor(doc.uri)),
      vscode.window.tabGroups.onDidChangeTabs(() => this.syncTabs()),
      // The worker learns the trust state at start; a running one restarts to learn the grant.
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        if (this.languageClient) void this.restart();
      }),
      vscode.workspace.onDidChangeConfiguration(e => {
        if (e.affectsConfiguration('winnow.device')) this.offerRestartForDevice();
      }),
    );
    this.onNotification(StatusNotification.type, status => this.setStatus(status));
    // Activation (onLanguage:jsonl) usually happens because a dataset is already open.
    for (const doc of vscode.workspace.textDocuments) this.maybeStartFor(doc.uri);
    this.syncTabs();
  }

  /** The language client, once started (undefined before the first dataset opens). */
  get client(): LanguageClient | undefined {
    return this.languageClient;
  }

  /** The worker's last reported status. */
  get status(): ClientWorkerStatus {
    return this.currentStatus;
  }

  /** Starts the worker if it is not running yet; resolves once it has initialized. */
  ensureStarted(): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('The Winnow worker client is disposed'));
    if (!this.starting) {
      this.starting = this.start().catch(err => {
        this.starting = undefined;
        throw err;
      });
    }
    return this.starting;
  }

  /** Sends a typed custom request (starting the worker if needed). */
  async request<P, R>(
    descriptor: RequestDescriptor<P, R>,
    params: P,
    token?: vscode.CancellationToken,
  ): Promise<R> {
    await this.ensureStarted();
    const client = this.requireClient();
    return token
      ? client.sendRequest<R>(descriptor.method, params, token)
      : client.sendRequest<R>(descriptor.method, params);
  }

  /** Sends a typed custom notification (starting the worker if needed). */
  async notify<P>(descriptor: NotificationDescriptor<P>, params: P): Promise<void> {
    await this.ensureStarted();
    await this.requireClient().sendNotification(descriptor.method, params);
  }

  /** Listens to a typed worker→client notification, across restarts. */
  onNotification<P>(
    descriptor: NotificationDescriptor<P>,
    handler: (params: P) => void,
  ): vscode.Disposable {
    const entry = { method: descriptor.method, handler: handler as (params: unknown) => void };
    this.notificationHandlers.push(entry);
    const registration = this.languageClient?.onNotification(descriptor.method, handler);
    return new vscode.Disposable(() => {
      const i = this.notificationHandlers.indexOf(entry);
      if (i >= 0) this.notificationHandlers.splice(i, 1);
      registration?.dispose();
    });
  }

  /**
   * Tells the worker that `source` shows the dataset at `uri`; pair it with `closeDataset`.
   * The hold is remembered and sent again if the worker restarts.
   */
  async openDataset(uri: vscode.Uri, source: DatasetSource = 'datasetView'): Promise<void> {
    const key = uri.toString();
    const bySource = this.holds.get(key) ?? new Map<DatasetSource, number>();
    bySource.set(source, (bySource.get(source) ?? 0) + 1);
    this.holds.set(key, bySource);
    if (this.languageClient?.state === State.Running) {
      await this.sendHold(DidOpenDataset.type, { uri: key, source });
    } else {
      // The transition to Running replays every hold, this one included.
      await this.ensureStarted();
    }
  }

  /** Releases a hold taken with `openDataset`. */
  async closeDataset(uri: vscode.Uri, source: DatasetSource = 'datasetView'): Promise<void> {
    const key = uri.toString();
    const bySource = this.holds.get(key);
    const count = bySource?.get(source) ?? 0;
    if (!bySource || count === 0) return;
    if (count > 1) bySource.set(source, count - 1);
    else bySource.delete(source);
    if (bySource.size === 0) this.holds.delete(key);
    if (this.languageClient?.state === State.Running) {
      await this.sendHold(DidCloseDataset.type, { uri: key, source });
    }
  }

  /** What the worker knows about an open dataset (see `winnow/fileInfo`). */
  fileInfo(uri: vscode.Uri, waitForIndex = false): Promise<FileInfo> {
    return this.request(FileInfoRequest.type, { uri: uri.toString(), waitForIndex });
  }

  /**
   * Scores a dataset with ASK-LLM (`winnow/score`). The dataset is held open (source `command`)
   * for the run. Progress messages and percentages arrive through LSP work-done progress on a
   * token chosen here; cancelling `token` sends `$/cancelRequest`, which the worker honours
   * between batches (the result then says `cancelled`).
   */
  async score(
    uri: vscode.Uri,
    token: vscode.CancellationToken,
    onProgress: (message: string, percentage: number | undefined) => void,
    apiKey?: string,
  ): Promise<ScoreResult> {
    await this.openDataset(uri, 'command');
    const progressToken = `winnow-score-${randomUUID()}`;
    try {
      const client = this.requireClient();
      const listener = client.onProgress(
        WorkDoneProgress.type,
        progressToken,
        (value: WorkDoneProgressBegin | WorkDoneProgressReport | { kind: 'end' }) => {
          if (value.kind === 'end') return;
          onProgress(value.message ?? '', value.percentage);
        },
      );
      try {
        return await client.sendRequest<ScoreResult>(
          ScoreRequest.method,
          { uri: uri.toString(), workDoneToken: progressToken, ...(apiKey ? { apiKey } : {}) },
          token,
        );
      } finally {
        listener.dispose();
      }
    } finally {
      await this.closeDataset(uri, 'command').catch(() => undefined);
    }
  }

  /**
   * Fits the distilled scorer of a dataset and scores its rows (`winnow/distill`), with work-done
   * progress as {@link score}; cancelling `token` stops it (the request then fails as cancelled).
   */
  async distill(
    uri: vscode.Uri,
    sample: number,
    token: vscode.CancellationToken,
    onProgress: (message: string, percentage: number | undefined) => void,
  ): Promise<DistillResult> {
    await this.openDataset(uri, 'command');
    const progressToken = `winnow-distill-${randomUUID()}`;
    try {
      const client = this.requireClient();
      const listener = client.onProgress(
        WorkDoneProgress.type,
        progressToken,
        (value: WorkDoneProgressBegin | WorkDoneProgressReport | { kind: 'end' }) => {
          if (value.kind !== 'end') onProgress(value.message ?? '', value.percentage);
        },
      );
      try {
        const params: DistillParams = { uri: uri.toString(), sample, workDoneToken: progressToken };
        return await client.sendRequest<DistillResult>(DistillRequest.method, params, token);
      } finally {
        listener.dispose();
      }
    } finally {
      await this.closeDataset(uri, 'command').catch(() => undefined);
    }
  }

  /** Stops the worker and starts a fresh one (the `winnow.restartWorker` command). */
  async restart(): Promise<void> {
    log.info('Restarting the Winnow worker');
    this.restartTimes = [];
    await this.stop();
    await this.ensureStarted();
  }

  /** Stops the worker, giving it a moment to shut down cleanly. */
  async stop(): Promise<void> {
    const client = this.languageClient;
    this.languageClient = undefined;
    this.starting = undefined;
    if (!client) return;
    this.stopping = true;
    try {
      if (client.isRunning()) await client.stop(stopTimeoutMs);
    } catch (err) {
      log.warn(`Stopping the worker failed: ${errorText(err)}`);
    } finally {
      this.stopping = false;
      await client.dispose().catch(() => undefined);
      this.setStatus({ state: 'stopped' });
    }
  }

  dispose(): void {
    this.disposed = true;
    void this.stop();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private maybeStartFor(uri: vscode.Uri): void {
    if (!isDatasetUri(uri)) return;
    this.ensureStarted().catch(() => {
      // Already reported by start().
    });
  }

  /** Mirrors the text-editor tabs that show datasets as `textTab` holds. */
  private syncTabs(): void {
    const next = new Map<string, number>();
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        if (tab.input instanceof vscode.TabInputText && isDatasetUri(tab.input.uri)) {
          const key = tab.input.uri.toString();
          next.set(key, (next.get(key) ?? 0) + 1);
        }
      }
    }
    const previous = this.tabHolds;
    this.tabHolds = next;
    for (const key of new Set([...previous.keys(), ...next.keys()])) {
      const uri = vscode.Uri.parse(key);
      for (let n = previous.get(key) ?? 0; n < (next.get(key) ?? 0); n++)
        void this.openDataset(uri, 'textTab').catch(() => undefined);
      for (let n = next.get(key) ?? 0; n < (previous.get(key) ?? 0); n++)
        void this.closeDataset(uri, 'textTab').catch(() => undefined);
    }
  }

  private async start(): Promise<void> {
    const serverModule = this.context.asAbsolutePath('dist/worker.js');
    const serverOptions: ServerOptions = {
      run: {
        module: serverModule,
        transport: TransportKind.ipc,
        options: { env: this.workerEnv() },
      },
      debug: {
        module: serverModule,
        transport: TransportKind.ipc,
        options: { execArgv: ['--nolazy', '--inspect=6019'], env: this.workerEnv() },
      },
    };
    // The middleware of the options runs only once the client has started, after this assignment.
    const client: LanguageClient = new LanguageClient(
      'winnow.worker',
      'Winnow Worker',
      serverOptions,
      this.clientOptions(() => client),
    );
    this.languageClient = client;
    for (const { method, handler } of this.notificationHandlers)
      client.onNotification(method, handler);
    client.onDidChangeState(e => {
      if (client !== this.languageClient) return;
      if (e.newState === State.Running) {
        log.info('Winnow worker running');
        this.replayHolds(client);
      } else if (e.newState === State.Stopped) {
        this.setStatus({ state: 'stopped' });
      } else {
        this.setStatus({ state: 'starting' });
      }
    });
    this.setStatus({ state: 'starting' });
    try {
      await client.start();
    } catch (err) {
      log.error(`The Winnow worker did not start: ${errorText(err)}`);
      this.setStatus({ state: 'stopped', detail: 'it failed to start' });
      void vscode.window
        .showErrorMessage('The Winnow worker did not start.', 'Show Log')
        .then(pick => pick && log.show());
      throw err;
    }
  }

  /**
   * The worker chooses its ONNX Runtime (bundled, or the CUDA route) at start, so with GPU support
   * installed a change of `winnow.device` offers a restart (never forced: a run may be going).
   */
  private offerRestartForDevice(): void {
    const storage = this.context.globalStorageUri;
    if (!this.languageClient || storage.scheme !== 'file') return;
    if (!readInstalledGpuSupport(vscode.Uri.joinPath(storage, GPU_SUPPORT_FOLDER).fsPath)) return;
    void vscode.window
      .showInformationMessage(
        'Winnow: the worker chooses between the CUDA route and the bundled ONNX Runtime when it ' +
          'starts. Restart it to use the new winnow.device setting.',
        'Restart Worker',
      )
      .then(pick => {
        if (pick === 'Restart Worker') void this.restart();
      });
  }

  /**
   * The worker's environment: this one, plus the device setting and the GPU support folder, from
   * which the worker chooses its ONNX Runtime before it loads one (docs/runtime.md#the-cuda-route).
   */
  private workerEnv(): NodeJS.ProcessEnv {
    const storage = this.context.globalStorageUri;
    const device = vscode.workspace.getConfiguration('winnow').get<string>('device', 'auto');
    return {
      ...process.env,
      [ORT_ROUTE_ENV.device]: device,
      ...(storage.scheme === 'file'
        ? { [ORT_ROUTE_ENV.gpuSupportDir]: vscode.Uri.joinPath(storage, GPU_SUPPORT_FOLDER).fsPath }
        : {}),
    };
  }

  /** What the worker is told at start: trust, log level, storage and the workspace folders. */
  private initializationOptions(): WorkerInitializationOptions {
    // Workspace trust: parsing files is safe, so the worker starts in an untrusted workspace too.
    // It is told the trust state and must never load models there (models come with scoring).
    // Scores and downloaded models live in the extension's global storage, never inside the
    // extension folder (which an update replaces).
    const storage = this.context.globalStorageUri;
    return {
      workspaceTrusted: vscode.workspace.isTrusted,
      logLevel: readHostSettings().workerLogLevel,
      ...(storage.scheme === 'file'
        ? {
            storagePath: storage.fsPath,
            modelCacheDir: vscode.Uri.joinPath(storage, 'models').fsPath,
          }
        : {}),
      workspaceFolders: (vscode.workspace.workspaceFolders ?? [])
        .filter(f => f.uri.scheme === 'file')
        .map(f => f.uri.fsPath),
    };
  }

  /** The language client's options; `client` is the client they belong to. */
  private clientOptions(client: () => LanguageClient): LanguageClientOptions {
    const sendDocumentHold = async (
      descriptor: NotificationDescriptor<DatasetParams>,
      doc: vscode.TextDocument,
    ) => {
      // The text is never sent: the worker reads the file from disk.
      await client().sendNotification(descriptor.method, {
        uri: doc.uri.toString(),
        source: 'textDocument',
      } satisfies DatasetParams);
    };
    return {
      documentSelector: [
        { scheme: 'file', language: 'jsonl' },
        { scheme: 'file', pattern: '**/*.ndjson' },
      ],
      outputChannel: log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: this.initializationOptions(),
      middleware: {
        didOpen: doc => sendDocumentHold(DidOpenDataset.type, doc),
        didClose: doc => sendDocumentHold(DidCloseDataset.type, doc),
        // The worker's keep/drop actions name the dataset by URI string (JSON); the host
        // command `winnow.setDecision` takes a vscode.Uri.
        provideCodeActions: async (document, range, context, token, next) => {
          const actions = await next(document, range, context, token);
          for (const action of actions ?? []) {
            const command = action instanceof vscode.CodeAction ? action.command : action;
            if (
              command?.command === 'winnow.setDecision' &&
              typeof command.arguments?.[0] === 'string'
            )
              command.arguments[0] = vscode.Uri.parse(command.arguments[0]);
          }
          return actions;
        },
      },
      errorHandler: {
        error: (error, _message, count) => {
          log.error(`Worker connection error: ${errorText(error)}`);
          return { action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown };
        },
        closed: () => this.onWorkerClosed(),
      },
      initializationFailedHandler: error => {
        log.error(`The Winnow worker failed to initialize: ${errorText(error)}`);
        return false;
      },
    };
  }

  /** The worker process exited: restart it, unless it keeps dying or we are stopping. */
  private onWorkerClosed(): { action: CloseAction; handled: boolean } {
    if (this.stopping || this.disposed) return { action: CloseAction.DoNotRestart, handled: true };
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter(t => now - t < restartWindowMs);
    this.restartTimes.push(now);
    if (this.restartTimes.length > maxRestarts) {
      log.error(
        `The Winnow worker stopped ${this.restartTimes.length} times in 3 minutes; not restarting it.`,
      );
      this.setStatus({ state: 'stopped', detail: 'it kept crashing' });
      void vscode.window
        .showErrorMessage(
          'The Winnow worker keeps crashing and was not restarted.',
          'Restart Worker',
          'Show Log',
        )
        .then(pick => {
          if (pick === 'Restart Worker') void this.restart();
          else if (pick === 'Show Log') log.show();
        });
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    log.warn('The Winnow worker stopped unexpectedly; restarting it.');
    return { action: CloseAction.Restart, handled: true };
  }

  private replayHolds(client: LanguageClient): void {
    for (const [uri, bySource] of this.holds) {
      for (const [source, count] of bySource) {
        for (let i = 0; i < count; i++) {
          void client
            .sendNotification(DidOpenDataset.method, { uri, source } satisfies DatasetParams)
            .catch(err => log.warn(`Could not reopen ${uri} in the worker: ${errorText(err)}`));
        }
      }
    }
  }

  private async sendHold(
    descriptor: NotificationDescriptor<DatasetParams>,
    params: DatasetParams,
  ): Promise<void> {
    await this.languageClient?.sendNotification(descriptor.method, params);
  }

  private requireClient(): LanguageClient {
    if (!this.languageClient) throw new Error('The Winnow worker is not running');
    return this.languageClient;
  }

  private setStatus(status: ClientWorkerStatus): void {
    this.currentStatus = status;
    this.statusBar.update(status);
    this.statusEmitter.fire(status);
  }
}
