/**
 * The judge-health warning of a scoring run (docs/judge.md#judge-health), shown once per run
 * that measured it, with its one-click fix: add the answer variant that takes the judge's mass
 * to `winnow.askllm.answerVariants` (part of the score cache key, so the next run scores anew)
 * and score again, or open the prompt template when yes and no together get little of it.
 */
import * as vscode from 'vscode';
import type { JudgeHealth } from '../../shared/protocol/worker';
import { log } from '../log';

/** Adds `word` to `winnow.askllm.answerVariants` where the setting is defined (else the workspace). */
export async function addAnswerVariant(uri: vscode.Uri, word: string): Promise<void> {
  const config = vscode.workspace.getConfiguration('winnow.askllm', uri);
  const current = config.get<string[]>('answerVariants') ?? [];
  if (current.includes(word)) return;
  const inspect = config.inspect<string[]>('answerVariants');
  const target =
    inspect?.workspaceFolderValue !== undefined
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : inspect?.workspaceValue !== undefined || vscode.workspace.workspaceFolders?.length
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
  await config.update('answerVariants', [...current, word], target);
  log.info(`Added "${word}" to winnow.askllm.answerVariants (the score cache key changes).`);
}

/** Opens the configured prompt template, or offers to create one. */
async function openPromptTemplate(uri: vscode.Uri): Promise<void> {
  const file = vscode.workspace.getConfiguration('winnow.askllm', uri).get<string>('promptFile');
  if (file) {
    const folder = vscode.workspace.getWorkspaceFolder(uri)?.uri;
    const target =
      file.startsWith('/') || !folder ? vscode.Uri.file(file) : vscode.Uri.joinPath(folder, file);
    await vscode.window.showTextDocument(target);
  } else await vscode.commands.executeCommand('winnow.createPromptTemplate');
}

/**
 * Shows the run's judge-health warning, if it has one, and applies the fix the user picks.
 * Resolves once the user answered (or dismissed it).
 */
export async function showJudgeHealth(
  uri: vscode.Uri,
  name: string,
  health: JudgeHealth | undefined,
): Promise<void> {
  if (!health?.warning) return;
  const fix = health.fix;
  const addLabel = fix?.kind === 'addVariant' ? `Add "${fix.word}" and Score Again` : undefined;
  const openLabel = fix?.kind === 'openPrompt' ? 'Open Prompt Template' : undefined;
  const actions = [addLabel, openLabel, 'Show Log'].filter((a): a is string => !!a);
  const pick = await vscode.window.showWarningMessage(
    `Winnow: judge health of ${name}: ${health.warning}`,
    ...actions,
  );
  if (pick === addLabel && fix?.kind === 'addVariant') {
    await addAnswerVariant(uri, fix.word);
    await vscode.commands.executeCommand('winnow.scoreFile', uri);
  } else if (pick === openLabel) await openPromptTemplate(uri);
  else if (pick === 'Show Log') log.show();
}

/** The health in a few words for the run summary, e.g. "judge health ok". */
export function healthSummary(health: JudgeHealth | undefined): string {
  if (!health) return '';
  if (health.status === 'ok')
    return `; judge health ok (the answer tokens get ${(100 * (health.yesMass + health.noMass)).toFixed(0)}% of the next-token mass)`;
  return `; judge health: ${health.status === 'variant' ? 'the answer misses a variant' : 'the prompt does not fit the model'}`;
}
