// The worker inside a real VS Code extension host (tier 3a): opening a generated .jsonl as text
// starts the language server, its invalid lines reach vscode.languages.getDiagnostics, hovers come
// back through vscode.executeHoverProvider, and the worker is restarted when it dies or when the
// "Winnow: Restart Worker" command runs.
import * as assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import * as vscode from 'vscode';
import type { WinnowApi } from '../../../src/extension/extension';
import { writeLargeJsonl } from '../../support/datasetFiles';
import { hoverMarkdown, waitFor, winnowApi as api } from '../../support/vscodeApi';
import { generateJsonl, makeWorkspace, type TempWorkspace } from '../../support/vscodeWorkspace';

const INVALID = [3, 17];

/** The worker's diagnostics for `uri` once they list exactly the lines in `lines`. */
function waitForWinnowDiagnostics(uri: vscode.Uri, lines: number[]): Promise<vscode.Diagnostic[]> {
  return waitFor(`diagnostics on lines ${lines.join(', ')}`, () => {
    const d = vscode.languages.getDiagnostics(uri).filter(x => x.source === 'Winnow');
    const got = d.map(x => x.range.start.line);
    return got.length === lines.length && got.every((l, i) => l === lines[i]) ? d : undefined;
  });
}

/** The worker's process id, as it reports it in its initialize result. */
function workerPid(winnow: WinnowApi): number | undefined {
  const experimental = winnow.worker.client?.initializeResult?.capabilities.experimental as
    { winnow?: { pid?: number } } | undefined;
  return experimental?.winnow?.pid;
}

describe('Winnow worker (language server)', () => {
  let ws: TempWorkspace;
  let uri: vscode.Uri;

  before(() => {
    ws = makeWorkspace();
    uri = vscode.Uri.file(ws.write('worker.jsonl', generateJsonl(40, { invalidLines: INVALID })));
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    ws.dispose();
  });

  it('starts when a .jsonl opens as text and reports its invalid lines as diagnostics', async () => {
    const winnow = await api();
    const editor = await vscode.window.showTextDocument(uri, { preview: false });
    assert.equal(editor.document.languageId, 'jsonl');
    const diagnostics = await waitForWinnowDiagnostics(uri, INVALID);
    for (const d of diagnostics) {
      assert.equal(d.severity, vscode.DiagnosticSeverity.Error);
      assert.match(d.message, /Unterminated string/);
    }
    assert.ok(winnow.worker.client?.isRunning(), 'the language client is running');
    const info = await winnow.worker.fileInfo(uri, true);
    assert.equal(info.rowCount, 40);
    assert.equal(info.invalidCount, INVALID.length);
    await waitFor('the idle status', () =>
      winnow.worker.status.state === 'idle' ? true : undefined,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; the status is ${JSON.stringify(winnow.worker.status)}`);
    });
  });

  it('answers hovers on valid and invalid lines through vscode.executeHoverProvider', async () => {
    const valid = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      uri,
      new vscode.Position(0, 4),
    );
    const text = hoverMarkdown(valid);
    assert.match(text, /row 1 of 40/);
    assert.match(text, /\*\*Parse:\*\* OK: JSON object with 4 fields/);
    assert.match(text, /`instruction`, `response`/);

    const invalid = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      uri,
      new vscode.Position(INVALID[0]!, 2),
    );
    assert.match(
      hoverMarkdown(invalid),
      /\*\*Parse:\*\* Error \(syntax\) at column \d+: Unterminated string/,
    );
  });

  it('comes back with its diagnostics after "Winnow: Restart Worker"', async () => {
    const winnow = await api();
    const before = workerPid(winnow);
    assert.ok(before, 'the worker reports its pid');
    await vscode.commands.executeCommand('winnow.restartWorker');
    const after = await waitFor('a new worker process', () => {
      const pid = workerPid(winnow);
      return pid !== undefined && pid !== before && winnow.worker.client?.isRunning()
        ? pid
        : undefined;
    });
    assert.notEqual(after, before);
    await waitForWinnowDiagnostics(uri, INVALID);
  });

  it('is restarted when the worker process dies, and serves hovers again', async () => {
    const winnow = await api();
    const before = workerPid(winnow);
    assert.ok(before);
    process.kill(before, 'SIGKILL');
    await waitFor('a restarted worker', () => {
      const pid = workerPid(winnow);
      return pid !== undefined && pid !== before && winnow.worker.client?.isRunning()
        ? pid
        : undefined;
    });
    await waitForWinnowDiagnostics(uri, INVALID);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      uri,
      new vscode.Position(1, 0),
    );
    assert.match(hoverMarkdown(hovers), /row 2 of 40/);
  });

  it('reports problems of a file over 50 MB, which VS Code never syncs to extensions', async function () {
    this.timeout(120_000);
    const winnow = await api();
    const big = vscode.Uri.file(ws.path('big.jsonl'));
    // About 60 MB; the invalid line is near the end so the whole file must be read.
    const rows = 520_000;
    await writeLargeJsonl(big.fsPath, rows, { invalidLines: [rows - 2] });
    assert.ok(statSync(big.fsPath).size > 50 * 1024 * 1024);
    await vscode.commands.executeCommand('vscode.openWith', big, 'default');
    // The tab holds the file in the worker; no TextDocument exists for it in the extension host.
    await waitForWinnowDiagnostics(big, [rows - 2]);
    assert.equal(
      vscode.workspace.textDocuments.some(d => d.uri.toString() === big.toString()),
      false,
      'the large file is not synced as a TextDocument',
    );
    const info = await winnow.worker.fileInfo(big, true);
    assert.equal(info.rowCount, rows);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('shows new problems when the file changes on disk', async () => {
    const winnow = await api();
    ws.write('worker.jsonl', generateJsonl(40, { invalidLines: [...INVALID, 39] }));
    await waitForWinnowDiagnostics(uri, [...INVALID, 39]);
    assert.equal((await winnow.worker.fileInfo(uri, true)).invalidCount, 3);
  });
});
