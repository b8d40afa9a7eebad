/**
 * ASK-LLM commands of the extension host:
 *  - `winnow.scoreFile` ("Winnow: Score Current File"): scores the dataset of the active dataset
 *    view or text editor in the worker, with a cancellable progress notification (rows done of
 *    total, ETA, model download progress). The host only waits on the worker: it never blocks.
 *  - `winnow.createPromptTemplate` ("Winnow: Create Prompt Template"): writes the paper's prompt
 *    into a new `.winnow-prompt` file of the workspace and offers to use it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import * as vscode from 'vscode';
import { PAPER_PROMPT, PAPER_PROMPT_DECODER } from '../../core/askllm/prompt';
import { DATASET_VIEW_TYPE } from '../../shared/protocol/webview';
import { failedSummary } from '../../shared/format/scoreFormat';
import { WorkerErrorCodes, type ScoreResult } from '../../shared/protocol/worker';
import { readHostSettings } from '../config';
import { errorText, log } from '../log';
import { isDatasetUri, type WorkerClient } from '../client/workerClient';
import { healthSummary, showJudgeHealth } from './judgeHealthNotice';
import { offerDistilled } from './distillCommands';
import {
  RemoteEngineStatus,
  engineApiKey,
  remoteEngineFor,
  setEngineApiKey,
} from '../engines/remoteEngine';

/** The dataset a command should work on: its argument, else the active editor's file. */
export function targetDataset(arg?: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg !== '') return vscode.Uri.parse(arg);
  // The tab API sees custom editors (the dataset view), which activeTextEditor does not.
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && input.viewType === DATASET_VIEW_TYPE)
    return input.uri;
  if (input instanceof vscode.TabInputText && isDatasetUri(input.uri)) return input.uri;
  const doc = vscode.window.activeTextEditor?.document;
  return doc && isDatasetUri(doc.uri) ? doc.uri : undefined;
}

/** Registers the scoring commands; returns their disposables. */
export function registerScoringCommands(
  worker: WorkerClient,
  secrets: vscode.SecretStorage,
  remoteStatus: RemoteEngineStatus,
): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('winnow.scoreFile', (arg?: unknown) =>
      scoreFile(worker, arg, { secrets, remoteStatus }),
    ),
    vscode.commands.registerCommand('winnow.setEngineApiKey', () => setEngineApiKey(secrets)),
    vscode.commands.registerCommand(
      'winnow.createPromptTemplate',
      (form?: unknown, target?: unknown, use?: unknown) => createPromptTemplate(form, target, use),
    ),
  ];
}

/**
 * Scores a dataset. Resolves with the worker's result (also when cancelled), or undefined when
 * nothing ran (no dataset, Restricted Mode, an error that was shown to the user).
 */
async function scoreFile(
  worker: WorkerClient,
  arg: unknown,
  remote: { secrets: vscode.SecretStorage; remoteStatus: RemoteEngineStatus },
): Promise<ScoreResult | undefined> {
  const uri = targetDataset(arg);
  if (!uri || uri.scheme !== 'file') {
    void vscode.window.showErrorMessage(
      'Winnow: open a .jsonl or .ndjson file (in the dataset view or the text editor) to score it.',
    );
    return undefined;
  }
  if (!vscode.workspace.isTrusted) {
    const pick = await vscode.window.showWarningMessage(
      'Winnow does not load models in Restricted Mode: the model and prompt settings could come ' +
        'from this workspace. Trust the workspace to score it.',
      'Manage Workspace Trust',
    );
    if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
    return undefined;
  }
  const name = basename(uri.fsPath);
  let engine: ReturnType<typeof remoteEngineFor>;
  try {
    engine = remoteEngineFor(uri);
  } catch (e) {
    void vscode.window.showErrorMessage(`Winnow: ${(e as Error).message}`);
    return undefined;
  }
  // A remote engine's key comes from SecretStorage for this run only; the item shows where rows go.
  const apiKey = engine ? await engineApiKey(remote.secrets, engine.host) : undefined;
  const sending = engine ? remote.remoteStatus.sending(engine) : undefined;
  log.info(`Scoring ${uri.fsPath}${engine ? ` with ${engine.engine} at ${engine.host}` : ''}`);
  try {
    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Winnow: scoring ${name}`,
        cancellable: true,
      },
      async (progress, token) => {
        let shown = 0;
        return worker.score(
          uri,
          token,
          (message, percentage) => {
            // `increment` is relative; the worker reports absolute percentages.
            const increment =
              percentage !== undefined && percentage > shown ? percentage - shown : undefined;
            if (increment !== undefined) shown = percentage ?? shown;
            progress.report({ message, ...(increment !== undefined ? { increment } : {}) });
          },
          apiKey,
        );
      },
    );
    await showScoreResult(name, uri, result);
    return result;
  } catch (e) {
    await reportScoreError(name, e);
    return undefined;
  } finally {
    sending?.dispose();
  }
}

/** Tells the user what a run did; DENSITY follows where `computeAfterScoring` asks for it. */
async function showScoreResult(name: string, uri: vscode.Uri, result: ScoreResult): Promise<void> {
  const seconds = (result.elapsedMs / 1000).toFixed(1);
  const summary =
    `${result.scored.toLocaleString('en-US')} of ${result.scorable.toLocaleString('en-US')} ` +
    `rows have scores (${result.newlyScored.toLocaleString('en-US')} new, ` +
    `${result.cached.toLocaleString('en-US')} from the cache)` +
    failedSummary(result) +
    healthSummary(result.health);
  if (result.cancelled) {
    log.info(`Scoring of ${name} stopped: ${summary}`);
    void vscode.window.showInformationMessage(
      `Winnow: scoring of ${name} stopped. ${summary}; run the command again to continue.`,
    );
    // The judge would take long for the rest: offer the distilled model (its own notification).
    void offerDistilled(uri, name, result);
  } else {
    log.info(`Scored ${name}: ${summary} with ${result.model} on ${result.device} in ${seconds} s`);
    void vscode.window.showInformationMessage(
      `Winnow: scored ${name}. ${summary}, with ${result.model} on ${result.device} in ${seconds} s.`,
    );
    // Once per run that measured it; not awaited: the command resolves with the result.
    void showJudgeHealth(uri, name, result.health);
    // winnow.density.computeAfterScoring: DENSITY follows (densityCommands.ts, its own progress).
    if (readHostSettings(uri).computeDensityAfterScoring)
      await vscode.commands.executeCommand('winnow.computeDensity', uri);
  }
}

/** Shows a scoring failure with the actions that fix it. */
async function reportScoreError(name: string, e: unknown): Promise<void> {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  log.error(`Scoring ${name} failed: ${errorText(e)}`);
  if (code === WorkerErrorCodes.modelLoad || code === WorkerErrorCodes.badScorerSettings) {
    const pick = await vscode.window.showErrorMessage(
      `Winnow could not score ${name}: ${message}`,
      'Open Settings',
      'Show Log',
    );
    // Download problems (endpoint, offline mode) are fixed in winnow.models.*.
    if (pick === 'Open Settings')
      void vscode.commands.executeCommand(
        'workbench.action.openSettings',
        message.includes('winnow.models.') ? 'winnow.models' : 'winnow.askllm',
      );
    else if (pick === 'Show Log') log.show();
    return;
  }
  if (code === WorkerErrorCodes.untrusted) {
    void vscode.window.showWarningMessage(message);
    return;
  }
  if (code === WorkerErrorCodes.datasetUnavailable) {
    // The file is gone or unreadable: the message says so and what to do; nothing to restart.
    void vscode.window.showWarningMessage(`Winnow: ${message}`);
    return;
  }
  // The worker died (killed, out of memory): the client restarts it, and every finished batch is
  // already in the score cache.
  const pick = await vscode.window.showErrorMessage(
    `Winnow: scoring ${name} stopped: ${message}. Finished scores are kept; run the command ` +
      'again to continue.',
    'Show Log',
  );
  if (pick) log.show();
}

/**
 * Writes the paper's ASK-LLM prompt into a new `.winnow-prompt` file. Arguments (all optional,
 * for tests and keybindings): the form (`seq2seq` = Flan-T5's OPTIONS list, `causal` = the
 * ANSWER: form), the file or folder to write to, and whether to set it as the workspace's
 * `winnow.askllm.promptFile` without asking. Resolves with the file's URI.
 */
async function createPromptTemplate(
  formArg?: unknown,
  targetArg?: unknown,
  useArg?: unknown,
): Promise<vscode.Uri | undefined> {
  let form = formArg === 'seq2seq' || formArg === 'causal' ? formArg : undefined;
  if (!form) {
    const pick = await vscode.window.showQuickPick(
      [
        {
          label: 'Encoder-decoder (Flan-T5)',
          description: 'the paper’s prompt with an OPTIONS: - yes / - no list',
          form: 'seq2seq' as const,
        },
        {
          label: 'Decoder-only chat model (Qwen, SmolLM, …)',
          description: 'the same prompt ending with OPTIONS: yes/no ANSWER:',
          form: 'causal' as const,
        },
      ],
      { title: 'Winnow: Create Prompt Template', placeHolder: 'Which scorer model is it for?' },
    );
    if (!pick) return undefined;
    form = pick.form;
  }
  const text = (form === 'seq2seq' ? PAPER_PROMPT : PAPER_PROMPT_DECODER).text;
  const folder = vscode.workspace.workspaceFolders?.find(f => f.uri.scheme === 'file');
  let target: vscode.Uri | undefined;
  if (targetArg instanceof vscode.Uri) target = targetArg;
  else if (typeof targetArg === 'string' && targetArg !== '') target = vscode.Uri.file(targetArg);
  if (target && !target.fsPath.endsWith('.winnow-prompt'))
    target = vscode.Uri.file(uniqueName(target.fsPath));
  if (!target && folder) target = vscode.Uri.file(uniqueName(folder.uri.fsPath));
  if (!target) {
    target = await vscode.window.showSaveDialog({
      title: 'Save the ASK-LLM prompt template',
      filters: { 'Winnow prompt template': ['winnow-prompt'] },
    });
    if (!target) return undefined;
  }
  // Atomic: a temp file in the same folder, then rename.
  const tmp = join(dirname(target.fsPath), `.${basename(target.fsPath)}.${randomUUID()}.tmp`);
  await writeFile(tmp, text, 'utf8');
  await rename(tmp, target.fsPath);
  await vscode.window.showTextDocument(target, { preview: false });
  const setting = folder ? relative(folder.uri.fsPath, target.fsPath) : target.fsPath;
  const use = async (): Promise<void> => {
    await vscode.workspace
      .getConfiguration('winnow', folder?.uri)
      .update(
        'askllm.promptFile',
        setting,
        folder ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global,
      );
  };
  if (useArg === true) await use();
  else if (useArg === undefined) {
    void vscode.window
      .showInformationMessage(
        `Winnow wrote the ASK-LLM prompt to ${basename(target.fsPath)}. Edit it, keeping ` +
          '{{document}} where the example goes. Scores made with another prompt are kept apart.',
        'Use for Scoring',
      )
      .then(pick => (pick ? use() : undefined));
  }
  return target;
}

/** `dir/askllm.winnow-prompt`, or `askllm-2.winnow-prompt`… when taken; a file path as is. */
function uniqueName(dirOrFile: string): string {
  const dir = dirOrFile.endsWith('.winnow-prompt') ? dirname(dirOrFile) : dirOrFile;
  for (let i = 1; ; i++) {
    const p = join(dir, i === 1 ? 'askllm.winnow-prompt' : `askllm-${i}.winnow-prompt`);
    if (!existsSync(p)) return p;
  }
}
