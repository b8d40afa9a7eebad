import type * as vscode from 'vscode';

/** Disposes every item, collecting nothing: one failing dispose must not stop the others. */
export function disposeAll(items: Iterable<vscode.Disposable>): void {
  for (const d of items) {
    try {
      d.dispose();
    } catch {
      // Disposal is best effort: the object is going away either way.
    }
  }
}

/**
 * Base class that owns disposables (after microsoft/vscode-hexeditor's dispose.ts): register
 * each one when it is created, and all go away together. Registering after disposal disposes
 * the item at once, so late async work cannot leak listeners.
 */
export abstract class Disposable implements vscode.Disposable {
  private readonly owned: vscode.Disposable[] = [];
  private _isDisposed = false;

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    disposeAll(this.owned.splice(0));
  }

  protected register<T extends vscode.Disposable>(d: T): T {
    if (this._isDisposed) d.dispose();
    else this.owned.push(d);
    return d;
  }
}
