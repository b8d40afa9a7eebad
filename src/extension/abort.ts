import type * as vscode from 'vscode';

/**
 * An AbortSignal that aborts with a VS Code cancellation token: AbortSignal is the one way to
 * cancel below the host (core, worker), so host code converts tokens at the boundary.
 */
export function abortSignalOf(token: vscode.CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}
