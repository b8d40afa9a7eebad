// VS Code's limits inside a real extension host (tier 3a): a file over the 50 MB sync limit
// and a file VS Code opens as binary get no TextDocument, so Winnow says why, once per file,
// with a button to the dataset view; the dataset view states the binary file's true counts.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { EditorLimitNotice } from '../../../src/extension/editor/editorLimitNotices';
import type { WinnowApi } from '../../../src/extension/extension';
import { writeLargeJsonl } from '../../support/datasetFiles';
import { waitFor, winnowApi as api } from '../../support/vscodeApi';
import { makeWorkspace, type TempWorkspace } from '../../support/vscodeWorkspace';

const VIEW_TYPE = 'winnow.datasetView';

/** Resolves with the next notice about `uri`. */
function nextNotice(winnow: WinnowApi, uri: vscode.Uri): Promise<EditorLimitNotice> {
  return new Promise(resolve => {
    const sub = winnow.limits.onDidNotify(n => {
      if (n.uri.toString() !== uri.toString()) return;
      sub.dispose();
      resolve(n);
    });
  });
}

function hasTextDocument(uri: vscode.Uri): boolean {
  return vscode.workspace.textDocuments.some(d => d.uri.toString() === uri.toString());
}

function datasetTab(uri: vscode.Uri): vscode.Tab | undefined {
  return vscode.window.tabGroups.all
    .flatMap(g => g.tabs)
    .find(
      t =>
        t.input instanceof vscode.TabInputCustom &&
        t.input.viewType === VIEW_TYPE &&
        t.input.uri.toString() === uri.toString(),
    );
}

describe("VS Code's limits", () => {
  let ws: TempWorkspace;

  before(() => {
    ws = makeWorkspace();
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    ws.dispose();
  });

  it('says once why a file over 50 MB shows nothing in the text editor, and opens the dataset view', async function () {
    this.timeout(180_000);
    const winnow = await api();
    const big = vscode.Uri.file(ws.path('limits-big.jsonl'));
    const bytes = await writeLargeJsonl(big.fsPath, 520_000);
    assert.ok(bytes > 50 * 1024 * 1024, `${bytes} bytes`);
    const told: EditorLimitNotice[] = [];
    const all = winnow.limits.onDidNotify(n => told.push(n));
    try {
      const notice = nextNotice(winnow, big);
      await vscode.commands.executeCommand('vscode.openWith', big, 'default');
      const n = await notice;
      assert.deepEqual(n.limit, { kind: 'too-large', bytes });
      assert.match(n.message, /^limits-big\.jsonl is \d+\.\d MB, over VS Code's 50 MB limit/);
      assert.equal(hasTextDocument(big), false, 'VS Code gave no TextDocument');

      // The notice's button opens the dataset view in place of the text editor.
      await vscode.commands.executeCommand('notification.acceptPrimaryAction');
      await waitFor('the dataset view of the large file', () => datasetTab(big), 60_000);

      // Once per file: opening it as text again says nothing more. A binary file opened after
      // it is checked after it, so its notice means the large file's check is done.
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      const binary = vscode.Uri.file(ws.write('limits-after.jsonl', '{"a": 1}\n{"b": "\0"}\n'));
      const binaryNotice = nextNotice(winnow, binary);
      await vscode.commands.executeCommand('vscode.openWith', big, 'default');
      await vscode.commands.executeCommand('vscode.openWith', binary, 'default');
      assert.deepEqual((await binaryNotice).limit, { kind: 'binary', nulLine: 1 });
      await winnow.limits.whenChecked();
      assert.deepEqual(
        told.map(t => t.uri.fsPath),
        [big.fsPath, binary.fsPath],
        'one notice per file',
      );
    } finally {
      all.dispose();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  it('agrees with VS Code on binary files, and the dataset view states their true counts', async () => {
    const winnow = await api();
    // Line 2 holds a NUL byte in the first 512 bytes; every line fails for its own reason,
    // line 1 starts with `[`, and there are blank lines besides.
    const lines = ['[1, 2', '{"text": "x\0y"}'];
    const kinds = ['{"a": 1,, "b": 2}', 'not json', "{'a': True}", '', '  '];
    for (let i = lines.length; i < 182; i++) lines.push(kinds[i % kinds.length]!);
    const blank = lines.filter(l => l.trim() === '').length;
    const invalid = lines.length - blank;
    const binary = vscode.Uri.file(ws.write('limits-binary.jsonl', lines.join('\n') + '\n'));
    await assert.rejects(
      Promise.resolve(vscode.workspace.openTextDocument(binary)),
      'VS Code opens the file as binary',
    );
    const lateNul = ws.write(
      'limits-late-nul.jsonl',
      `{"text": "${'x'.repeat(600)}"}\n{"text": "\0"}\n`,
    );
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(lateNul));
    assert.equal(doc.lineCount, 3, 'a NUL past 512 bytes is text to VS Code');

    await vscode.commands.executeCommand('vscode.openWith', binary, VIEW_TYPE);
    const document = await waitFor('the dataset document', () => winnow.datasets.document(binary));
    assert.match(
      document.notice ?? '',
      /^Line 2 contains a NUL byte, so VS Code opens this file as binary/,
    );
    await document.whenScanned();
    assert.deepEqual(document.stats, {
      checkedRows: lines.length,
      invalidRows: invalid,
      blankRows: blank,
      done: true,
    });
    const info = await winnow.worker.fileInfo(binary, true);
    assert.deepEqual(
      [info.invalidCount, info.blankCount, info.binaryLine, info.jsonArray],
      [invalid, blank, 1, false],
    );
  });
});
