import * as vscode from 'vscode';
import { workerStatusText, type ClientWorkerStatus } from '../../shared/format/workerStatusText';

/**
 * The status-bar item that shows the worker's state: "Winnow: idle", "indexing 45%", later
 * "scoring 120/1000 · cuda". Hidden until the worker first starts; a click opens the log.
 */
export class WorkerStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'winnow.worker',
    vscode.StatusBarAlignment.Right,
    100,
  );

  constructor() {
    this.item.name = 'Winnow Worker';
    this.item.command = 'winnow.showLog';
  }

  update(status: ClientWorkerStatus): void {
    const { text, tooltip } = workerStatusText(status);
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor =
      status.state === 'error' || status.state === 'stopped'
        ? new vscode.ThemeColor('statusBarItem.warningBackground')
        : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
