/**
 * `winnow.importScores` ("Winnow: Import Scores"): picks score files of `winnow score`,
 * `winnow density` or `winnow merge` (several shard files at once) and has the worker import them
 * for the open dataset, matched by content hash (src/worker/imports). Takes an optional dataset
 * URI and file list (tests, keybindings) to skip the picker. Score files beside a dataset
 * (`train.scores.jsonl`, ...) are picked up by the worker itself when the dataset opens.
 */
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import { importSummaryText } from '../../shared/format/scoreFormat';
import { ImportScoresRequest, type ImportScoresResult } from '../../shared/protocol/worker';
import { errorText, log } from '../log';
import type { WorkerClient } from '../client/workerClient';
import { targetDataset } from './scoringCommands';

export function registerImportCommands(worker: WorkerClient): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('winnow.importScores', (arg?: unknown, files?: unknown) =>
      importScores(worker, arg, files),
    ),
  ];
}

async function pickFiles(dataset: vscode.Uri): Promise<string[] | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: true,
    defaultUri: vscode.Uri.file(dirname(dataset.fsPath)),
    openLabel: 'Import Scores',
    title: `Winnow: score files for ${basename(dataset.fsPath)} (winnow score / density / merge outputs)`,
    filters: { 'Winnow score files': ['jsonl', 'parquet'] },
  });
  return picked?.map(u => u.fsPath);
}

function fileList(files: unknown): string[] | undefined {
  if (!Array.isArray(files)) return undefined;
  return files.map(f => (f instanceof vscode.Uri ? f.fsPath : String(f)));
}

/** Imports score files; resolves with the worker's result, or undefined (the user was told). */
async function importScores(
  worker: WorkerClient,
  arg: unknown,
  filesArg: unknown,
): Promise<ImportScoresResult | undefined> {
  const uri = targetDataset(arg);
  if (!uri || uri.scheme !== 'file') {
    void vscode.window.showErrorMessage(
      'Winnow: open a .jsonl or .ndjson file (dataset view or text editor) to import scores for it.',
    );
    return undefined;
  }
  if (!vscode.workspace.isTrusted) {
    const pick = await vscode.window.showWarningMessage(
      'Winnow does not import scores in Restricted Mode. Trust the workspace to import them.',
      'Manage Workspace Trust',
    );
    if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
    return undefined;
  }
  const files = fileList(filesArg) ?? (await pickFiles(uri));
  if (!files || files.length === 0) return undefined;
  const name = basename(uri.fsPath);
  log.info(`Importing ${files.join(', ')} for ${uri.fsPath}`);
  await worker.openDataset(uri, 'command');
  try {
    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Winnow: importing scores for ${name}`,
      },
      () => worker.request(ImportScoresRequest.type, { uri: uri.toString(), files }),
    );
    const info = await worker.fileInfo(uri, true).catch(() => undefined);
    const lines = info?.rowCount ?? 0;
    for (const s of result.imports)
      void vscode.window.showInformationMessage(`Winnow: ${importSummaryText(name, lines, s)}`);
    return result;
  } catch (e) {
    log.error(`Import Scores for ${uri.fsPath} failed: ${errorText(e)}`);
    void vscode.window.showErrorMessage(`Winnow: ${errorText(e)}`);
    return undefined;
  } finally {
    await worker.closeDataset(uri, 'command').catch(() => undefined);
  }
}
