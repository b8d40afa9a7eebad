/**
 * Spawns the real built worker (dist/worker.js) over an IPC channel, exactly as
 * vscode-languageclient does with TransportKind.ipc, or over stdio (`--stdio`) as other editors
 * do, and talks LSP to it: the test side of the connection. It records diagnostics, status
 * notifications, log lines and anything the worker writes to stdout (over IPC) or stderr, so
 * tests can assert on all of them. Unless the test gives its own environment, the worker's
 * per-user cache folder (XDG_CACHE_HOME) is a temporary folder, removed when it exits.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  CancellationTokenSource,
  createProtocolConnection,
  IPCMessageReader,
  IPCMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgress,
  type CodeAction,
  type Diagnostic,
  type Hover,
  type InlayHint,
  type ProtocolConnection,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
} from 'vscode-languageserver-protocol/node';
import {
  DecisionHashesRequest,
  DidCloseDataset,
  DidOpenDataset,
  DidChangeColumnsNotification,
  DidChangeRowFactsNotification,
  GetRowFactsRequest,
  SetSavedDecisionsRequest,
  type DecisionHashes,
  type DecisionHashesParams,
  type GetRowFactsParams,
  type RowFactsChange,
  type RowFactsResult,
  type SetSavedDecisionsParams,
  FileInfoRequest,
  GetColumnsRequest,
  ScoreRequest,
  StatusNotification,
  type DatasetSource,
  type FileInfo,
  type GetColumnsResult,
  type ScoreResult,
  type WorkerInitializationOptions,
  type WorkerStatus,
} from '../../src/shared/protocol/worker';
import { type WinnowSettingsSection } from '../../src/shared/settings';

export const repoRoot = join(__dirname, '..', '..', '..');
export const workerPath = join(repoRoot, 'dist', 'worker.js');

export interface LogLine {
  type: number;
  message: string;
}

export interface WorkerSessionOptions {
  /** The `winnow` settings section the test client answers `workspace/configuration` with. */
  settings?: WinnowSettingsSection;
  /** Whether the client supports `workspace/configuration` (default true). */
  configuration?: boolean;
  /** Workspace trust reported in initializationOptions (default true). */
  trusted?: boolean;
  /** Global storage folder for the score cache (initializationOptions.storagePath). */
  storagePath?: string;
  /** Workspace folders (initializationOptions.workspaceFolders). */
  workspaceFolders?: string[];
  /** Environment of the worker process (default: this process's, with a temporary XDG_CACHE_HOME). */
  env?: NodeJS.ProcessEnv;
  /**
   * How to talk to the worker: IPC as VS Code does (default), stdio as other editors do, or
   * stdio through the CLI (`node dist/cli.js lsp`).
   */
  transport?: 'ipc' | 'stdio' | 'cli';
  /**
   * The initializationOptions to send instead of the ones built from the options above (a client
   * without VS Code sends what its user configured, or nothing).
   */
  initializationOptions?: Record<string, unknown>;
  /** Node options of the worker process, e.g. `--max-old-space-size=512` (default none). */
  execArgv?: string[];
  /** The worker bundle to start (default: the repository's dist/worker.js). */
  workerPath?: string;
  /**
   * The command that runs Node, `[program, ...args]` (default: this process's Node), e.g. an
   * emulated arm64 Node (test/platform/vsixLoad.test.ts). Only with the stdio or cli transport.
   */
  node?: string[];
  /**
   * Run the worker (IPC only) as this user and group, e.g. 65534 (nobody) when the tests run as
   * root, for whom no file is ever unreadable. Its temporary cache folder is made writable.
   */
  user?: { uid: number; gid: number };
}

/** One item of a `workspace/configuration` request. */
export interface ConfigurationItem {
  scopeUri?: string;
  section?: string;
}

/** A `$/progress` value of a work-done token. */
export type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

export class WorkerSession {
  readonly diagnostics = new Map<string, Diagnostic[]>();
  readonly statuses: WorkerStatus[] = [];
  readonly logs: LogLine[] = [];
  /** `winnow/didChangeColumns` notifications received, in order. */
  readonly columnChanges: { uri: string; kinds: string[] }[] = [];
  /** `winnow/didChangeRowFacts` notifications received, in order. */
  readonly factsChanges: RowFactsChange[] = [];
  /** `workspace/inlayHint/refresh` requests received. */
  inlayRefreshes = 0;
  /** What the worker wrote to stdout (over IPC; over stdio, stdout is the protocol). */
  stdout = '';
  stderr = '';
  /** Errors of the connection, e.g. a stdout that is not well-formed LSP over stdio. */
  readonly connectionErrors: string[] = [];
  /** Every `workspace/configuration` item the worker asked for, in order. */
  readonly configurationRequests: ConfigurationItem[] = [];
  settings: WinnowSettingsSection;
  /**
   * Answers one `workspace/configuration` item; by default the `winnow` section is `settings`.
   * A test may replace it, e.g. to hold an answer back until it has sent further requests.
   */
  answerConfiguration: (item: ConfigurationItem) => unknown = item =>
    item.section === 'winnow' ? this.settings : null;
  /** The temporary XDG_CACHE_HOME, removed when the worker exits. */
  private cacheHome: string | undefined;
  private readonly waiters = new Set<() => void>();
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly connection: ProtocolConnection,
    options: WorkerSessionOptions,
  ) {
    this.settings = options.settings ?? {};
    this.exited = new Promise(resolve => child.on('exit', code => resolve(code)));
    if (options.transport !== 'stdio' && options.transport !== 'cli')
      child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    connection.onError(([err]) => {
      this.connectionErrors.push(String(err));
      this.notify();
    });
    connection.onNotification(
      'textDocument/publishDiagnostics',
      (p: { uri: string; diagnostics: Diagnostic[] }) => {
        this.diagnostics.set(p.uri, p.diagnostics);
        this.notify();
      },
    );
    connection.onNotification(StatusNotification.method, (s: WorkerStatus) => {
      this.statuses.push(s);
      this.notify();
    });
    connection.onNotification('window/logMessage', (l: LogLine) => {
      this.logs.push(l);
      this.notify();
    });
    connection.onRequest('workspace/configuration', (p: { items: ConfigurationItem[] }) => {
      this.configurationRequests.push(...p.items);
      this.notify();
      return Promise.all(p.items.map(item => this.answerConfiguration(item)));
    });
    connection.onRequest('client/registerCapability', () => null);
    connection.onNotification(
      DidChangeColumnsNotification.method,
      (p: { uri: string; kinds: string[] }) => {
        this.columnChanges.push(p);
        this.notify();
      },
    );
    connection.onNotification(DidChangeRowFactsNotification.method, (p: RowFactsChange) => {
      this.factsChanges.push(p);
      this.notify();
    });
    connection.onRequest('workspace/inlayHint/refresh', () => {
      this.inlayRefreshes++;
      this.notify();
      return null;
    });
  }

  /**
   * Starts dist/worker.js over IPC (forked with an IPC channel) or stdio, and completes the LSP
   * initialize handshake.
   */
  static async start(options: WorkerSessionOptions = {}): Promise<WorkerSession> {
    const worker = options.workerPath ?? workerPath;
    if (!existsSync(worker)) {
      throw new Error(`${worker} is missing: run "node esbuild.mjs" first`);
    }
    if (options.node && options.transport !== 'stdio' && options.transport !== 'cli')
      throw new Error('`node` needs the stdio or cli transport');
    const [node, ...nodeArgs] = options.node ?? [process.execPath];
    const cacheHome = options.env ? undefined : mkdtempSync(join(tmpdir(), 'winnow-xdg-cache-'));
    const env = options.env ?? { ...process.env, XDG_CACHE_HOME: cacheHome };
    let child: ChildProcess;
    let connection: ProtocolConnection;
    if (options.transport === 'stdio' || options.transport === 'cli') {
      // The CLI's `lsp` command is the dist/cli.js beside the worker bundle.
      const command =
        options.transport === 'cli'
          ? [join(dirname(worker), 'cli.js'), 'lsp']
          : [worker, '--stdio'];
      child = spawn(node, [...nodeArgs, ...(options.execArgv ?? []), ...command], {
        stdio: 'pipe',
        env,
      });
      connection = createProtocolConnection(
        new StreamMessageReader(child.stdout!),
        new StreamMessageWriter(child.stdin!),
      );
    } else {
      if (options.user && cacheHome) chmodSync(cacheHome, 0o777);
      child = fork(worker, ['--node-ipc'], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        execArgv: options.execArgv ?? [],
        env,
        ...(options.user ?? {}),
      });
      connection = createProtocolConnection(
        new IPCMessageReader(child),
        new IPCMessageWriter(child),
      );
    }
    const session = new WorkerSession(child, connection, options);
    session.cacheHome = cacheHome;
    // However the worker ends (shutdown, killed, host gone), its temporary cache folder goes.
    if (cacheHome) child.on('exit', () => rmSync(cacheHome, { recursive: true, force: true }));
    connection.listen();
    const configuration = options.configuration ?? true;
    await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: {
        workspace: {
          configuration,
          didChangeConfiguration: { dynamicRegistration: configuration },
          inlayHint: { refreshSupport: true },
        },
        window: { workDoneProgress: true },
        textDocument: { hover: { contentFormat: ['markdown', 'plaintext'] } },
      },
      initializationOptions:
        options.initializationOptions ??
        ({
          workspaceTrusted: options.trusted ?? true,
          logLevel: options.settings?.worker?.logLevel,
          ...(options.storagePath ? { storagePath: options.storagePath } : {}),
          ...(options.workspaceFolders ? { workspaceFolders: options.workspaceFolders } : {}),
        } satisfies WorkerInitializationOptions),
    });
    await connection.sendNotification('initialized', {});
    return session;
  }

  openDataset(uri: string, source: DatasetSource = 'datasetView'): Promise<void> {
    return this.connection.sendNotification(DidOpenDataset.method, { uri, source });
  }

  closeDataset(uri: string, source: DatasetSource = 'datasetView'): Promise<void> {
    return this.connection.sendNotification(DidCloseDataset.method, { uri, source });
  }

  fileInfo(uri: string, waitForIndex = true): Promise<FileInfo> {
    return this.connection.sendRequest(FileInfoRequest.method, { uri, waitForIndex });
  }

  hover(uri: string, line: number, character = 0): Promise<Hover | null> {
    return this.connection.sendRequest('textDocument/hover', {
      textDocument: { uri },
      position: { line, character },
    });
  }

  /** `winnow/getColumns`. */
  columns(uri: string): Promise<GetColumnsResult> {
    return this.connection.sendRequest(GetColumnsRequest.method, { uri });
  }

  /** `winnow/getRowFacts`. */
  rowFacts(params: GetRowFactsParams): Promise<RowFactsResult> {
    return this.connection.sendRequest(GetRowFactsRequest.method, params);
  }

  /** `winnow/setSavedDecisions`. */
  setSavedDecisions(params: SetSavedDecisionsParams): Promise<null> {
    return this.connection.sendRequest(SetSavedDecisionsRequest.method, params);
  }

  /** `winnow/decisionHashes`. */
  decisionHashes(params: DecisionHashesParams): Promise<DecisionHashes> {
    return this.connection.sendRequest(DecisionHashesRequest.method, params);
  }

  /**
   * Starts `winnow/score` with a work-done token; `progress` collects the `$/progress` values.
   * `cancel()` cancels the request the LSP way ($/cancelRequest).
   */
  score(
    uri: string,
    extra: { apiKey?: string } = {},
  ): {
    result: Promise<ScoreResult>;
    progress: ProgressValue[];
    cancel: () => void;
  } {
    const token = `test-${Math.random().toString(36).slice(2)}`;
    const progress: ProgressValue[] = [];
    const listener = this.connection.onProgress(WorkDoneProgress.type, token, v => {
      progress.push(v);
      this.notify();
    });
    const source = new CancellationTokenSource();
    const result = this.connection
      .sendRequest<ScoreResult>(
        ScoreRequest.method,
        { uri, workDoneToken: token, ...extra },
        source.token,
      )
      .finally(() => listener.dispose());
    return { result, progress, cancel: () => source.cancel() };
  }

  inlayHints(uri: string, startLine: number, endLine: number): Promise<InlayHint[] | null> {
    return this.connection.sendRequest('textDocument/inlayHint', {
      textDocument: { uri },
      range: { start: { line: startLine, character: 0 }, end: { line: endLine, character: 0 } },
    });
  }

  codeActions(uri: string, line: number, endLine = line): Promise<CodeAction[] | null> {
    return this.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: { line, character: 0 }, end: { line: endLine, character: 1 } },
      context: { diagnostics: [] },
    });
  }

  /** Tells the worker that settings changed (it pulls them again). */
  changeSettings(settings: WinnowSettingsSection): Promise<void> {
    this.settings = settings;
    return this.connection.sendNotification('workspace/didChangeConfiguration', {
      settings: null,
    });
  }

  /** Waits until `predicate` holds, re-checking after every message from the worker. */
  async waitFor<T>(
    what: string,
    predicate: () => T | undefined | false,
    timeoutMs = 10_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = predicate();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}`);
      await new Promise<void>(resolve => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 200));
        this.waiters.add(done);
      });
    }
  }

  /** Waits until the latest diagnostics for `uri` satisfy `predicate`, and returns them. */
  waitForDiagnostics(
    uri: string,
    predicate: (d: Diagnostic[]) => boolean,
    what = 'diagnostics',
  ): Promise<Diagnostic[]> {
    return this.waitFor(`${what} for ${uri}`, () => {
      const d = this.diagnostics.get(uri);
      return d && predicate(d) ? d : undefined;
    });
  }

  /** Clean LSP shutdown; resolves with the exit code. */
  async shutdown(): Promise<number | null> {
    try {
      await this.connection.sendRequest('shutdown');
      await this.connection.sendNotification('exit');
    } catch {
      // The worker may already be gone.
    }
    const code = await Promise.race([
      this.exited,
      new Promise<'timeout'>(r => setTimeout(() => r('timeout'), 5000)),
    ]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error('The worker did not exit after shutdown/exit');
    }
    this.connection.dispose();
    return code;
  }

  /** The per-user cache folder the worker uses without a storage path (XDG_CACHE_HOME/winnow). */
  get userCacheDir(): string | undefined {
    return this.cacheHome && join(this.cacheHome, 'winnow');
  }

  /** Resolves with the exit code when the process ends. */
  whenExited(): Promise<number | null> {
    return this.exited;
  }

  private notify(): void {
    for (const fn of [...this.waiters]) fn();
  }
}
