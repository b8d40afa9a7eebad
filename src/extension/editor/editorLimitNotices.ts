/**
 * Says why Winnow shows nothing in a text editor, once per file and session. VS Code gives
 * extensions no TextDocument for a file over its 50 MB sync limit, nor for a file it opens as
 * binary (a NUL byte in its first 512 bytes): no hover, no inline scores, no keep/drop actions
 * from any extension, and Winnow would otherwise be silent. The notice names the reason and
 * offers the dataset view, which reads the file itself. See src/core/jsonl/editorLimits.ts.
 */
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { editorLimitMessage, editorLimitOf, type EditorLimit } from '../../core/jsonl';
import { Disposable } from '../dispose';
import { errorText, log } from '../log';
import { isDatasetUri } from '../client/workerClient';

/** One notice as shown. */
export interface EditorLimitNotice {
  readonly uri: vscode.Uri;
  readonly limit: EditorLimit;
  readonly message: string;
}

/** The button that opens the file in the dataset view. */
export const OPEN_IN_DATASET_VIEW = 'Open in Dataset View';

/**
 * Watches the text-editor tabs for dataset files that VS Code keeps from extensions and shows
 * one notice per file and session. Checks run one at a time, in the order tabs opened.
 */
export class EditorLimitNotices extends Disposable {
  private readonly told = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private readonly emitter = this.register(new vscode.EventEmitter<EditorLimitNotice>());
  /** A notice was shown (the API tests listen). */
  readonly onDidNotify = this.emitter.event;

  constructor() {
    super();
    this.register(
      vscode.window.tabGroups.onDidChangeTabs(e => {
        for (const tab of [...e.opened, ...e.changed]) this.checkTab(tab);
      }),
    );
    for (const group of vscode.window.tabGroups.all)
      for (const tab of group.tabs) this.checkTab(tab);
  }

  /** Resolves once every check queued so far has run (and its notice, if any, was shown). */
  whenChecked(): Promise<void> {
    return this.queue;
  }

  private checkTab(tab: vscode.Tab): void {
    const input = tab.input;
    if (!(input instanceof vscode.TabInputText) || !isDatasetUri(input.uri)) return;
    if (this.told.has(input.uri.toString())) return;
    const uri = input.uri;
    this.queue = this.queue.then(() => this.check(uri));
  }

  private async check(uri: vscode.Uri): Promise<void> {
    const key = uri.toString();
    if (this.told.has(key)) return;
    let limit: EditorLimit | undefined;
    try {
      limit = await editorLimitOf(uri.fsPath);
    } catch (e) {
      log.debug(`Could not check ${uri.fsPath} against VS Code's limits: ${errorText(e)}`);
      return;
    }
    // A file VS Code did open as text after all ("Open Anyway") needs no notice.
    if (!limit || vscode.workspace.textDocuments.some(d => d.uri.toString() === key)) return;
    this.told.add(key);
    const message = editorLimitMessage(basename(uri.fsPath), limit);
    log.info(message);
    this.emitter.fire({ uri, limit, message });
    void vscode.window.showWarningMessage(message, OPEN_IN_DATASET_VIEW).then(pick => {
      if (pick === OPEN_IN_DATASET_VIEW)
        void vscode.commands.executeCommand('winnow.openInDatasetView', uri);
    });
  }
}
