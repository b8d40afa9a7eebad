/**
 * Helpers for the tests that run inside the VS Code extension host (test/vscode/api): the
 * extension's API, polling, and hover text. Imports `vscode`, so only those tests may use it.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { WinnowApi } from '../../src/extension/extension';

/** The extension's id (publisher.name in package.json). */
export const EXTENSION_ID = 'winnow.winnow';

/** Activates Winnow and returns its API. */
export async function winnowApi(): Promise<WinnowApi> {
  const ext = vscode.extensions.getExtension<WinnowApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
  return ext.activate();
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, intervalMs));
  }
}

/** The markdown of hovers as one string, with markdown escapes removed. */
export function hoverMarkdown(hovers: vscode.Hover[]): string {
  return hovers
    .flatMap(h => h.contents)
    .map(c => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))
    .join('\n')
    .replace(/\\([!-/:-@[-`{-~])/g, '$1');
}
