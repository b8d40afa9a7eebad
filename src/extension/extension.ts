import * as vscode from 'vscode';
import { log, errorText } from './log';
import { WorkerClient } from './client/workerClient';
import { registerDatasetEditor } from './editor/datasetEditor';
import { registerDatasetCommands } from './commands/datasetCommands';
import { registerScoringCommands } from './commands/scoringCommands';
import { registerDistillCommands } from './commands/distillCommands';
import { registerDensityCommands } from './commands/densityCommands';
import { registerImportCommands } from './commands/importCommands';
import { registerGpuSupportCommands } from './commands/gpuSupportCommands';
import { EditorLimitNotices } from './editor/editorLimitNotices';
import { RemoteEngineStatus } from './engines/remoteEngine';

/**
 * Composition root: builds the long-lived services and registers every contribution.
 * Anything disposable goes into `context.subscriptions`.
 */
export async function activate(context: vscode.ExtensionContext): Promise<WinnowApi> {
  context.subscriptions.push(log);
  try {
    const worker = new WorkerClient(context);
    context.subscriptions.push(worker);
    const datasets = registerDatasetEditor(context, worker);
    context.subscriptions.push(...registerDatasetCommands(datasets));
    // One status-bar item names the engine and host while any run sends rows off the machine.
    const remoteStatus = new RemoteEngineStatus();
    context.subscriptions.push(remoteStatus);
    context.subscriptions.push(
      ...registerScoringCommands(worker, context.secrets, remoteStatus),
      ...registerDistillCommands(worker),
      ...registerDensityCommands(worker, context.secrets, remoteStatus),
      ...registerImportCommands(worker),
      ...registerGpuSupportCommands(context, worker),
    );
    const limits = new EditorLimitNotices();
    context.subscriptions.push(limits);
    return { worker, datasets, limits };
  } catch (e) {
    // VS Code does not surface activation failures, so do it ourselves.
    log.error(`Activation failed: ${errorText(e)}`);
    void vscode.window
      .showErrorMessage(`Winnow failed to activate: ${String(e)}`, 'Open Log')
      .then(pick => pick && log.show());
    throw e;
  }
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}

/** What `activate` returns: used by the API-level tests in a real VS Code. */
export interface WinnowApi {
  readonly worker: WorkerClient;
  readonly datasets: ReturnType<typeof registerDatasetEditor>;
  /** The notices for files VS Code keeps from extensions (over 50 MB, binary). */
  readonly limits: EditorLimitNotices;
}
