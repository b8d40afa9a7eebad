import * as vscode from 'vscode';

/**
 * The one log of the extension: a LogOutputChannel named "Winnow". The worker's own log
 * lines arrive through the language client, which writes them to the same channel.
 */
export const log: vscode.LogOutputChannel = vscode.window.createOutputChannel('Winnow', {
  log: true,
});

/** Formats an unknown thrown value with its stack, for the log. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}
