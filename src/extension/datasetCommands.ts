/**
 * One-click switching between the text editor and the dataset view, keeping the line:
 *  - `winnow.openAsText`: the dataset view's editor-title button; reopens the file in the text
 *    editor with the cursor on the focused row.
 *  - `winnow.openInDatasetView`: the text editor's title button; reopens the file in the dataset
 *    view with the cursor's line focused.
 * Like VS Code's "Reopen Editor With", the new editor replaces the old one in its group (unless
 * the old one has unsaved changes, which are never thrown away).
 */
import * as vscode from 'vscode';
import { DATASET_VIEW_TYPE } from '../shared/webviewProtocol';
import type { DatasetEditorApi } from './datasetEditor';
import { errorText, log } from './log';

function sameUri(a: vscode.Uri, b: vscode.Uri): boolean {
  return a.toString() === b.toString();
}

/** Tabs that show `uri` in the dataset view. */
function datasetTabs(uri: vscode.Uri): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap(g =>
    g.tabs.filter(
      t =>
        t.input instanceof vscode.TabInputCustom &&
        t.input.viewType === DATASET_VIEW_TYPE &&
        sameUri(t.input.uri, uri),
    ),
  );
}

/** Text-editor tabs that show `uri`. */
function textTabs(uri: vscode.Uri): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap(g =>
    g.tabs.filter(t => t.input instanceof vscode.TabInputText && sameUri(t.input.uri, uri)),
  );
}

/** Closes `tab` if it is still open and clean; the editor that replaced it stays. */
async function closeReplaced(tab: vscode.Tab | undefined): Promise<void> {
  if (!tab || tab.isDirty) return;
  // Tab objects are snapshots: look the tab up again by group and input.
  const live = tab.group.tabs.find(t => t.input === tab.input || sameInput(t.input, tab.input));
  if (live && !live.isActive) await vscode.window.tabGroups.close(live, true);
}

function sameInput(a: unknown, b: unknown): boolean {
  if (a instanceof vscode.TabInputCustom && b instanceof vscode.TabInputCustom)
    return a.viewType === b.viewType && sameUri(a.uri, b.uri);
  if (a instanceof vscode.TabInputText && b instanceof vscode.TabInputText)
    return sameUri(a.uri, b.uri);
  return false;
}

/** Opens `uri` in the text editor at line `row` (0-based), replacing the dataset view tab. */
export async function openAsText(
  api: DatasetEditorApi,
  uriArg?: unknown,
  rowArg?: unknown,
): Promise<void> {
  const active = api.activePanel();
  const uri = uriArg instanceof vscode.Uri ? uriArg : active?.uri;
  if (!uri) {
    void vscode.window.showInformationMessage('Open a dataset in the Winnow Dataset View first.');
    return;
  }
  const panel = api.panels(uri).find(p => p.active) ?? api.panels(uri)[0];
  const row =
    typeof rowArg === 'number' && Number.isInteger(rowArg) && rowArg >= 0
      ? rowArg
      : (panel?.focusedRow ?? 0);
  const oldTab = datasetTabs(uri).find(t => t.group.isActive) ?? datasetTabs(uri)[0];
  const position = new vscode.Position(row, 0);
  await vscode.commands.executeCommand('vscode.openWith', uri, 'default', {
    viewColumn: oldTab?.group.viewColumn ?? vscode.ViewColumn.Active,
    preview: false,
    selection: new vscode.Range(position, position),
  } satisfies vscode.TextDocumentShowOptions);
  const editor = vscode.window.activeTextEditor;
  if (editor && sameUri(editor.document.uri, uri)) {
    // The selection option is ignored when the file was already open as text: set it here too.
    const line = Math.min(row, editor.document.lineCount - 1);
    const at = new vscode.Position(Math.max(line, 0), 0);
    editor.selection = new vscode.Selection(at, at);
    editor.revealRange(
      new vscode.Range(at, at),
      vscode.TextEditorRevealType.InCenterIfOutsideViewport,
    );
  }
  await closeReplaced(oldTab);
}

/** Opens `uri` in the dataset view with the text editor's cursor line focused. */
export async function openInDatasetView(api: DatasetEditorApi, uriArg?: unknown): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  // Files over 50 MB are not synced to extensions, so there may be a text tab but no editor.
  const activeInput = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri =
    uriArg instanceof vscode.Uri
      ? uriArg
      : (editor?.document.uri ??
        (activeInput instanceof vscode.TabInputText ? activeInput.uri : undefined));
  if (!uri) {
    void vscode.window.showInformationMessage('Open a .jsonl file first.');
    return;
  }
  const textEditor = editor && sameUri(editor.document.uri, uri) ? editor : undefined;
  const row = textEditor?.selection.active.line;
  const oldTab = textTabs(uri).find(t => t.group.isActive) ?? textTabs(uri)[0];
  if (row !== undefined) api.reveal(uri, row);
  await vscode.commands.executeCommand('vscode.openWith', uri, DATASET_VIEW_TYPE, {
    viewColumn: oldTab?.group.viewColumn ?? vscode.ViewColumn.Active,
    preview: false,
  } satisfies vscode.TextDocumentShowOptions);
  await closeReplaced(oldTab);
}

/** Registers both commands; returns their disposables. */
export function registerDatasetCommands(api: DatasetEditorApi): vscode.Disposable[] {
  const guard =
    <A extends unknown[]>(name: string, fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await fn(...args);
      } catch (e) {
        log.error(`${name} failed: ${errorText(e)}`);
        void vscode.window.showErrorMessage(
          `Winnow: ${name} failed: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    };
  return [
    vscode.commands.registerCommand(
      'winnow.openAsText',
      guard('Open as Text', (uri?: unknown, row?: unknown) => openAsText(api, uri, row)),
    ),
    vscode.commands.registerCommand(
      'winnow.openInDatasetView',
      guard('Open in Dataset View', (uri?: unknown) => openInDatasetView(api, uri)),
    ),
  ];
}
