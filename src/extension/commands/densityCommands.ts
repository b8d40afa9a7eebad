/**
 * DENSITY commands of the extension host (the work runs in the worker, src/worker/density):
 *  - `winnow.computeDensity` ("Winnow: Compute Density"): embeds every row (cache hits skip the
 *    model), builds the sketch, scores and ranks, with a cancellable progress notification.
 *  - `winnow.sampleByDensity` ("Winnow: Sample by DENSITY"): asks for a target size (a count or
 *    a percentage) and a seed, draws an inverse-propensity sample (probability ∝ 1/score) in the
 *    worker and marks it as keep through `winnow.setDecision`, an undoable edit.
 * Both take an optional dataset URI (else the active dataset view or text editor); the sample
 * command also takes the target (`"10%"`, `"500"`) and seed, so that tests and keybindings can
 * skip the input boxes.
 */
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { LSPErrorCodes } from 'vscode-languageclient/node';
import {
  ComputeDensityRequest,
  DensityErrorCodes,
  DensityProgressNotification,
  SampleByDensityRequest,
  type ComputeDensityParams,
  type ComputeDensityResult,
  type DensityProgressParams,
  type SampleByDensityResult,
} from '../../shared/protocol/worker';
import { DATASET_VIEW_TYPE } from '../../shared/protocol/webview';
import { errorText, log } from '../log';
import { targetDataset } from './scoringCommands';
import type { WorkerClient } from '../client/workerClient';
import {
  engineApiKey,
  remoteEngineFor,
  type RemoteEngineSetting,
  type RemoteEngineStatus,
} from '../engines/remoteEngine';

/** Share of the progress bar per phase: embedding dominates. */
const PHASES: Record<DensityProgressParams['phase'], [number, number]> = {
  loading: [0, 5],
  embedding: [5, 80],
  sketching: [80, 90],
  scoring: [90, 99],
  saving: [99, 100],
};

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Registers the DENSITY commands; returns their disposables. */
export function registerDensityCommands(
  worker: WorkerClient,
  secrets: vscode.SecretStorage,
  remoteStatus: RemoteEngineStatus,
): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('winnow.computeDensity', (arg?: unknown) =>
      computeDensity(worker, arg, { secrets, remoteStatus }),
    ),
    vscode.commands.registerCommand(
      'winnow.sampleByDensity',
      (arg?: unknown, target?: unknown, seed?: unknown) =>
        sampleByDensity(worker, arg, target, seed),
    ),
  ];
}

function requireDataset(arg: unknown, action: string): vscode.Uri | undefined {
  const uri = targetDataset(arg);
  if (!uri || uri.scheme !== 'file') {
    void vscode.window.showErrorMessage(
      `Winnow: open a .jsonl or .ndjson file (dataset view or text editor) to ${action}.`,
    );
    return undefined;
  }
  return uri;
}

function isCancel(e: unknown, token: vscode.CancellationToken): boolean {
  return (
    token.isCancellationRequested ||
    (e as { code?: unknown }).code === LSPErrorCodes.RequestCancelled
  );
}

/** One line of progress text for a phase. */
function progressMessage(p: DensityProgressParams): string {
  switch (p.phase) {
    case 'loading':
      return p.detail ? `loading ${p.detail}` : 'loading the embedding model';
    case 'embedding':
      return `embedding rows ${fmt(p.done)} / ${fmt(p.total)}${p.cached ? ` (${fmt(p.cached)} from the cache)` : ''}`;
    case 'sketching':
      return `pass 1, sketch: ${fmt(p.done)} / ${fmt(p.total)} rows`;
    case 'scoring':
      return `pass 2, scores: ${fmt(p.done)} / ${fmt(p.total)} rows`;
    case 'saving':
      return 'saving the sketch and scores';
  }
}

/**
 * Computes DENSITY for a dataset. Resolves with the worker's summary, or undefined when nothing
 * ran or the run was cancelled or failed (the user was told).
 */
async function computeDensity(
  worker: WorkerClient,
  arg: unknown,
  remote: { secrets: vscode.SecretStorage; remoteStatus: RemoteEngineStatus },
): Promise<ComputeDensityResult | undefined> {
  const uri = requireDataset(arg, 'compute DENSITY');
  if (!uri) return undefined;
  if (!vscode.workspace.isTrusted) {
    const pick = await vscode.window.showWarningMessage(
      'Winnow does not load models in Restricted Mode: the embedding model setting could come from this workspace. ' +
        'Trust the workspace to compute DENSITY.',
      'Manage Workspace Trust',
    );
    if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
    return undefined;
  }
  const name = basename(uri.fsPath);
  const key = uri.toString();
  let engine: RemoteEngineSetting | undefined;
  try {
    engine = remoteEngineFor(uri, 'density');
  } catch (e) {
    void vscode.window.showErrorMessage(`Winnow: ${(e as Error).message}`);
    return undefined;
  }
  // A remote engine's key comes from SecretStorage for this run only; the item shows where rows go.
  const apiKey = engine ? await engineApiKey(remote.secrets, engine.host) : undefined;
  log.info(
    `Computing DENSITY of ${uri.fsPath}${engine ? ` with ${engine.engine} at ${engine.host}` : ''}`,
  );
  await worker.openDataset(uri, 'command');
  const sending = engine ? remote.remoteStatus.sending(engine) : undefined;
  let outcome: DensityOutcome;
  try {
    outcome = await runWithProgress(worker, { uri: key, ...(apiKey ? { apiKey } : {}) }, name);
  } finally {
    sending?.dispose();
    await worker.closeDataset(uri, 'command').catch(() => undefined);
  }
  // Messages go out once the progress notification has closed.
  if ('error' in outcome) {
    if (outcome.cancelled) {
      log.info(`DENSITY of ${name} cancelled`);
      void vscode.window.showInformationMessage(
        `Winnow: DENSITY of ${name} cancelled. Embeddings computed so far are cached; run the command again to continue.`,
      );
    } else await reportError(`compute DENSITY of ${name}`, outcome.error);
    return undefined;
  }
  reportSummary(name, outcome.result);
  return outcome.result;
}

/** How a DENSITY request ended: the worker's summary, or the error and whether it was a cancel. */
type DensityOutcome = { result: ComputeDensityResult } | { error: unknown; cancelled: boolean };

/** Asks the worker for DENSITY of `key` under a cancellable notification that shows its progress. */
function runWithProgress(
  worker: WorkerClient,
  params: ComputeDensityParams,
  name: string,
): Thenable<DensityOutcome> {
  const key = params.uri;
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Winnow: DENSITY of ${name}`,
      cancellable: true,
    },
    async (progress, token): Promise<DensityOutcome> => {
      let shown = 0;
      const listener = worker.onNotification(DensityProgressNotification.type, p => {
        if (p.uri !== key) return;
        const [from, to] = PHASES[p.phase];
        const pct = from + (to - from) * (p.total > 0 ? Math.min(1, p.done / p.total) : 0);
        const increment = pct > shown ? pct - shown : undefined;
        if (increment !== undefined) shown = pct;
        progress.report({
          message: progressMessage(p),
          ...(increment !== undefined ? { increment } : {}),
        });
      });
      try {
        return { result: await worker.request(ComputeDensityRequest.type, params, token) };
      } catch (error) {
        return { error, cancelled: isCancel(error, token) };
      } finally {
        listener.dispose();
      }
    },
  );
}

/** Logs a finished run's details and tells the user its summary. */
function reportSummary(name: string, r: ComputeDensityResult): void {
  const invalid =
    r.invalidRows > 0
      ? `, ${fmt(r.invalidRows)} invalid ${r.invalidRows === 1 ? 'line' : 'lines'} skipped`
      : '';
  const first = r.failures?.[0];
  const failed =
    (r.failedRows ?? 0) > 0
      ? `; ${fmt(r.failedRows)} ${r.failedRows === 1 ? 'row' : 'rows'} could not be embedded` +
        (first ? ` (line ${fmt(first.line)}: ${first.reason})` : '')
      : '';
  const summary =
    `${fmt(r.rows)} rows (${fmt(r.embedded)} embedded, ${fmt(r.cachedRows)} from the cache${invalid}) ` +
    `with ${r.model} on ${r.device} in ${(r.ms.total / 1000).toFixed(1)} s${failed}`;
  log.info(
    `DENSITY of ${name}: ${summary}; ${r.pipeline}, ${r.dim}-d, ` +
      // A remote engine truncates to its model's limit and does not say which rows it cut (0).
      (r.maxTokens > 0
        ? `≤ ${r.maxTokens} tokens (${fmt(r.truncatedRows)} rows truncated)`
        : 'truncated by the engine') +
      `; sketch R=${r.params.rows} B=${r.params.buckets} ` +
      `K=${r.params.hashesPerRow} w=${r.params.bandwidth} seed=${r.params.seed} on ${r.hasherDevice}; ` +
      `scores ${r.minScore.toFixed(2)}–${r.maxScore.toFixed(2)}; sketch ${r.sketchPath}`,
  );
  void vscode.window.showInformationMessage(`Winnow: DENSITY of ${name}: ${summary}.`);
}

async function reportError(what: string, e: unknown): Promise<void> {
  const message = e instanceof Error ? e.message : String(e);
  log.error(`Could not ${what}: ${errorText(e)}`);
  const known = (e as { code?: unknown }).code === DensityErrorCodes.failed;
  const pick = await vscode.window.showErrorMessage(
    `Winnow could not ${what}: ${message}`,
    ...(known ? ['Open Settings'] : []),
    'Show Log',
  );
  // Download problems (endpoint, offline mode) are fixed in winnow.models.*.
  if (pick === 'Open Settings')
    void vscode.commands.executeCommand(
      'workbench.action.openSettings',
      message.includes('winnow.models.') ? 'winnow.models' : 'winnow.density',
    );
  else if (pick === 'Show Log') log.show();
}

/** Parses "500", "10%", "12.5 %" into a sample target; undefined when it is neither. */
export function parseSampleTarget(
  text: string,
): { count: number } | { percent: number } | undefined {
  const t = text.trim();
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(t);
  if (pct) {
    const p = Number(pct[1]);
    return p > 0 && p <= 100 ? { percent: p } : undefined;
  }
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n > 0 ? { count: n } : undefined;
  }
  return undefined;
}

function parseSeed(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n <= 0xffffffff ? n : undefined;
}

/**
 * Draws a DENSITY sample and marks it as keep. Resolves with the sample, or undefined when the
 * user cancelled an input box or something failed (the user was told).
 */
async function sampleByDensity(
  worker: WorkerClient,
  arg?: unknown,
  targetArg?: unknown,
  seedArg?: unknown,
): Promise<(SampleByDensityResult & { changed: number }) | undefined> {
  const uri = requireDataset(arg, 'sample by DENSITY');
  if (!uri) return undefined;
  const name = basename(uri.fsPath);
  let target = typeof targetArg === 'string' ? parseSampleTarget(targetArg) : undefined;
  if (!target) {
    const text = await vscode.window.showInputBox({
      title: `Sample by DENSITY: ${name}`,
      prompt:
        'How many rows to keep: a count (e.g. 500) or a percentage (e.g. 10%). Rows are drawn without replacement ' +
        'with probability proportional to 1 / DENSITY score, so crowded regions are thinned and rare ones kept.',
      value: '10%',
      validateInput: v =>
        parseSampleTarget(v)
          ? undefined
          : 'A whole number of rows (e.g. 500) or a percentage (e.g. 10%).',
    });
    if (text === undefined) return undefined;
    target = parseSampleTarget(text)!;
  }
  let seed =
    typeof seedArg === 'number' && Number.isInteger(seedArg) && seedArg >= 0 ? seedArg : undefined;
  if (seed === undefined) {
    const text = await vscode.window.showInputBox({
      title: `Sample by DENSITY: ${name}`,
      prompt: 'Seed of the random draw: the same seed gives the same sample.',
      value: '1',
      validateInput: v =>
        parseSeed(v) !== undefined ? undefined : 'A whole number from 0 to 4294967295.',
    });
    if (text === undefined) return undefined;
    seed = parseSeed(text)!;
  }
  await worker.openDataset(uri, 'command');
  try {
    const r = await worker.request(SampleByDensityRequest.type, {
      uri: uri.toString(),
      target,
      seed,
    });
    // In the dataset view the decision is an undoable edit (without it, it would go straight to
    // the sidecar file), and the user sees the kept rows.
    if (!datasetViewOpen(uri))
      await vscode.commands.executeCommand('vscode.openWith', uri, DATASET_VIEW_TYPE);
    const changed = await vscode.commands.executeCommand<number>(
      'winnow.setDecision',
      uri,
      r.lines,
      'keep',
    );
    const what = 'count' in target ? fmt(target.count) : `${target.percent}%`;
    log.info(
      `DENSITY sample of ${name}: ${fmt(r.lines.length)} of ${fmt(r.eligible)} rows (${what}, seed ${seed}) marked keep`,
    );
    void vscode.window.showInformationMessage(
      `Winnow: marked a DENSITY sample of ${fmt(r.lines.length)} of ${fmt(r.eligible)} rows as keep (seed ${seed}). ` +
        'Undo (Ctrl+Z) in the dataset view reverts it; saving writes the decisions.',
    );
    return { ...r, changed: typeof changed === 'number' ? changed : 0 };
  } catch (e) {
    await reportError(`sample ${name} by DENSITY`, e);
    return undefined;
  } finally {
    await worker.closeDataset(uri, 'command').catch(() => undefined);
  }
}

/** Whether a dataset view tab shows this file. */
function datasetViewOpen(uri: vscode.Uri): boolean {
  return vscode.window.tabGroups.all.some(g =>
    g.tabs.some(
      t =>
        t.input instanceof vscode.TabInputCustom &&
        t.input.viewType === DATASET_VIEW_TYPE &&
        t.input.uri.toString() === uri.toString(),
    ),
  );
}
