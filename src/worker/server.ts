/**
 * The Winnow worker: a language server in its own process, started by the extension through
 * vscode-languageclient over an IPC channel (`--node-ipc`), or by any LSP client over stdio
 * (`node dist/worker.js --stdio`; README "Other editors"). It reads dataset files from disk by URI itself
 * (VS Code does not sync files over 50 MB, and syncing a huge file as text would be wasteful),
 * validates every line, publishes invalid lines as diagnostics and answers hovers, scores rows
 * with ASK-LLM (`winnow/score`, cached across restarts), serves score columns
 * (`winnow/getColumns`), inlay hints and keep/drop code actions. DENSITY plugs into the column
 * and hover registries (columns.ts, hoverSections.ts).
 *
 * Over IPC nothing that this process or native code prints can corrupt the protocol. Over stdio
 * stdout carries the protocol only: console output and other writes to stdout are routed to the
 * log (window/logMessage), ONNX Runtime logs to stderr, and clients show stderr as a log.
 */
// First: chooses the ONNX Runtime (bundled or the GPU route) before anything requires it.
import './runtime/ortRouteBoot';
import {
  DidChangeConfigurationNotification,
  ResponseError,
  TextDocumentSyncKind,
  WorkDoneProgress,
  type Hover,
  type InitializeResult,
  type Range,
} from 'vscode-languageserver/node';
import { join } from 'node:path';
import { contentHash, parseLine } from '../core/jsonl';
import {
  DecisionHashesRequest,
  DidChangeColumnsNotification,
  DidChangeRowFactsNotification,
  DidCloseDataset,
  DidOpenDataset,
  FileInfoRequest,
  GetColumnsRequest,
  GetScorerColumnRequest,
  GetRowFactsRequest,
  ImportScoresRequest,
  ScoreRequest,
  SetSavedDecisionsRequest,
  StatusNotification,
  WorkerErrorCodes,
  type WorkerInitializationOptions,
  type WorkerStatus,
} from '../shared/protocol/worker';
import type { Dataset, DatasetOptions } from './dataset/dataset';
import { decisionActions } from './editor/codeActions';
import { ColumnRegistry } from './dataset/columns';
import { decodeRows, rowFactsAnswer } from './dataset/rowFactsAnswer';
import { buildDiagnostics } from './editor/diagnostics';
import { HoverSections } from './editor/hoverSections';
import { scoreInlayHints } from './editor/inlayHints';
import { ScoreStore } from './askllm/scoreStore';
import { ScoringService, type RunReporter } from './askllm/scoringService';
import { registerDensity } from './density/register';
import { ScoreImporter } from './imports/scoreImporter';
import { ScoreFileError } from '../core/scoreFiles/scoreFile';
import { registerMap } from './map/register';
import { registerDistill } from './judge/register';
import { renderRowHover } from './editor/hover';
import { lineLengthUtf16 } from './dataset/lineText';
import { Logger, errorText } from './logger';
import { onNotification, onRequest, sendNotification } from './protocol';
import { DatasetRegistry } from './dataset/registry';
import {
  SettingsStore,
  classifySettingsChange,
  type SettingsEffect,
  type WorkerSettings,
} from './settings';
import { StatusReporter } from './status';
import { uriBaseName, uriToPath } from './dataset/uri';
import { userCacheDir } from './cacheDir';
import { connectFromArgv, usage } from './transport';
import {
  dropCancelledEditorRequests,
  isRequestCancelled,
  LatestRequests,
  rangeContains,
} from './staleRequests';
import { escapeMarkdown } from './editor/markdown';

const connected = connectFromArgv(process.argv.slice(2), {
  connectionStrategy: dropCancelledEditorRequests,
});
if (!connected) {
  // Started with no transport (e.g. `node dist/worker.js`): there is no client to talk to.
  process.stderr.write(usage);
  process.exit(1);
}
const { connection } = connected;

const logger = new Logger({
  error: m => connection.console.error(m),
  warn: m => connection.console.warn(m),
  info: m => connection.console.info(m),
  debug: m => connection.console.debug(m),
});
logger.captureConsole();

// Report what would otherwise kill the worker silently; the client logs it in the "Winnow" channel.
process.on('uncaughtException', err => reportFatal('Uncaught exception in the Winnow worker', err));
process.on('unhandledRejection', reason =>
  reportFatal('Unhandled promise rejection in the Winnow worker', reason),
);
// The extension host went away: leave instead of lingering with open file watchers.
process.on('disconnect', () => process.exit(0));

const settings = new SettingsStore(connection);
const registry = new DatasetRegistry(logger, async uri => datasetOptions(await settings.get(uri)));
const status = new StatusReporter(
  s => void sendNotification(connection, StatusNotification.type, s),
);
const open = new Set<Dataset>();
let dynamicConfiguration = false;
/**
 * Workspace trust as the client reported it. Parsing is safe either way; once models exist, the
 * worker must not load a model named by workspace settings unless this is true.
 */
let workspaceTrusted = false;
const publishTimers = new Map<string, NodeJS.Timeout>();
/** Diagnostics are republished at most this often while a file is being validated. */
const publishIntervalMs = 200;
/** `winnow/didChangeColumns` per file, and inlay-hint refreshes, at most this often. */
const columnsIntervalMs = 500;
const columnTimers = new Map<string, NodeJS.Timeout>();
/** `winnow/didChangeRowFacts` per file at most this often while the scan runs. */
const factsIntervalMs = 100;
const factsTimers = new Map<string, NodeJS.Timeout>();
let inlayRefreshTimer: NodeJS.Timeout | undefined;
let inlayRefreshSupported = false;
let storagePath: string | undefined;
let modelCacheDir = join(userCacheDir(), 'models');
let workspaceFolders: string[] = [];
let storePromise: Promise<ScoreStore> | undefined;

/** Column providers of `winnow/getColumns` (ASK-LLM here; DENSITY registers its own). */
const columns = new ColumnRegistry();
/** Hover sections contributed by services (ASK-LLM order 10; DENSITY should use 20). */
const hoverSections = new HoverSections();
const scoring = new ScoringService({
  logger,
  settings,
  registry,
  store: () => (storePromise ??= ScoreStore.open(storagePath, logger)),
  get modelCacheDir() {
    return modelCacheDir;
  },
  workspaceFolders: () => workspaceFolders,
  trusted: () => workspaceTrusted,
  onStatusChanged: () => reportStatus(),
  onScoresChanged: uri => scheduleColumnsChanged(uri),
});
columns.register('askllm', scoring.columnProvider());
hoverSections.register(10, ctx => scoring.hoverSection(ctx));
// DENSITY (src/worker/density): winnow/computeDensity, winnow/sampleByDensity, its column and hover.
const density = registerDensity(connection, {
  registry,
  logger,
  columns,
  hoverSections,
  storagePath: () => storagePath,
  modelCacheDir: () => modelCacheDir,
  settingsSection: uri => settings.section(uri),
  trusted: () => workspaceTrusted,
});
// The map and near-duplicate groups (src/worker/map) over DENSITY's cached embeddings.
registerMap(connection, {
  registry,
  logger,
  columns,
  density: density.service,
  settingsSection: uri => settings.section(uri),
});

// Import Scores (src/worker/imports): CLI score files into the caches, by content hash.
const importer = new ScoreImporter({
  logger,
  store: () => (storePromise ??= ScoreStore.open(storagePath, logger)),
  density: density.service,
  trusted: () => workspaceTrusted,
  onImported: (uri, kinds) => {
    if (kinds.includes('askllm')) scoring.importChanged(uri);
    if (kinds.includes('density')) {
      void sendNotification(connection, DidChangeColumnsNotification.type, {
        uri,
        kinds: ['density'],
      });
      scheduleInlayRefresh();
    }
  },
  show: (type, message) =>
    void (type === 'info'
      ? connection.window.showInformationMessage(message)
      : connection.window.showWarningMessage(message)),
});

// The distilled scorer (src/worker/judge): winnow/distill, its column and hover, over the judge's
// cached scores and DENSITY's cached embeddings.
const distill = registerDistill(connection, {
  logger,
  columns,
  hoverSections,
  scoring,
  density: density.service,
  openDataset: uri => openDataset(uri),
});

function datasetOptions(s: WorkerSettings): DatasetOptions {
  // Keep detail for one row past the cap, so the "N more" note can point at it.
  return { maxLineBytes: s.maxLineBytes, detailCap: Math.max(1000, s.maxProblems + 1) };
}

function reportFatal(message: string, err: unknown): void {
  try {
    logger.error(message, err);
  } catch {
    process.stderr.write(`${message}: ${errorText(err)}\n`);
  }
}

connection.onInitialize((params): InitializeResult => {
  const init = (params.initializationOptions ?? {}) as Partial<WorkerInitializationOptions>;
  settings.setInitial(init.winnow);
  logger.setLevel(init.logLevel ?? init.winnow?.worker?.logLevel);
  workspaceTrusted = init.workspaceTrusted === true;
  // VS Code gives its global storage; other clients get the per-user cache folder.
  storagePath = init.storagePath || userCacheDir();
  modelCacheDir = init.modelCacheDir || join(storagePath, 'models');
  workspaceFolders =
    init.workspaceFolders ??
    (params.workspaceFolders ?? []).flatMap(f => {
      const path = uriToPath(f.uri);
      return path ? [path] : [];
    });
  const caps = params.capabilities;
  inlayRefreshSupported = caps.workspace?.inlayHint?.refreshSupport === true;
  settings.setSupported(caps.workspace?.configuration === true);
  dynamicConfiguration = caps.workspace?.didChangeConfiguration?.dynamicRegistration === true;
  return {
    capabilities: {
      // Open/close only: the client's middleware turns them into winnow/didOpenDataset without
      // the text, and the worker reads the file itself. Changes are seen on disk.
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.None },
      hoverProvider: true,
      inlayHintProvider: true,
      codeActionProvider: true,
      // The process id, for the log and for tests that kill the worker to check the restart.
      experimental: { winnow: { pid: process.pid } },
    },
    serverInfo: { name: 'winnow-worker', version: '0.1.0' },
  };
});

connection.onInitialized(() => {
  if (dynamicConfiguration) {
    void connection.client.register(DidChangeConfigurationNotification.type, {
      section: 'winnow',
    });
  }
  void applyGlobalSettings();
  reportStatus();
  logger.info(
    `Winnow worker started (pid ${process.pid}, Node ${process.version}, ` +
      `workspace ${workspaceTrusted ? 'trusted' : 'not trusted'})`,
  );
});

connection.onDidChangeConfiguration(() => void onSettingsChanged());

/**
 * Pulls the settings again and acts on what changed (see `classifySettingsChange`): the log
 * level, the scorer, inline scores, and per open file how lines are read and problems listed.
 * Settings never pulled before count as changed in every way.
 */
async function onSettingsChanged(): Promise<void> {
  const uris = [undefined, ...[...open].map(d => d.uri)];
  const before = await Promise.all(uris.map(uri => settings.cached(uri)));
  settings.clear();
  const after = await Promise.all(uris.map(uri => settings.get(uri)));
  const effects = uris.map((_, i) =>
    before[i] ? classifySettingsChange(before[i], after[i]!) : ALL_EFFECTS,
  );
  const any = (e: SettingsEffect) => effects.some(set => set.has(e));
  if (any('log')) void applyGlobalSettings();
  if (any('askllm')) scoring.settingsChanged();
  if (any('askllm') || any('inlay')) scheduleInlayRefresh();
  [...open].forEach((dataset, k) => {
    const changed = effects[k + 1]!;
    if (!changed.has('dataset') && !changed.has('diagnostics')) return;
    dataset.updateOptions(datasetOptions(after[k + 1]!));
    schedulePublish(dataset, true);
  });
}

const ALL_EFFECTS: ReadonlySet<SettingsEffect> = new Set<SettingsEffect>([
  'dataset',
  'diagnostics',
  'log',
  'askllm',
  'inlay',
]);

async function applyGlobalSettings(): Promise<void> {
  const s = await settings.get();
  if (s.logLevel === logger.getLevel()) return;
  logger.setLevel(s.logLevel);
  logger.info(`Log level: ${s.logLevel}`);
}

/** Whether the client tells which tabs show datasets (VS Code's does; editors over stdio don't). */
let clientReportsTabs = false;
onNotification(connection, DidOpenDataset.type, params => {
  clientReportsTabs = true;
  registry.open(params);
});
onNotification(connection, DidCloseDataset.type, params => registry.close(params));
// A plain LSP client (one without Winnow's middleware) still gets diagnostics and hovers; the
// text it sends is ignored because the worker reads the file from disk.
connection.onDidOpenTextDocument(p =>
  registry.open({ uri: p.textDocument.uri, source: 'textDocument' }),
);
connection.onDidCloseTextDocument(p =>
  registry.close({ uri: p.textDocument.uri, source: 'textDocument' }),
);

registry.onDidOpen(dataset => {
  open.add(dataset);
  dataset.onDidUpdate(() => {
    schedulePublish(dataset, dataset.validated);
    scheduleFactsChanged(dataset);
    scoring.datasetUpdated(dataset);
    reportStatus();
  });
  schedulePublish(dataset, dataset.validated);
  reportStatus();
  // A score file beside the dataset (train.scores.jsonl, ...) is imported once it is validated.
  void importer.pickUp(dataset);
});

registry.onDidClose(uri => {
  for (const dataset of open) if (dataset.uri === uri) open.delete(dataset);
  const timer = publishTimers.get(uri);
  if (timer) clearTimeout(timer);
  publishTimers.delete(uri);
  const columnTimer = columnTimers.get(uri);
  if (columnTimer) clearTimeout(columnTimer);
  columnTimers.delete(uri);
  clearTimeout(factsTimers.get(uri));
  factsTimers.delete(uri);
  scoring.datasetClosed(uri);
  // A closed file's problems leave the Problems panel, as with any language server.
  void connection.sendDiagnostics({ uri, diagnostics: [] });
  reportStatus();
});

/** Publishes a dataset's diagnostics now (`immediate`) or at the next throttle tick. */
function schedulePublish(dataset: Dataset, immediate: boolean): void {
  const pending = publishTimers.get(dataset.uri);
  if (immediate) {
    if (pending) clearTimeout(pending);
    publishTimers.delete(dataset.uri);
    void publish(dataset);
    return;
  }
  if (pending) return;
  publishTimers.set(
    dataset.uri,
    setTimeout(() => {
      publishTimers.delete(dataset.uri);
      void publish(dataset);
    }, publishIntervalMs),
  );
}

async function publish(dataset: Dataset): Promise<void> {
  const { maxProblems } = await settings.get(dataset.uri);
  if (!open.has(dataset)) return;
  const diagnostics = buildDiagnostics({
    invalid: dataset.invalid,
    invalidCount: dataset.invalidCount,
    maxProblems,
    jsonArray: dataset.jsonArray,
    compression: dataset.compression,
    fileName: uriBaseName(dataset.uri),
    firstLineLength: dataset.firstLineLength,
    blank: dataset.blank,
    blankCount: dataset.blankCount,
    ...(dataset.binaryLine !== undefined ? { binaryLine: dataset.binaryLine } : {}),
    unavailable: dataset.unavailable,
  });
  await connection.sendDiagnostics({ uri: dataset.uri, diagnostics });
}

/**
 * Tells the client that a file's score columns changed, at most every 500 ms per file (the
 * first change goes out after that delay, so a burst of batches makes one notification), and
 * refreshes inlay hints with it.
 */
function scheduleColumnsChanged(uri: string): void {
  if (columnTimers.has(uri)) return;
  columnTimers.set(
    uri,
    setTimeout(() => {
      columnTimers.delete(uri);
      void sendNotification(connection, DidChangeColumnsNotification.type, {
        uri,
        kinds: ['askllm'],
      });
      scheduleInlayRefresh();
    }, columnsIntervalMs),
  );
}

/**
 * Tells the dataset view that a file's row facts grew, were completed or changed version, at most
 * every 100 ms per file (the last change always goes out). Only files a dataset view holds.
 */
function scheduleFactsChanged(dataset: Dataset): void {
  if (factsTimers.has(dataset.uri) || !registry.isHeldBy(dataset.uri, 'datasetView')) return;
  factsTimers.set(
    dataset.uri,
    setTimeout(() => {
      factsTimers.delete(dataset.uri);
      if (!open.has(dataset)) return;
      void sendNotification(connection, DidChangeRowFactsNotification.type, {
        uri: dataset.uri,
        version: dataset.version,
        scanned: dataset.factsRows,
        complete: dataset.factsComplete,
      });
    }, factsIntervalMs),
  );
}

function scheduleInlayRefresh(): void {
  if (!inlayRefreshSupported || inlayRefreshTimer) return;
  inlayRefreshTimer = setTimeout(() => {
    inlayRefreshTimer = undefined;
    connection.languages.inlayHint.refresh().catch(() => undefined);
  }, columnsIntervalMs);
}

/** Sums the work left over all open datasets into one status for the status bar. */
function reportStatus(): void {
  const scoringStatus = scoring.status;
  if (scoringStatus) {
    status.update(scoringStatus);
    return;
  }
  // Only files in front of the user turn the status into an error (the diagnostic is always there);
  // a client without tabs (an editor over stdio) holds files through text documents alone.
  const shown = (d: Dataset) => registry.isShown(d.uri) || !clientReportsTabs;
  const unavailable = [...open].filter(d => d.unavailable !== undefined && shown(d));
  if (unavailable.length > 0) {
    status.update({
      state: 'error',
      detail:
        unavailable.length === 1
          ? unavailable[0]!.unavailable
          : `${unavailable.length} open files cannot be read from disk`,
      ...scoring.loadedModel,
    });
    return;
  }
  const busy = [...open].filter(d => !d.validated && d.error === undefined);
  if (busy.length === 0) {
    status.update({ state: 'idle', ...scoring.loadedModel });
    return;
  }
  let done = 0;
  let total = 0;
  for (const d of busy) {
    total += d.totalBytes;
    done += Math.min(d.validatedBytes, d.totalBytes);
  }
  const next: WorkerStatus = {
    state: 'indexing',
    detail: busy.length === 1 ? uriBaseName(busy[0]!.uri) : `${busy.length} files`,
    progress: { done, total, unit: 'bytes' },
    ...scoring.loadedModel,
  };
  status.update(next);
}

onRequest(connection, FileInfoRequest.type, async params => {
  const pending = registry.get(params.uri);
  if (!pending) {
    throw new ResponseError(
      WorkerErrorCodes.datasetNotOpen,
      `Dataset not open in the worker: ${params.uri}`,
    );
  }
  const dataset = await pending;
  if (params.waitForIndex) await dataset.whenValidated();
  return dataset.info();
});

/**
 * Stale requests are dropped: a hover by any newer hover of the same document, inlay hints by a
 * newer request of the same document whose range covers theirs (two editors of one file ask for
 * different ranges, and both are wanted).
 */
const latestHovers = new LatestRequests('textDocument/hover');
const latestInlayHints = new LatestRequests<Range>('textDocument/inlayHint', rangeContains);

connection.onHover((params, token) =>
  latestHovers.run(params.textDocument.uri, undefined, token, ensureCurrent =>
    rowHover(params.textDocument.uri, params.position.line, ensureCurrent),
  ),
);

async function rowHover(
  uri: string,
  index: number,
  ensureCurrent: () => void,
): Promise<Hover | null> {
  const dataset = await registry.get(uri)?.catch(() => undefined);
  ensureCurrent();
  if (!dataset) return null;
  if (dataset.file.indexed && index >= dataset.file.lineCount) return null;
  try {
    const [row, s] = await Promise.all([dataset.file.readRow(index), settings.get(dataset.uri)]);
    ensureCurrent();
    const parsed = parseLine(row.bytes, { maxLineBytes: s.maxLineBytes, firstLine: index === 0 });
    const hash = contentHash(row.bytes);
    const sections = await hoverSections.render({ dataset, index, hash, parsed: parsed.ok }, err =>
      logger.warn(`A hover section failed: ${errorText(err)}`),
    );
    const value = renderRowHover({
      sections,
      index,
      rowCount: dataset.file.lineCount,
      counting: !dataset.file.indexed,
      parsed,
      bytes: row.bytes.length,
      hash: hash.slice(0, 12),
      schema: dataset.schema,
      jsonArray: dataset.jsonArray,
      compression: dataset.compression,
    });
    // The rows of a file that went away are the content read last: say so first.
    const gone = dataset.unavailable;
    return {
      contents: {
        kind: 'markdown',
        value: gone
          ? `**${escapeMarkdown(gone)}:** this is the content read last.\n\n${value}`
          : value,
      },
      range: {
        start: { line: index, character: 0 },
        end: { line: index, character: lineLengthUtf16(row.bytes, index === 0) },
      },
    };
  } catch (err) {
    if (isRequestCancelled(err)) throw err;
    // The line may have gone away (file truncated while hovering): no hover, but say why.
    logger.debug(`No hover for ${uri}:${index + 1}: ${errorText(err)}`);
    return null;
  }
}

/** Waits briefly for a dataset a holder is about to open (its didOpen may still be in flight). */
async function openDataset(uri: string, waitMs = 3000): Promise<Dataset> {
  const dataset = await registry.whenHeld(uri, waitMs);
  if (!dataset) {
    throw new ResponseError(
      WorkerErrorCodes.datasetNotOpen,
      `Dataset not open in the worker: ${uri}`,
    );
  }
  return dataset;
}

onRequest(connection, GetColumnsRequest.type, async params =>
  columns.columns(await openDataset(params.uri)),
);

onRequest(connection, GetScorerColumnRequest.type, async params =>
  scoring.scorerColumn(await openDataset(params.uri), params.scorer),
);

onRequest(connection, GetRowFactsRequest.type, async params =>
  rowFactsAnswer(await openDataset(params.uri), params),
);

onRequest(connection, SetSavedDecisionsRequest.type, async params => {
  const dataset = await openDataset(params.uri);
  dataset.setSavedDecisions(params);
  logger.debug(
    `Saved decisions of ${params.uri}: ${params.keep.length} kept, ${params.drop.length} dropped` +
      (params.legacy
        ? `, ${params.legacy.keep.length + params.legacy.drop.length} keyed by content hash version 1`
        : ''),
  );
  return null;
});

onRequest(connection, DecisionHashesRequest.type, async params => {
  const dataset = await openDataset(params.uri);
  const keep = decodeRows(params.keep);
  const drop = decodeRows(params.drop);
  // Saved decisions that match no row are known once every row is matched.
  if (dataset.isCurrentVersion(params.version)) await dataset.whenFactsComplete();
  try {
    return dataset.decisionHashes(params.version, keep, drop);
  } catch (err) {
    if (err instanceof RangeError)
      throw new ResponseError(WorkerErrorCodes.factsVersionGone, err.message);
    throw err;
  }
});

onRequest(connection, ScoreRequest.type, async (params, token) => {
  await openDataset(params.uri);
  const abort = new AbortController();
  const cancel = token.onCancellationRequested(() => abort.abort());
  const progressToken = params.workDoneToken;
  let reporter: RunReporter | undefined;
  if (progressToken !== undefined) {
    void connection.sendProgress(WorkDoneProgress.type, progressToken, {
      kind: 'begin',
      title: `Scoring ${uriBaseName(params.uri)}`,
      cancellable: true,
      percentage: 0,
    });
    reporter = {
      report: (message, percentage) =>
        void connection.sendProgress(WorkDoneProgress.type, progressToken, {
          kind: 'report',
          message,
          ...(percentage !== undefined ? { percentage: Math.floor(percentage) } : {}),
        }),
    };
  }
  try {
    // The API key (from the host's SecretStorage) goes to the scorer only, never to a log.
    return await scoring.score(params.uri, abort.signal, reporter, false, params.apiKey);
  } finally {
    cancel.dispose();
    if (progressToken !== undefined)
      void connection.sendProgress(WorkDoneProgress.type, progressToken, { kind: 'end' });
  }
});

onRequest(connection, ImportScoresRequest.type, async params => {
  if (!workspaceTrusted)
    throw new ResponseError(
      WorkerErrorCodes.untrusted,
      'Winnow does not import scores in an untrusted workspace (Restricted Mode): trust the ' +
        'workspace to import them.',
    );
  const dataset = await openDataset(params.uri);
  try {
    return { uri: params.uri, imports: await importer.importFiles(dataset, params.files) };
  } catch (e) {
    if (e instanceof ScoreFileError)
      throw new ResponseError(WorkerErrorCodes.badScoreFile, e.message);
    throw e;
  }
});

connection.languages.inlayHint.on((params, token) =>
  latestInlayHints.run(params.textDocument.uri, params.range, token, async ensureCurrent => {
    const dataset = await registry.get(params.textDocument.uri)?.catch(() => undefined);
    ensureCurrent();
    if (!dataset) return [];
    const s = await settings.get(dataset.uri);
    ensureCurrent();
    if (!s.inlineScores) return [];
    try {
      return await scoreInlayHints(dataset, params.range, scoring, distill);
    } catch (err) {
      logger.debug(`No inlay hints for ${params.textDocument.uri}: ${errorText(err)}`);
      return [];
    }
  }),
);

connection.onCodeAction(async params => {
  const dataset = await registry.get(params.textDocument.uri)?.catch(() => undefined);
  if (!dataset) return [];
  return decisionActions(params, dataset.file.lineCount);
});

connection.onShutdown(async () => {
  status.dispose();
  for (const timer of columnTimers.values()) clearTimeout(timer);
  columnTimers.clear();
  if (inlayRefreshTimer) clearTimeout(inlayRefreshTimer);
  await scoring.dispose();
  await density.dispose();
  await (await storePromise?.catch(() => undefined))?.close();
  for (const timer of publishTimers.values()) clearTimeout(timer);
  publishTimers.clear();
  open.clear();
  await registry.closeAll();
});

connection.listen();
